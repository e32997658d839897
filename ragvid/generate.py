"""Running the VGA graph for the CLI (and any Python caller): validate, run with a SQLite
checkpointer, stream progress, write the MP4 and its run record."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from langchain_core.runnables import RunnableConfig
from langgraph.graph import StateGraph

from agents.brief import Brief
from agents.llm_client import LLMError
from agents.policy import Policy, RulePolicy
from graphs.checkpoint import sqlite_checkpointer
from graphs.context import ASPECTS, RunContext, default_toolbox
from graphs.rag import NoRecommendation, RagState, build_rag_graph
from graphs.record import RunRecord, build_record
from graphs.state import GenerateRequest
from graphs.vga import build_vga_graph
from rag_recsys.recommender import Recommender, ScoredDSID, UserContext
from rag_recsys.sidfile import SidFileError, load_sid_file
from ragvid.errors import UserError
from ragvid.policy_select import open_policy
from ragvid.settings import Settings
from tools.cache import ToolCache

MIN_DURATION, MAX_DURATION = 6.0, 60.0
EventSink = Callable[[dict[str, Any]], None]


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


def make_context(settings: Settings, policy: Policy | None = None) -> RunContext:
    return RunContext(
        toolbox=default_toolbox(ToolCache(settings.home / "cache"), settings.tts),
        policy=policy or RulePolicy(),
        home=settings.home,
        max_reflections=settings.max_reflections,
        final_preset=settings.final_preset,
        final_crf=settings.final_crf,
        threads=settings.threads,
    )


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


def validate_options(out: Path, aspect: str, duration: float | None) -> None:
    if aspect not in ASPECTS:
        raise UserError(f"--aspect: unsupported '{aspect}' (use one of {', '.join(ASPECTS)})")
    if duration is not None and not MIN_DURATION <= duration <= MAX_DURATION:
        raise UserError(f"--duration: {duration:g}s is outside {MIN_DURATION:g}–{MAX_DURATION:g}s")
    if out.suffix.lower() != ".mp4":
        raise UserError(f"-o/--out: '{out}' must end in .mp4")


def validate_request(sid_file: Path, out: Path, aspect: str, duration: float | None, ctx: RunContext) -> Brief:
    validate_options(out, aspect, duration)
    try:
        loaded = load_sid_file(sid_file, ctx.tokenizer)
    except SidFileError as e:
        raise UserError(str(e)) from None
    return Brief.from_loaded(loaded, aspect=aspect, duration=duration)


@dataclass(frozen=True)
class RecommendInput:
    """A RaG run: the user and the recommender whose chosen D-SID is generated (graphs/rag.py)."""

    user: UserContext
    recommender: Recommender
    k: int = 10


class _StoppedBeforeRecommending:
    """Stands in for the recommender when a RaG run is resumed by id alone: a run that stopped after its
    recommendation never calls it; one that stopped before has nothing worth resuming."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id

    def recommend(self, user_context: UserContext, k: int) -> list[ScoredDSID]:
        raise UserError(f"--resume: run '{self.run_id}' stopped before its recommendation; start it again "
                        "with `ragvid recommend … --generate`")


def _graph(request: GenerateRequest, rag: RecommendInput | None) -> StateGraph[Any, Any, Any, Any]:
    if request.graph == "vga":
        return build_vga_graph()
    if rag is not None:
        return build_rag_graph(rag.recommender, k=rag.k)
    return build_rag_graph(_StoppedBeforeRecommending(request.run_id))


async def generate(
    sid_file: Path | None,
    out: Path | None,
    *,
    settings: Settings,
    aspect: str = "9:16",
    duration: float | None = None,
    resume: str | None = None,
    on_event: EventSink | None = None,
    context: RunContext | None = None,
    rag: RecommendInput | None = None,
) -> tuple[RunRecord, Path]:
    """Generate (or resume) one video — from ``sid_file``, or with ``rag`` from the D-SID a recommender
    chooses for a user — and return the run record and where it was written."""
    ctx = context or make_context(settings)
    collector = _WarningCollector()
    logging.getLogger("ragvid").addHandler(collector)
    t0 = time.perf_counter()
    def say(message: str) -> None:
        if on_event:
            on_event({"node": "run", "message": message})

    try:
        async with AsyncExitStack() as stack:
            saver = await stack.enter_async_context(sqlite_checkpointer(settings.home))
            if resume:
                config: RunnableConfig = {"configurable": {"thread_id": resume}}
                saved = await saver.aget_tuple(config)
                values = saved.checkpoint["channel_values"] if saved else {}
                if "request" not in values:
                    raise UserError(f"--resume: no run '{resume}' in {settings.home / 'checkpoints.sqlite'}")
                request = GenerateRequest.model_validate(values["request"])
                graph_input: dict[str, Any] | None = None
            else:
                if out is None or (sid_file is None and rag is None):
                    raise UserError("SID_FILE and -o/--out are required unless --resume is given")
                request = GenerateRequest(
                    sid_file=str(sid_file.resolve()) if sid_file else "",
                    out=str(out.resolve()),
                    aspect=aspect,
                    duration=duration,
                    run_id=new_run_id(),
                    graph="rag" if rag else "vga",
                )
                config = {"configurable": {"thread_id": request.run_id}}
                graph_input = {"request": request.model_dump(mode="json")}
                if rag is not None:
                    validate_options(out, aspect, duration)
                    graph_input["user"] = rag.user.model_dump(mode="json")
                else:
                    assert sid_file is not None
                    brief = validate_request(sid_file, out, aspect, duration, ctx)
                    graph_input["brief"] = [brief.model_dump(mode="json")]
            graph = _graph(request, rag).compile(checkpointer=saver)
            if on_event:
                on_event({"node": "run", "message": f"run {request.run_id}", "run_id": request.run_id})
            if context is None:  # inputs are valid: only now is it worth starting a model server
                ctx.policy = await open_policy(settings, stack, say)
            try:
                # subgraphs=True: the RaG graph's VGA steps stream from inside its subgraph
                async for _namespace, chunk in graph.astream(
                    graph_input, config, context=ctx, stream_mode="custom", subgraphs=True
                ):
                    if on_event and isinstance(chunk, dict):
                        on_event(chunk)
            except LLMError as e:  # only a demanded endpoint raises; `auto` falls back inside the policy
                raise UserError(f"--llm: {e} (resume with --resume {request.run_id})") from None
            except (SidFileError, NoRecommendation) as e:  # the recommender's pick cannot be generated
                raise UserError(str(e)) from None
            state = cast(RagState, (await graph.aget_state(config)).values)
            request = GenerateRequest.model_validate(state["request"])  # a RaG run filled in its SID file
    finally:
        logging.getLogger("ragvid").removeHandler(collector)
    sid_json = json.loads(Path(request.sid_file).read_text(encoding="utf-8"))
    inputs: dict[str, Any] = {**request.model_dump(mode="json"), "sid": sid_json, "tts": settings.tts,
                              "policy": ctx.policy.name}
    if state.get("recommendations"):
        inputs["user"] = state.get("user")
        inputs["recommendations"] = state["recommendations"][-1]
    record = build_record(state, inputs=inputs, total_s=time.perf_counter() - t0, warnings=collector.messages)
    record_path = Path(request.out).with_suffix(".run.json")
    record_path.write_text(record.model_dump_json(indent=2), encoding="utf-8")
    return record, record_path
