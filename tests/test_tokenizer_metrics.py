"""rag_recsys.metrics: the Table-2 measures, hand-computed (one behaviour each)."""

from __future__ import annotations

import numpy as np
import pytest

from rag_recsys import metrics as m


def test_collision_rate_counts_every_item_on_a_shared_path() -> None:
    # paths: A A B C C C D → 5 of 7 items share their path
    codes = np.array([[0, 1], [0, 1], [0, 2], [3, 3], [3, 3], [3, 3], [4, 0]])
    assert m.collision_rate(codes) == pytest.approx(5 / 7, abs=1e-4)


def test_collision_rate_compares_full_paths_not_prefixes() -> None:
    assert m.collision_rate(np.array([[0, 1], [0, 2], [1, 1]])) == 0.0


def test_compression_ratio_is_items_per_distinct_path() -> None:
    codes = np.array([[0, 1], [0, 1], [0, 2], [3, 3], [3, 3], [3, 3], [4, 0]])
    assert m.compression_ratio(codes) == pytest.approx(7 / 4, abs=1e-4)
    assert m.compression_ratio(np.array([[1], [2], [3]])) == 1.0


def test_no_items_is_an_error_not_a_perfect_score() -> None:
    with pytest.raises(ValueError, match="no code paths"):
        m.collision_rate(np.zeros((0, 3), dtype=np.int64))


def test_code_compression_bits_is_the_storage_ratio() -> None:
    # 384 float32 = 12,288 bits over 7 + 5 + 4 = 16 bits
    assert m.code_compression_bits(384, [128, 32, 16]) == 768.0


def test_reconstruction_recall_counts_ties_against_the_item() -> None:
    emb = np.eye(3, dtype=np.float32)
    recon = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1]], dtype=np.float32)  # item 1 ties with item 0
    assert m.reconstruction_recall(emb, recon, ks=(1, 2)) == {"recall@1": pytest.approx(2 / 3, abs=1e-4),
                                                              "recall@2": 1.0}  # fmt: skip
