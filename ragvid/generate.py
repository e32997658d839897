"""Running the VGA or RaG graph for the CLI (and any Python caller), in steps:

1. the request — a new one validated from the options (`new_request`, `check_sid`), or the one a
   checkpoint holds with the settings the run started with (`resume_run`, which refuses a checkpoint of
   another state version and a run that already finished);
2. the policy — started only once the inputs are valid (`ragvid.policy_select.open_policy`), so bad input
   never waits for a model server;
3. streaming the graph with a SQLite checkpointer (`stream_run`): progress events go to the caller;
4. the run record beside the MP4 (`write_record`).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import StateGraph
from pydantic import BaseModel

from agents.brief import Brief
from graphs.checkpoint import sqlite_checkpointer
from graphs.context import RunContext
from graphs.rag import RECOMMENDATIONS, RagState, build_rag_graph
from graphs.record import RunRecord, build_record
from graphs.state import STATE_VERSION, GenerateRequest, request_of
from graphs.vga import build_vga_graph
from rag_recsys.recommender import Recommender, ScoredDSID, UserContext
from rag_recsys.sidfile import load_sid_file, read_json_file
from ragvid.policy_select import open_policy
from ragvid.settings import Settings
from tools.errors import InputError

EventSink = Callable[[dict[str, Any]], None]
STATE_KEY = "ragvid_state"  # checkpoint metadata: the state version that wrote it
SETTINGS_KEY = "ragvid_settings"  # …and the settings a resumed run continues with
RUN_SETTINGS = ("profile", "tts", "max_reflections", "final_preset", "final_crf", "threads")
# the request's fields as the CLI names them, for errors
FLAGS = {"request.aspect": "--aspect", "request.duration": "--duration", "request.out": "-o/--out",
         "request.sid_file": "SID_FILE"}  # fmt: skip


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
        raise InputError("--resume", f"run '{self.run_id}' stopped before its recommendation; start it again "
                         "with `ragvid recommend … --generate`")  # fmt: skip


def new_request(sid_file: Path | None, out: Path | None, *, aspect: str = "9:16", duration: float | None = None,
                rag: bool = False) -> GenerateRequest:  # fmt: skip
    """A new run's request from the CLI options; an `InputError` naming the flag when one is wrong."""
    if out is None:
        raise InputError("-o/--out", "required (the MP4 to write)")
    if sid_file is None and not rag:
        raise InputError("SID_FILE", "required unless --resume is given")
    fields = {"sid_file": str(sid_file.resolve()) if sid_file else None, "out": str(out.resolve()), "aspect": aspect,
              "duration": duration, "graph": "rag" if rag else "vga"}  # fmt: skip
    try:
        return GenerateRequest.parse({k: v for k, v in fields.items() if v is not None})
    except InputError as e:
        raise InputError(FLAGS.get(e.field, e.field), e.message) from None


def check_sid(request: GenerateRequest, ctx: RunContext) -> Brief | None:
    """The request's SID file read, checked and decoded (a RaG request has none yet): bad input fails here,
    before any model server starts or any node runs."""
    if request.sid_file is None:
        return None
    return Brief.from_loaded(load_sid_file(Path(request.sid_file), ctx.tokenizer), aspect=request.aspect,
                             duration=request.duration)  # fmt: skip


class Resumed(BaseModel):
    """A checkpointed run to continue: its request and the settings it started with."""

    request: GenerateRequest
    settings: dict[str, Any]


async def resume_run(saver: BaseCheckpointSaver[Any], run_id: str, where: Path) -> Resumed:
    """The request and settings of a checkpointed run; an `InputError` for an unknown run, a run that
    already finished, or a checkpoint of another state version (its entries would not read as this
    version's models)."""
    saved = await saver.aget_tuple({"configurable": {"thread_id": run_id}})
    values = saved.checkpoint["channel_values"] if saved else {}
    if saved is None or "request" not in values:
        raise InputError("--resume", f"no run '{run_id}' in {where}")
    version = saved.metadata.get(STATE_KEY)
    if version != STATE_VERSION:
        raise InputError("--resume", f"run '{run_id}' was checkpointed by another ragvid version (state version "
                         f"{version or 1}, this is {STATE_VERSION}) and cannot be resumed: start it again")  # fmt: skip
    request = request_of(values)  # type: ignore[arg-type]
    if values.get("final"):
        raise InputError("--resume", f"run '{run_id}' already finished: {request.out}")
    started_with = saved.metadata.get(SETTINGS_KEY)
    return Resumed(request=request, settings=json.loads(started_with) if isinstance(started_with, str) else {})


async def run_status(home: Path, run_id: str) -> Literal["none", "unfinished", "finished"]:
    """Whether ``home``'s checkpoints hold run `run_id`, and whether it finished: what a worker that claims a
    job again (its first worker died) does with it — start, resume, or file the finished video."""
    async with sqlite_checkpointer(home) as saver:
        saved = await saver.aget_tuple({"configurable": {"thread_id": run_id}})
    values = saved.checkpoint["channel_values"] if saved else {}
    if "request" not in values:
        return "none"
    return "finished" if values.get("final") else "unfinished"


