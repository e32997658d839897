"""The Critic's measurements of a draft: the video, its voice stem and its ducked-music stem, plus the
subtitle layout measured with the fonts libass renders, the glyphs libass drew from the fonts it selected, and
the flatness of each shot's product photo."""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass, field
from pathlib import Path

from agents.critic import MIN_BAD_SPAN, DraftMeasurements, colour_share
from agents.models import EffectPlan, VisualPlan, VoiceTake
from graphs.state import DraftEntry
from tools.audio_measure import load_mono, rms_db_in, rms_db_outside, speech_intervals
from tools.boundaries import detect_boundaries
from tools.errors import ToolError
from tools.ffmpeg import Ffmpeg
from tools.libass import font_selection, uncovered
from tools.models import AudioTrack, SubtitleFile, SubtitleStyle
from tools.probe import black_intervals, frames, frozen_intervals, probe
from tools.subtitles import BADGE_PAD, REF_HEIGHT, REF_WIDTH, read_ass_events, safe_width, text_font
from tools.textlayout import widest, wrap
from tools.video.image import Box, blank_share, image_area, upright_size

# of the photo's box per side: mid-shot every camera move is centred, but a shot's middle is not exactly its
# clip's (clips also cover the transitions) and a parallax drifts fast, so the measured area keeps off the edges
IMAGE_INSET = 0.1
# Burned-in text would break up a blank photo's flatness, so the rows it can take are left out. The subtitle
# writer places it at the 1080×1920 reference, font sizes scaled with the width and margins with the height:
# a row of text with its outline is ~1.3 font sizes high, a title or badge wraps to at most two rows, and the
# lowest top anchor is the badge's (360 px, its box reaching BADGE_PAD further).
_TEXT_ROW = 1.3
_TOP_ROWS = 2
_TOP_ANCHOR = 360 + 2 * BADGE_PAD


@dataclass
class SubtitleFit:
    """Per cue index: its widest wrapped row over the safe width, and how many rows it wraps to."""

    width_ratio: dict[str, float] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


def subtitle_fit(effect: EffectPlan) -> SubtitleFit:
    """Each cue wrapped as the subtitle writer wraps it (in pixels, at Unicode line breaks) and measured with the
    fonts that set it, shaped as libass shapes them, at the 1080-wide reference the style is written for."""
    style = effect.style
    safe = safe_width(REF_WIDTH)
    fit = SubtitleFit()
    for i, cue in enumerate(effect.cues):
        font = text_font(style, style.font_size, style.bold, cue.text)
        lines = wrap(cue.text, font, safe)
        fit.width_ratio[str(i)] = round(widest(lines, font) / safe, 4)
        fit.lines[str(i)] = len(lines)
    return fit


def written_widths(subs: SubtitleFile, style: SubtitleStyle) -> dict[str, float]:
    """Per subtitle event as written in the file (index among the cue events): its widest row over the safe
    width, measured with the fonts that set it at the 1080-wide reference: what the writer really wrote, which a
    swapped writer or a style from an LLM may have made too wide."""
    safe = safe_width(REF_WIDTH)
    ratios: dict[str, float] = {}
    cues = [ev for ev in read_ass_events(subs.path) if ev.style == "Sub"]
    for i, ev in enumerate(cues):
        font = text_font(style, style.font_size, style.bold, ev.text)
        ratios[str(i)] = round(widest(ev.text.split("\n"), font) / safe, 4)
    return ratios


def glyphs_missing(subs: SubtitleFile, ffmpeg: Ffmpeg) -> dict[str, str]:
    """Per Dialogue event (its index in the file), the characters libass drew from another font than the one it
    selected for their run, or from none (``tools.libass``): empty when every glyph came from its font."""
    selection = font_selection(subs, ffmpeg)
    missing = {str(i): chars for i, chars in uncovered(subs, selection).items()}
    if selection.not_found:
        missing["libass"] = "".join(dict.fromkeys(chr(cp) for cp, _ in selection.not_found))
    return missing


def _line_spans(takes: list[VoiceTake]) -> dict[str, tuple[float, float]]:
    spans: dict[str, tuple[float, float]] = {}
    for take in takes:
        samples, sr = load_mono(take.path)
        voiced = speech_intervals(samples, sr)
        if voiced:
            spans[take.line_id] = (round(take.start + voiced[0][0], 3), round(take.start + voiced[-1][1], 3))
    return spans


