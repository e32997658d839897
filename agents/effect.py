"""Effect Agent: subtitle cues timed from the measured speech, subtitle style, transitions, overlays
and the CTA end card.

Every text element is fitted in pixels with the fonts that set it (`tools.textlayout`): the subtitle size
lets every cue fit its rows of the title-safe width, titles and the CTA shrink until they fit theirs. In a
reflection round ``subtitle_width`` starts the fit smaller by the measured overflow, ``subtitle_lines``
fits again (a plan written by an LLM may have skipped it), and ``glyph_missing`` leaves out the characters
libass drew without their font (the task's notes name them). The CTA card comes up with the last shot (whose
length the storyboard decides), and at least END_CARD_SECONDS before the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from agents.models import EffectPlan, Feedback, ShotInstructions, VisualPlan, VoiceTake
from agents.policy import AgentTask
from tools.limits import END_CARD_SECONDS
from tools.models import SubtitleCue, SubtitleStyle, TextOverlay
from tools.subtitles import BADGE_PAD, REF_WIDTH, TITLE_BOLD, safe_width, text_font
from tools.textlayout import fit
from tools.vocabulary import Transition, outline_for

HOLD = 0.2  # subtitles linger a moment after the voice so the last word can be read
MIN_GAP = 0.05
MIN_FONT_SIZE = 40  # below this a phone screen cannot be read at arm's length
MIN_OVERLAY_SIZE = 44  # titles and the CTA: a little larger than the smallest subtitle
TITLE_LINES, CTA_LINES = 2, 3


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


def fit_subtitles(style: SubtitleStyle, texts: list[str], too_wide: float = 1.0) -> SubtitleStyle:
    """Size the subtitles so every cue fits ``style.max_lines`` rows of the title-safe width, measured in pixels
    with the fonts that set each cue (`tools.textlayout.fit`). A measured overflow (`too_wide`, widest row /
    safe width) starts the search that much smaller; when even the smallest readable font will not do, a cue
    may take one more row. Never page a cue: a later page would start away from any speech onset."""
    width = safe_width(REF_WIDTH)
    start = style.font_size / max(1.0, too_wide)
    for rows in (style.max_lines, style.max_lines + 1):
        font = text_font(style, start, style.bold, texts[0] if texts else "")
        fitted = fit(texts, font, width, rows, MIN_FONT_SIZE)
        if fitted is not None:
            return style.model_copy(update={"font_size": int(fitted.font.size), "max_lines": rows})
    return style.model_copy(update={"font_size": MIN_FONT_SIZE, "max_lines": style.max_lines + 1})


def fit_overlay(style: SubtitleStyle, text: str, size: float, bold: bool, max_lines: int, boxed: bool) -> int:
    """The largest Fontsize (reference pixels, at most ``size``) at which on-screen ``text`` fits ``max_lines``
    rows of the title-safe width (less the badge box's padding when ``boxed``)."""
    room = safe_width(REF_WIDTH) - (2 * BADGE_PAD if boxed else 0.0)
    fitted = fit([text], text_font(style, size, bold, text), room, max_lines, MIN_OVERLAY_SIZE)
    return int(fitted.font.size) if fitted is not None else MIN_OVERLAY_SIZE


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


def unset_characters(feedback: Feedback) -> str:
    """The characters the Critic found drawn without their font (``glyph_missing``): the next plan leaves them out."""
    return "".join(dict.fromkeys("".join(str(f.measured) for f in feedback.of("glyph_missing"))))


def without(text: str, chars: str) -> str:
    """``text`` without any of ``chars``, its spaces tidied."""
    return " ".join("".join(c for c in text if c not in chars).split()) if chars else text


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
    drop = unset_characters(feedback)
    line_texts = {k: without(v, drop) for k, v in line_texts.items()}
    palette = instructions.palette
    style = previous.style.model_copy() if previous else SubtitleStyle(
        primary=palette.text, outline=outline_for(palette.text), language=instructions.language)  # fmt: skip
    texts = list(line_texts.values())
    too_wide = 1.0
    for f in feedback.findings:
        if f.check == "subtitle_width" and isinstance(f.measured, float):
            too_wide = max(too_wide, f.measured * 1.05)  # the measured overflow, with a little air
    style = fit_subtitles(style, texts, too_wide)
    joins = plan_transitions(instructions, visual)
    overlays: list[TextOverlay] = []
    size = int(84 * instructions.title_scale)
    for shot, seg in zip(instructions.shots, visual.segments, strict=True):
        if shot.onscreen_text is None or shot.purpose == "cta":
            continue
        text = without(shot.onscreen_text.upper() if instructions.uppercase_titles else shot.onscreen_text, drop)
        role: Literal["title", "badge"] = "title" if shot.purpose == "hook" else "badge"
        overlays.append(
            TextOverlay(
                start=round(seg.start + 0.2, 3),
                end=round(seg.end - 0.1, 3),
                text=text,
                role=role,
                position="top",
                font_size=fit_overlay(style, text, size, TITLE_BOLD[role], TITLE_LINES, boxed=role == "badge"),
                color=palette.text,
                box_color=palette.surface if shot.purpose != "hook" else None,
            )
        )
    last = visual.segments[-1]
    cta_start = max(0.0, min(last.start, visual.duration - END_CARD_SECONDS))
    cta_text = without(instructions.cta.upper() if instructions.uppercase_titles else instructions.cta, drop)
    cta = TextOverlay(
        start=round(cta_start, 3),
        end=round(visual.duration, 3),
        text=cta_text,
        role="cta",
        position="center",
        font_size=fit_overlay(style, cta_text, size, TITLE_BOLD["cta"], CTA_LINES, boxed=False),
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
        notes=[f"dropped characters no font draws: {' '.join(f'{c} (U+{ord(c):04X})' for c in drop)}"]
        if (drop := unset_characters(feedback)) else [],
    )
