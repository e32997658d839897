"""Critic: measures the draft and turns each failed check into a finding routed to the agent at fault.

Measuring is the Critic's tool work (graphs/measure.py probes the draft video, its voice and music
stems into `DraftMeasurements`); judging the measurements is its policy decision (`rule_critique`). The
rule is a list of named checks (`CHECKS`), each a small function of one `Draft` that yields findings with
their measured value and the agent whose plan can fix them. Routing picks the earliest agent at fault,
since every later agent re-plans on top of it; `feedback_for` hands each agent what it re-plans on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel, Field

from agents.models import (
    AGENT_ORDER,
    BLOCKING,
    AgentName,
    AudioPlan,
    Critique,
    EffectPlan,
    Feedback,
    Finding,
    VisualPlan,
    VoiceTake,
)
from agents.policy import AgentTask
from tools.limits import ACCEPT_TOLERANCE_LU, TARGET_LUFS
from tools.timing import distance_to_grid
from tools.video.image import BLANK_SHARE

SILENT = "none"  # the speech back-end of a render without a voice (tools.speech.SilentSpeech)
DURATION_TOLERANCE = 0.25  # s
MIN_DUCK_DB = 6.0  # music under speech at least this far below music alone (dB)
OVERRUN_TOLERANCE = 0.05  # s
BOUNDARY_TOLERANCE = 0.15  # s, ~4 frames: the frame-difference plateau's centre is found to a few frames
MIN_CTA_SHARE = 0.3  # of the frame in the CTA card's colour, 1 s before the end
MIN_BAD_SPAN = 0.5  # s of black or frozen picture that counts as a fault


class DraftMeasurements(BaseModel):
    """Everything the Critic measured on one draft (seconds on the output timeline)."""

    duration: float
    width: int
    height: int
    lufs: float | None = Field(description="integrated loudness (LUFS); None for silence")
    voice_intervals: list[tuple[float, float]] = Field(description="voiced spans on the voice stem")
    line_spans: dict[str, tuple[float, float]] = Field(
        description="per line: first to last voiced sample of its own take, on the timeline (lines that run "
        "into each other merge on the stem, so each is measured on its take)"
    )
    music_db_in_speech: float | None
    music_db_outside: float | None
    cuts: list[float] = Field(description="shot boundaries (cuts and transitions) found in the frames")
    beats: list[float] = Field(description="the music's beats as its tool delivered them")
    black: list[tuple[float, float]]
    frozen: list[tuple[float, float]]
    cta_color_share: float = Field(description="share of the frame near the CTA card colour, 1 s before the end")
    subtitle_width_ratio: dict[str, float] = Field(description="widest line / safe width, per cue index")
    subtitle_lines: dict[str, int]
    glyphs_missing: dict[str, str] = Field(
        default_factory=dict,
        description="per subtitle-file event: characters not in the font libass selected for them (tools.libass)",
    )
    image_blank_share: dict[str, float] = Field(
        default_factory=dict,
        description="per shot showing a product photo: the share of its image area that is flat mid-shot "
        "(tools.video.image.blank_share); shots under the CTA card are not measured",
    )


@dataclass(frozen=True)
class Draft:
    """What every check reads: the measurements and the plans the draft was rendered from."""

    round: int
    measured: DraftMeasurements
    target_duration: float  # what the instructions asked for (s)
    visual: VisualPlan
    audio: AudioPlan
    effect: EffectPlan
    takes: Sequence[VoiceTake]

    def shot_at(self, t: float) -> str:
        """The shot on screen at time ``t``."""
        return next((s.shot_id for s in self.visual.segments if s.start <= t < s.end), self.visual.segments[-1].shot_id)


@dataclass(frozen=True)
class Check:
    """A named check: ``run`` yields a finding per fault; the finding's agent is the one to fix it."""

    name: str
    run: Callable[[Draft], Iterator[Finding]]


