"""SQLite checkpointing: one file per ragvid home, one thread per run id, so `--resume RUN_ID`
continues from the last finished node (and the tool cache makes redone tool work a lookup)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver


@asynccontextmanager
async def sqlite_checkpointer(home: Path) -> AsyncIterator[AsyncSqliteSaver]:
    """An `AsyncSqliteSaver` on ``home/checkpoints.sqlite`` (`home` created if missing), closed on exit; each
    run is a thread keyed by its run id."""
    home.mkdir(parents=True, exist_ok=True)
    async with AsyncSqliteSaver.from_conn_string(str(home / "checkpoints.sqlite")) as saver:
        yield saver
