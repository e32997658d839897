"""The durable nearline queue of the paper's deployment (section 3): generation jobs that survive crashes and
restarts, are never run by two workers at once, merge when requested again, and end done or dead-lettered.

Semantics, each a SQLite transaction (``BEGIN IMMEDIATE``: one writer at a time, readers never blocked, WAL):

- **stored before acknowledged**: `enqueue` returns only after its commit, so a request that got a job id has a
  job on disk;
- **merging**: a request whose ``dedupe_key`` (the tokenizer version and SID pair) matches a pending or running
  job adds one to that job's ``requests`` instead of a second job; ``priority`` is the request count, and
  `claim` takes the highest priority first (the paper: higher-frequency creatives first), oldest first on ties;
- **leases**: `claim` gives one worker the job until ``lease_until``; the worker renews it (`renew`) while it
  works, and only the lease holder can `complete` or `fail` it. A job whose worker died (SIGKILL, a lost
  machine) is claimed again once its lease runs out; the attempt counts;
- **retries with backoff**: `fail` puts the job back after ``backoff_s · 2^(attempts-1)`` seconds (capped at
  `MAX_BACKOFF_S`) until ``max_attempts``, then it is **dead** and keeps its last error; `retry` revives a dead
  job.

Why not a library: huey's SQLite storage deletes a task when a worker takes it, so a killed worker loses it, and
neither it nor persist-queue (ack queue) nor litequeue merges identical pending jobs or raises a job's priority
by how often it was asked for; Celery, RQ, arq, saq and Dramatiq need a Redis or RabbitMQ server, procrastinate
Postgres. The queue is the embedded default; at scale the same interface would sit on Postgres (``SELECT … FOR
UPDATE SKIP LOCKED``), not built now.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field

from rag_recsys.sqlite_db import open_db
from tools.errors import InputError

JobState = Literal["pending", "running", "done", "dead"]
JOB_STATES: tuple[JobState, ...] = ("pending", "running", "done", "dead")
MAX_BACKOFF_S = 600.0


class Job(BaseModel):
    """One queued generation: what to make (``payload``), its place in the queue and how it ended."""

    job_id: str
    dedupe_key: str = Field(description="identical requests share it and merge into one job while it is active")
    payload: dict[str, Any]
    state: JobState
    requests: int = Field(ge=1, description="how many requests merged into this job")
    priority: float = Field(description="claim order, highest first: the request count")
    attempts: int = Field(ge=0, description="claims so far, including ones whose lease ran out")
    max_attempts: int = Field(ge=1)
    not_before: float = Field(description="Unix seconds before which it is not claimed (retry backoff)")
    lease_owner: str | None = None
    lease_until: float | None = Field(default=None, description="Unix seconds; a running job past it is reclaimed")
    created_at: float
    updated_at: float
    error: str | None = Field(default=None, description="the last failure; kept in the dead-letter state")
    result: dict[str, Any] | None = None


def backoff_s(attempts: int, base_s: float) -> float:
    """Seconds before retry number `attempts` (≥ 1) may run: ``base_s · 2^(attempts-1)``, at most
    `MAX_BACKOFF_S` (exponential backoff, as in AWS's "Exponential Backoff and Jitter", without the jitter: one
    SQLite queue has no thundering herd)."""
    return float(min(base_s * 2 ** max(attempts - 1, 0), MAX_BACKOFF_S))


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    dedupe_key TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL,
    requests INTEGER NOT NULL,
    priority REAL NOT NULL,
    attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL,
    not_before REAL NOT NULL,
    lease_owner TEXT,
    lease_until REAL,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL,
    error TEXT,
    result TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS jobs_active_key ON jobs (dedupe_key) WHERE state IN ('pending', 'running');
CREATE INDEX IF NOT EXISTS jobs_by_claim ON jobs (state, priority DESC, created_at);
"""
_COLUMNS = ("job_id, dedupe_key, payload, state, requests, priority, attempts, max_attempts, not_before, "
            "lease_owner, lease_until, created_at, updated_at, error, result")  # fmt: skip
SCHEMA_VERSION = 1


def _job(row: Sequence[Any]) -> Job:
    values = dict(zip([c.strip() for c in _COLUMNS.split(",")], row, strict=True))
    values["payload"] = json.loads(values["payload"])
    values["result"] = json.loads(values["result"]) if values["result"] is not None else None
    return Job(**values)


