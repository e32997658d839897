"""Content-addressed cache for tool outputs.

Keys hash the tool name, its version and the full request, so a resumed run or a reflection round
that asks for the same thing gets the file back instead of redoing the work, and any change to the
request (or to the tool's version) is a miss.
"""

from __future__ import annotations

import hashlib
import json
import os
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from pydantic import BaseModel


def content_key(tool: str, version: str, request: BaseModel | dict[str, object], *files: Path) -> str:
    """The cache key of one tool call: 32 hex characters of SHA-256 over (tool, version, the request as sorted
    JSON) and the bytes of each of `files` (by content, not path). Raises OSError when a file cannot be read."""
    payload = request.model_dump(mode="json") if isinstance(request, BaseModel) else request
    h = hashlib.sha256()
    h.update(json.dumps([tool, version, payload], sort_keys=True, default=str).encode())
    for f in files:
        # inputs are hashed by content, not path, so moving a product photo keeps its cache entries
        h.update(hashlib.sha256(Path(f).read_bytes()).digest())
    return h.hexdigest()[:32]


def temp_beside(final: Path, suffix: str = "") -> Path:
    """A hidden temporary name beside `final` for a write that ends in ``os.replace(tmp, final)``, unique per write:
    two runs in one process (``ragvid sid calibrate``, a server) may make the same entry at once, and a name
    from the process id alone let one run's ffmpeg write over the other's file."""
    return final.with_name(f".{final.stem}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp{suffix or final.suffix}")


class ToolCache:
    """Tool outputs under `root`, one file per key at ``root/<key[:2]>/<key><suffix>``; an entry appears only
    once complete (atomic rename), so its existence means it can be trusted."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)

    def path_for(self, key: str, suffix: str) -> Path:
        """Where entry `key` lives (or will), whether or not it exists yet; sidecars use another `suffix`."""
        return self.root / key[:2] / f"{key}{suffix}"

    async def get_or_create(self, key: str, suffix: str, make: Callable[[Path], Awaitable[None]]) -> tuple[Path, bool]:
        """Return (path, was_cached). `make` writes to a temp path; the rename makes entries atomic,
        so a crash mid-write never leaves a truncated file that a resume would trust."""
        final = self.path_for(key, suffix)
        if final.exists():
            return final, True
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = temp_beside(final, suffix)
        try:
            await make(tmp)
            os.replace(tmp, final)
        finally:
            tmp.unlink(missing_ok=True)
        return final, False
