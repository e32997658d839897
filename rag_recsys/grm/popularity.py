"""Most-popular baseline: every user gets the items seen most often in the training sequences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rag_recsys.grm.evaluator import without_seen


def item_counts(train: Sequence[np.ndarray], n_items: int) -> np.ndarray:
    return np.bincount(np.concatenate(list(train)) if len(train) else np.zeros(0, np.int64), minlength=n_items)


def popular_items(counts: np.ndarray, k: int) -> np.ndarray:
    """Top-k item rows by count; ties go to the lower row, so the ranking is deterministic."""
    return np.lexsort((np.arange(len(counts)), -counts))[:k]


def popularity_ranker(
    counts: np.ndarray, k: int, exclude_seen: bool = True
) -> Callable[[Sequence[np.ndarray], Sequence[Sequence[int]]], np.ndarray]:
    """The same top-k for everyone; with ``exclude_seen`` each user's own items give way to the next ones."""
    order = popular_items(counts, len(counts))

    def rank(histories: Sequence[np.ndarray], _profiles: Sequence[Sequence[int]]) -> np.ndarray:
        if not exclude_seen:
            return np.tile(order[:k], (len(histories), 1))
        # a user's items can push at most len(history) of the top ones out
        deepest = k + max((len(h) for h in histories), default=0)
        return without_seen(np.tile(order[:deepest], (len(histories), 1)), histories, k)

    return rank
