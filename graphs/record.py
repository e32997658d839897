"""The run record (`OUT.run.json`): everything a run decided and measured, built from the final state.

It holds the state's own entry models (graphs/state.py), grouped by round. Its JSON schema is committed
at docs/run-record.schema.json (`ragvid schema run-record` prints it) and a test keeps the two in step.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from agents.models import EffectPlan, Finding, ShotInstructions, VisualPlan
from graphs.state import (
    AUDIO,
    BRIEF,
    CRITIQUES,
    DRAFTS,
    EFFECT,
    EVENTS,
    FINAL,
    INSTRUCTIONS,
    MESSAGES,
    STATE_VERSION,
    TOOL_CALLS,
    VISUAL,
    AgentEntry,
    AudioEntry,
    CritiqueEntry,
    DraftEntry,
    FinalEntry,
    Message,
    ProgressEvent,
    ToolCall,
    VGAState,
)

SCHEMA_VERSION = str(STATE_VERSION)


class RoundRecord(BaseModel):
    """One reflection round: the agents it re-ran, its draft and the Critic's verdict."""

    round: int
    visual: AgentEntry[VisualPlan] | None = Field(default=None, description="absent when the round did not redo it")
    audio: AudioEntry | None = None
    effect: AgentEntry[EffectPlan] | None = None
    draft: DraftEntry | None = None
    critique: CritiqueEntry | None = None
    accepted: bool = Field(description="no blocking finding")


class Timings(BaseModel):
    """Wall times of the run (s)."""

    total_s: float
    tools_s: float = Field(description="every tool call but the composer's")
    draft_render_s: float
    final_render_s: float


class RunRecord(BaseModel):
    """`OUT.run.json`."""

    schema_version: str = SCHEMA_VERSION
    run_id: str
    inputs: dict[str, Any] = Field(description="the request, the SID as given, and for a RaG run the user and ranking")
    decoded: dict[str, Any] = Field(description="decoded D-SIDs, creative settings, product similarity")
    instructions: AgentEntry[ShotInstructions]
    rounds: list[RoundRecord]
    chosen_round: int
    accepted: bool = Field(
        description="the Critic accepted the delivered round; false: it rejected it and the best round was "
        "delivered anyway (`ragvid generate` exits 3 unless --accept-rejected)"
    )
    open_findings: list[Finding] = Field(
        description="the delivered round's blocking findings, each with its shot or line and measured value"
    )
    final: FinalEntry
    tool_calls: list[ToolCall]
    conversation: list[Message] = Field(description="the Eq. 14 message sequence of the run")
    events: list[ProgressEvent]
    warnings: list[str]
    timings: Timings


DECODED_FIELDS = (
    "content_path", "creative_path", "entities", "topics", "titles", "style", "similarity", "product_text",
    "tokenizer", "images",
)  # fmt: skip


def build_record(state: VGAState, *, run_id: str, inputs: dict[str, Any], total_s: float,
                 warnings: list[str]) -> RunRecord:  # fmt: skip
    """The record of a finished run (the state must hold its final render)."""
    visual = {e.round: e for e in VISUAL.all(state)}
    audio = {e.round: e for e in AUDIO.all(state)}
    effect = {e.round: e for e in EFFECT.all(state)}
    drafts = {d.round: d for d in DRAFTS.all(state)}
    rounds = [
        RoundRecord(
            round=c.round, visual=visual.get(c.round), audio=audio.get(c.round), effect=effect.get(c.round),
            draft=drafts.get(c.round), critique=c, accepted=c.routed_to is None,
        )
        for c in CRITIQUES.all(state)
    ]
    calls = TOOL_CALLS.all(state)
    final = FINAL.require(state)
    return RunRecord(
        run_id=run_id,
        inputs=inputs,
        decoded=BRIEF.require(state).model_dump(mode="json", include=set(DECODED_FIELDS)),
        instructions=INSTRUCTIONS.require(state),
        rounds=rounds,
        chosen_round=final.round,
        accepted=final.accepted,
        open_findings=final.open_findings,
        final=final,
        tool_calls=calls,
        conversation=MESSAGES.all(state),
        events=EVENTS.all(state),
        warnings=warnings,
        timings=Timings(
            total_s=round(total_s, 3),
            tools_s=round(sum(c.seconds for c in calls if c.tool != "composer"), 3),
            draft_render_s=round(sum(d.seconds for d in drafts.values()), 3),
            final_render_s=round(final.seconds, 3),
        ),
    )