class JobQueue:
    """The queue in one SQLite file. Safe across threads (one connection under a lock) and processes (each opens
    its own `JobQueue` on the same file). `clock` gives Unix seconds (tests pass their own); `backoff_base_s`
    and `max_attempts` are the retry policy of new jobs."""

    def __init__(
        self,
        path: Path,
        max_attempts: int = 3,
        backoff_base_s: float = 5.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path)
        self.max_attempts, self.backoff_base_s, self.clock = max_attempts, backoff_base_s, clock
        self._db = open_db(self.path, _SCHEMA, SCHEMA_VERSION)
        self._lock = threading.Lock()

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _select(self, db: sqlite3.Connection, where: str, args: Sequence[Any]) -> Job | None:
        row = db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE {where}", tuple(args)).fetchone()
        return _job(row) if row is not None else None

    def enqueue(self, dedupe_key: str, payload: dict[str, Any]) -> tuple[Job, bool]:
        """Store a job for `payload`, or merge into the active job of the same key; returns (job, merged). The job
        is committed when this returns."""
        now = self.clock()
        with self._transaction() as db:
            active = self._select(db, "dedupe_key = ? AND state IN ('pending', 'running')", (dedupe_key,))
            if active is not None:
                db.execute("UPDATE jobs SET requests = requests + 1, priority = requests + 1, updated_at = ? "
                           "WHERE job_id = ?", (now, active.job_id))  # fmt: skip
                merged = self._select(db, "job_id = ?", (active.job_id,))
                assert merged is not None  # the row was read in this transaction
                return merged, True
            job_id = uuid.uuid4().hex
            db.execute(f"INSERT INTO jobs ({_COLUMNS}) VALUES (?, ?, ?, 'pending', 1, 1, 0, ?, ?, NULL, NULL, ?, ?, "
                       "NULL, NULL)", (job_id, dedupe_key, json.dumps(payload, sort_keys=True), self.max_attempts,
                                       now, now, now))  # fmt: skip
            job = self._select(db, "job_id = ?", (job_id,))
            assert job is not None
            return job, False

    def claim(self, worker: str, lease_s: float) -> Job | None:
        """The highest-priority job that may run now — pending past its backoff, or running with an expired
        lease (its worker died) — leased to `worker` for `lease_s` seconds; None when there is none. A job whose
        expired lease used its last attempt goes to the dead letters instead."""
        now = self.clock()
        with self._transaction() as db:
            while True:
                job = self._select(db, "(state = 'pending' AND not_before <= ?) OR (state = 'running' AND "
                                       "lease_until < ?) ORDER BY priority DESC, created_at, rowid LIMIT 1",
                                   (now, now))  # fmt: skip
                if job is None:
                    return None
                if job.state == "running" and job.attempts >= job.max_attempts:
                    db.execute("UPDATE jobs SET state = 'dead', lease_owner = NULL, lease_until = NULL, "
                               "updated_at = ?, error = ? WHERE job_id = ?",
                               (now, f"lease of {job.lease_owner} ran out on attempt {job.attempts} of "
                                     f"{job.max_attempts} (the worker died or hung)", job.job_id))  # fmt: skip
                    continue
                db.execute("UPDATE jobs SET state = 'running', attempts = attempts + 1, lease_owner = ?, "
                           "lease_until = ?, updated_at = ? WHERE job_id = ?",
                           (worker, now + lease_s, now, job.job_id))  # fmt: skip
                claimed = self._select(db, "job_id = ?", (job.job_id,))
                assert claimed is not None
                return claimed

    def _owned(self, db: sqlite3.Connection, job_id: str, worker: str) -> Job | None:
        return self._select(db, "job_id = ? AND state = 'running' AND lease_owner = ?", (job_id, worker))

    def renew(self, job_id: str, worker: str, lease_s: float) -> bool:
        """Extend `worker`'s lease on a running job by `lease_s` from now; False when it no longer holds it (the
        lease ran out and another worker took the job): the worker should stop."""
        now = self.clock()
        with self._transaction() as db:
            if self._owned(db, job_id, worker) is None:
                return False
            db.execute("UPDATE jobs SET lease_until = ?, updated_at = ? WHERE job_id = ?", (now + lease_s, now, job_id))
            return True

    def complete(self, job_id: str, worker: str, result: dict[str, Any]) -> bool:
        """Mark the job done with `result`; False (and no change) when `worker` does not hold its lease."""
        now = self.clock()
        with self._transaction() as db:
            if self._owned(db, job_id, worker) is None:
                return False
            db.execute("UPDATE jobs SET state = 'done', lease_owner = NULL, lease_until = NULL, updated_at = ?, "
                       "error = NULL, result = ? WHERE job_id = ?", (now, json.dumps(result), job_id))  # fmt: skip
            return True

    def fail(self, job_id: str, worker: str, error: str, permanent: bool = False) -> JobState | None:
        """Record a failed attempt: back to pending after the backoff, or dead after ``max_attempts`` — at once
        when the failure is `permanent` (bad input: a retry would fail the same way); returns the new state, None
        (no change) when `worker` does not hold the lease."""
        now = self.clock()
        with self._transaction() as db:
            job = self._owned(db, job_id, worker)
            if job is None:
                return None
            state: JobState = "dead" if permanent or job.attempts >= job.max_attempts else "pending"
            not_before = now + backoff_s(job.attempts, self.backoff_base_s) if state == "pending" else job.not_before
            db.execute("UPDATE jobs SET state = ?, lease_owner = NULL, lease_until = NULL, not_before = ?, "
                       "updated_at = ?, error = ? WHERE job_id = ?",
                       (state, not_before, now, error[:2000], job_id))  # fmt: skip
            return state

    def release(self, job_id: str, worker: str) -> bool:
        """Hand a running job back untried (its worker is stopping: SIGTERM, Ctrl-C): pending at once, the attempt
        not counted, so the next worker resumes it without waiting out the lease; False when `worker` does not
        hold it."""
        now = self.clock()
        with self._transaction() as db:
            if self._owned(db, job_id, worker) is None:
                return False
            db.execute("UPDATE jobs SET state = 'pending', attempts = MAX(attempts - 1, 0), lease_owner = NULL, "
                       "lease_until = NULL, not_before = ?, updated_at = ? WHERE job_id = ?",
                       (now, now, job_id))  # fmt: skip
            return True

    def active(self, dedupe_key: str) -> Job | None:
        """The pending or running job of `dedupe_key`, if any."""
        with self._lock:
            return self._select(self._db, "dedupe_key = ? AND state IN ('pending', 'running')", (dedupe_key,))

    def retry(self, job_id: str) -> Job:
        """Revive a dead job: pending now, attempts from zero, its last error kept until it runs. Raises
        `InputError` (field ``job_id``) for an unknown job or one that is not dead."""
        now = self.clock()
        with self._transaction() as db:
            job = self._select(db, "job_id = ?", (job_id,))
            if job is None:
                raise InputError("job_id", f"no job {job_id[:80]!r}")
            if job.state != "dead":
                raise InputError("job_id", f"job {job_id} is {job.state}, only a dead job can be retried")
            active = self._select(db, "dedupe_key = ? AND state IN ('pending', 'running')", (job.dedupe_key,))
            if active is not None:
                raise InputError("job_id", f"job {job_id}: job {active.job_id} ({active.state}) already makes the same "
                                           "video")  # fmt: skip
            db.execute("UPDATE jobs SET state = 'pending', attempts = 0, not_before = ?, updated_at = ? "
                       "WHERE job_id = ?", (now, now, job_id))  # fmt: skip
            revived = self._select(db, "job_id = ?", (job_id,))
            assert revived is not None
            return revived

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._select(self._db, "job_id = ?", (job_id,))

    def jobs(self, state: JobState | None = None, limit: int = 100) -> list[Job]:
        """Jobs, newest first; only those in `state` when given."""
        where = "state = ?" if state else "1 = 1"
        args: tuple[Any, ...] = (state, limit) if state else (limit,)
        with self._lock:
            rows = self._db.execute(f"SELECT {_COLUMNS} FROM jobs WHERE {where} ORDER BY created_at DESC, rowid DESC "
                                    "LIMIT ?", args).fetchall()  # fmt: skip
        return [_job(r) for r in rows]

    def counts(self) -> dict[JobState, int]:
        """Number of jobs per state (the queue depth is ``pending``)."""
        with self._lock:
            rows = dict(self._db.execute("SELECT state, COUNT(*) FROM jobs GROUP BY state").fetchall())
        return {s: int(rows.get(s, 0)) for s in JOB_STATES}

    def close(self) -> None:
        with self._lock:
            self._db.close()


__all__ = ["JOB_STATES", "MAX_BACKOFF_S", "Job", "JobQueue", "JobState", "backoff_s"]
