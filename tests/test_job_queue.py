"""The durable nearline queue on real SQLite: stored before acknowledged, merging with frequency priority, leases
that keep two workers (processes) off one job and hand a dead worker's job on, backoff, dead letters, retry."""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import pytest

from rag_recsys.job_queue import MAX_BACKOFF_S, JobQueue, backoff_s
from tools.errors import InputError


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def queue(tmp_path: Path, clock: Clock | None = None, max_attempts: int = 3) -> JobQueue:
    return JobQueue(tmp_path / "jobs.sqlite", max_attempts=max_attempts, backoff_base_s=5.0, clock=clock or Clock())


def test_a_job_is_on_disk_when_enqueue_returns(tmp_path: Path) -> None:
    job, merged = queue(tmp_path).enqueue("v1|0-1-2|3-4", {"content": [0, 1, 2], "creative": [3, 4]})
    assert not merged and job.state == "pending" and job.requests == 1
    reopened = queue(tmp_path).get(job.job_id)  # another connection, as after a restart
    assert reopened is not None and reopened.payload == {"content": [0, 1, 2], "creative": [3, 4]}


def test_identical_requests_merge_and_the_most_requested_runs_first(tmp_path: Path) -> None:
    clock = Clock()
    q = queue(tmp_path, clock)
    once, _ = q.enqueue("a", {"n": 1})
    clock.now += 1
    thrice, _ = q.enqueue("b", {"n": 2})
    for _ in range(2):
        merged_job, merged = q.enqueue("b", {"n": 2})
        assert merged and merged_job.job_id == thrice.job_id
    clock.now += 1
    twice, _ = q.enqueue("c", {"n": 3})
    q.enqueue("c", {"n": 3})
    assert q.counts()["pending"] == 3
    order = [q.claim("w", 60) for _ in range(4)]
    assert [j.job_id if j else None for j in order] == [thrice.job_id, twice.job_id, once.job_id, None]
    assert order[0] is not None and order[0].requests == 3 and order[0].priority == 3


def test_requests_merge_into_a_running_job_but_not_into_a_finished_one(tmp_path: Path) -> None:
    q = queue(tmp_path)
    job, _ = q.enqueue("k", {})
    assert q.claim("w", 60) is not None
    assert q.enqueue("k", {}) == (q.get(job.job_id), True)
    assert q.complete(job.job_id, "w", {"video_id": "0" * 32})
    again, merged = q.enqueue("k", {})
    assert not merged and again.job_id != job.job_id


def _claim_all(path: str) -> list[str]:
    q = JobQueue(Path(path))
    claimed = []
    while (job := q.claim(f"worker-{id(q)}", 600)) is not None:
        claimed.append(job.job_id)
    return claimed


def test_two_worker_processes_never_claim_one_job(tmp_path: Path) -> None:
    q = queue(tmp_path)
    ids = {q.enqueue(f"job-{i}", {"i": i})[0].job_id for i in range(60)}
    with ProcessPoolExecutor(4, mp_context=get_context("spawn")) as pool:
        results = list(pool.map(_claim_all, [str(q.path)] * 4))
    claimed = [j for r in results for j in r]
    assert sorted(claimed) == sorted(ids)  # every job once, none twice


def test_a_dead_workers_job_is_claimed_again_when_its_lease_runs_out(tmp_path: Path) -> None:
    clock = Clock()
    q = queue(tmp_path, clock)
    job, _ = q.enqueue("k", {})
    first = q.claim("killed", 10)
    assert first is not None and first.attempts == 1
    clock.now += 9
    assert q.claim("other", 10) is None  # still leased
    assert q.renew(job.job_id, "killed", 10)  # a live worker keeps it: leased to 1019 now
    clock.now += 10
    assert q.claim("other", 10) is None
    clock.now += 0.5
    second = q.claim("other", 10)
    assert second is not None and second.job_id == job.job_id and second.attempts == 2
    assert second.lease_owner == "other"
    # the first worker lost the job: it can neither finish nor renew it
    assert not q.complete(job.job_id, "killed", {}) and not q.renew(job.job_id, "killed", 10)
    assert q.fail(job.job_id, "killed", "late") is None
    assert q.complete(job.job_id, "other", {"video_id": "1" * 32})
    done = q.get(job.job_id)
    assert done is not None and done.state == "done" and done.result == {"video_id": "1" * 32}


def test_failures_back_off_then_go_to_the_dead_letters_with_their_error(tmp_path: Path) -> None:
    clock = Clock()
    q = queue(tmp_path, clock, max_attempts=3)
    job, _ = q.enqueue("k", {})
    for attempt, wait in ((1, 5.0), (2, 10.0)):
        assert q.claim("w", 60) is not None
        assert q.fail(job.job_id, "w", f"ffmpeg exited 1 (attempt {attempt})") == "pending"
        clock.now += wait - 0.1
        assert q.claim("w", 60) is None  # inside the backoff
        clock.now += 0.1
    assert q.claim("w", 60) is not None
    assert q.fail(job.job_id, "w", "ffmpeg exited 1 (attempt 3)") == "dead"
    clock.now += 10_000
    assert q.claim("w", 60) is None
    dead = q.jobs("dead")
    assert [j.job_id for j in dead] == [job.job_id] and dead[0].error == "ffmpeg exited 1 (attempt 3)"
    revived = q.retry(job.job_id)
    assert revived.state == "pending" and revived.attempts == 0
    assert q.claim("w", 60) is not None


def test_a_permanent_failure_is_a_dead_letter_at_once(tmp_path: Path) -> None:
    q = queue(tmp_path, max_attempts=3)
    job, _ = q.enqueue("k", {})
    assert q.claim("w", 60) is not None
    assert q.fail(job.job_id, "w", "InputError: meta.images[0]: file not found", permanent=True) == "dead"
    assert q.counts()["dead"] == 1


def test_a_lease_that_runs_out_on_the_last_attempt_is_a_dead_letter(tmp_path: Path) -> None:
    clock = Clock()
    q = queue(tmp_path, clock, max_attempts=1)
    job, _ = q.enqueue("k", {})
    assert q.claim("killed", 10) is not None
    clock.now += 11
    assert q.claim("other", 10) is None
    dead = q.get(job.job_id)
    assert dead is not None and dead.state == "dead" and "lease of killed ran out on attempt 1 of 1" in str(dead.error)


def test_retry_names_the_job_it_cannot_retry(tmp_path: Path) -> None:
    q = queue(tmp_path)
    with pytest.raises(InputError) as unknown:
        q.retry("nope")
    assert unknown.value.field == "job_id" and "no job" in unknown.value.message
    job, _ = q.enqueue("k", {})
    with pytest.raises(InputError) as pending:
        q.retry(job.job_id)
    assert "is pending" in pending.value.message


def test_backoff_doubles_from_its_base_up_to_the_cap() -> None:
    assert [backoff_s(n, 5.0) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert backoff_s(20, 5.0) == MAX_BACKOFF_S


def test_a_stopping_worker_hands_its_job_back_untried(tmp_path: Path) -> None:
    q = queue(tmp_path)
    job, _ = q.enqueue("k", {})
    assert q.active("k") == q.get(job.job_id) and q.active("other") is None
    assert q.claim("stopping", 600) is not None
    assert not q.release(job.job_id, "someone-else")
    assert q.release(job.job_id, "stopping")
    back = q.get(job.job_id)
    assert back is not None and back.state == "pending" and back.attempts == 0 and back.lease_owner is None
    again = q.claim("next", 600)  # at once, not after the lease
    assert again is not None and again.job_id == job.job_id and again.attempts == 1
