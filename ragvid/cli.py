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


# the generation options `generate` and `recommend --generate` share
AspectOpt = Annotated[str, typer.Option(help="9:16, 16:9 or 1:1")]
DurationOpt = Annotated[float | None, typer.Option(help="target length in seconds (default: from the copy)")]
TtsOpt = Annotated[
    str | None, typer.Option(help="piper (offline, default), espeak, or edge (online, falls back to piper)")
]
LlmOpt = Annotated[
    str | None,
    typer.Option(help="agent policy: auto (endpoint in RAGVID_LLM_URL if it answers, else rule), rule, "
                "smollm2 (start the shipped small model), or an OpenAI-compatible URL (env RAGVID_LLM)"),
]
LlmModelOpt = Annotated[str | None, typer.Option(help="model name at the endpoint (env RAGVID_LLM_MODEL)")]
HomeOpt = Annotated[Path | None, typer.Option(help="runs, cache, checkpoints and models (env RAGVID_HOME)")]
QuietOpt = Annotated[bool, typer.Option("-q", "--quiet", help="no progress display")]


def make_settings(**given: Any) -> Settings:
    """Settings from the flags that were given (the rest from RAGVID_* and the defaults)."""
    try:
        return Settings(**{k: v for k, v in given.items() if v is not None})
    except Exception as e:  # pydantic's message names the field
        raise _fail(f"settings: {str(e).splitlines()[0]} — {str(e).splitlines()[-1].strip()}") from None


def run_generation(settings: Settings, quiet: bool, **kwargs: Any) -> None:
    """Run `ragvid.generate.generate` with a progress display and print where the video went; user errors
    end the command with one line and exit 2, an interrupted or crashed run tells how to resume it."""
    from ragvid.generate import generate as run_generate
    from ragvid.progress import ProgressView

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    view = ProgressView(enabled=not quiet)
    try:
        with view:
            record, record_path = asyncio.run(run_generate(settings=settings, on_event=view.update, **kwargs))
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


@app.command()
def generate(
    sid_file: Annotated[
        Path | None, typer.Argument(help="SID file (JSON): content + creative codes, optional meta")
    ] = None,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="output MP4; the run record goes beside it")] = None,
    aspect: AspectOpt = "9:16",
    duration: DurationOpt = None,
    resume: Annotated[str | None, typer.Option(help="continue a crashed run by its RUN_ID")] = None,
    tts: TtsOpt = None,
    llm: LlmOpt = None,
    llm_model: LlmModelOpt = None,
    home: HomeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Generate a personalised ad video from a SID file (instruction model → VGA agents → MP4)."""
    settings = make_settings(tts=tts, home=home, llm=llm, llm_model=llm_model)
    run_generation(settings, quiet, sid_file=sid_file, out=out, aspect=aspect, duration=duration, resume=resume)


@app.command()
def recommend(
    user_file: Annotated[Path, typer.Option("--user-file", "-u", help="user context JSON (`ragvid schema user-file`)")],
    model: Annotated[
        Path | None,
        typer.Option(help="model folder from `ragvid rec train` (default: RAGVID_HOME/models/default)"),
    ] = None,
    kind: Annotated[str, typer.Option(help="grm, or popularity (the same folder's most-seen items)")] = "grm",
    top: Annotated[int, typer.Option("-k", "--top", min=1, max=100, help="how many D-SIDs to list")] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print the list as JSON instead of a table")] = False,
    make_video: Annotated[bool, typer.Option("--generate", help="generate a video of the top D-SID")] = False,
    out: Annotated[Path | None, typer.Option("-o", "--out", help="output MP4 of --generate")] = None,
    aspect: AspectOpt = "9:16",
    duration: DurationOpt = None,
    tts: TtsOpt = None,
    llm: LlmOpt = None,
    llm_model: LlmModelOpt = None,
    home: HomeOpt = None,
    quiet: QuietOpt = False,
) -> None:
    """Recommend D-SIDs for a user and, with --generate, make the top one's video (the full RaG graph:
    recommender → instruction model → VGA agents → MP4)."""
    from ragvid.commands.recommend import Replay, load_recommender_for_cli, print_recommendations, recommend_for_cli
    from ragvid.generate import RecommendInput, validate_options

    if make_video and out is None:
        raise _fail("-o/--out: required with --generate")
    settings = make_settings(tts=tts, home=home, llm=llm, llm_model=llm_model)
    try:
        if make_video:
            assert out is not None
            validate_options(out, aspect, duration)
        user, recommender = load_recommender_for_cli(user_file, model or settings.home / "models" / "default", kind)
        ranked = recommend_for_cli(recommender, user, user_file, top)
    except UserError as e:
        raise _fail(str(e)) from None
    print_recommendations(ranked, as_json)
    if make_video:
        run_generation(settings, quiet, sid_file=None, out=out, aspect=aspect, duration=duration,
                       rag=RecommendInput(user, Replay(ranked), top))


schema_app = typer.Typer(help="Print JSON schemas of ragvid's files.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")


@schema_app.command("run-record")
def schema_run_record() -> None:
    """JSON schema of OUT.run.json."""
    from graphs.record import RunRecord

    sys.stdout.write(json.dumps(RunRecord.model_json_schema(), indent=2) + "\n")


@schema_app.command("user-file")
def schema_user_file() -> None:
    """JSON schema of a user file (`ragvid recommend --user-file`)."""
    from rag_recsys.recommender import UserContext

    sys.stdout.write(json.dumps(UserContext.model_json_schema(), indent=2) + "\n")


@schema_app.command("sid-file")
def schema_sid_file() -> None:
    """JSON schema of a SID file."""
    from rag_recsys.sidfile import SidFile

    sys.stdout.write(json.dumps(SidFile.model_json_schema(), indent=2) + "\n")


if __name__ == "__main__":
    app()
