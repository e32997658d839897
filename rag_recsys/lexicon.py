"""SID lexicon: what every code path prefix means, so an off-the-shelf LLM (or a person) can read SIDs.

Content prefixes of depth 1..3 map to a ``ContentMeaning``; creative full paths map to the
``CreativeStyle`` render settings. A path is known only if the lexicon lists it: codes that are each
in range can still form a path no category has, and that path is UNKNOWN.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from pydantic import BaseModel

from rag_recsys.creative import CreativeStyle
from tools.errors import InputError


class ContentMeaning(BaseModel):
    path: list[int]
    entities: list[str]  # leaf category names of the members, most central first
    topics: list[str]  # most common second-level taxonomy branches of the members
    titles: list[str]  # full taxonomy paths of the members nearest the prefix centroid
    size: int  # number of taxonomy categories under this prefix


MAX_ENTITIES, MAX_TOPICS, MAX_TITLES = 8, 3, 3


def path_key(path: Sequence[int]) -> str:
    return "-".join(str(int(c)) for c in path)


def key_path(key: str) -> list[int]:
    """The code path a `path_key` names: ``"3-2"`` → ``[3, 2]``."""
    return [int(c) for c in key.split("-")]


def prefix_groups(codes: np.ndarray) -> dict[tuple[int, ...], list[int]]:
    """(n, depth) code paths → every prefix (depths 1..depth) and the rows under it, in row order."""
    groups: dict[tuple[int, ...], list[int]] = {}
    for i, row in enumerate(np.asarray(codes).tolist()):
        for depth in range(1, len(row) + 1):
            groups.setdefault(tuple(row[:depth]), []).append(i)
    return groups


def prefix_meanings(
    groups: dict[tuple[int, ...], list[int]],
    emb: np.ndarray,
    entity: Sequence[str],
    topic: Sequence[str],
    title: Sequence[str],
) -> dict[str, dict[str, object]]:
    """What each prefix of `groups` (`prefix_groups`) means, as ``ContentMeaning`` fields without the path: its
    rows' distinct `entity` names, most central first (cosine of the (n, dim) `emb` row to the prefix's unit
    centroid); its most common `topic`s; the `title`s of its most central rows; its row count."""
    out: dict[str, dict[str, object]] = {}
    for prefix in sorted(groups):
        members = groups[prefix]
        centre = emb[members].mean(axis=0)
        centre = centre / max(float(np.linalg.norm(centre)), 1e-12)
        # a stable sort on the row keeps ties (duplicate embeddings) deterministic
        order = sorted(members, key=lambda i: (-float(emb[i] @ centre), i))
        entities = list(dict.fromkeys(entity[i] for i in order))[:MAX_ENTITIES]
        topics = [t for t, _ in Counter(topic[i] for i in members).most_common(MAX_TOPICS)]
        titles = [title[i] for i in order[:MAX_TITLES]]
        out[path_key(prefix)] = {"entities": entities, "topics": topics, "titles": titles, "size": len(members)}
    return out


class Lexicon(BaseModel):
    version: str
    content_sizes: list[int]
    creative_sizes: list[int]
    content_entries: dict[str, ContentMeaning]
    creative_entries: dict[str, CreativeStyle]
    look_phrases: list[str]
    rhythm_phrases: list[str]
    # Taxonomy path of every member category, in the row order of the tokenizer's member vectors.
    members: list[str] = []

    @property
    def content_depth(self) -> int:
        return len(self.content_sizes)

    @property
    def creative_depth(self) -> int:
        return len(self.creative_sizes)

    def has_content(self, prefix: Sequence[int]) -> bool:
        return 0 < len(prefix) <= self.content_depth and path_key(prefix) in self.content_entries

    def content(self, prefix: Sequence[int]) -> ContentMeaning:
        entry = self.content_entries.get(path_key(prefix)) if 0 < len(prefix) <= self.content_depth else None
        if entry is None:
            raise InputError("content", f"unknown code path {[int(c) for c in prefix]} (not in lexicon {self.version})")
        return entry

    def content_paths(self) -> list[list[int]]:
        """Every valid full-depth content path, in lexicon order."""
        return [m.path for m in self.content_entries.values() if len(m.path) == self.content_depth]

    def has_creative(self, path: Sequence[int]) -> bool:
        return len(path) == self.creative_depth and path_key(path) in self.creative_entries

    def creative(self, path: Sequence[int]) -> CreativeStyle:
        style = self.creative_entries.get(path_key(path)) if len(path) == self.creative_depth else None
        if style is None:
            raise InputError("creative", f"unknown code path {[int(c) for c in path]} (not in lexicon {self.version})")
        return style

    def creative_paths(self) -> list[list[int]]:
        return [s.path for s in self.creative_entries.values()]

    @classmethod
    def load(cls, path: Path, version: str) -> Lexicon:
        raw = json.loads(path.read_text(encoding="utf-8"))
        content = {
            key: ContentMeaning(path=key_path(key), **value)
            for key, value in raw["content"].items()
        }
        creative = {key: CreativeStyle(**value) for key, value in raw["creative"].items()}
        return cls(
            version=version,
            content_sizes=raw["content_sizes"],
            creative_sizes=raw["creative_sizes"],
            content_entries=content,
            creative_entries=creative,
            look_phrases=raw["look_phrases"],
            rhythm_phrases=raw["rhythm_phrases"],
            members=raw.get("members", []),
        )
