"""`ragvid worker` and `ragvid jobs …`: run nearline generation jobs, and see, add and retry them.

The queue and the video cache live under the settings' home (`ragvid.nearline`); a worker started anywhere
with the same home takes the same jobs. Bad input (an unknown job, a SID file that does not check) is one
line on stderr naming the field, exit 2.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from ragvid.exits import command
from ragvid.progress import literal_console
from ragvid.settings import Settings

if TYPE_CHECKING:
    from rag_recsys.job_queue import Job, JobState
    from ragvid.nearline import Nearline

jobs_app = typer.Typer(help="See, add and retry nearline generation jobs (the queue `ragvid worker` runs).",
                       no_args_is_help=True)  # fmt: skip

HomeOpt = Annotated[Path | None, typer.Option(help="queue, video cache, runs and checkpoints (env RAGVID_HOME)")]
STATES = ("pending", "running", "done", "dead")


def _nearline(settings: Settings) -> Nearline:
    from rag_recsys.tokenizers import default_tokenizer
    from ragvid.nearline import Nearline

    return Nearline(settings.home, default_tokenizer())


def _line(job: Job) -> str:
    return f"{job.job_id} {job.state}"


@jobs_app.command("list")
@command
def list_jobs(
    state: Annotated[str | None, typer.Option(help=f"only jobs in this state: {', '.join(STATES)}")] = None,
    limit: Annotated[int, typer.Option(min=1, help="newest first, at most this many")] = 50,
    as_json: Annotated[bool, typer.Option("--json", help="print the jobs as a JSON list")] = False,
    home: HomeOpt = None,
) -> None:
    """List jobs, newest first, one line each with its SIDs, requests, attempts and last error; the counts per
    state last."""
    from ragvid.nearline import job_queue
    from tools.errors import InputError

    if state is not None and state not in STATES:
        raise InputError("--state", f"{state!r} is not one of {', '.join(STATES)}")
    queue = job_queue(Settings.load(home=home).home)
    jobs = queue.jobs(cast("JobState | None", state), limit)
    if as_json:
        print(json.dumps([job.model_dump(mode="json") for job in jobs], indent=2, ensure_ascii=False))
        return
    # plain lines, not a table: a terminal's width must never cut the ids `ragvid jobs retry` takes
    console = literal_console(stderr=False)
    for job in jobs:
        sid = job.payload.get("sid", {})
        error = f"  {job.error}" if job.error else ""
        console.print(f"{job.job_id}  {job.state:<7}  content {sid.get('content')} creative {sid.get('creative')}  "
                      f"requests {job.requests}  attempts {job.attempts}/{job.max_attempts}{error}")  # fmt: skip
    if not jobs:
        console.print(f"no {state + ' ' if state else ''}jobs")
    console.print(", ".join(f"{n} {s}" for s, n in queue.counts().items()))


@jobs_app.command("dead")
@command
def dead(home: HomeOpt = None) -> None:
    """List the dead letters: jobs that used every attempt, with their last error (`ragvid jobs retry ID`)."""
    list_jobs(state="dead", limit=1000, as_json=False, home=home)


@jobs_app.command("add")
@command
def add(
    sid_files: Annotated[list[Path], typer.Argument(help="SID files (JSON) to generate")],
    aspect: Annotated[str, typer.Option(help="9:16, 16:9 or 1:1")] = "9:16",
    duration: Annotated[float | None, typer.Option(help="target length, 6–60 s")] = None,
    home: HomeOpt = None,
) -> None:
    """Queue the generation of each SID file (a request for a pair already queued or running merges into its
    job and raises its priority; a pair already cached is skipped); prints one 'JOB_ID state' line per file."""
    from rag_recsys.sidfile import parse_sid_file
    from ragvid.nearline import sid_key
    from tools.errors import InputError

    settings = Settings.load(home=home)
    nearline = _nearline(settings)
    console = literal_console(stderr=False)
    for file in sid_files:
        try:
            sid = parse_sid_file(file)
            made = nearline.cache.made(sid_key(sid), aspect)
            if made is not None:
                console.print(f"{file}: cached as video {made.video_id} (nothing to generate)")
                continue
            job, merged = nearline.enqueue(sid, file.resolve().parent, aspect, duration)
        except InputError as exc:  # the shape's fields are this command's flags; the SID's are the file's
            flag = {"aspect": "--aspect", "duration": "--duration"}.get(exc.field)
            if flag:
                raise InputError(flag, exc.message) from None
            raise InputError(exc.field, exc.message, exc.file or file) from None
        console.print(f"{_line(job)}{' (merged)' if merged else ''}")


@jobs_app.command("retry")
@command
def retry(job_id: Annotated[str, typer.Argument(help="a dead job's id")], home: HomeOpt = None) -> None:
    """Put a dead job back in the queue, its attempts from zero."""
    from ragvid.nearline import job_queue

    job = job_queue(Settings.load(home=home).home).retry(job_id)
    literal_console(stderr=False).print(_line(job))


@command
def worker(
    once: Annotated[bool, typer.Option("--once", help="stop when no job is ready instead of waiting for more")] = False,
    lease: Annotated[float, typer.Option(min=5, help="seconds a claim holds a job (renewed while it runs)")] = 120.0,
    home: HomeOpt = None,
    profile: Annotated[
        str | None, typer.Option(help="render profile: full (default) or fast (env RAGVID_PROFILE)")
    ] = None,
    tts: Annotated[str | None, typer.Option(help="speech back-end, as `ragvid generate --tts`")] = None,
    llm: Annotated[str | None, typer.Option(help="agent policy, as `ragvid generate --llm`")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="no progress lines, only each job's end")] = False,
    ray: Annotated[
        str | None,
        typer.Option(
            help="run each job as a Ray task on this cluster: an address, auto (the running cluster) or "
            "local (start one here); the home must be on storage every node mounts"
        ),
    ] = None,
) -> None:
    """Run nearline generation jobs: claim one, render it (resuming a job whose worker died from its
    checkpoint), file the video in the SID-indexed cache, repeat. Ctrl-C or SIGTERM stops it and hands the job it
    held back to the queue at once; a killed worker's job is resumed by the next worker once its lease runs out."""
    from ragvid.nearline import work

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    settings = Settings.load(home=home, profile=profile, tts=tts, llm=llm)
    nearline = _nearline(settings)
    err = literal_console()

    def report(job: Job, state: JobState | None) -> None:
        err.print(f"job {job.job_id}: {state or 'lease lost'}")

    def progress(event: dict[str, Any]) -> None:
        r = event.get("round")
        tag = f"{event.get('node', '?')}" + (f" r{r}" if r is not None else "")
        err.print(f"job {event['job_id']} {tag}: {event.get('message', '')}")

    err.print(f"worker on {nearline.root}: {nearline.queue.counts()['pending']} pending"
              + (f", generating on Ray ({ray})" if ray else ""))  # fmt: skip

    async def run() -> int:
        # SIGTERM (`ragvid serve` stopping its workers, a process manager) stops like Ctrl-C: the job in hand
        # goes back to the queue untried instead of waiting out its lease
        task = asyncio.current_task()
        assert task is not None
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
        if ray:
            from ragvid.nearline import work_on_ray

            return await work_on_ray(nearline, settings, ray, once=once, lease_s=lease, on_job=report)
        return await work(nearline, settings, once=once, lease_s=lease, on_job=report,
                          on_event=None if quiet else progress)  # fmt: skip

    try:
        done = asyncio.run(run())
    except asyncio.CancelledError:
        err.print("worker stopped (SIGTERM); the job it held is back in the queue")
        return
    err.print(f"{done} job{'s' * (done != 1)} done")
