"""Tokenizer quality measures in the style of the RaG paper's Table 2."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def reconstruction_recall(
    embeddings: np.ndarray, reconstructions: np.ndarray, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Share of items found among the k nearest originals of their own reconstruction (cosine)."""
    recon = reconstructions / np.maximum(np.linalg.norm(reconstructions, axis=1, keepdims=True), 1e-12)
    scores = recon @ embeddings.T
    own = scores[np.arange(len(scores)), np.arange(len(scores))]
    # ">=" counts ties against the item, so the figure never flatters.
    rank = (scores >= own[:, None]).sum(axis=1) - 1
    return {f"recall@{k}": round(float((rank < k).mean()), 4) for k in ks}


def collision_rate(codes: np.ndarray) -> float:
    """Share of items that do not get a code path of their own (1 - unique paths / items)."""
    unique = len({tuple(row) for row in codes.tolist()})
    return round(1.0 - unique / len(codes), 4)


def compression_ratio(dim: int, sizes: Sequence[int], bytes_per_value: int = 4) -> float:
    """Bits of a float32 embedding over bits of its code path."""
    code_bits = sum(math.ceil(math.log2(k)) for k in sizes)
    return round(dim * bytes_per_value * 8 / code_bits, 1)


def codebook_usage(codes: np.ndarray, sizes: Sequence[int]) -> list[float]:
    """Share of each layer's codes that some item uses (empty codes are wasted capacity)."""
    return [round(len(set(codes[:, i].tolist())) / k, 4) for i, k in enumerate(sizes)]
