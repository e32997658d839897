"""The D-SID tokenizer: content codebooks + lexicon + MiniLM, loaded from the shipped artifacts.

Content text is encoded to the nearest *valid* full path (one the lexicon lists) by cosine between
the text embedding and the centroid of the path's member categories. Centroids beat RQ
reconstructions here: leaf-name queries found their own category's path 0.92 of the time against
0.38 with reconstructions (see ``metrics.json``), because three small layers leave a large residual.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag_recsys.creative import RHYTHM_WEIGHT, CreativeStyle
from rag_recsys.embedding import TextEncoder, get_text_encoder
from rag_recsys.lexicon import ContentMeaning, Lexicon, path_key
from rag_recsys.rqkmeans import RQCodebooks

VERSION_PREFIX = "ragvid-gpt-v1"
ARTIFACT_DIR = Path(__file__).resolve().parent / "artifacts"
CODEBOOKS_FILE = "codebooks.npz"
LEXICON_FILE = "lexicon.json"
PATH_MEANS_FILE = "path_means.npy"
METRICS_FILE = "metrics.json"
# metrics.json only describes the others, so it does not take part in the version.
VERSIONED_FILES = (CODEBOOKS_FILE, LEXICON_FILE, PATH_MEANS_FILE)


def artifact_version(directory: Path) -> str:
    digest = hashlib.sha256()
    for name in VERSIONED_FILES:
        digest.update(name.encode())
        digest.update((directory / name).read_bytes())
    return f"{VERSION_PREFIX}+{digest.hexdigest()[:8]}"


def _normalise(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class DSIDTokenizer:
    def __init__(
        self,
        codebooks: RQCodebooks,
        lexicon: Lexicon,
        path_means: np.ndarray,
        encoder: TextEncoder | None = None,
    ) -> None:
        self.codebooks = codebooks
        self.lexicon = lexicon
        self._paths = lexicon.content_paths()
        if len(self._paths) != len(path_means):
            raise ValueError(f"{len(self._paths)} lexicon paths but {len(path_means)} path means")
        self._means = np.asarray(path_means, dtype=np.float32)
        self._sizes = np.array([lexicon.content(p).size for p in self._paths], dtype=np.float32)
        self._centroids = _normalise(self._means)
        self._encoder = encoder
        self._creative_vectors: np.ndarray | None = None

    @classmethod
    def load(cls, directory: Path, encoder: TextEncoder | None = None) -> DSIDTokenizer:
        version = artifact_version(directory)
        return cls(
            RQCodebooks.load(directory / CODEBOOKS_FILE),
            Lexicon.load(directory / LEXICON_FILE, version),
            np.load(directory / PATH_MEANS_FILE),
            encoder,
        )

    @staticmethod
    def load_default() -> DSIDTokenizer:
        return _default_tokenizer()

    @property
    def version(self) -> str:
        return self.lexicon.version

    @property
    def encoder(self) -> TextEncoder:
        # Lazy: decoding and validating SID files without meta never needs the model.
        if self._encoder is None:
            self._encoder = get_text_encoder()
        return self._encoder

    def content_vector(self, prefix: Sequence[int]) -> np.ndarray:
        """Unit centroid of every category under a valid prefix (size-weighted over its full paths)."""
        self.lexicon.content(prefix)  # raises UnknownCodeError for a path the lexicon lacks
        depth = len(prefix)
        rows = [i for i, p in enumerate(self._paths) if p[:depth] == list(prefix)]
        total = (self._means[rows] * self._sizes[rows, None]).sum(axis=0)
        return _normalise(total)

    def encode_content(self, text: str) -> tuple[list[int], float]:
        scores = self._centroids @ self.encoder.encode_one(text)
        best = int(np.argmax(scores))
        return list(self._paths[best]), float(scores[best])

    def content_similarity(self, text: str, codes: Sequence[int]) -> float:
        return float(self.content_vector(codes) @ self.encoder.encode_one(text))

    def decode_content(self, codes: Sequence[int]) -> ContentMeaning:
        return self.lexicon.content(codes)

    def _creative_matrix(self) -> np.ndarray:
        if self._creative_vectors is None:
            looks = self.encoder.encode(self.lexicon.look_phrases)
            rhythms = self.encoder.encode(self.lexicon.rhythm_phrases)
            paths = self.lexicon.creative_paths()
            self._creative_vectors = _normalise(
                np.stack([looks[p[0]] + RHYTHM_WEIGHT * rhythms[p[1]] for p in paths])
            )
        return self._creative_vectors

    def encode_creative(self, text: str) -> tuple[list[int], float]:
        scores = self._creative_matrix() @ self.encoder.encode_one(text)
        best = int(np.argmax(scores))
        return list(self.lexicon.creative_paths()[best]), float(scores[best])

    def decode_creative(self, codes: Sequence[int]) -> CreativeStyle:
        return self.lexicon.creative(codes)

    def reconstruct(self, codes: Sequence[int]) -> np.ndarray:
        """RQ reconstruction of a content path (for models that consume SID embeddings)."""
        return self.codebooks.decode(np.asarray([list(codes)]))[0]

    def __repr__(self) -> str:
        return f"DSIDTokenizer({self.version}, content {self.lexicon.content_sizes}, " \
            f"creative {self.lexicon.creative_sizes}, {len(self._paths)} content paths)"


@lru_cache(maxsize=1)
def _default_tokenizer() -> DSIDTokenizer:
    return DSIDTokenizer.load(ARTIFACT_DIR)


__all__ = ["ARTIFACT_DIR", "DSIDTokenizer", "artifact_version", "path_key"]
