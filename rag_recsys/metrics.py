"""Tokenizer quality measures in the style of the RaG paper's Table 2, each defined once here.

- `reconstruction_recall`: product-level retrieval Recall@K, the reconstruction of a code path as the
  query and the continuous embeddings as the gallery (the paper's Table 2 "Recall@K").
- `collision_rate`: share of items whose full code path another item shares, on the RQ-KMeans codes
  *before* any dedup level (a tokenizer that appends a dedup code would otherwise always report 0).
- `compression_ratio`: items per distinct full code path (1.0: every item has a path of its own).
- `code_compression_bits`: bits of a float32 embedding over bits of a code path (a storage figure,
  not the paper's compression ratio; it was called ``compression_ratio`` before tokenizer v3).
- `code_agreement`: share of same-group pairs (one product under two creative settings; one setting on two
  products) that share a full code path: the disentanglement checks of the D-SID bench.
- `leakage_probe`: how well a linear classifier reads a label (the creative settings) from an embedding
  (the content channel), against the majority-class share.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np


def retrieval_recall(
    queries: np.ndarray, gallery: np.ndarray, targets: Sequence[int] | np.ndarray, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Share of queries whose target is among the k gallery rows nearest them (cosine).

    Args:
        queries: (m, d) rows of any norm.
        gallery: (n, d) unit rows.
        targets: (m,) gallery row of each query. Ties count against the target, so the figure never flatters.
    """
    q = np.asarray(queries, dtype=np.float32)
    q = q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)
    scores = q @ np.asarray(gallery, dtype=np.float32).T
    rows = np.arange(len(scores))
    own = scores[rows, np.asarray(targets, dtype=np.int64)]
    rank = (scores >= own[:, None]).sum(axis=1) - 1
    return {f"recall@{k}": round(float((rank < k).mean()), 4) for k in ks}


def flat_keys(figures: dict[str, float]) -> dict[str, float]:
    """``recall@10`` → ``recall_at_10``: the flat, unit-named keys of a JSON report."""
    return {k.replace("@", "_at_"): v for k, v in figures.items()}


def reconstruction_recall(
    embeddings: np.ndarray, reconstructions: np.ndarray, ks: Sequence[int] = (1, 5, 10)
) -> dict[str, float]:
    """Share of items found among the k nearest originals of their own reconstruction (cosine).

    Args:
        embeddings: (n, d) unit rows, the gallery; row i is item i.
        reconstructions: (n, d) rows, the queries; row i reconstructs item i (any norm).
    """
    return retrieval_recall(reconstructions, embeddings, np.arange(len(reconstructions)), ks)


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


def code_agreement(codes: np.ndarray, groups: Sequence[int] | np.ndarray) -> float:
    """Share of pairs of rows in one group whose full code paths are equal, in [0, 1].

    Args:
        codes: (n, depth) integer code paths.
        groups: (n,) group id of each row (rows of one product; rows of one creative setting).
    Raises ValueError when no group has two rows.
    """
    rows = np.atleast_2d(np.asarray(codes))
    ids = np.asarray(groups)
    same = pairs = 0
    for group in np.unique(ids):
        members = rows[ids == group]
        n = len(members)
        if n < 2:
            continue
        counts = Counter(tuple(r) for r in members.tolist()).values()
        same += sum(c * (c - 1) // 2 for c in counts)
        pairs += n * (n - 1) // 2
    if pairs == 0:
        raise ValueError("no group has two rows: agreement is undefined")
    return round(same / pairs, 4)


def leakage_probe(
    embeddings: np.ndarray, labels: Sequence[int] | np.ndarray, folds: int = 5, seed: int = 0
) -> tuple[float, float]:
    """Cross-validated accuracy of a linear classifier (scikit-learn's multinomial logistic regression on
    standardised inputs) predicting `labels` from (n, d) `embeddings`, and chance: the majority label's share.

    An accuracy near chance means the embedding carries no linearly readable trace of the label (here: the
    content channel does not encode the creative settings). Folds are stratified when every label has
    `folds` rows, else plain shuffled K-fold. Raises ValueError for fewer rows than folds."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    y = np.asarray(labels)
    if len(y) < folds:
        raise ValueError(f"{len(y)} rows cannot make {folds} folds")
    counts = Counter(y.tolist())
    splitter = (StratifiedKFold if min(counts.values()) >= folds else KFold)(folds, shuffle=True, random_state=seed)
    probe = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    accuracy = cross_val_score(probe, np.asarray(embeddings), y, cv=splitter).mean()
    return round(float(accuracy), 4), round(max(counts.values()) / len(y), 4)