def _finding(check: str, agent: AgentName, message: str, measured: float | str, expected: str,
             shot_id: str | None = None, line_id: str | None = None) -> Finding:  # fmt: skip
    return Finding(check=check, severity="major", agent=agent, message=message, measured=measured,
                   expected=expected, shot_id=shot_id, line_id=line_id)  # fmt: skip


def check_duration(d: Draft) -> Iterator[Finding]:
    """The draft runs as long as the instructions asked (a composer or generator that pads or trims is
    compensated by the storyboard)."""
    if abs(d.measured.duration - d.target_duration) > DURATION_TOLERANCE:
        yield _finding("duration", "visual", "draft length differs from the target", round(d.measured.duration, 3),
                       f"{d.target_duration:.2f} ± {DURATION_TOLERANCE}s")  # fmt: skip


def _line_span(d: Draft, take: VoiceTake) -> tuple[float, float] | None:
    span = d.measured.line_spans.get(take.line_id)
    if span is None or not any(y > span[0] and x < span[1] for x, y in d.measured.voice_intervals):
        return None
    return span


def check_speech_missing(d: Draft) -> Iterator[Finding]:
    """Every line is heard on the voice stem (but in a render without a voice, ``--tts none``)."""
    for take in d.takes:
        if take.backend != SILENT and _line_span(d, take) is None:
            yield _finding("speech_missing", "audio", "no speech found on the voice track for this line", 0.0,
                           "voiced audio", take.shot_id, take.line_id)  # fmt: skip


def check_speech_overrun(d: Draft) -> Iterator[Finding]:
    """Every line ends before its shot's cut. Routed to the storyboard: it re-times shots on the measured
    speech, and the Audio agent, which runs after it in the same round, condenses what still does not fit."""
    seg_end = {s.shot_id: s.end for s in d.visual.segments}
    for take in d.takes:
        span = _line_span(d, take)
        if span is None:
            continue
        over = span[1] - seg_end[take.shot_id]
        if over > OVERRUN_TOLERANCE:
            yield _finding("speech_overrun", "visual", f"speech runs {over:.2f}s past the cut", round(over, 3),
                           f"ends before {seg_end[take.shot_id]:.2f}s", take.shot_id, take.line_id)  # fmt: skip


def check_subtitle_width(d: Draft) -> Iterator[Finding]:
    """No subtitle row is wider than the safe area (it would run off a phone screen's edge)."""
    for key, ratio in d.measured.subtitle_width_ratio.items():
        if ratio > 1.0:
            yield _finding("subtitle_width", "effect", f"subtitle cue {key} is wider than the safe area",
                           round(ratio, 3), "≤ 1.0 of the safe width")  # fmt: skip


def check_subtitle_lines(d: Draft) -> Iterator[Finding]:
    """No cue wraps to more rows than the style allows."""
    for key, n in d.measured.subtitle_lines.items():
        if n > d.effect.style.max_lines:
            yield _finding("subtitle_lines", "effect", f"subtitle cue {key} needs {n} lines", float(n),
                           f"≤ {d.effect.style.max_lines}")  # fmt: skip


def check_glyph_coverage(d: Draft) -> Iterator[Finding]:
    """Every character of the video's text is drawn from the font libass selected for it (a character missing
    from that font shows as an empty box or in a mismatched fallback). Routed to the Effect agent, which drops
    the characters named, with a note."""
    for event, chars in d.measured.glyphs_missing.items():
        shown = " ".join(f"{c} (U+{ord(c):04X})" for c in chars)
        yield _finding("glyph_missing", "effect", f"text event {event} has characters its font lacks: {shown}",
                       chars, "every character in the cmap of its font")  # fmt: skip


def check_loudness(d: Draft) -> Iterator[Finding]:
    """Integrated loudness on target (EBU R128)."""
    lufs = d.measured.lufs
    if lufs is not None and abs(lufs - TARGET_LUFS) > ACCEPT_TOLERANCE_LU:
        yield _finding("loudness", "audio", "integrated loudness off target", round(lufs, 2),
                       f"{TARGET_LUFS} ± {ACCEPT_TOLERANCE_LU} LUFS")  # fmt: skip