def graph_for(request: GenerateRequest, rag: RecommendInput | None) -> StateGraph[Any, Any, Any, Any]:
    """The VGA graph, or the RaG graph around the recommender (a stand-in when resuming by id alone)."""
    if request.graph == "vga":
        return build_vga_graph()
    if rag is not None:
        return build_rag_graph(rag.recommender, k=rag.k)
    return build_rag_graph(_StoppedBeforeRecommending(request.run_id))


def run_config(run_id: str, settings: Settings | None = None) -> RunnableConfig:
    """The config of a run: its checkpoint thread; the state version and the run's settings in the
    checkpoint's metadata (a resumed run continues with them)."""
    metadata: dict[str, Any] = {STATE_KEY: STATE_VERSION}
    if settings is not None:  # as JSON text: LangGraph keeps only scalar metadata values
        metadata[SETTINGS_KEY] = json.dumps({name: getattr(settings, name) for name in RUN_SETTINGS})
    return {"configurable": {"thread_id": run_id}, "metadata": metadata}


async def stream_run(app: Any, graph_input: dict[str, Any] | None, config: RunnableConfig, ctx: RunContext,
                     on_event: EventSink | None) -> RagState:  # fmt: skip
    """Run (or, with ``graph_input`` None, resume) the compiled graph, passing each progress event on;
    returns the final state."""
    # subgraphs=True: the RaG graph's VGA steps stream from inside its subgraph
    async for _namespace, chunk in app.astream(graph_input, config, context=ctx, stream_mode="custom",
                                               subgraphs=True):  # fmt: skip
        if on_event and isinstance(chunk, dict):
            on_event(chunk)
    return cast(RagState, (await app.aget_state(config)).values)


class Written(BaseModel):
    """A finished run: its record and where the record was written."""

    record: RunRecord
    path: Path


def write_record(state: RagState, settings: Settings, ctx: RunContext, total_s: float,
                 warnings: list[str]) -> Written:  # fmt: skip
    """``OUT.run.json`` beside the MP4: the request, the SID as given (inline, or the file's JSON), for a
    RaG run the user and the ranking, and everything the run decided and measured."""
    request = request_of(state)
    sid_json = request.sid.model_dump(mode="json", exclude_none=True) if request.sid is not None else (
        read_json_file(Path(request.sid_file)) if request.sid_file else None)  # fmt: skip
    inputs: dict[str, Any] = {**request.model_dump(mode="json", exclude={"sid"}), "sid": sid_json,
                              "tts": settings.tts, "policy": ctx.policy.name, "profile": ctx.profile.name}  # fmt: skip
    recommended = RECOMMENDATIONS.latest(state)
    if recommended is not None:
        inputs["user"] = state.get("user")
        inputs["recommendations"] = recommended.model_dump(mode="json")
    record = build_record(state, run_id=request.run_id, inputs=inputs, total_s=total_s, warnings=warnings)
    path = Path(request.out).with_suffix(".run.json")
    path.write_text(record.model_dump_json(indent=2), encoding="utf-8")
    return Written(record=record, path=path)


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(f"{record.name}: {record.getMessage()}")


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
    prepared: GenerateRequest | None = None,
) -> Written:
    """Generate (or resume) one video — from ``sid_file``, from a ``prepared`` request (an inline SID and a run
    id of the caller's, as the nearline worker sends), or with ``rag`` from the D-SID a recommender chooses for
    a user. ``context`` replaces the one ``settings`` build (its policy is then kept). A resumed run continues
    with its own request and the settings it started with. Raises `InputError` for bad input, `LLMError` when a
    demanded LLM endpoint fails."""
    if resume and (sid_file is not None or out is not None or rag is not None or prepared is not None):
        raise InputError("--resume", "the run continues with its own SID file and output: drop SID_FILE and -o")
    home = context.home if context is not None else settings.home.expanduser()
    collector = _WarningCollector()
    logging.getLogger("ragvid").addHandler(collector)
    t0 = time.perf_counter()

    def say(message: str, **extra: Any) -> None:
        if on_event:
            on_event({"node": "run", "message": message, **extra})

    try:
        async with AsyncExitStack() as stack:
            saver = await stack.enter_async_context(sqlite_checkpointer(home))
            graph_input: dict[str, Any] | None = None
            if resume:
                resumed = await resume_run(saver, resume, home / "checkpoints.sqlite")
                request, settings = resumed.request, settings.model_copy(update=resumed.settings)
                say(f"resuming with the run's settings: {', '.join(f'{k} {v}' for k, v in resumed.settings.items())}")
            ctx = context or settings.run_context()
            if not resume:
                request = prepared or new_request(sid_file, out, aspect=aspect, duration=duration, rag=rag is not None)
                check_sid(request, ctx)
                graph_input = {"request": request.model_dump(mode="json")}
                if rag is not None:
                    graph_input["user"] = rag.user.model_dump(mode="json")
            app = graph_for(request, rag).compile(checkpointer=saver)
            if context is None:  # inputs are valid: only now is it worth starting a model server
                ctx.policy = await open_policy(settings, stack, say)
            say(f"run {request.run_id}", run_id=request.run_id)  # from here on, a failed run can be resumed
            state = await stream_run(app, graph_input, run_config(request.run_id, settings), ctx, on_event)
    finally:
        logging.getLogger("ragvid").removeHandler(collector)
    return write_record(state, settings, ctx, time.perf_counter() - t0, collector.messages)
