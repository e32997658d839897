"""Nearline generation: the stores a server and its workers share, enqueueing a SID, and the worker that turns a
queued job into a cached video.

Layout under the settings' home (``~/.ragvid`` by default): ``serve/jobs.sqlite`` (`rag_recsys.job_queue`),
``serve/videos.sqlite`` and ``serve/media/`` (`rag_recsys.video_cache`, `rag_recsys.media_store`),
``serve/runs/<job id>/video.mp4`` (where a job renders) and the runs' ``checkpoints.sqlite``.

A job's run id is its job id, and so is its video id: a job whose worker was killed is claimed again once its
lease runs out and *resumes* from its checkpoint, reusing the tool cache; a job that was filed in the cache but
not yet marked done (killed in between) is marked done from the cache, not rendered again. The MP4 reaches the
media folder by atomic rename only (`rag_recsys.media_store.LocalMediaStore`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import socket
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from graphs.state import Aspect, GenerateRequest
from rag_recsys.job_queue import Job, JobQueue, JobState
from rag_recsys.lexicon import path_key
from rag_recsys.media_store import LocalMediaStore
from rag_recsys.recommender import ScoredDSID
from rag_recsys.sidfile import SidFile, check_codes, image_files, sid_from_recommendation
from rag_recsys.tokenizers import Tokenizer
from rag_recsys.video_cache import SidKey, SQLiteVideoIndex, VideoCache
from ragvid.generate import EventSink, generate, run_status
from ragvid.settings import Settings
from tools.errors import InputError, one_line
from tools.limits import MAX_DURATION, MIN_DURATION

log = logging.getLogger("ragvid.nearline")

LEASE_S = 120.0
"""Seconds a claim holds a job; a live worker renews it every third of that, so a dead worker's job waits at
most this long before another worker resumes it."""
POLL_S = 1.0


class JobPayload(BaseModel):
    """What a generation job makes: the SID (inline, images as absolute paths) and the video's shape, bounded as a
    `GenerateRequest`'s."""

    sid: SidFile
    aspect: Aspect = "9:16"
    duration: float | None = Field(default=None, ge=MIN_DURATION, le=MAX_DURATION,
                                   description="target seconds; default: sized to the copy")  # fmt: skip


def sid_key(sid: SidFile) -> SidKey:
    return SidKey(tokenizer=sid.tokenizer, content=tuple(sid.content), creative=tuple(sid.creative))


def dedupe_key(payload: JobPayload) -> str:
    """Requests for one SID pair in one aspect ratio are one job, as they are one entry of the cache: their
    product meta and duration may differ, and the first request's are rendered and served to all."""
    key = sid_key(payload.sid)
    return f"{key.tokenizer}|{path_key(key.content)}|{path_key(key.creative)}|{payload.aspect}"


def serve_root(home: Path) -> Path:
    """The serving side's folder under a ragvid home."""
    return Path(home).expanduser() / "serve"


def job_queue(home: Path) -> JobQueue:
    """The job queue of a ragvid home (no tokenizer needed: `ragvid jobs list` and `retry` open only this)."""
    return JobQueue(serve_root(home) / "jobs.sqlite")


class Nearline:
    """The queue, the video cache and the run folder under ``home/serve`` (see the module docstring).
    `cap_bytes` bounds the cached media (None: unbounded)."""

    def __init__(self, home: Path, tokenizer: Tokenizer, cap_bytes: int | None = None) -> None:
        self.home = Path(home).expanduser()
        self.root = serve_root(self.home)
        self.tokenizer = tokenizer
        self.queue = job_queue(self.home)
        self.cache = VideoCache(SQLiteVideoIndex(self.root / "videos.sqlite"), LocalMediaStore(self.root / "media"),
                                tokenizer.reconstruct, cap_bytes=cap_bytes)  # fmt: skip
        self.runs = self.root / "runs"

    def enqueue(self, sid: SidFile, base_dir: Path, aspect: str = "9:16",
                duration: float | None = None) -> tuple[Job, bool]:  # fmt: skip
        """Check `sid` (codes, images relative to `base_dir`) and the shape, and queue its generation, or merge
        into the active job for the same pair; returns (job, merged). Raises `InputError` naming the bad field
        (``aspect``, ``duration``, or the SID's own)."""
        try:
            payload = JobPayload(sid=sid, aspect=aspect, duration=duration)
        except ValidationError as exc:
            raise InputError.from_validation(exc) from None
        # the checks a SID file gets, without `load_sid`'s decoding and e5 cosine: the worker does those
        check_codes(sid, self.tokenizer)
        images = image_files(sid, base_dir.resolve())
        if sid.meta is not None:  # the worker runs elsewhere: images travel as absolute paths
            payload.sid = sid.model_copy(update={"meta": sid.meta.model_copy(
                update={"images": [str(p) for p in images]})})  # fmt: skip
        return self.queue.enqueue(dedupe_key(payload), payload.model_dump(mode="json"))


