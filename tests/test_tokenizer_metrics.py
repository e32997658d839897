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


def test_retrieval_recall_finds_each_query_target_among_k() -> None:
    gallery = np.eye(3, dtype=np.float32)
    # query 0 points at row 0; query 1 is nearer row 2 than its target row 1 (rank 2); query 2 sits between
    queries = np.array([[1.0, 0.0, 0.0], [0.0, 0.5, 1.0], [0.0, 1.0, 1.0]])
    got = m.retrieval_recall(queries, gallery, [0, 1, 2], ks=(1, 2))
    # query 2 ties rows 1 and 2: ties count against it, so it is found at k=2, not k=1
    assert got == {"recall@1": pytest.approx(1 / 3, abs=1e-4), "recall@2": 1.0}


def test_code_agreement_counts_same_path_pairs_within_groups() -> None:
    codes = np.array([[1, 2], [1, 2], [1, 3], [0, 0], [5, 5], [5, 5]])
    groups = [0, 0, 0, 1, 2, 2]  # group 0: 1 of 3 pairs agree; group 1 has no pair; group 2: 1 of 1
    assert m.code_agreement(codes, groups) == pytest.approx(2 / 4)
    with pytest.raises(ValueError, match="no group has two rows"):
        m.code_agreement(codes[:2], [0, 1])


def test_leakage_probe_reads_a_linear_label_and_not_noise() -> None:
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 50)
    readable = np.eye(4)[labels] + 0.1 * rng.normal(size=(200, 4))
    accuracy, chance = m.leakage_probe(readable, labels)
    assert accuracy == 1.0 and chance == 0.25
    noise_accuracy, _ = m.leakage_probe(rng.normal(size=(200, 8)), labels)
    assert noise_accuracy < 0.4
