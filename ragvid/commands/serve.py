"""`ragvid serve`: the HTTP API (`ragvid.api`) on uvicorn, with nearline workers beside it.

Workers are separate processes (`ragvid worker`), started and stopped with the server: generation is CPU-heavy
and must not stall the event loop that answers from the cache. ``--workers 0`` serves alone, for workers started
elsewhere (another terminal, another machine sharing the home folder). On start the example SID files are queued,
so a new user sees videos arrive.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import typer

from ragvid.exits import command
from ragvid.progress import literal_console
from ragvid.settings import Settings
from tools.errors import InputError

EXAMPLE_SIDS = Path(__file__).resolve().parents[2] / "examples" / "sids"


def _free(host: str, port: int) -> None:
    """`InputError` naming --port when `host`:`port` cannot be listened on (another server has it), before
    anything starts: uvicorn would log the error and leave with a code of its own."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise InputError("--port", f"cannot listen on {host}:{port}: {exc.strerror}") from None


@command
def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(min=0, help="nearline worker processes to start beside the API")] = 1,
    model: Annotated[
        Path | None, typer.Option(help="model folder `POST /recommend` serves, watched for new checkpoints")
    ] = None,
    api_key: Annotated[
        str | None, typer.Option(help="require this key (X-API-Key) on every route but /healthz (env RAGVID_API_KEY)")
    ] = None,
    cache_gb: Annotated[float | None, typer.Option(min=0.01, help="cap on cached media, GB (default: no cap)")] = None,
    examples: Annotated[bool, typer.Option(help="queue the example SID files at start")] = True,
    home: Annotated[Path | None, typer.Option(help="queue, cache, runs and checkpoints (env RAGVID_HOME)")] = None,
    profile: Annotated[str | None, typer.Option(help="the workers' render profile: full (default) or fast")] = None,
) -> None:
    """Serve RaG online: recommend, answer video requests from the SID-indexed cache at once, generate what is
    missing nearline, log feedback. OpenAPI at /docs."""
    import uvicorn

    from rag_recsys.sidfile import parse_sid_file
    from rag_recsys.tokenizers import default_tokenizer
    from ragvid.api import create_app
    from ragvid.nearline import JobPayload, Nearline, dedupe_key, sid_key

    settings = Settings.load(home=home, profile=profile, api_key=api_key)
    err = literal_console()
    nearline = Nearline(settings.home, default_tokenizer(),
                        cap_bytes=int(cache_gb * 1e9) if cache_gb is not None else None)  # fmt: skip
    _free(host, port)
    if examples and EXAMPLE_SIDS.is_dir():  # once: a restart finds them cached or queued and asks for nothing
        for file in sorted(EXAMPLE_SIDS.glob("*.json")):
            sid = parse_sid_file(file)
            made = nearline.cache.made(sid_key(sid))
            active = nearline.queue.active(dedupe_key(JobPayload(sid=sid)))
            if made is not None:
                err.print(f"{file.name}: cached as video {made.video_id}")
            elif active is not None:
                err.print(f"{file.name}: job {active.job_id} ({active.state})")
            else:
                job, _ = nearline.enqueue(sid, file.parent)
                err.print(f"queued {file.name}: job {job.job_id}")
    app = create_app(nearline, model=model or settings.model_folder, api_key=settings.api_key)
    worker = [sys.executable, "-m", "ragvid.cli", "worker", "-q", "--home", str(settings.home.expanduser()),
              "--profile", settings.profile]  # fmt: skip
    procs = [subprocess.Popen(worker) for _ in range(workers)]
    err.print(f"ragvid serve on http://{host}:{port} (API docs /docs), {workers} worker{'s' * (workers != 1)}, "
              f"home {settings.home.expanduser()}")  # fmt: skip
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
