"""`ragvid` — the command line. Every error leaves through `ragvid.exits`: one line on stderr, exit 2
for bad input (1 for a failure, 3 for a video the Critic rejected, 130 when interrupted). Every line goes
through `ragvid.progress.literal_console`: user strings (paths, product text) print as given."""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from ragvid.exits import exits, fail, rejected, run
from ragvid.progress import literal_console
from ragvid.settings import Settings, offline_hub

if TYPE_CHECKING:  # at run time only `generate --product` loads the tokenizer behind it
    from ragvid.product import ProductText

offline_hub()  # nothing on the default path may reach a model hub

app = typer.Typer(
    help="ragvid: Recommendation as Generation — D-SIDs to personalised ad videos.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = literal_console()


def _mount() -> None:
    from ragvid.commands.languages import languages
    from ragvid.commands.llm import llm_app
    from ragvid.commands.rec import rec_app
    from ragvid.commands.sid import sid_app

    app.add_typer(sid_app, name="sid")  # its help is sid_app's
    app.add_typer(llm_app, name="llm")
    app.add_typer(rec_app, name="rec")
    app.command()(languages)


_mount()


# the generation options `generate` and `recommend --generate` share
AspectOpt = Annotated[str, typer.Option(help="9:16, 16:9 or 1:1")]
DurationOpt = Annotated[
    float | None, typer.Option(help="target length, 6–60 s (default: sized to the copy; the fast profile: 12 s)")
]
TtsOpt = Annotated[
    str | None,
    typer.Option(help="speech: auto (default: piper for English, espeak-ng for other languages), piper, espeak, "
                      "none (no voice), or edge (online, falls back to auto)"),
]
LlmOpt = Annotated[
    str | None,
    typer.Option(help="agent policy: auto (endpoint in RAGVID_LLM_URL if it answers, else rule), rule, "
                "smollm2 (start the shipped small model), or an OpenAI-compatible URL (env RAGVID_LLM)"),
]
LlmModelOpt = Annotated[str | None, typer.Option(help="model name at the endpoint (env RAGVID_LLM_MODEL)")]
HomeOpt = Annotated[Path | None, typer.Option(help="runs, cache, checkpoints and models (env RAGVID_HOME)")]
ProfileOpt = Annotated[
    str | None,
    typer.Option(help="render profile: full (1080 wide, default) or fast (360 wide, 12 s; env RAGVID_PROFILE)"),
]
QuietOpt = Annotated[bool, typer.Option("-q", "--quiet", help="no progress display")]
AcceptRejectedOpt = Annotated[
    bool,
    typer.Option("--accept-rejected",
                 help="exit 0 when the Critic rejected the video (the best round is written either way; the "
                      "rejected: line stays, as a warning)"),
]  # fmt: skip


def run_generation(settings: Settings, quiet: bool, accept_rejected: bool = False, **kwargs: Any) -> None:
    """Run `ragvid.generate.generate` with a progress display and print where the video went; an
    interrupted or failed run says how to resume it. A video the Critic rejected ends with a ``rejected:``
    line naming its open findings, and exit 3 unless ``accept_rejected``."""
    from graphs.state import finding_text
    from ragvid.generate import generate as run_generate
    from ragvid.progress import ProgressView
    from tools.audio_measure import loudness_text

    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    view = ProgressView(enabled=not quiet)
    with exits(lambda: f"ragvid generate --resume {view.run_id}" if view.run_id else ""), view:
        done = asyncio.run(run_generate(settings=settings, on_event=view.update, **kwargs))
    record, f = done.record, done.record.final
    drafts = len(record.rounds)
    err.print(Text.assemble(
        ("wrote", "green"),
        f" {f.path} ({f.duration:.1f}s, {f.width}x{f.height}, {loudness_text(f.lufs)}, best of {drafts} "
        f"draft{'s' * (drafts != 1)}: round {record.chosen_round}) and {done.path} in {record.timings.total_s:.1f}s",
    ))  # fmt: skip
    if not record.accepted:
        findings = record.open_findings
        rejected(f"the Critic rejected the delivered round {record.chosen_round} (the best of {drafts} "
                 f"draft{'s' * (drafts != 1)}): {len(findings)} open finding{'s' * (len(findings) != 1)}: "
                 + "; ".join(finding_text(x) for x in findings), accept=accept_rejected)  # fmt: skip


EXIT_CODES = (
    "Exit codes: 0 done; 2 bad input (one line naming the flag, file or field) or a demanded LLM endpoint that "
    "failed; 1 a failed run (resume it with --resume RUN_ID); 3 the Critic rejected the video: the best round is "
    "written anyway and the last line, 'rejected: …', names the open findings (--accept-rejected: 0); "
    "130 interrupted."
)
PRODUCT_PANEL = "From product text (instead of SID_FILE)"


def _product_source(sid_file: Path | None, resume: str | None, product: str | None, meta: dict[str, Any]) -> None:
    """Usage errors of `generate`'s two sources: exactly one of SID_FILE and --product (neither with
    --resume), and product meta only with --product (a SID file carries its own)."""
    if product is None:
        given = next((flag for flag, value in meta.items() if value), None)
        if given is not None:
            fail(f"{given}: only with --product (a SID file carries its own meta)")
    if resume is not None:
        if product is not None:
            fail("--product: a resumed run continues with its own SID file: drop --product")
    elif sid_file is not None and product is not None:
        fail("SID_FILE and --product: give one, not both")
    elif sid_file is None and product is None:
        fail("SID_FILE or --product: give one (or --resume RUN_ID)")


def _encode_product(text: ProductText, out: Path | None, aspect: str, duration: float | None) -> Path:
    """`--product`: the SID file written beside the video (``OUT.sid.json``) and where it went printed."""
    from ragvid.generate import new_request
    from ragvid.product import encode_product

    sid_path = out.with_suffix(".sid.json") if out is not None else None
    # -o, --aspect and --duration are checked before anything is written (a missing -o first)
    new_request(sid_path, out, aspect=aspect, duration=duration)
    assert sid_path is not None  # new_request refused a missing -o
    if text.language is not None:  # a language the video cannot be made in fails before a file is written
        from tools.languages import language_of

        language_of(text.language, "--language")
    encoded = encode_product(text, sid_path, text_field="--product", output_field="-o/--out")
    for warning in encoded.warnings:
        err.print(f"warning: {warning}")
    err.print(f"wrote {encoded.path}: {encoded.summary()}")
    return encoded.path


@app.command(epilog=EXIT_CODES)
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
    profile: ProfileOpt = None,
    quiet: QuietOpt = False,
    accept_rejected: AcceptRejectedOpt = False,
    product: Annotated[
        str | None,
        typer.Option(help="product text: encoded to OUT.sid.json (as `ragvid sid encode`), then rendered",
                     rich_help_panel=PRODUCT_PANEL),
    ] = None,
    style: Annotated[
        str | None, typer.Option(help="creative style text, e.g. 'warm cozy steady'", rich_help_panel=PRODUCT_PANEL)
    ] = None,
    brand: Annotated[str | None, typer.Option(rich_help_panel=PRODUCT_PANEL)] = None,
    price: Annotated[str | None, typer.Option(rich_help_panel=PRODUCT_PANEL)] = None,
    selling_point: Annotated[
        list[str] | None, typer.Option("--selling-point", help="repeat for several", rich_help_panel=PRODUCT_PANEL)
    ] = None,
    cta: Annotated[str | None, typer.Option(help="call to action", rich_help_panel=PRODUCT_PANEL)] = None,
    url: Annotated[str | None, typer.Option(rich_help_panel=PRODUCT_PANEL)] = None,
    image: Annotated[
        list[Path] | None,
        typer.Option("--image", help="product image; repeat for several", rich_help_panel=PRODUCT_PANEL),
    ] = None,
    language: Annotated[
        str | None, typer.Option(help="language of the text (default en)", rich_help_panel=PRODUCT_PANEL)
    ] = None,
) -> None:
    """Generate a personalised ad video from a SID file, or from product text with --product (instruction
    model → VGA agents → MP4)."""
    with exits():
        meta = {"--style": style, "--brand": brand, "--price": price, "--selling-point": selling_point, "--cta": cta,
                "--url": url, "--image": image, "--language": language}  # fmt: skip
        _product_source(sid_file, resume, product, meta)
        settings = Settings.load(tts=tts, home=home, llm=llm, llm_model=llm_model, profile=profile)
        if product is not None:
            from ragvid.product import ProductText

            text = ProductText(product=product, style=style, brand=brand, price=price,
                               selling_points=tuple(selling_point or ()), cta=cta, url=url, images=tuple(image or ()),
                               language=language or "en")  # fmt: skip
            sid_file = _encode_product(text, out, aspect, duration)
    run_generation(settings, quiet, accept_rejected, sid_file=sid_file, out=out, aspect=aspect, duration=duration,
                   resume=resume)  # fmt: skip


