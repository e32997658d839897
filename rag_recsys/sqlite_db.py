"""Opening the serving side's SQLite files (job queue, video index, feedback log) one way: WAL journal (readers
never wait for the writer), autocommit with explicit transactions, a 30 s busy timeout for writers in other
processes, and a schema version in ``user_version`` that refuses a file written by an incompatible ragvid."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Literal


def open_db(
    path: Path, schema: str, version: int, synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
) -> sqlite3.Connection:
    """A connection to `path` (its folder created) holding `schema` (``CREATE … IF NOT EXISTS`` statements) at
    schema `version`, usable from any thread of the caller's (who serialises its use). ``synchronous=FULL`` for a
    log whose acknowledged rows must survive a power cut. Raises RuntimeError for a file of another version."""
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(f"PRAGMA synchronous={synchronous}")
    found = db.execute("PRAGMA user_version").fetchone()[0]
    if found not in (0, version):
        db.close()
        raise RuntimeError(f"{path}: schema version {found}, this ragvid reads {version}")
    db.executescript(schema)
    db.execute(f"PRAGMA user_version={version}")
    return db
