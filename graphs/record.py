"""The run record (`OUT.run.json`): everything a run decided and measured, built from final state.

Its JSON schema is committed at docs/run-record.schema.json (`ragvid schema run-record` prints it)
and a test keeps the two in step.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agents.critic import route
from agents.models import Critique
from graphs.state import Entry, VGAState

SCHEMA_VERSION = "1"


class AgentOutput(BaseModel):
    round: int
    policy: str = Field(description="which policy decided: rule or llm")
    sources: dict[str, str] = Field(description="per output field: 'rule' or 'llm'")
    notes: list[str] = Field(default_factory=list, description="fallbacks and validation errors")
    output: dict[str, Any]
    llm: dict[str, Any] | None = Field(default=None, description="the LLM call: token counts, attempts, seconds")


class AudioOutput(AgentOutput):
    takes: list[dict[str, Any]] = Field(description="synthesized lines placed on the timeline (measured)")
    music: dict[str, Any]


class CritiqueRecord(BaseModel):
    round: int
    policy: str
    sources: dict[str, str] = Field(default_factory=dict)
    notes: list[str] = Field(default_factory=list)
    llm: dict[str, Any] | None = None
    findings: list[dict[str, Any]] = Field(description="check, severity, agent, measured, expected")
    measurements: dict[str, Any]
    accepted: bool
    routed_to: str | None
    measure_seconds: float


class RoundRecord(BaseModel):
    round: int
    visual: AgentOutput | None = Field(default=None, description="absent when the round did not redo it")
    audio: AudioOutput | None = None
    effect: AgentOutput | None = None
    draft: dict[str, Any] | None = None
    critique: CritiqueRecord | None = None


class Timings(BaseModel):
    total_s: float
    tools_s: float
    draft_render_s: float
    final_render_s: float


class RunRecord(BaseModel):
    schema_version: str = SCHEMA_VERSION
    run_id: str
    inputs: dict[str, Any] = Field(description="the request and the SID file as given")
    decoded: dict[str, Any] = Field(description="decoded D-SIDs, creative settings, product similarity")
    instructions: AgentOutput
    rounds: list[RoundRecord]
    chosen_round: int
    final: dict[str, Any]
    tool_calls: list[dict[str, Any]]
    conversation: list[dict[str, Any]] = Field(description="the Eq. 14 message sequence of the run")
    events: list[dict[str, Any]]
    warnings: list[str]
    timings: Timings


def _by_round(entries: list[Entry]) -> dict[int, Entry]:
    return {int(e["round"]): e for e in entries}


def build_record(state: VGAState, *, inputs: dict[str, Any], total_s: float, warnings: list[str]) -> RunRecord:
    brief = state["brief"][-1]
    visual, audio, effect = (
        _by_round(state.get("visual", [])),
        _by_round(state.get("audio", [])),
        _by_round(state.get("effect", [])),
    )
    drafts = _by_round(state.get("drafts", []))
    rounds: list[RoundRecord] = []
    for c in state.get("critiques", []):
        r = int(c["round"])
        critique = Critique.model_validate(c)
        routed = route(critique)
        rounds.append(
            RoundRecord(
                round=r,
                visual=AgentOutput.model_validate(visual[r]) if r in visual else None,
                audio=AudioOutput.model_validate(audio[r]) if r in audio else None,
                effect=AgentOutput.model_validate(effect[r]) if r in effect else None,
                draft=drafts.get(r),
                critique=CritiqueRecord(
                    round=r,
                    policy=c.get("policy", "rule"),
                    sources=c.get("sources", {}),
                    notes=c.get("notes", []),
                    llm=c.get("llm"),
                    findings=c["findings"],
                    measurements={**c["measurements"], "draft": c.get("draft", {})},
                    accepted=routed is None,
                    routed_to=routed,
                    measure_seconds=c.get("measure_seconds", 0.0),
                ),
            )
        )
    calls = state.get("tool_calls", [])
    final = state["final"][-1]
    return RunRecord(
        run_id=str(state["request"]["run_id"]),
        inputs=inputs,
        decoded={
            k: brief[k]
            for k in (
                "content_path",
                "creative_path",
                "entities",
                "topics",
                "titles",
                "style",
                "similarity",
                "product_text",
                "tokenizer",
                "images",
            )
        },
        instructions=AgentOutput.model_validate(state["instructions"][-1]),
        rounds=rounds,
        chosen_round=int(final["round"]),
        final=final,
        tool_calls=list(calls),
        conversation=list(state.get("messages", [])),
        events=list(state.get("events", [])),
        warnings=warnings,
        timings=Timings(
            total_s=round(total_s, 3),
            tools_s=round(sum(c["seconds"] for c in calls if c["tool"] != "composer"), 3),
            draft_render_s=round(sum(d["seconds"] for d in state.get("drafts", [])), 3),
            final_render_s=round(float(final["seconds"]), 3),
        ),
    )
