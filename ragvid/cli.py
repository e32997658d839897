"""`ragvid` — the command line. User errors print one line and exit 2; nothing else does."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from ragvid.errors import UserError
from ragvid.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # nothing on the default path may reach a model hub

app = typer.Typer(
    help="ragvid: Recommendation as Generation — D-SIDs to personalised ad videos.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)


def _mount() -> None:
    from ragvid.commands.llm import llm_app
    from ragvid.commands.rec import rec_app
    from ragvid.commands.sid import sid_app

    app.add_typer(sid_app, name="sid", help="Encode product text to a SID file, decode a SID file.")
    app.add_typer(llm_app, name="llm")
    app.add_typer(rec_app, name="rec")


_mount()


def _fail(message: str, code: int = 2) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", markup=True, highlight=False, soft_wrap=True)
    return typer.Exit(code)


@app.command()
def generate(
    sid_file: Annotated[
        Path | None, typer.Argument(help="SID file (JSON): content + creative codes, optional meta")
    ] = None,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="output MP4; the run record goes beside it")] = None,
    aspect: Annotated[str, typer.Option(help="9:16, 16:9 or 1:1")] = "9:16",
    duration: Annotated[float | None, typer.Option(help="target length in seconds (default: from the copy)")] = None,
    resume: Annotated[str | None, typer.Option(help="continue a crashed run by its RUN_ID")] = None,
    tts: Annotated[
        str | None, typer.Option(help="piper (offline, default), espeak, or edge (online, falls back to piper)")
    ] = None,
    llm: Annotated[
        str | None,
        typer.Option(help="agent policy: auto (endpoint in RAGVID_LLM_URL if it answers, else rule), rule, "
                     "smollm2 (start the shipped small model), or an OpenAI-compatible URL [env RAGVID_LLM]"),
    ] = None,
    llm_model: Annotated[str | None, typer.Option(help="model name at the endpoint [env RAGVID_LLM_MODEL]")] = None,
    home: Annotated[Path | None, typer.Option(help="runs, cache and checkpoints [env RAGVID_HOME]")] = None,
    quiet: Annotated[bool, typer.Option("-q", "--quiet", help="no progress display")] = False,
) -> None:
    """Generate a personalised ad video from a SID file (instruction model → VGA agents → MP4)."""
    from ragvid.generate import generate as run_generate
    from ragvid.progress import ProgressView

    given = {"tts": tts, "home": home, "llm": llm, "llm_model": llm_model}
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    try:
        settings = Settings(**overrides)
    except Exception as e:  # pydantic's message names the field
        raise _fail(f"settings: {str(e).splitlines()[0]} — {str(e).splitlines()[-1].strip()}") from None
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    view = ProgressView(enabled=not quiet)
    try:
        with view:
            record, record_path = asyncio.run(
                run_generate(
                    sid_file,
                    out,
                    settings=settings,
                    aspect=aspect,
                    duration=duration,
                    resume=resume,
                    on_event=view.update,
                )
            )
    except UserError as e:
        raise _fail(str(e)) from None
    except KeyboardInterrupt:
        raise _fail(f"interrupted; resume with: ragvid generate --resume {view.run_id}", 130) from None
    except Exception as e:
        hint = f" — resume with: ragvid generate --resume {view.run_id}" if view.run_id else ""
        raise _fail(f"{type(e).__name__}: {e}{hint}", 1) from None
    f = record.final
    err.print(
        f"[green]wrote[/] {f['path']} ({f['duration']:.1f}s, {f['width']}x{f['height']}, {f['lufs']} LUFS, "
        f"round {record.chosen_round} of {len(record.rounds)}) and {record_path} in {record.timings.total_s:.1f}s",
        highlight=False,
    )


schema_app = typer.Typer(help="Print JSON schemas of ragvid's files.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")


@schema_app.command("run-record")
def schema_run_record() -> None:
    """JSON schema of OUT.run.json."""
    from graphs.record import RunRecord

    sys.stdout.write(json.dumps(RunRecord.model_json_schema(), indent=2) + "\n")


@schema_app.command("sid-file")
def schema_sid_file() -> None:
    """JSON schema of a SID file."""
    from rag_recsys.sidfile import SidFile

    sys.stdout.write(json.dumps(SidFile.model_json_schema(), indent=2) + "\n")


if __name__ == "__main__":
    app()
