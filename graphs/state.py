"""Graph state: typed entries, stored as JSON, appended never overwritten.

Every channel except ``request`` is a list extended through ``operator.add``, so each reflection round
stays visible in Studio, in the checkpoint and in the run record, and nothing a node wrote is ever
overwritten. Each channel's entries have a pydantic model (below, one per channel, listed in
``CHANNELS``); the state itself holds their ``model_dump(mode="json")``, so the SQLite checkpointer and the
Studio API store plain JSON and need no custom types. Read a channel with its `Channel` (``VISUAL.latest
(state)``): every read validates the entries as their model, so a node never works on a malformed entry.

After LangGraph's react-agent and open_deep_research templates (``state.py``): an input schema (`VGAInput`,
what Studio's form shows and a caller passes) beside the full state, every field documented.
"""

from __future__ import annotations

import operator
import secrets
import time
from dataclasses import dataclass
from typing import Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from typing_extensions import TypedDict  # pydantic builds schemas of TypedDicts from typing_extensions on 3.11

from agents.brief import Brief
from agents.critic import DraftMeasurements
from agents.models import (
    BLOCKING,
    AgentName,
    AudioPlan,
    Critique,
    EffectPlan,
    Finding,
    ShotInstructions,
    Source,
    VisualPlan,
    VoiceTake,
)
from agents.policy import LLMCall
from rag_recsys.recommender import ScoredDSID
from rag_recsys.sidfile import SidFile
from tools.errors import InputError, RagvidError
from tools.limits import MAX_DURATION, MIN_DURATION
from tools.models import AudioTrack, RenderSettings, SubtitleFile, Timeline, VoiceChoice

STATE_VERSION = 3
"""Bumped whenever an entry model changes shape; a checkpoint of another version cannot be resumed."""

Json = dict[str, Any]
Aspect = Literal["9:16", "16:9", "1:1"]
ASPECTS: dict[str, tuple[int, int]] = {"9:16": (1080, 1920), "16:9": (1920, 1080), "1:1": (1080, 1080)}
"""Output size in pixels (width, height) of each aspect ratio at full resolution."""

M = TypeVar("M", bound=BaseModel)
OutputT = TypeVar("OutputT", bound=BaseModel)


def new_run_id() -> str:
    """A sortable, unique run id: ``YYYYmmdd-HHMMSS-<6 hex>``."""
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(3)


# ------------------------------------------------------------------------------------------- input


class GenerateRequest(BaseModel):
    """What to generate (the ``request`` channel, the graph's input).

    A VGA run names its SID file by path (``sid_file``) or passes its JSON inline (``sid``); a RaG run
    (``graph="rag"``) needs neither: the recommender's pick is written to the run folder and filled in.
    Relative image paths of an inline SID are resolved against the process's working directory.
    """

    model_config = ConfigDict(extra="forbid")

    sid_file: str | None = Field(default=None, description="path of a SID file (JSON)")
    sid: SidFile | None = Field(default=None, description="the SID file's JSON, inline (instead of sid_file)")
    out: str = Field(description="the MP4 to write (`ragvid generate` writes its run record beside it)")
    aspect: Aspect = Field(default="9:16", description="9:16 (1080x1920), 16:9 or 1:1")
    duration: float | None = Field(
        default=None,
        ge=MIN_DURATION,
        le=MAX_DURATION,
        description=f"target length in seconds ({MIN_DURATION:g}-{MAX_DURATION:g}); default: sized to the copy",
    )
    run_id: str = Field(
        default_factory=new_run_id,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$",
        description="names the run folder and the checkpoint thread; generated when left out",
    )
    graph: Literal["vga", "rag"] = Field(default="vga", description="rag: the SID comes from the recommender")

    @field_validator("out")
    @classmethod
    def _mp4(cls, out: str) -> str:
        if not out.lower().endswith(".mp4"):
            raise ValueError(f"'{out}' must end in .mp4")
        return out

    @model_validator(mode="after")
    def _one_sid(self) -> GenerateRequest:
        if self.graph == "vga" and (self.sid_file is None) == (self.sid is None):
            raise ValueError("give exactly one of sid_file (a path) and sid (the SID JSON inline)")
        return self

    @classmethod
    def parse(cls, value: object) -> GenerateRequest:
        """Validate a request from JSON (or a model); a bad one raises an `InputError` naming the field
        (``request.sid.content[1]: …``), one line."""
        try:
            return cls.model_validate(value)
        except ValidationError as e:
            raise InputError.from_validation(e, prefix=("request",)) from None


class VGAInput(TypedDict):
    """Input of the VGA graph: what Studio's form shows and ``ainvoke`` takes."""

    request: GenerateRequest


