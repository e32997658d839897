"""Tokenizer quality measures in the style of the RaG paper's Table 2, each defined once here.

- `reconstruction_recall`: product-level retrieval Recall@K, the reconstruction of a code path as the
  query and the continuous embeddings as the gallery (the paper's Table 2 "Recall@K").
- `collision_rate`: share of items whose full code path another item shares, on the RQ-KMeans codes
  *before* any dedup level (a tokenizer that appends a dedup code would otherwise always report 0).
- `compression_ratio`: items per distinct full code path (1.0: every item has a path of its own).
- `code_compression_bits`: bits of a float32 embedding over bits of a code path (a storage figure,
  not the paper's compression ratio; it was called ``compression_ratio`` before tokenizer v3).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np


def reconstruction_recall(
    embeddings: np.ndarray, reconstructions: np.ndarray, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Share of items found among the k nearest originals of their own reconstruction (cosine).

    Args:
        embeddings: (n, d) unit rows, the gallery; row i is item i.
        reconstructions: (n, d) rows, the queries; row i reconstructs item i (any norm).
    """
    recon = reconstructions / np.maximum(np.linalg.norm(reconstructions, axis=1, keepdims=True), 1e-12)
    scores = recon @ embeddings.T
    own = scores[np.arange(len(scores)), np.arange(len(scores))]
    # ">=" counts ties against the item, so the figure never flatters.
    rank = (scores >= own[:, None]).sum(axis=1) - 1
    return {f"recall@{k}": round(float((rank < k).mean()), 4) for k in ks}


def _path_counts(codes: np.ndarray) -> Counter[tuple[int, ...]]:
    if len(codes) == 0:
        raise ValueError("no code paths to measure")
    return Counter(tuple(row) for row in np.atleast_2d(codes).tolist())


def collision_rate(codes: np.ndarray) -> float:
    """Share of items whose full code path at least one other item shares, in [0, 1].

    Args:
        codes: (n_items, depth) integer code paths, before any dedup level.

    Two items on one path count as two collisions (both are ambiguous), so ``[[1], [1], [2]]`` → 2/3.
    Raises ValueError for no items.
    """
    counts = _path_counts(codes)
    shared = sum(c for c in counts.values() if c > 1)
    return round(shared / sum(counts.values()), 4)


def compression_ratio(codes: np.ndarray) -> float:
    """Items per distinct full code path (≥ 1; 1.0 when every item has a path of its own).

    Args:
        codes: (n_items, depth) integer code paths. Raises ValueError for no items.
    """
    counts = _path_counts(codes)
    return round(sum(counts.values()) / len(counts), 4)


def code_bits(sizes: Sequence[int]) -> int:
    """Bits of one code path through codebooks of ``sizes``: the sum of ceil(log2 k) over the layers."""
    return sum(math.ceil(math.log2(k)) for k in sizes)


def code_compression_bits(dim: int, sizes: Sequence[int], bytes_per_value: int = 4) -> float:
    """Bits of a ``dim``-value float embedding over the bits of one code path (`code_bits`)."""
    return round(dim * bytes_per_value * 8 / code_bits(sizes), 1)


def codebook_usage(codes: np.ndarray, sizes: Sequence[int]) -> list[float]:
    """Share of each layer's codes that some item uses (empty codes are wasted capacity)."""
    return [round(len(set(codes[:, i].tolist())) / k, 4) for i, k in enumerate(sizes)]