@app.command(epilog=EXIT_CODES)
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
    profile: ProfileOpt = None,
    quiet: QuietOpt = False,
    accept_rejected: AcceptRejectedOpt = False,
) -> None:
    """Recommend D-SIDs for a user and, with --generate, make the top one's video (the full RaG graph:
    recommender → instruction model → VGA agents → MP4)."""
    from rag_recsys.recommender import load_user_file
    from ragvid.commands.recommend import Replay, load_recommender_for_cli, print_recommendations, recommend_for_cli
    from ragvid.generate import RecommendInput, new_request

    with exits():
        if make_video and out is None:
            fail("-o/--out: required with --generate")
        if out is not None and not make_video:
            fail("-o/--out: only with --generate (the list goes to stdout)")
        if accept_rejected and not make_video:
            fail("--accept-rejected: only with --generate")
        settings = Settings.load(tts=tts, home=home, llm=llm, llm_model=llm_model, profile=profile, model=model)
        if make_video:
            new_request(None, out, aspect=aspect, duration=duration, rag=True)
        user = load_user_file(user_file)
        recommender = load_recommender_for_cli(settings.model_folder, kind)
        ranked = recommend_for_cli(recommender, user, user_file, top)
    print_recommendations(ranked, as_json)
    if make_video:
        run_generation(settings, quiet, accept_rejected, sid_file=None, out=out, aspect=aspect, duration=duration,
                       rag=RecommendInput(user, Replay(ranked), top))


def _mount_serving() -> None:
    from ragvid.commands.jobs import jobs_app, worker
    from ragvid.commands.serve import serve

    app.command()(serve)
    app.command()(worker)
    app.add_typer(jobs_app, name="jobs")


_mount_serving()  # after generate and recommend, which `ragvid --help` lists first

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


def main() -> None:
    """The `ragvid` command (see `ragvid.exits.run`)."""
    run(app)


if __name__ == "__main__":
    main()