def text_free_rows(effect: EffectPlan, t: float, width: int, height: int) -> tuple[int, int]:
    """The rows ``[top, bottom)`` of a ``width``×``height`` frame that no burned-in text of ``effect`` takes at
    time ``t`` (s): below the titles and badges anchored at the top that are up then, above the subtitles."""
    sx, sy = width / REF_WIDTH, height / REF_HEIGHT
    top = 0.0
    for ov in effect.overlays:
        if ov.start <= t < ov.end and ov.position == "top" and not ov.full_frame:
            top = max(top, _TOP_ANCHOR * sy + _TOP_ROWS * _TEXT_ROW * ov.font_size * sx)
    st = effect.style
    subtitles = st.margin_v * sy + st.max_lines * _TEXT_ROW * st.font_size * sx if effect.cues else 0.0
    return math.ceil(top), math.floor(height - subtitles)


def image_blank_shares(path: Path, visual: VisualPlan, effect: EffectPlan) -> dict[str, float]:
    """Per storyboard shot that shows a product photo: the share of the photo's area (`image_area`, inset by
    `IMAGE_INSET`, less the rows text may take: `text_free_rows`) that is flat (`blank_share`) in the draft's
    frame at the shot's middle, from one decode of the draft. Shots whose middle is under the full-frame CTA
    card, whose photo cannot be read (the generator showed graphics instead) or whose photo is all under text
    are left out. Raises ToolError when the draft decodes no frame."""
    picks: list[tuple[str, float, tuple[int, int]]] = []
    for seg in visual.segments:
        t = (seg.start + seg.end) / 2
        if seg.image is None or (effect.cta.full_frame and t >= effect.cta.start):
            continue
        try:
            picks.append((seg.shot_id, t, upright_size(Path(seg.image))))
        except ToolError:
            continue
    if not picks:
        return {}
    shares: dict[str, float] = {}
    for (shot_id, t, size), frame in zip(picks, frames(path, [t for _, t, _ in picks]), strict=True):
        h, w = frame.shape[:2]
        x0, y0, x1, y1 = image_area(size, (w, h), inset=IMAGE_INSET)
        top, bottom = text_free_rows(effect, t, w, h)
        box = Box(x0, max(y0, top), x1, min(y1, bottom))
        if box.y1 - box.y0 >= 4:  # a sliver of rows says nothing about the photo
            shares[shot_id] = round(blank_share(frame, box), 3)
    return shares


def _measure(draft: DraftEntry, effect: EffectPlan, music: AudioTrack, takes: list[VoiceTake],
             ffmpeg: Ffmpeg, visual: VisualPlan) -> DraftMeasurements:  # fmt: skip
    path = Path(draft.path)
    info = probe(path)
    voice, sr = load_mono(draft.stems["voice"])
    voiced = speech_intervals(voice, sr)
    music_db_in = music_db_out = None
    if "music_ducked" in draft.stems:
        mus, msr = load_mono(draft.stems["music_ducked"])
        if voiced:
            music_db_in = rms_db_in(mus, msr, voiced)
            music_db_out = rms_db_outside(mus, msr, voiced, info.duration)
    share = 0.0
    if effect.cta.box_color:
        (last,) = frames(path, [max(0.0, info.duration - 1.0)])
        share = colour_share(last, effect.cta.box_color)
    fit = subtitle_fit(effect)
    v = info.video
    return DraftMeasurements(
        duration=info.duration,
        width=v.width or 0 if v else 0,
        height=v.height or 0 if v else 0,
        lufs=draft.lufs,
        voice_intervals=[(round(a, 3), round(b, 3)) for a, b in voiced],
        line_spans=_line_spans(takes),
        music_db_in_speech=music_db_in,
        music_db_outside=music_db_out,
        cuts=detect_boundaries(path),
        beats=music.beats,
        black=black_intervals(path, min_duration=MIN_BAD_SPAN, ffmpeg=ffmpeg),
        frozen=frozen_intervals(path, min_duration=MIN_BAD_SPAN, ffmpeg=ffmpeg),
        cta_color_share=share,
        subtitle_width_ratio=written_widths(draft.subtitles, effect.style),
        subtitle_lines=fit.lines,
        glyphs_missing=glyphs_missing(draft.subtitles, ffmpeg),
        image_blank_share=image_blank_shares(path, visual, effect),
    )


async def measure_draft(
    draft: DraftEntry,
    effect: EffectPlan,
    music: AudioTrack,
    takes: list[VoiceTake],
    ffmpeg: Ffmpeg,
    visual: VisualPlan,
) -> DraftMeasurements:
    """Everything the Critic's checks read, measured on the draft (video, voice stem, ducked-music stem, its
    subtitle file through libass) and the storyboard ``visual`` it was rendered from."""
    # decoding and ffmpeg scans are blocking: keep them off the event loop so progress keeps flowing
    return await asyncio.to_thread(_measure, draft, effect, music, takes, ffmpeg, visual)
