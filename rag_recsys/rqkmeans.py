"""Residual-quantisation K-Means (RQ-KMeans) with faiss.

Layer l clusters the residual left by layers < l, so a code path ``[c1, ..., cL]`` reconstructs
``sum_l C_l[c_l]`` (RaG Eq. 9). `fit_balanced` assigns the catalogue under a capacity at every layer: the
items under one prefix share out that layer's codes, at most ⌈|prefix items|/k⌉ each, so no code swallows
a dense region and items under one prefix take distinct last codes while there are codes left — fewer full
paths collide (the balanced assignment of RQ-Kmeans+ / OneRec's tokenizer, here per prefix; greedy by
distance, as faiss has no capacity constraint).
Fitting is deterministic: fixed seed, and faiss runs single-threaded while
fitting because multi-threaded reductions may reorder float sums and change centroids slightly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from rag_recsys.npz import save_arrays

DEFAULT_SEED = 1234


@dataclass(frozen=True)
class RQCodebooks:
    """One (size_l, dim) float32 centroid matrix per layer."""

    layers: tuple[np.ndarray, ...]

    @property
    def sizes(self) -> list[int]:
        return [int(c.shape[0]) for c in self.layers]

    @property
    def depth(self) -> int:
        return len(self.layers)

    @property
    def dim(self) -> int:
        return int(self.layers[0].shape[1])

    def encode(self, X: np.ndarray) -> np.ndarray:
        """Greedy residual encoding: nearest centroid per layer (may give paths no item has)."""
        residual = np.ascontiguousarray(X, dtype=np.float32).copy()
        codes = np.zeros((residual.shape[0], self.depth), dtype=np.int64)
        for level, centroids in enumerate(self.layers):
            index = faiss.IndexFlatL2(centroids.shape[1])
            index.add(centroids)
            _, nearest = index.search(residual, 1)
            codes[:, level] = nearest[:, 0]
            residual -= centroids[nearest[:, 0]]
        return codes

    def encode_valid(self, X: np.ndarray, valid: np.ndarray) -> np.ndarray:
        """(n, depth) code of each row of X (n, dim): the path among the (m, depth) ``valid`` ones (those a
        lexicon lists) whose reconstruction is nearest the row by cosine. Greedy `encode` can reach a path no item
        has, and a small change of a vector (another render of one product) often flips its last code; the
        nearest valid path is what a tokenizer hands out."""
        paths = np.asarray(valid, dtype=np.int64)
        recon = self.decode(paths)
        recon /= np.maximum(np.linalg.norm(recon, axis=1, keepdims=True), 1e-12)
        rows = np.asarray(X, dtype=np.float32)
        rows = rows / np.maximum(np.linalg.norm(rows, axis=1, keepdims=True), 1e-12)
        return paths[(rows @ recon.T).argmax(axis=1)]

    def decode(self, codes: np.ndarray) -> np.ndarray:
        """Reconstruction of each code path (or prefix: fewer columns sum fewer layers)."""
        codes = np.atleast_2d(np.asarray(codes, dtype=np.int64))
        out = np.zeros((codes.shape[0], self.dim), dtype=np.float32)
        for level in range(codes.shape[1]):
            out += self.layers[level][codes[:, level]]
        return out

    def save(self, path: str | Path) -> None:
        # byte-identical across rebuilds, which keeps the tokenizer version hash stable
        save_arrays(path, {f"layer{level}": c.astype(np.float32) for level, c in enumerate(self.layers)})

    @classmethod
    def load(cls, path: str | Path) -> RQCodebooks:
        with np.load(path) as data:
            names = sorted(data.files, key=lambda n: int(n.removeprefix("layer")))
            return cls(tuple(np.asarray(data[n], dtype=np.float32) for n in names))


def balanced_assign(X: np.ndarray, centroids: np.ndarray, capacity: int, candidates: int = 16) -> np.ndarray:
    """(n,) code of each row of X (n, d) with at most `capacity` rows per centroid of (k, d): rows take their
    nearest centroid with room, pairs taken in order of distance (ties: row index, then rank); rows whose
    `candidates` nearest are all full take the nearest centroid with room. Raises ValueError when
    k × capacity < n."""
    n, k = len(X), len(centroids)
    if k * capacity < n:
        raise ValueError(f"{k} codes × capacity {capacity} cannot hold {n} items")
    index = faiss.IndexFlatL2(centroids.shape[1])
    index.add(np.ascontiguousarray(centroids, dtype=np.float32))
    dist, near = index.search(np.ascontiguousarray(X, dtype=np.float32), min(k, candidates))
    codes = np.full(n, -1, dtype=np.int64)
    load = np.zeros(k, dtype=np.int64)
    for flat in np.argsort(dist, axis=None, kind="stable"):
        row, rank = divmod(int(flat), dist.shape[1])
        code = int(near[row, rank])
        if codes[row] < 0 and load[code] < capacity:
            codes[row], load[code] = code, load[code] + 1
    for row in np.flatnonzero(codes < 0):
        d = ((centroids - X[row]) ** 2).sum(axis=1)
        d[load >= capacity] = np.inf
        code = int(np.argmin(d))
        codes[row], load[code] = code, load[code] + 1
    return codes


def fit_balanced(
    X: np.ndarray, sizes: list[int], seed: int = DEFAULT_SEED, niter: int = 50
) -> tuple[RQCodebooks, np.ndarray]:
    """`fit`, with each layer's assignment capped per prefix (`balanced_assign` over the items under each
    prefix of the layers above, ⌈items/k⌉ per code) and its centroids moved to the mean of what they were
    assigned. Returns the codebooks and the (n, depth) codes of X's rows as assigned (`RQCodebooks.encode` of
    a new vector stays greedy nearest-centroid)."""
    residual = np.ascontiguousarray(X, dtype=np.float32).copy()
    codes = np.zeros((len(residual), len(sizes)), dtype=np.int64)
    layers: list[np.ndarray] = []
    for level, k in enumerate(sizes):
        centroids = fit(residual, [k], seed=seed + level, niter=niter).layers[0].copy()
        prefixes = np.unique(codes[:, :level], axis=0, return_inverse=True)[1].reshape(-1)
        for prefix in np.unique(prefixes):
            rows = np.flatnonzero(prefixes == prefix)
            codes[rows, level] = balanced_assign(residual[rows], centroids, -(-len(rows) // k))
        for code in np.unique(codes[:, level]):
            centroids[code] = residual[codes[:, level] == code].mean(axis=0)
        residual -= centroids[codes[:, level]]
        layers.append(centroids)
    return RQCodebooks(tuple(layers)), codes


def fit(X: np.ndarray, sizes: list[int], seed: int = DEFAULT_SEED, niter: int = 50) -> RQCodebooks:
    """Fit one K-Means per layer on the residuals of the previous layers."""
    if not sizes or any(k < 1 for k in sizes):
        raise ValueError(f"codebook sizes must be positive, got {sizes}")
    residual = np.ascontiguousarray(X, dtype=np.float32).copy()
    if residual.shape[0] < max(sizes):
        raise ValueError(f"{residual.shape[0]} vectors cannot fill a codebook of {max(sizes)}")
    previous_threads = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        layers: list[np.ndarray] = []
        for level, k in enumerate(sizes):
            km = faiss.Kmeans(
                residual.shape[1],
                k,
                niter=niter,
                seed=seed + level,
                # The default cap (256 points per centroid) subsamples randomly; use everything.
                max_points_per_centroid=max(256, residual.shape[0] // k + 1),
                # faiss only warns below 39 points per centroid; small catalogues are fine, and the warning reached
                # the command line's output as if something had failed
                min_points_per_centroid=1,
                verbose=False,
            )
            km.train(residual)
            centroids = np.ascontiguousarray(km.centroids, dtype=np.float32)
            _, nearest = km.index.search(residual, 1)
            residual -= centroids[nearest[:, 0]]
            layers.append(centroids)
    finally:
        faiss.omp_set_num_threads(previous_threads)
    return RQCodebooks(tuple(layers))
