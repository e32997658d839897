"""The tokenizer protocol — what SID files, the agents and the recommender ask of a D-SID tokenizer — and the default.

Two implementations: `rag_recsys.learned_tokenizer.LearnedTokenizer` (a learned, disentangled folder; the shipped
default, built from the taxonomy and the project's own drafts) and `rag_recsys.tokenizer.DSIDTokenizer` (the
taxonomy tokenizer v2: MiniLM + RQ-KMeans over category names and the designed look × rhythm grid, kept as the
"before" of the product-query and Table-2 comparisons). Codes mean something only under the tokenizer that made
them: a SID file or a model folder names its tokenizer's version, and `require_version` refuses another.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from rag_recsys.creative import CreativeStyle
from rag_recsys.embedding import TextEncoder
from rag_recsys.lexicon import ContentMeaning, Lexicon
from rag_recsys.reads import Reads
from tools.errors import InputError


class Tokenizer(Protocol):
    """A D-SID tokenizer: text ↔ content and creative code paths, and what every path means."""

    @property
    def version(self) -> str: ...
    @property
    def lexicon(self) -> Lexicon: ...
    @property
    def encoder(self) -> TextEncoder: ...
    @property
    def reads(self) -> Reads: ...
    @property
    def default_creative(self) -> list[int]: ...
    @property
    def disagreement_threshold(self) -> float: ...
    def encode_contents(self, texts: Sequence[str]) -> list[tuple[list[int], float]]: ...
    def encode_content(self, text: str) -> tuple[list[int], float]: ...
    def encode_creative(self, text: str) -> tuple[list[int], float]: ...
    def decode_content(self, codes: Sequence[int]) -> ContentMeaning: ...
    def decode_creative(self, codes: Sequence[int]) -> CreativeStyle: ...
    def content_similarity(self, text: str, codes: Sequence[int]) -> float: ...
    def nearest_category(self, text: str, codes: Sequence[int]) -> tuple[str, float]: ...
    def reconstruct(self, codes: Sequence[int]) -> np.ndarray: ...


def default_tokenizer() -> Tokenizer:
    """The shipped learned tokenizer (loaded once per process; its encoder on first use)."""
    from rag_recsys.learned_tokenizer import shipped_tokenizer

    return shipped_tokenizer()


def require_version(
    made_with: str, tokenizer: Tokenizer, what: str, remedy: str, file: str | Path | None = None
) -> None:
    """Raise InputError (field ``tokenizer``) when `made_with` is not `tokenizer`'s version: codes of another
    tokenizer name other things. `what` says what was made (``file``), `remedy` how to make it again."""
    if made_with != tokenizer.version:
        older = " (an older tokenizer)" if not made_with.startswith(tokenizer.version.rsplit("-", 1)[0]) else ""
        raise InputError("tokenizer", f"{what} with {made_with}{older}, this ragvid uses {tokenizer.version}: "
                                      f"{remedy}", file)  # fmt: skip


__all__ = ["Tokenizer", "default_tokenizer", "require_version"]
