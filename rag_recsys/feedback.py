"""The feedback log: what users did with served videos (impression, click, watch time, conversion), appended
durably — the observed reward of SCRL (the paper's section 2.4), which reads it back in order.

One SQLite table, append-only, each event committed with ``synchronous=FULL`` before the request that carried it
is answered, so an acknowledged event survives a crash of the process or the machine. Reading is by increasing
``event_id``, so a trainer can resume from the last event it consumed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from rag_recsys.sqlite_db import open_db

FeedbackKind = Literal["impression", "click", "watch", "conversion"]
LATEST_AT = 4_102_444_800.0  # 2100-01-01 in Unix seconds: a later time is a unit mistake (ms), not an event


class FeedbackEvent(BaseModel):
    """One user action on one served video."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    user_id: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    video_id: Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{32}$")] = Field(
        description="the id `POST /videos` answered with"
    )
    event: FeedbackKind
    watch_s: float | None = Field(default=None, ge=0, le=86_400, description="seconds watched (event `watch`)")
    value: float | None = Field(default=None, ge=0, description="conversion value, in the shop's currency")
    at: float | None = Field(default=None, ge=0, le=LATEST_AT,
                             description="Unix seconds of the action; default: when it was logged")  # fmt: skip


class LoggedFeedback(FeedbackEvent):
    event_id: int
    logged_at: float


_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    event_id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id TEXT NOT NULL,
    video_id TEXT NOT NULL,
    event TEXT NOT NULL,
    watch_s REAL,
    value REAL,
    at REAL NOT NULL,
    logged_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS feedback_by_video ON feedback (video_id);
"""
SCHEMA_VERSION = 1


class FeedbackLog:
    """The log in one SQLite file (WAL, every append fully synced); safe across threads and processes."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._db = open_db(self.path, _SCHEMA, SCHEMA_VERSION, synchronous="FULL")
        self._lock = threading.Lock()

    def append(self, event: FeedbackEvent) -> int:
        """Store `event`; returns its ``event_id`` once committed."""
        now = time.time()
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO feedback (user_id, video_id, event, watch_s, value, at, logged_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (event.user_id, event.video_id, event.event, event.watch_s, event.value,
                 event.at if event.at is not None else now, now),
            )
        return int(cursor.lastrowid or 0)

    def events(self, after: int = 0) -> Iterator[LoggedFeedback]:
        """Events with ``event_id`` > `after`, in the order they were logged."""
        with self._lock:
            rows = self._db.execute(
                "SELECT event_id, user_id, video_id, event, watch_s, value, at, logged_at FROM feedback "
                "WHERE event_id > ? ORDER BY event_id", (after,)
            ).fetchall()  # fmt: skip
        for r in rows:
            yield LoggedFeedback(event_id=r[0], user_id=r[1], video_id=r[2], event=r[3], watch_s=r[4], value=r[5],
                                 at=r[6], logged_at=r[7])  # fmt: skip

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT COUNT(*) FROM feedback").fetchone()[0])


__all__ = ["FeedbackEvent", "FeedbackKind", "FeedbackLog", "LoggedFeedback"]
