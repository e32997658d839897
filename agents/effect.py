"""Effect Agent: subtitle cues timed from the measured speech, subtitle style, transitions, overlays
and the CTA end card.

In a reflection round: ``subtitle_width`` shrinks the font by the measured overflow, ``subtitle_lines``
gives each row more characters. The CTA card comes up with the last shot (whose length the storyboard
decides), and at least END_CARD_SECONDS before the end."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from agents.models import EffectPlan, Feedback, ShotInstructions, VisualPlan, VoiceTake
from agents.policy import AgentTask
from tools.limits import END_CARD_SECONDS
from tools.models import SubtitleCue, SubtitleStyle, TextOverlay
from tools.subtitles import wrap_lines
from tools.vocabulary import Transition

HOLD = 0.2  # subtitles linger a moment after the voice so the last word can be read
MIN_GAP = 0.05
MIN_FONT_SIZE = 40  # below this a phone screen cannot be read at arm's length


@dataclass
class Joins:
    """One transition per boundary between shots, with its length in seconds (0 for a cut)."""

    names: list[Transition] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)


def plan_transitions(instructions: ShotInstructions, visual: VisualPlan) -> Joins:
    """The look's transitions in turn at every boundary, each at most a third of the shorter shot it
    joins; one too short to read (< 0.12 s) becomes a cut."""
    kinds = instructions.transitions or ["cut"]
    joins = Joins()
    segs = visual.segments
    for i in range(1, len(segs)):
        kind = kinds[(i - 1) % len(kinds)]
        shortest = min(segs[i - 1].end - segs[i - 1].start, segs[i].end - segs[i].start)
        # a transition longer than ~a third of a shot hides the shot; fall back to a hard cut
        d = min(instructions.transition_seconds, shortest / 3)
        if kind == "cut" or d < 0.12:
            joins.names.append("cut")
            joins.seconds.append(0.0)
        else:
            joins.names.append(kind)
            joins.seconds.append(round(d, 3))
    return joins


def fit_subtitles(style: SubtitleStyle, texts: list[str], too_wide: float = 1.0, extra_chars: int = 0) -> SubtitleStyle:
    """Size the subtitles so every cue fits its rows inside the safe area. More characters a row
    come with a proportionally smaller font (the row's pixel width stays put); a measured overflow
    (`too_wide`, widest row / safe width) shrinks the font alone; when even the smallest readable
    font will not do, a cue may take one more row. Never page a cue: a later page would start away
    from any speech onset."""
    longest = max((len(t) for t in texts), default=0)
    for rows in (style.max_lines, style.max_lines + 1):
        need = max(style.max_chars_per_line, math.ceil(longest / rows) + extra_chars)
        # word breaks can leave a row short of its budget: widen until every cue really wraps in time
        while need < longest and any(len(wrap_lines(t, need)) > rows for t in texts):
            need += 1
        per_row = need / style.max_chars_per_line
        if per_row <= 1.0 and too_wide <= 1.0:
            return style
        size = int(style.font_size / per_row / max(1.0, too_wide))
        if size >= MIN_FONT_SIZE:
            return style.model_copy(update={"font_size": size, "max_chars_per_line": need, "max_lines": rows})
    return style.model_copy(update={"font_size": MIN_FONT_SIZE, "max_chars_per_line": need, "max_lines": rows})


def _cues(takes: list[VoiceTake], texts: dict[str, str], duration: float) -> list[SubtitleCue]:
    ordered = sorted(takes, key=lambda t: t.speech_start)
    cues: list[SubtitleCue] = []
    for i, take in enumerate(ordered):
        start = round(take.speech_start, 3)
        end = take.speech_end + HOLD
        if i + 1 < len(ordered):
            end = min(end, ordered[i + 1].speech_start - MIN_GAP)
        end = min(end, duration)
        cues.append(SubtitleCue(start=start, end=round(max(end, start + 0.3), 3), text=texts[take.line_id]))
    return cues


def rule_effect(
    instructions: ShotInstructions,
    visual: VisualPlan,
    line_texts: dict[str, str],
    takes: list[VoiceTake],
    previous: EffectPlan | None = None,
    feedback: Feedback | None = None,
) -> EffectPlan:
    """Cues from the measured speech, a subtitle style that fits every cue, transitions, on-screen titles
    and the CTA end card; see the module doc for what a reflection round changes."""
    feedback = feedback or Feedback()
    palette = instructions.palette
    style = previous.style.model_copy() if previous else SubtitleStyle(primary=palette.text, outline="#000000")
    texts = list(line_texts.values())
    too_wide, extra = 1.0, 0
    for f in feedback.findings:
        if f.check == "subtitle_width" and isinstance(f.measured, float):
            too_wide = max(too_wide, f.measured * 1.05)  # the measured overflow, with a little air
        elif f.check == "subtitle_lines":
            extra = max(extra, 4)  # word breaks left a third row: give each row a few more characters
    style = fit_subtitles(style, texts, too_wide, extra)
    joins = plan_transitions(instructions, visual)
    overlays: list[TextOverlay] = []
    size = int(84 * instructions.title_scale)
    for shot, seg in zip(instructions.shots, visual.segments, strict=True):
        if shot.onscreen_text is None or shot.purpose == "cta":
            continue
        text = shot.onscreen_text.upper() if instructions.uppercase_titles else shot.onscreen_text
        overlays.append(
            TextOverlay(
                start=round(seg.start + 0.2, 3),
                end=round(seg.end - 0.1, 3),
                text=text,
                role="title" if shot.purpose == "hook" else "badge",
                position="top",
                font_size=size,
                color=palette.text,
                box_color=palette.surface if shot.purpose != "hook" else None,
            )
        )
    last = visual.segments[-1]
    cta_start = max(0.0, min(last.start, visual.duration - END_CARD_SECONDS))
    cta_text = instructions.cta.upper() if instructions.uppercase_titles else instructions.cta
    cta = TextOverlay(
        start=round(cta_start, 3),
        end=round(visual.duration, 3),
        text=cta_text,
        role="cta",
        position="center",
        font_size=size,
        color=palette.text,
        box_color=palette.accent,
        full_frame=True,
    )
    return EffectPlan(
        cues=_cues(takes, line_texts, visual.duration),
        style=style,
        transitions=joins.names,
        transition_seconds=joins.seconds,
        overlays=overlays,
        cta=cta,
    )


def effect_task(
    instructions: ShotInstructions,
    visual: VisualPlan,
    line_texts: dict[str, str],
    takes: list[VoiceTake],
    previous: EffectPlan | None,
    feedback: Feedback,
    round_: int,
) -> AgentTask[EffectPlan]:
    """The Effect agent's task for round `round_`: the rule answer is `rule_effect`; an LLM sees the
    instructions, the storyboard, the line texts, the placed voice takes and the findings routed to it."""
    return AgentTask(
        role="effect",
        inputs={
            "instructions": instructions.model_dump(mode="json"),
            "visual": visual.model_dump(mode="json"),
            "lines": line_texts,
            "voice": [t.model_dump(mode="json") for t in takes],
            "findings": [f.model_dump(mode="json") for f in feedback.findings],
        },
        schema=EffectPlan,
        rule=lambda: rule_effect(instructions, visual, line_texts, takes, previous, feedback),
        round=round_,
    )
