"""The brief: what the instruction model reads — decoded D-SIDs plus the optional product meta.

It is built once from a validated SID file and stored in graph state as JSON, so every later node,
a resumed run and Studio see the same input.
"""

from __future__ import annotations

from pydantic import BaseModel

from rag_recsys.lexicon import CreativeStyle
from rag_recsys.sidfile import LoadedSid, ProductMeta


class Brief(BaseModel):
    sid_file: str
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
    aspect: str
    duration: float | None = None

    @classmethod
    def from_loaded(cls, loaded: LoadedSid, *, aspect: str, duration: float | None) -> Brief:
        return cls(
            sid_file=str(loaded.path),
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
            product_text=loaded.product_text,
            aspect=aspect,
            duration=duration,
        )
