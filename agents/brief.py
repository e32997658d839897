"""The brief: what the instruction model reads — decoded D-SIDs plus the optional product meta.

It is built once from a validated SID file and stored in graph state as JSON, so every later node,
a resumed run and Studio see the same input.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from rag_recsys.lexicon import CreativeStyle
from rag_recsys.sidfile import LoadedSid, ProductMeta


class Brief(BaseModel):
    """The decoded SID (content meaning, creative style, product meta and images) the instruction model
    reads; ``duration`` is the requested length in seconds (None: sized to the copy)."""

    sid_file: str | None = Field(description="the SID file; None for an inline SID")
    tokenizer: str
    content_path: list[int]
    creative_path: list[int]
    entities: list[str]
    topics: list[str]
    titles: list[str]
    style: CreativeStyle
    meta: ProductMeta | None
    images: list[str]
    similarity: float | None
    product_text: str
    similarity_note: str | None = None  # why similarity is None or approximate (`LoadedSid.similarity_note`)
    aspect: str
    duration: float | None = None
    # False: ``duration`` is the render profile's default length, not one the caller asked for, so it grows
    # to the shortest length the hook and the call to action need instead of failing
    duration_asked: bool = True

    @classmethod
    def from_loaded(cls, loaded: LoadedSid, *, aspect: str, duration: float | None, duration_asked: bool = True
                    ) -> Brief:  # fmt: skip
        """The brief of a validated SID (file or inline): its codes, decoded content and style, product meta and
        image paths, and the meta/content cosine; `aspect` an ``ASPECTS`` key, `duration` in seconds or None."""
        return cls(
            sid_file=str(loaded.path) if loaded.path is not None else None,
            tokenizer=loaded.sid.tokenizer,
            content_path=list(loaded.sid.content),
            creative_path=list(loaded.sid.creative),
            entities=list(loaded.content.entities),
            topics=list(loaded.content.topics),
            titles=list(loaded.content.titles),
            style=loaded.creative,
            meta=loaded.sid.meta,
            images=[str(p) for p in loaded.image_paths],
            similarity=loaded.similarity,
            similarity_note=loaded.similarity_note,
            product_text=loaded.product_text,
            aspect=aspect,
            duration=duration,
            duration_asked=duration_asked,
        )
