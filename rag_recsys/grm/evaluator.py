"""Ranking metrics (pure functions) and the leave-one-out evaluation of any top-k ranker.

Every item has its own rank slot: a ranker returns item rows, and a hit is the target row itself, so
two items sharing a content path (told apart by the dedup level) never count as hits for each other.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rag_recsys.grm.data import Split

KS = (5, 10)
TOP_K = max(KS)  # item rows a ranker returns per user: enough for the deepest cut-off


def target_ranks(targets: np.ndarray, ranked: np.ndarray) -> np.ndarray:
    """0-based rank of each user's target in their ranked rows (U, K); -1 where it is absent."""
    hits = ranked == targets[:, None]
    return np.where(hits.any(axis=1), hits.argmax(axis=1), -1)


def recall_at_k(ranks: np.ndarray, k: int) -> float:
    """Share of users whose single target is in the top k (leave-one-out: recall = hit rate)."""
    return float(np.mean((ranks >= 0) & (ranks < k))) if len(ranks) else 0.0


def ndcg_at_k(ranks: np.ndarray, k: int) -> float:
    """Mean of 1/log2(rank + 2) over users whose target is in the top k (ideal DCG is 1: one target)."""
    if not len(ranks):
        return 0.0
    inside = (ranks >= 0) & (ranks < k)
    gains = np.zeros(len(ranks))
    gains[inside] = 1.0 / np.log2(ranks[inside] + 2.0)
    return float(gains.mean())


def mrr_at_k(ranks: np.ndarray, k: int) -> float:
    """Mean reciprocal rank, 1/(rank + 1) for a target in the top k and 0 otherwise (RecBole's ``MRR@K``)."""
    if not len(ranks):
        return 0.0
    inside = (ranks >= 0) & (ranks < k)
    gains = np.zeros(len(ranks))
    gains[inside] = 1.0 / (ranks[inside] + 1.0)
    return float(gains.mean())


def ranking_metrics(ranks: np.ndarray, ks: Sequence[int] = KS) -> dict[str, float]:
    """Recall@K and NDCG@K for each K, then Hit@K and MRR@K (RecBole's names). With one held-out target per
    user Hit@K equals Recall@K; both are given so figures line up with papers that report either."""
    out: dict[str, float] = {}
    for k in ks:
        out[f"recall_at_{k}"] = recall_at_k(ranks, k)
        out[f"ndcg_at_{k}"] = ndcg_at_k(ranks, k)
    for k in ks:
        out[f"hit_at_{k}"] = out[f"recall_at_{k}"]
        out[f"mrr_at_{k}"] = mrr_at_k(ranks, k)
    return out


def without_seen(ranked: np.ndarray, seen: Sequence[np.ndarray], k: int) -> np.ndarray:
    """The first ``k`` of each user's ranked rows that are not in their ``seen`` rows (-1 pads)."""
    out = np.full((len(ranked), k), -1, dtype=np.int64)
    for i, (row, had) in enumerate(zip(ranked, seen, strict=True)):
        kept = row[~np.isin(row, had)][:k]
        out[i, : len(kept)] = kept
    return out


# (histories as item rows, hashed profile features) → (len, K) ranked item rows
Ranker = Callable[[Sequence[np.ndarray], Sequence[Sequence[int]]], np.ndarray]


def ranked_rows(rank: Ranker, split: Split, batch_size: int = 256) -> np.ndarray:
    """(users, K) rows ``rank`` gives a split's users, batch by batch, in the split's (fixed) user order."""
    return np.concatenate([
        rank(split.histories[i : i + batch_size], split.profiles[i : i + batch_size])
        for i in range(0, len(split.histories), batch_size)
    ])


def evaluate(rank: Ranker, split: Split, batch_size: int = 256, ks: Sequence[int] = KS) -> dict[str, float]:
    """Metrics of ``rank`` on a split, batch by batch, in the split's (fixed) user order."""
    return ranking_metrics(target_ranks(split.targets, ranked_rows(rank, split, batch_size)), ks)
