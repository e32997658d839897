"""Most-popular baseline: every user gets the items seen most often in the training sequences."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def item_counts(train: Sequence[np.ndarray], n_items: int) -> np.ndarray:
    return np.bincount(np.concatenate(list(train)) if len(train) else np.zeros(0, np.int64), minlength=n_items)


def popular_items(counts: np.ndarray, k: int) -> np.ndarray:
    """Top-k item rows by count; ties go to the lower row, so the ranking is deterministic."""
    return np.lexsort((np.arange(len(counts)), -counts))[:k]


def popularity_ranker(
    counts: np.ndarray, k: int
) -> Callable[[Sequence[np.ndarray], Sequence[Sequence[int]]], np.ndarray]:
    top = popular_items(counts, k)
    return lambda histories, _profiles: np.tile(top, (len(histories), 1))