# ------------------------------------------------------------------------------------------- entries


class AgentEntry(BaseModel, Generic[OutputT]):
    """One decision of an agent (the ``instructions``, ``visual``, ``effect`` channels; ``audio`` and
    ``critiques`` extend it)."""

    round: int = Field(description="reflection round (0 = first draft)")
    policy: str = Field(description="which policy decided: rule or llm")
    sources: dict[str, Source] = Field(description="per output field: 'rule' or 'llm'")
    notes: list[str] = Field(default_factory=list, description="fallbacks, substitutions, validation errors")
    output: OutputT
    llm: LLMCall | None = Field(default=None, description="the LLM call, when one was made")


class AudioEntry(AgentEntry[AudioPlan]):
    """The Audio agent's plan with what its tools made of it."""

    takes: list[VoiceTake] = Field(description="synthesized lines placed on the timeline (measured)")
    music: AudioTrack
    voice: VoiceChoice | None = Field(default=None, description="the voice that spoke the lines, and why")


class CritiqueEntry(AgentEntry[Critique]):
    """The Critic's verdict on one draft, with everything it measured."""

    draft: DraftMeasurements
    measure_seconds: float = Field(description="wall time of the measurements")
    routed_to: AgentName | None = Field(description="the agent the findings go back to; None: accepted")


class DraftEntry(BaseModel):
    """A draft render (the ``drafts`` channel)."""

    round: int
    path: str
    seconds: float = Field(description="wall time of the render")
    lufs: float | None = Field(description="integrated loudness of the draft (LUFS); None for silence")
    stems: dict[str, str] = Field(description="bus name (voice, music_ducked) → WAV path")
    width: int
    height: int
    subtitles: SubtitleFile = Field(description="the ASS file burned into the draft and the folder of its fonts")


def open_findings(critique: Critique) -> list[Finding]:
    """The findings that keep the Critic from accepting ``critique``'s draft: those of a blocking severity."""
    return [f for f in critique.findings if f.severity in BLOCKING]


def finding_text(finding: Finding) -> str:
    """A finding in one phrase, for progress lines and the CLI's ``rejected:`` line: the check, where (shot,
    line) and what was measured against what was expected — the check's name alone does not say what to fix."""
    where = ", ".join(f"{kind} {value}" for kind, value in (("shot", finding.shot_id), ("line", finding.line_id))
                      if value is not None)  # fmt: skip
    return f"{finding.check}{f' ({where})' if where else ''}: measured {finding.measured}, expected {finding.expected}"


class FinalEntry(BaseModel):
    """The final render (the ``final`` channel)."""

    round: int = Field(description="the round whose plans were rendered (the best one)")
    accepted: bool = Field(
        description="the Critic accepted the delivered round (no blocking finding); false: it rejected it, and "
        "it was rendered anyway as the best round there was, with `open_findings` still open"
    )
    open_findings: list[Finding] = Field(
        description="the delivered round's blocking findings (major, critical), each with its shot or line and "
        "measured value; empty when accepted"
    )
    path: str = Field(description="the MP4 as delivered")
    staged: str = Field(description="the same file in the run folder")
    seconds: float
    lufs: float | None
    duration: float
    width: int
    height: int
    settings: RenderSettings
    clip_seconds: float = Field(description="wall time spent making the shots' clips")
    command: list[str] = Field(description="the composer's command line")
    subtitles: str = Field(description="the ASS file burned in")
    stems: dict[str, str]
    timeline: Timeline


class ToolCall(BaseModel):
    """One tool call (the ``tool_calls`` channel)."""

    node: str
    round: int
    tool: str = Field(description="speech, music, video, composer")
    backend: str
    what: str = Field(description="what was asked for: a line id, a shot id, a file name")
    seconds: float
    cached: bool
    fallback_from: str | None = None
    ok: bool


class Message(BaseModel):
    """One turn of the run's Eq. 14 conversation (the ``messages`` channel; see agents/conversation.py)."""

    role: Literal["system", "user", "assistant"]
    content: str
    agent: str = Field(description="the role whose turn this is ('system' for the shared prefix)")


class ProgressEvent(BaseModel):
    """A progress line (the ``events`` channel; also streamed in LangGraph's custom stream mode)."""

    model_config = ConfigDict(extra="allow")  # a custom node may add its own fields (examples/custom_node.py)

    node: str
    message: str
    round: int | None = None
    t: float = Field(default_factory=time.time, description="Unix time")


class RecommendationEntry(BaseModel):
    """What the recommender answered (the RaG graph's ``recommendations`` channel)."""

    k: int
    ranked: list[ScoredDSID]
    chosen: int = Field(description="index into ranked of the D-SID handed to generation")
    sid_file: str = Field(description="the SID file written for it in the run folder")