def ducking_db(m: DraftMeasurements) -> float | None:
    """How far the music sits under the voice: music level outside speech minus inside (dB)."""
    if m.music_db_in_speech is None or m.music_db_outside is None:
        return None
    return m.music_db_outside - m.music_db_in_speech


def check_ducking(d: Draft) -> Iterator[Finding]:
    """The music ducks at least MIN_DUCK_DB under the voice."""
    duck = ducking_db(d.measured)
    if duck is not None and duck < MIN_DUCK_DB:
        yield _finding("ducking", "audio", "music not ducked enough under the voice", round(duck, 2),
                       f"≥ {MIN_DUCK_DB} dB")  # fmt: skip


def _boundaries(d: Draft) -> Iterator[tuple[str, float, float, list[float]]]:
    """Each planned boundary between shots: (incoming shot, time, tolerance, cuts found near it)."""
    for i, b in enumerate(d.visual.boundaries[1:-1], start=1):
        seconds = d.effect.transition_seconds[i - 1] if i - 1 < len(d.effect.transition_seconds) else 0.0
        tolerance = BOUNDARY_TOLERANCE + seconds / 2
        yield d.visual.segments[i].shot_id, b, tolerance, [c for c in d.measured.cuts if abs(c - b) <= tolerance]


def check_boundary_missing(d: Draft) -> Iterator[Finding]:
    """A visible cut or transition at every planned boundary (two shots that look alike hide it)."""
    for shot_id, b, tolerance, near in _boundaries(d):
        if not near:
            yield _finding("boundary_missing", "visual", f"no visible cut or transition at {b:.2f}s", "none",
                           f"a visual change within ±{tolerance:.2f}s", shot_id)  # fmt: skip


def check_off_beat(d: Draft) -> Iterator[Finding]:
    """Every cut lands on a beat of the music as delivered."""
    if not d.measured.beats:
        return
    for shot_id, _b, tolerance, near in _boundaries(d):
        off = distance_to_grid(near[0], d.measured.beats) if near else 0.0
        if off > tolerance:
            yield _finding("off_beat", "visual", "boundary is off the music's beat grid", round(off, 3),
                           f"≤ {tolerance:.2f}s from a beat", shot_id)  # fmt: skip


def check_cta_missing(d: Draft) -> Iterator[Finding]:
    """The CTA end card fills the frame 1 s before the end. Routed to the storyboard: the card comes up
    with the last shot, so a longer end-card shot puts it up earlier (an animated card has time to land)."""
    if d.measured.cta_color_share < MIN_CTA_SHARE:
        yield _finding("cta_missing", "visual", "no CTA card visible 1 s before the end",
                       round(d.measured.cta_color_share, 3), f"≥ {MIN_CTA_SHARE:.2f} of the frame",
                       d.visual.segments[-1].shot_id)  # fmt: skip


def check_black_frames(d: Draft) -> Iterator[Finding]:
    """No black stretch of MIN_BAD_SPAN or more."""
    for a, b in d.measured.black:
        yield _finding("black_frames", "visual", f"black frames from {a:.2f}s to {b:.2f}s", round(b - a, 3),
                       f"none ≥ {MIN_BAD_SPAN}s", d.shot_at((a + b) / 2))  # fmt: skip


def check_image_blank(d: Draft) -> Iterator[Finding]:
    """No shot shows its product photo as a blank area (a photo that decoded to a flat colour): at most
    `BLANK_SHARE` of the image area flat."""
    for shot_id, share in d.measured.image_blank_share.items():
        if share >= BLANK_SHARE:
            yield _finding("image_blank", "visual", f"the product photo of shot {shot_id} shows as a blank area",
                           round(share, 3), f"< {BLANK_SHARE:.2f} of the image area flat", shot_id)  # fmt: skip


