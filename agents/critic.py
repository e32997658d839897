"""Critic: measures the draft and turns each failed check into a finding routed to the agent at fault.

Measuring is the Critic's tool work (probing the draft video, its voice and music stems); judging the
measurements is its policy decision (`rule_critique`: fixed thresholds, each finding with its
measured value). Routing picks the earliest agent at fault, since every later agent re-plans on
top of it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from agents.models import (
    AgentName,
    AudioPlan,
    Critique,
    EffectPlan,
    Finding,
    VisualPlan,
    VoiceTake,
)
from agents.policy import AgentTask
from tools.timing import distance_to_grid

AGENT_ORDER: tuple[AgentName, ...] = ("visual", "audio", "effect")
DURATION_TOLERANCE = 0.25
TARGET_LUFS, LUFS_TOLERANCE = -14.0, 1.0
MIN_DUCK_DB = 6.0
SAFE_WIDTH = 0.9  # subtitles must stay inside 90% of the frame width (title-safe area)
OVERRUN_TOLERANCE = 0.05
BOUNDARY_TOLERANCE = 0.15  # ~4 frames: the frame-difference plateau's centre is found to a few frames


class DraftMeasurements(BaseModel):
    """Everything the Critic measured on one draft (seconds on the output timeline)."""

    duration: float
    width: int
    height: int
    lufs: float | None
    voice_intervals: list[tuple[float, float]] = Field(description="voiced spans on the voice stem")
    line_spans: dict[str, tuple[float, float]] = Field(
        description="per line: first to last voiced sample of its own take, on the timeline (lines that run "
        "into each other merge on the stem, so each is measured on its take)"
    )
    music_db_in_speech: float | None
    music_db_outside: float | None
    cuts: list[float] = Field(description="shot boundaries (cuts and transitions) found in the frames")
    beats: list[float]
    black: list[tuple[float, float]]
    frozen: list[tuple[float, float]]
    cta_color_share: float = Field(description="share of the frame near the CTA card colour, 1 s before the end")
    subtitle_width_ratio: dict[str, float] = Field(description="widest line / safe width, per cue index")
    subtitle_lines: dict[str, int]


def _on_stem(m: DraftMeasurements, span: tuple[float, float]) -> bool:
    a, b = span
    return any(y > a and x < b for x, y in m.voice_intervals)


def rule_critique(
    round_: int,
    m: DraftMeasurements,
    visual: VisualPlan,
    audio: AudioPlan,
    effect: EffectPlan,
    takes: Sequence[VoiceTake],
) -> Critique:
    findings: list[Finding] = []
    measurements: dict[str, float | str | list[float]] = {
        "duration_s": round(m.duration, 3),
        "cuts_found": [round(c, 3) for c in m.cuts],
    }
    if abs(m.duration - visual.duration) > DURATION_TOLERANCE:
        findings.append(
            Finding(
                check="duration",
                severity="major",
                agent="visual",
                message="draft length differs from the plan",
                measured=round(m.duration, 3),
                expected=f"{visual.duration:.2f} ± {DURATION_TOLERANCE}s",
            )
        )

    seg_end = {s.shot_id: s.end for s in visual.segments}
    for take in takes:
        span = m.line_spans.get(take.line_id)
        if span is None or not _on_stem(m, span):
            findings.append(
                Finding(
                    check="speech_missing",
                    severity="major",
                    agent="audio",
                    line_id=take.line_id,
                    shot_id=take.shot_id,
                    message="no speech found on the voice track for this line",
                    measured=0.0,
                    expected="voiced audio",
                )
            )
            continue
        a, b = span
        measurements[f"speech_s:{take.line_id}"] = round(b - a, 3)
        over = b - seg_end[take.shot_id]
        if over > OVERRUN_TOLERANCE:
            # routed to the storyboard: it re-times shots on the measured speech, and the Audio agent,
            # which runs after it in the same round, condenses whatever still does not fit
            findings.append(
                Finding(
                    check="speech_overrun",
                    severity="major",
                    agent="visual",
                    line_id=take.line_id,
                    shot_id=take.shot_id,
                    message=f"speech runs {over:.2f}s past the cut",
                    measured=round(over, 3),
                    expected=f"ends before {seg_end[take.shot_id]:.2f}s",
                )
            )

    for key, ratio in m.subtitle_width_ratio.items():
        if ratio > 1.0:
            findings.append(
                Finding(
                    check="subtitle_width",
                    severity="major",
                    agent="effect",
                    message=f"subtitle cue {key} is wider than the safe area",
                    measured=round(ratio, 3),
                    expected="≤ 1.0 of the safe width",
                )
            )
    for key, n in m.subtitle_lines.items():
        if n > effect.style.max_lines:
            findings.append(
                Finding(
                    check="subtitle_lines",
                    severity="major",
                    agent="effect",
                    message=f"subtitle cue {key} needs {n} lines",
                    measured=float(n),
                    expected=f"≤ {effect.style.max_lines}",
                )
            )

    if m.lufs is not None:
        measurements["lufs"] = round(m.lufs, 2)
        if abs(m.lufs - TARGET_LUFS) > LUFS_TOLERANCE:
            findings.append(
                Finding(
                    check="loudness",
                    severity="major",
                    agent="audio",
                    message="integrated loudness off target",
                    measured=round(m.lufs, 2),
                    expected=f"{TARGET_LUFS} ± {LUFS_TOLERANCE} LUFS",
                )
            )
    if m.music_db_in_speech is not None and m.music_db_outside is not None:
        duck = m.music_db_outside - m.music_db_in_speech
        measurements["ducking_db"] = round(duck, 2)
        if duck < MIN_DUCK_DB:
            findings.append(
                Finding(
                    check="ducking",
                    severity="major",
                    agent="audio",
                    message="music not ducked enough under the voice",
                    measured=round(duck, 2),
                    expected=f"≥ {MIN_DUCK_DB} dB",
                )
            )

    for i, b in enumerate(visual.boundaries[1:-1], start=1):
        d = effect.transition_seconds[i - 1] if i - 1 < len(effect.transition_seconds) else 0.0
        tolerance = BOUNDARY_TOLERANCE + d / 2
        near = [c for c in m.cuts if abs(c - b) <= tolerance]
        if not near:
            findings.append(
                Finding(
                    check="boundary_missing",
                    severity="major",
                    agent="visual",
                    shot_id=visual.segments[i].shot_id,
                    message=f"no visible cut or transition at {b:.2f}s",
                    measured="none",
                    expected=f"a visual change within ±{tolerance:.2f}s",
                )
            )
        elif m.beats:
            off = distance_to_grid(near[0], m.beats)
            if off > tolerance:
                findings.append(
                    Finding(
                        check="off_beat",
                        severity="major",
                        agent="visual",
                        shot_id=visual.segments[i].shot_id,
                        message="boundary is off the music's beat grid",
                        measured=round(off, 3),
                        expected=f"≤ {tolerance:.2f}s from a beat",
                    )
                )

    measurements["cta_color_share"] = round(m.cta_color_share, 3)
    if m.cta_color_share < 0.3:
        findings.append(
            Finding(
                check="cta_missing",
                severity="major",
                agent="effect",
                message="no CTA card visible 1 s before the end",
                measured=round(m.cta_color_share, 3),
                expected="≥ 0.30 of the frame",
            )
        )
    # the CTA end card is meant to hold still; a freeze anywhere before it is a fault
    frozen = [(a, b) for a, b in m.frozen if a < effect.cta.start - 0.1]
    for kind, intervals in (("black_frames", m.black), ("frozen_frames", frozen)):
        for a, b in intervals:
            findings.append(
                Finding(
                    check=kind,
                    severity="major",
                    agent="visual",
                    message=f"{kind.replace('_', ' ')} from {a:.2f}s to {b:.2f}s",
                    measured=round(b - a, 3),
                    expected="none ≥ 0.5s",
                )
            )
    return Critique(round=round_, findings=findings, measurements=measurements)


def critic_task(
    round_: int,
    m: DraftMeasurements,
    visual: VisualPlan,
    audio: AudioPlan,
    effect: EffectPlan,
    takes: Sequence[VoiceTake],
) -> AgentTask[Critique]:
    return AgentTask(
        role="critic",
        inputs={"measurements": m.model_dump(mode="json"), "round": round_},
        schema=Critique,
        rule=lambda: rule_critique(round_, m, visual, audio, effect, takes),
        round=round_,
    )


def route(critique: Critique) -> AgentName | None:
    """The earliest agent with a major finding, or None when the draft is accepted."""
    at_fault = {f.agent for f in critique.findings if f.severity in ("major", "critical")}
    return next((a for a in AGENT_ORDER if a in at_fault), None)


def colour_share(frame: np.ndarray, hex_colour: str, tolerance: float = 40.0) -> float:
    """Share of pixels within `tolerance` (RGB distance) of a colour: finds a flat card in a frame."""
    rgb = np.array([int(hex_colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)
    dist = np.linalg.norm(frame[..., :3].astype(np.float32) - rgb, axis=-1)
    return float((dist < tolerance).mean())
