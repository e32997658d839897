"""Ranking metrics on hand-computed cases, the one-rank-slot-per-item rule of the dedup level, and the
rankers leaving out what the user already has."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from rag_recsys.grm.data import ItemCodes, Split, add_dedup_level
from rag_recsys.grm.evaluator import evaluate, mrr_at_k, ndcg_at_k, ranking_metrics, recall_at_k, target_ranks
from rag_recsys.grm.popularity import popularity_ranker
from rag_recsys.grm.sasrec import SASRec, SASRecConfig


def test_target_ranks_first_hit_or_minus_one() -> None:
    ranked = np.array([[3, 1, 2], [5, 6, 7], [9, 9, 4]])
    assert target_ranks(np.array([2, 8, 9]), ranked).tolist() == [2, -1, 0]


def test_recall_and_ndcg_hand_computed() -> None:
    # ranks 0, 1, 4, 7 and two misses; six users
    ranks = np.array([0, 1, 4, 7, -1, -1])
    assert recall_at_k(ranks, 5) == pytest.approx(3 / 6)
    assert recall_at_k(ranks, 10) == pytest.approx(4 / 6)
    dcg5 = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(6)
    assert ndcg_at_k(ranks, 5) == pytest.approx(dcg5 / 6)
    assert ndcg_at_k(ranks, 10) == pytest.approx((dcg5 + 1 / math.log2(9)) / 6)
    assert ranking_metrics(ranks) == {
        "recall_at_5": pytest.approx(0.5), "ndcg_at_5": pytest.approx(dcg5 / 6),
        "recall_at_10": pytest.approx(4 / 6), "ndcg_at_10": pytest.approx((dcg5 + 1 / math.log2(9)) / 6),
        "hit_at_5": pytest.approx(0.5), "hit_at_10": pytest.approx(4 / 6),  # one target: hit = recall
        "mrr_at_5": pytest.approx((1 + 1 / 2 + 1 / 5) / 6), "mrr_at_10": pytest.approx((1 + 1 / 2 + 1 / 5 + 1 / 8) / 6),
    }


def test_empty_split_scores_zero() -> None:
    assert recall_at_k(np.array([], dtype=int), 10) == 0.0
    assert ndcg_at_k(np.array([], dtype=int), 10) == 0.0
    assert mrr_at_k(np.array([], dtype=int), 10) == 0.0


def test_dedup_level_gives_each_item_its_own_slot() -> None:
    paths = np.array([[1, 2], [1, 2], [0, 5], [1, 2], [0, 5], [3, 3]])
    codes, size = add_dedup_level(paths)
    assert size == 3
    assert codes[:, 2].tolist() == [0, 1, 0, 2, 1, 0]  # numbered in row order within each shared path
    assert len({tuple(r) for r in codes.tolist()}) == len(paths)


def test_items_sharing_a_path_never_hit_each_other() -> None:
    # items 0, 1 and 3 share content path (1, 2); the ranker always returns item 0 first
    split = Split(histories=[np.array([5])] * 3, profiles=[[]] * 3, targets=np.array([0, 1, 3]))
    metrics = evaluate(lambda h, _p: np.tile(np.array([0, 2, 4]), (len(h), 1)), split)
    assert metrics["recall_at_10"] == pytest.approx(1 / 3)  # only the user whose target is item 0 hits


def test_baseline_rankers_never_return_history_items() -> None:
    counts = np.arange(40)[::-1].copy()  # item 0 most popular
    history = np.arange(0, 30)
    assert popularity_ranker(counts, 10)([history], [[]]).tolist() == [list(range(30, 40))]
    assert popularity_ranker(counts, 3, exclude_seen=False)([history], [[]]).tolist() == [[0, 1, 2]]
    torch.manual_seed(0)
    model = SASRec(SASRecConfig(n_items=40)).eval()
    items = ItemCodes([str(i) for i in range(40)], np.arange(40)[:, None], [40], [])
    ranked = model.ranker(items, 0, 10)([history, np.array([5])], [[], []])
    assert sorted(ranked[0].tolist()) == list(range(30, 40))  # only 10 items are left to rank
    assert 5 not in ranked[1].tolist()