def check_frozen_frames(d: Draft) -> Iterator[Finding]:
    """No frozen stretch before the CTA card (which is meant to hold still)."""
    for a, b in d.measured.frozen:
        if a < d.effect.cta.start - 0.1:
            yield _finding("frozen_frames", "visual", f"frozen frames from {a:.2f}s to {b:.2f}s", round(b - a, 3),
                           f"none ≥ {MIN_BAD_SPAN}s", d.shot_at((a + min(b, d.effect.cta.start)) / 2))  # fmt: skip


CHECKS: tuple[Check, ...] = tuple(
    Check(fn.__name__.removeprefix("check_"), fn)
    for fn in (
        check_duration, check_speech_missing, check_speech_overrun, check_subtitle_width, check_subtitle_lines,
        check_glyph_coverage, check_loudness, check_ducking, check_boundary_missing, check_off_beat, check_cta_missing,
        check_black_frames, check_image_blank, check_frozen_frames,
    )
)  # fmt: skip


def measurements(d: Draft) -> dict[str, float | str | list[float]]:
    """The figures a critique reports beside its findings; ``speech_s:<line>`` is what the next round's
    agents re-plan on."""
    m = d.measured
    out: dict[str, float | str | list[float]] = {
        "duration_s": round(m.duration, 3),
        "cuts_found": [round(c, 3) for c in m.cuts],
        "cta_color_share": round(m.cta_color_share, 3),
    }
    for take in d.takes:
        span = _line_span(d, take)
        if span is not None:
            out[f"speech_s:{take.line_id}"] = round(span[1] - span[0], 3)
    if m.lufs is not None:
        out["lufs"] = round(m.lufs, 2)
    duck = ducking_db(m)
    if duck is not None:
        out["ducking_db"] = round(duck, 2)
    return out


def rule_critique(d: Draft) -> Critique:
    """Every check of `CHECKS` on the draft, in order."""
    findings = [f for check in CHECKS for f in check.run(d)]
    return Critique(round=d.round, findings=findings, measurements=measurements(d))


def critic_task(d: Draft) -> AgentTask[Critique]:
    """The Critic's task for draft `d`: the rule answer is `rule_critique`; an LLM sees the measurements and
    the round."""
    return AgentTask(
        role="critic",
        inputs={"measurements": d.measured.model_dump(mode="json"), "round": d.round},
        schema=Critique,
        rule=lambda: rule_critique(d),
        round=d.round,
    )


def route(critique: Critique) -> AgentName | None:
    """The earliest agent with a blocking finding, or None when the draft is accepted."""
    at_fault = {f.agent for f in critique.findings if f.severity in BLOCKING}
    return next((a for a in AGENT_ORDER if a in at_fault), None)


def feedback_for(critique: Critique | None, beats: Sequence[float], agent: AgentName) -> Feedback:
    """What ``agent`` re-plans on after ``critique``: its blocking findings (the Audio agent also gets the
    storyboard's speech overruns, which it condenses), the measured speech and the delivered beats."""
    if critique is None:
        return Feedback()
    mine = [
        f for f in critique.findings
        if f.severity in BLOCKING and (f.agent == agent or (agent == "audio" and f.check == "speech_overrun"))
    ]  # fmt: skip
    speech = {
        k.split(":", 1)[1]: float(v)
        for k, v in critique.measurements.items()
        if k.startswith("speech_s:") and isinstance(v, int | float)
    }
    return Feedback(findings=mine, speech_seconds=speech, beats=list(beats))


def best_round(critiques: Sequence[Critique]) -> int:
    """The round to deliver: fewest weighted findings; on a tie the later round (it saw more feedback)."""
    return min(critiques, key=lambda c: (c.penalty(), -c.round)).round


def colour_share(frame: np.ndarray, hex_colour: str, tolerance: float = 40.0) -> float:
    """Share of pixels within `tolerance` (RGB distance) of a colour: finds a flat card in a frame."""
    rgb = np.array([int(hex_colour.lstrip("#")[i : i + 2], 16) for i in (0, 2, 4)], dtype=np.float32)
    dist = np.linalg.norm(frame[..., :3].astype(np.float32) - rgb, axis=-1)
    return float((dist < tolerance).mean())