# ------------------------------------------------------------------------------------------- state


class VGAState(TypedDict, total=False):
    """State of the VGA graph. Every list channel is append-only."""

    request: Json
    """`GenerateRequest`: what to generate."""
    brief: Annotated[list[Json], operator.add]
    """`Brief`: the decoded D-SIDs and product meta the instruction model reads."""
    instructions: Annotated[list[Json], operator.add]
    """`AgentEntry[ShotInstructions]`."""
    visual: Annotated[list[Json], operator.add]
    """`AgentEntry[VisualPlan]`: one per round that re-planned the storyboard."""
    audio: Annotated[list[Json], operator.add]
    """`AudioEntry`."""
    effect: Annotated[list[Json], operator.add]
    """`AgentEntry[EffectPlan]`."""
    drafts: Annotated[list[Json], operator.add]
    """`DraftEntry`: one per round."""
    critiques: Annotated[list[Json], operator.add]
    """`CritiqueEntry`: one per draft; round r starts after r critiques."""
    final: Annotated[list[Json], operator.add]
    """`FinalEntry`."""
    tool_calls: Annotated[list[Json], operator.add]
    """`ToolCall`."""
    messages: Annotated[list[Json], operator.add]
    """`Message`: the Eq. 14 conversation."""
    events: Annotated[list[Json], operator.add]
    """`ProgressEvent`."""


class StateError(RagvidError):
    """A channel entry does not validate as its model (a checkpoint of another version, or a custom
    node that wrote a malformed entry)."""


@dataclass(frozen=True)
class Channel(Generic[M]):
    """One list channel and its entry model: typed reads (validated) and update fragments (JSON)."""

    name: str
    model: type[M]

    def all(self, state: VGAState) -> list[M]:
        """Every entry, oldest first, validated. Raises StateError naming the channel and field."""
        raw: list[Json] = state.get(self.name, [])  # type: ignore[assignment]
        return [self._read(entry, i) for i, entry in enumerate(raw)]

    def latest(self, state: VGAState) -> M | None:
        """The newest entry, or None when the channel is empty."""
        raw: list[Json] = state.get(self.name, [])  # type: ignore[assignment]
        return self._read(raw[-1], len(raw) - 1) if raw else None

    def _read(self, entry: Json, index: int) -> M:
        try:
            return self.model.model_validate(entry)
        except ValidationError as e:
            where = InputError.from_validation(e, prefix=(self.name, index))
            raise StateError(f"graph state: {where} (not a {self.model.__name__})") from None

    def require(self, state: VGAState) -> M:
        """The newest entry; raises StateError when the node that writes it has not run yet."""
        value = self.latest(state)
        if value is None:
            raise StateError(f"graph state has no '{self.name}' yet: the node that writes it has not run")
        return value

    def update(self, *entries: M) -> dict[str, list[Json]]:
        """A node's return fragment appending ``entries`` (as JSON)."""
        return {self.name: [e.model_dump(mode="json") for e in entries]}


BRIEF = Channel("brief", Brief)
INSTRUCTIONS = Channel("instructions", AgentEntry[ShotInstructions])
VISUAL = Channel("visual", AgentEntry[VisualPlan])
AUDIO = Channel("audio", AudioEntry)
EFFECT = Channel("effect", AgentEntry[EffectPlan])
DRAFTS = Channel("drafts", DraftEntry)
CRITIQUES = Channel("critiques", CritiqueEntry)
FINAL = Channel("final", FinalEntry)
TOOL_CALLS = Channel("tool_calls", ToolCall)
MESSAGES = Channel("messages", Message)
EVENTS = Channel("events", ProgressEvent)
CHANNELS: tuple[Channel[Any], ...] = (
    BRIEF, INSTRUCTIONS, VISUAL, AUDIO, EFFECT, DRAFTS, CRITIQUES, FINAL, TOOL_CALLS, MESSAGES, EVENTS,
)  # fmt: skip


def request_of(state: VGAState) -> GenerateRequest:
    """The run's request, validated (an `InputError` naming the field when it is malformed)."""
    return GenerateRequest.parse(state.get("request"))


def current_round(state: VGAState) -> int:
    """Rounds are derived, not stored: round r starts after r critiques."""
    return len(state.get("critiques", []))


def updates(*fragments: dict[str, list[Json]]) -> dict[str, list[Json]]:
    """Node return fragments merged (`Channel.update` of several channels)."""
    out: dict[str, list[Json]] = {}
    for fragment in fragments:
        for name, entries in fragment.items():
            out.setdefault(name, []).extend(entries)
    return out