def servable_sid(rec: ScoredDSID, tokenizer: Tokenizer) -> SidFile:
    """The SID file of a recommended D-SID (`sid_from_recommendation`) without image paths: a catalogue's images
    are paths on the machine that built its model folder, not on the one generating. Raises `InputError`."""
    sid = sid_from_recommendation(rec, tokenizer)
    if sid.meta is None:
        return sid
    return sid.model_copy(update={"meta": sid.meta.model_copy(update={"images": []})})


def worker_name() -> str:
    """``host:pid``: who holds a lease, in the job table and the dead letters."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def _keep_lease(queue: JobQueue, job_id: str, worker: str, lease_s: float, task: asyncio.Task[Any],
                      lost: asyncio.Event) -> None:  # fmt: skip
    while True:
        await asyncio.sleep(lease_s / 3)
        if not await asyncio.to_thread(queue.renew, job_id, worker, lease_s):
            log.warning("job %s: lease lost to another worker; stopping this run", job_id)
            lost.set()
            task.cancel()
            return


async def run_job(nearline: Nearline, job: Job, settings: Settings, worker: str, *, lease_s: float = LEASE_S,
                  on_event: EventSink | None = None) -> JobState | None:  # fmt: skip
    """Run one claimed job to its end: generate (or resume) its video, file it in the cache, mark the job done;
    on an error, record the failed attempt (retried with backoff, then dead; bad input, an `InputError`, dead at
    once); cancelled (the worker stops), hand the job back untried and re-raise. Returns the job's new state (None
    when the lease was lost)."""
    payload = JobPayload(**job.payload)
    if nearline.cache.index.get(job.job_id) is not None:  # filed before a crash, not yet marked done
        done = nearline.queue.complete(job.job_id, worker, {"video_id": job.job_id})
        return "done" if done else None
    run_id = job.job_id
    status = await run_status(settings.home.expanduser(), run_id)
    out = nearline.runs / job.job_id / "video.mp4"
    if status == "finished" and not out.with_suffix(".run.json").is_file():
        run_id = f"{job.job_id}.r{job.attempts}"  # killed between the last checkpoint and the record: render anew
        status = "none"
    out.parent.mkdir(parents=True, exist_ok=True)
    request = GenerateRequest(sid=payload.sid, out=str(out), aspect=payload.aspect, duration=payload.duration,
                              run_id=run_id)  # fmt: skip

    async def render() -> tuple[Path, bool, float]:
        if status == "finished":
            record = out.with_suffix(".run.json")
            done = json.loads(record.read_text())
            return record, bool(done["accepted"]), float(done["timings"]["total_s"])
        written = await generate(None, None, settings=settings, on_event=on_event,
                                 resume=run_id if status == "unfinished" else None,
                                 prepared=None if status == "unfinished" else request)  # fmt: skip
        return written.path, written.record.accepted, written.record.timings.total_s

    task = asyncio.ensure_future(render())
    lost = asyncio.Event()
    keeper = asyncio.ensure_future(_keep_lease(nearline.queue, job.job_id, worker, lease_s, task, lost))
    try:
        record, accepted, run_s = await task
    except asyncio.CancelledError:
        if lost.is_set():
            return None
        # this worker is stopping: the job goes back untried, to be resumed from its checkpoint by the next one
        nearline.queue.release(job.job_id, worker)
        raise
    except Exception as exc:  # any failure of the run is this attempt's error, kept in the job table
        log.warning("job %s failed: %s", job.job_id, one_line(str(exc)))
        return nearline.queue.fail(job.job_id, worker, f"{type(exc).__name__}: {one_line(str(exc))}",
                                   permanent=isinstance(exc, InputError))  # fmt: skip
    finally:
        keeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await keeper
    nearline.cache.add(sid_key(payload.sid), {".mp4": out, ".run.json": record}, accepted, video_id=job.job_id,
                       aspect=payload.aspect)  # fmt: skip
    done = nearline.queue.complete(job.job_id, worker, {"video_id": job.job_id, "accepted": accepted, "run_s": run_s})
    return "done" if done else None


async def work(nearline: Nearline, settings: Settings, *, once: bool = False, poll_s: float = POLL_S,
               lease_s: float = LEASE_S, worker: str | None = None, on_event: EventSink | None = None,
               on_job: Callable[[Job, JobState | None], None] | None = None) -> int:  # fmt: skip
    """Claim and run jobs until cancelled (or, with `once`, until the queue has none ready); returns how many
    ended done. `on_event` gets each run's progress events with the ``job_id`` added; `on_job` each job's end."""
    worker = worker or worker_name()
    done = 0
    while True:
        job = nearline.queue.claim(worker, lease_s)
        if job is None:
            if once:
                return done
            await asyncio.sleep(poll_s)
            continue
        events = (lambda e, j=job.job_id: on_event({**e, "job_id": j})) if on_event else None
        state = await run_job(nearline, job, settings, worker, lease_s=lease_s, on_event=events)
        done += state == "done"
        if on_job:
            on_job(job, state)


def run_job_in_process(home: str, settings: dict[str, Any], job: dict[str, Any], worker: str,
                       lease_s: float) -> JobState | None:  # fmt: skip
    """`run_job` in a process of its own (a Ray task): opens the shared stores under `home` and runs the claimed
    `job` (as JSON) under the lease `worker` holds. Every argument is plain data, as Ray sends it."""
    from rag_recsys.tokenizers import default_tokenizer

    nearline = Nearline(Path(home), default_tokenizer())
    return asyncio.run(run_job(nearline, Job(**job), Settings(**settings), worker, lease_s=lease_s))


async def work_on_ray(nearline: Nearline, settings: Settings, address: str, *, once: bool = False,
                      poll_s: float = POLL_S, lease_s: float = LEASE_S, worker: str | None = None,
                      on_job: Callable[[Job, JobState | None], None] | None = None) -> int:  # fmt: skip
    """Claim jobs here and run each as a Ray task (`run_job_in_process`, one CPU each) on the cluster at `address`
    (``auto``: the running cluster; ``local``: start one on this machine), as many at a time as the cluster
    has CPUs; returns how many ended done. Every task opens the same home, so at scale the home (queue, cache,
    checkpoints, tool cache) must be on storage every node mounts. A task whose node dies loses its lease, and
    the job is claimed again."""
    import ray

    ray.init(address=None if address == "local" else address, include_dashboard=False, log_to_driver=False,
             ignore_reinit_error=True)  # fmt: skip
    remote = ray.remote(num_cpus=1, max_retries=0)(run_job_in_process)
    slots = max(1, int(ray.cluster_resources().get("CPU", 1)))
    worker = worker or worker_name()
    home = str(nearline.home)
    state = settings.model_dump(mode="json")
    running: dict[Any, Job] = {}
    done = 0
    try:
        while True:
            while len(running) < slots and (job := nearline.queue.claim(worker, lease_s)) is not None:
                running[remote.remote(home, state, job.model_dump(mode="json"), worker, lease_s)] = job
            if not running:
                if once:
                    return done
                await asyncio.sleep(poll_s)
                continue
            finished, _ = await asyncio.to_thread(ray.wait, list(running), num_returns=1, timeout=poll_s)
            for ref in finished:
                job = running.pop(ref)
                try:
                    ended: JobState | None = ray.get(ref)
                except ray.exceptions.RayError as exc:  # the task's process or node died: the lease runs out
                    log.warning("job %s: Ray task failed: %s", job.job_id, one_line(str(exc)))
                    ended = None
                done += ended == "done"
                if on_job:
                    on_job(job, ended)
    finally:
        ray.shutdown()
