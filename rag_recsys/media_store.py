"""Where the serving side keeps generated videos and their run records: a small protocol and its local-disk
adapter.

The SID-indexed video cache (`rag_recsys.video_cache`) keeps what a video *is* in its index and the bytes
here, so the two can scale apart: object storage (S3, GCS) is the documented extension point — an adapter
with the same four methods — and is not built now. Video ids come from HTTP paths and job tables, so they are
checked against one pattern before they touch the file system: an id with ``..``, a slash or an absolute
path is an `InputError` naming ``video_id``, never a path outside the root.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from pathlib import Path
from typing import Protocol

from tools.cache import temp_beside
from tools.errors import InputError

VIDEO_ID = re.compile(r"[0-9a-f]{32}")
"""A video id: 32 lowercase hex characters (`new_video_id`)."""

SUFFIXES = (".mp4", ".run.json")
"""The files a cached video may have: the MP4 and its run record (``graphs.record``)."""


def new_video_id() -> str:
    """A fresh video id: 32 hex characters of a random UUID (ids name a render, not its SIDs: one SID pair may
    have several renders, an accepted one and an earlier one the Critic did not accept)."""
    return uuid.uuid4().hex


def check_id(value: str, field: str) -> str:
    """`value` when it is 32 lowercase hex characters (a video or job id); else `InputError` on `field`."""
    if not isinstance(value, str) or VIDEO_ID.fullmatch(value) is None:
        what = field.removesuffix("_id").replace("_", " ")
        raise InputError(field, f"{str(value)[:80]!r} is not a {what} id (32 lowercase hex characters)")
    return value


def check_video_id(video_id: str) -> str:
    """`video_id` when it is one (`check_id`); else `InputError` on field ``video_id``."""
    return check_id(video_id, "video_id")


def _check_suffix(suffix: str) -> str:
    if suffix not in SUFFIXES:
        raise InputError("suffix", f"{suffix!r} is not one of {', '.join(SUFFIXES)}")
    return suffix


class MediaStore(Protocol):
    """Bytes of cached videos by (video id, suffix). Every method raises `InputError` for an id that is not a
    video id (`check_video_id`) or a suffix outside `SUFFIXES`."""

    def put(self, video_id: str, suffix: str, source: Path) -> int:
        """Copy `source` in as (video_id, suffix), atomically (a reader sees the whole file or none); returns
        its size in bytes. Raises OSError when `source` cannot be read."""
        ...

    def path(self, video_id: str, suffix: str) -> Path | None:
        """A local path of (video_id, suffix) to serve from (HTTP range requests read it), or None if absent."""
        ...

    def delete(self, video_id: str) -> int:
        """Remove every file of `video_id`; returns the bytes freed (0 when it had none)."""
        ...


class LocalMediaStore:
    """`MediaStore` on a local folder: ``root/<id[:2]>/<id><suffix>``, written by copy to a temporary name and
    ``os.replace``, so a crash mid-copy never leaves a truncated MP4 under a real name."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _file(self, video_id: str, suffix: str) -> Path:
        video_id, suffix = check_video_id(video_id), _check_suffix(suffix)
        return self.root / video_id[:2] / f"{video_id}{suffix}"

    def put(self, video_id: str, suffix: str, source: Path) -> int:
        final = self._file(video_id, suffix)
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_beside(final)
        try:
            shutil.copyfile(source, tmp)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return final.stat().st_size

    def path(self, video_id: str, suffix: str) -> Path | None:
        file = self._file(video_id, suffix)
        return file if file.is_file() else None

    def delete(self, video_id: str) -> int:
        freed = 0
        for suffix in SUFFIXES:
            file = self._file(video_id, suffix)
            try:
                freed += file.stat().st_size
                file.unlink()
            except FileNotFoundError:
                continue
        return freed


__all__ = ["SUFFIXES", "VIDEO_ID", "LocalMediaStore", "MediaStore", "check_id", "check_video_id", "new_video_id"]
