"""The SID-indexed video cache of the paper's deployment (section 3, Figure 3): what a request for a (content,
creative) D-SID pair is served at once, at which hit level, and what to generate nearline.

Three cases, after the paper, plus an empty cache:

- **exact**: a video of this content path *and* creative path, in the requested aspect ratio → that video;
- **creative_miss**: a video of this content path under another creative path → that content-consistent video
  now (the one sharing the longest creative prefix), and the missing variant to generate;
- **content_miss**: no video of this content path → the nearest cached video in the content embedding space
  (cosine of the tokenizer's RQ reconstructions of the two content paths), and the pair to generate;
- **empty**: nothing under this tokenizer version → no video, the pair to generate (HTTP 202 with a job id).

Runs the Critic did not accept (``"accepted": false`` in the run record) are kept and marked, and served only
when nothing accepted matches: at each level an accepted video goes first, and an accepted video of the right
content goes before an unaccepted one of the right creative path too. A pair that has a video, accepted or not,
is not generated again (runs count as they are: no re-rolling until accepted).

Codes mean something only under the tokenizer that made them, so the tokenizer version is part of every key. The
index is SQLite by default (`SQLiteVideoIndex`; WAL, so an API process reads while a worker adds) behind the
small `VideoIndex` protocol — Postgres is the documented extension point, not built — and the bytes live in a
`rag_recsys.media_store.MediaStore`. Media are capped in bytes and evicted least recently served first. No
library covers this (a SID-aware three-level lookup with a nearest-neighbour fallback), hence the module; the
nearest-neighbour search is an exact NumPy scan, which stays well under a millisecond at the tens of thousands of
videos one cache holds (faiss would be the swap beyond that).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Literal, Protocol

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rag_recsys.lexicon import key_path, path_key
from rag_recsys.media_store import MediaStore, check_video_id, new_video_id
from rag_recsys.sqlite_db import open_db

HitLevel = Literal["exact", "creative_miss", "content_miss", "empty"]
HIT_LEVELS: tuple[HitLevel, ...] = ("exact", "creative_miss", "content_miss", "empty")


class SidKey(BaseModel):
    """One (content, creative) D-SID pair under one tokenizer version: what a request asks for and a job makes."""

    model_config = ConfigDict(frozen=True)

    tokenizer: str = Field(description="the tokenizer version the codes belong to (e.g. ragvid-dsid-v1+af213642)")
    content: tuple[int, ...] = Field(description="full content code path")
    creative: tuple[int, ...] = Field(description="full creative code path")


class CachedVideo(BaseModel):
    """One cached render: its SIDs, whether the Critic accepted it, its media size and when it was made and
    last served (Unix seconds)."""

    video_id: str
    key: SidKey
    aspect: str = Field(default="9:16", description="the video's aspect ratio: 9:16, 16:9 or 1:1")
    accepted: bool = Field(description="the Critic accepted the delivered round (the run record's `accepted`)")
    size_bytes: int = Field(ge=0, description="bytes of its media (MP4 and run record)")
    created_at: float
    last_served_at: float


class CacheAnswer(BaseModel):
    """What to serve for a request now, and what to generate."""

    hit: HitLevel
    video: CachedVideo | None = Field(description="the video to serve now; None when the cache is empty")
    generate: SidKey | None = Field(
        description="the pair to enqueue for nearline generation; None when a video of the pair exists"
    )
    content_cosine: float | None = Field(
        default=None, description="content_miss: cosine of the served video's content embedding to the request's"
    )


def shared_prefix(a: Sequence[int], b: Sequence[int]) -> int:
    """Number of leading codes two paths share."""
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def is_exact(video: CachedVideo, request: SidKey, aspect: str) -> bool:
    """Whether `video` is the requested pair in the requested aspect ratio."""
    return video.key.creative == request.creative and video.aspect == aspect


def best_of_content(request: SidKey, same_content: Sequence[CachedVideo], aspect: str = "9:16") -> CachedVideo:
    """The video to serve among videos of the request's content path: accepted first, then the exact pair in the
    requested aspect, then the longest shared creative prefix, then the requested aspect, then the newest. Raises
    ValueError when there is none."""
    if not same_content:
        raise ValueError("no video of this content path")
    return min(same_content, key=lambda v: (not v.accepted, not is_exact(v, request, aspect),
                                            -shared_prefix(v.key.creative, request.creative), v.aspect != aspect,
                                            -v.created_at))  # fmt: skip


def nearest_row(query: np.ndarray, embeddings: np.ndarray, accepted: np.ndarray) -> tuple[int, float] | None:
    """Row of the (n, d) unit `embeddings` nearest the (d,) unit `query` by cosine, among the `accepted` (n,) rows
    when any is accepted, and its cosine; None when n = 0."""
    if len(embeddings) == 0:
        return None
    cosines = embeddings @ query
    pool = np.flatnonzero(accepted) if accepted.any() else np.arange(len(embeddings))
    row = int(pool[np.argmax(cosines[pool])])
    return row, float(cosines[row])


class VideoIndex(Protocol):
    """What the cache keeps about each video, searchable by SIDs (`SQLiteVideoIndex`; Postgres would be another
    adapter)."""

    def insert(self, video: CachedVideo, embedding: np.ndarray) -> None: ...
    def get(self, video_id: str) -> CachedVideo | None: ...
    def same_content(self, tokenizer: str, content: Sequence[int]) -> list[CachedVideo]: ...
    def nearest(self, tokenizer: str, query: np.ndarray) -> tuple[CachedVideo, float] | None: ...
    def touch(self, video_id: str, at: float) -> None: ...
    def delete(self, video_id: str) -> None: ...
    def total_bytes(self) -> int: ...
    def least_recently_served(self, exclude: str) -> CachedVideo | None: ...
    def videos(self, limit: int, offset: int = 0) -> list[CachedVideo]: ...


_SCHEMA = """
CREATE TABLE IF NOT EXISTS videos (
    video_id TEXT PRIMARY KEY,
    tokenizer TEXT NOT NULL,
    content TEXT NOT NULL,
    creative TEXT NOT NULL,
    aspect TEXT NOT NULL,
    accepted INTEGER NOT NULL,
    size_bytes INTEGER NOT NULL,
    created_at REAL NOT NULL,
    last_served_at REAL NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS videos_by_content ON videos (tokenizer, content);
CREATE INDEX IF NOT EXISTS videos_by_service ON videos (last_served_at);
"""
_COLUMNS = "video_id, tokenizer, content, creative, aspect, accepted, size_bytes, created_at, last_served_at"
SCHEMA_VERSION = 2


def _video(row: Sequence[object]) -> CachedVideo:
    video_id, tokenizer, content, creative, aspect, accepted, size, created, served = row
    key = SidKey(tokenizer=str(tokenizer), content=tuple(key_path(str(content))),
                 creative=tuple(key_path(str(creative))))  # fmt: skip
    return CachedVideo(video_id=str(video_id), key=key, aspect=str(aspect), accepted=bool(accepted),
                       size_bytes=int(str(size)), created_at=float(str(created)),
                       last_served_at=float(str(served)))  # fmt: skip


class SQLiteVideoIndex:
    """`VideoIndex` in one SQLite file (WAL journal). One connection shared by the threads of a process, under a
    lock; other processes (workers) write through their own. The nearest-neighbour scan keeps the embeddings of
    one tokenizer version in memory and reloads them when the file changed (SQLite's ``data_version`` counts
    other connections' commits, a counter here this one's)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = open_db(self.path, _SCHEMA, SCHEMA_VERSION)
        self._lock = threading.Lock()
        self._writes = 0
        self._matrix: tuple[tuple[str, int, int], list[str], np.ndarray, np.ndarray] | None = None

    def _write(self, sql: str, args: Sequence[object]) -> None:
        with self._lock:
            self._db.execute(sql, tuple(args))
            self._writes += 1

    def _rows(self, sql: str, args: Sequence[object]) -> list[tuple[object, ...]]:
        with self._lock:
            return self._db.execute(sql, tuple(args)).fetchall()

    def insert(self, video: CachedVideo, embedding: np.ndarray) -> None:
        vector = np.asarray(embedding, dtype=np.float32).ravel()
        vector = vector / max(float(np.linalg.norm(vector)), 1e-12)
        k = video.key
        self._write(f"INSERT INTO videos ({_COLUMNS}, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (video.video_id, k.tokenizer, path_key(k.content), path_key(k.creative), video.aspect,
                     int(video.accepted),
                     video.size_bytes, video.created_at, video.last_served_at, vector.tobytes()))  # fmt: skip

    def get(self, video_id: str) -> CachedVideo | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM videos WHERE video_id = ?", (video_id,))
        return _video(rows[0]) if rows else None

    def same_content(self, tokenizer: str, content: Sequence[int]) -> list[CachedVideo]:
        rows = self._rows(f"SELECT {_COLUMNS} FROM videos WHERE tokenizer = ? AND content = ?",
                          (tokenizer, path_key(content)))  # fmt: skip
        return [_video(r) for r in rows]

    def _embeddings(self, tokenizer: str) -> tuple[list[str], np.ndarray, np.ndarray]:
        with self._lock:
            stamp = (tokenizer, int(self._db.execute("PRAGMA data_version").fetchone()[0]), self._writes)
            if self._matrix is None or self._matrix[0] != stamp:
                rows = self._db.execute(
                    "SELECT video_id, accepted, embedding FROM videos WHERE tokenizer = ? ORDER BY rowid", (tokenizer,)
                ).fetchall()
                matrix = (np.stack([np.frombuffer(r[2], dtype=np.float32) for r in rows]) if rows
                          else np.zeros((0, 0), dtype=np.float32))  # fmt: skip
                self._matrix = (stamp, [r[0] for r in rows], np.asarray([bool(r[1]) for r in rows]), matrix)
            _, ids, accepted, matrix = self._matrix
        return ids, accepted, matrix

    def nearest(self, tokenizer: str, query: np.ndarray) -> tuple[CachedVideo, float] | None:
        ids, accepted, matrix = self._embeddings(tokenizer)
        vector = np.asarray(query, dtype=np.float32).ravel()
        found = nearest_row(vector / max(float(np.linalg.norm(vector)), 1e-12), matrix, accepted)
        if found is None:
            return None
        video = self.get(ids[found[0]])
        return (video, found[1]) if video is not None else None

    def touch(self, video_id: str, at: float) -> None:
        self._write("UPDATE videos SET last_served_at = ? WHERE video_id = ?", (at, video_id))

    def delete(self, video_id: str) -> None:
        self._write("DELETE FROM videos WHERE video_id = ?", (video_id,))

    def total_bytes(self) -> int:
        return int(str(self._rows("SELECT COALESCE(SUM(size_bytes), 0) FROM videos", ())[0][0]))

    def least_recently_served(self, exclude: str) -> CachedVideo | None:
        rows = self._rows(f"SELECT {_COLUMNS} FROM videos WHERE video_id != ? "
                          "ORDER BY last_served_at, created_at, rowid LIMIT 1", (exclude,))  # fmt: skip
        return _video(rows[0]) if rows else None

    def videos(self, limit: int, offset: int = 0) -> list[CachedVideo]:
        rows = self._rows(f"SELECT {_COLUMNS} FROM videos ORDER BY created_at DESC, rowid DESC LIMIT ? OFFSET ?",
                          (limit, offset))  # fmt: skip
        return [_video(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class VideoCache:
    """The cache: `answer` a request, `add` a render, `evict` over the byte cap.

    `embed` maps a content path to its embedding (the tokenizer's ``reconstruct``: the RQ reconstruction, the
    space the GRM and the D-SID heads share); `cap_bytes` bounds the media (None: unbounded); `clock` gives Unix
    seconds (tests pass their own)."""

    def __init__(
        self,
        index: VideoIndex,
        media: MediaStore,
        embed: Callable[[Sequence[int]], np.ndarray],
        cap_bytes: int | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.index, self.media, self.embed, self.cap_bytes, self.clock = index, media, embed, cap_bytes, clock

    def made(self, request: SidKey, aspect: str = "9:16") -> CachedVideo | None:
        """A cached video of exactly `request` in `aspect` (accepted or not), if any: what needs no generating."""
        same = [v for v in self.index.same_content(request.tokenizer, request.content) if is_exact(v, request, aspect)]
        return best_of_content(request, same, aspect) if same else None

    def answer(self, request: SidKey, aspect: str = "9:16") -> CacheAnswer:
        """What to serve for `request` in `aspect` now (see the module docstring for the levels and the order);
        marks the served video as just served, for eviction. A video of the pair in another aspect ratio is a
        creative miss: the shape is part of how the video looks."""
        same = self.index.same_content(request.tokenizer, request.content)
        generate = None if any(is_exact(v, request, aspect) for v in same) else request
        cosine = None
        video: CachedVideo | None
        hit: HitLevel
        if same:
            video = best_of_content(request, same, aspect)
            hit = "exact" if is_exact(video, request, aspect) else "creative_miss"
        else:
            found = self.index.nearest(request.tokenizer, self.embed(request.content))
            video, cosine = found if found is not None else (None, None)
            hit = "content_miss" if video is not None else "empty"
        if video is not None:
            self.index.touch(video.video_id, self.clock())
        return CacheAnswer(hit=hit, video=video, generate=generate, content_cosine=cosine)

    def add(self, key: SidKey, files: Mapping[str, Path], accepted: bool, video_id: str | None = None,
            aspect: str = "9:16") -> CachedVideo:  # fmt: skip
        """Store a finished render — `files` by suffix (``.mp4`` required, ``.run.json`` when there is a record)
        — under `key` and its `aspect`, then evict down to the cap (never the video just added). Media go in
        before the index row, so an index row always has its bytes. Raises `InputError` (field ``suffix`` or
        ``video_id``) for a bad suffix or id, KeyError without an ``.mp4``, OSError when a file cannot be read."""
        if ".mp4" not in files:
            raise KeyError(".mp4")
        video_id = check_video_id(video_id) if video_id is not None else new_video_id()
        size = sum(self.media.put(video_id, suffix, Path(path)) for suffix, path in files.items())
        now = self.clock()
        video = CachedVideo(video_id=video_id, key=key, aspect=aspect, accepted=accepted, size_bytes=size,
                            created_at=now, last_served_at=now)  # fmt: skip
        self.index.insert(video, self.embed(key.content))
        self.evict(keep=video_id)
        return video

    def evict(self, keep: str = "") -> list[str]:
        """Remove least recently served videos (index row first, then bytes: a reader never finds a row without
        its media) until the media fit `cap_bytes`; `keep` is never removed. Returns the removed ids."""
        removed: list[str] = []
        if self.cap_bytes is None:
            return removed
        while self.index.total_bytes() > self.cap_bytes:
            victim = self.index.least_recently_served(exclude=keep)
            if victim is None:
                break
            self.index.delete(victim.video_id)
            self.media.delete(victim.video_id)
            removed.append(victim.video_id)
        return removed

    def path(self, video_id: str, suffix: str = ".mp4") -> Path | None:
        """Local path of a cached video's file, None when unknown; `InputError` for an id that is not one."""
        check_video_id(video_id)
        return self.media.path(video_id, suffix) if self.index.get(video_id) is not None else None


__all__ = [
    "HIT_LEVELS", "CacheAnswer", "CachedVideo", "HitLevel", "SQLiteVideoIndex", "SidKey", "VideoCache", "VideoIndex",
    "best_of_content", "is_exact", "nearest_row", "shared_prefix",
]  # fmt: skip
