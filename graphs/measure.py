"""The Critic's measurements of a draft: the video, its voice stem and its ducked-music stem, plus the
subtitle layout measured with the font libass renders."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

from agents.critic import MIN_BAD_SPAN, SAFE_WIDTH, DraftMeasurements, colour_share
from agents.models import EffectPlan, VoiceTake
from graphs.state import DraftEntry
from tools.audio_measure import load_mono, rms_db_in, rms_db_outside, speech_intervals
from tools.boundaries import detect_boundaries
from tools.ffmpeg import Ffmpeg
from tools.fonts import text_width_px
from tools.models import AudioTrack
from tools.probe import black_intervals, frames, frozen_intervals, probe
from tools.subtitles import REF_WIDTH, wrap_lines


@dataclass
class SubtitleFit:
    """Per cue index: its widest wrapped row over the safe width, and how many rows it wraps to."""

    width_ratio: dict[str, float] = field(default_factory=dict)
    lines: dict[str, int] = field(default_factory=dict)


def subtitle_fit(effect: EffectPlan) -> SubtitleFit:
    """Each cue wrapped as the subtitle writer wraps it and measured in the shipped font's advances, at the
    1080-wide reference the style is written for."""
    style = effect.style
    safe = SAFE_WIDTH * REF_WIDTH
    fit = SubtitleFit()
    for i, cue in enumerate(effect.cues):
        lines = wrap_lines(cue.text, style.max_chars_per_line)
        widest = max((text_width_px(line, style.font_size, style.bold) for line in lines), default=0)
        fit.width_ratio[str(i)] = round(widest / safe, 4)
        fit.lines[str(i)] = len(lines)
    return fit


def _line_spans(takes: list[VoiceTake]) -> dict[str, tuple[float, float]]:
    spans: dict[str, tuple[float, float]] = {}
    for take in takes:
        samples, sr = load_mono(take.path)
        voiced = speech_intervals(samples, sr)
        if voiced:
            spans[take.line_id] = (round(take.start + voiced[0][0], 3), round(take.start + voiced[-1][1], 3))
    return spans


def _measure(draft: DraftEntry, effect: EffectPlan, music: AudioTrack, takes: list[VoiceTake],
             ffmpeg: Ffmpeg) -> DraftMeasurements:  # fmt: skip
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
        subtitle_width_ratio=fit.width_ratio,
        subtitle_lines=fit.lines,
    )


async def measure_draft(
    draft: DraftEntry, effect: EffectPlan, music: AudioTrack, takes: list[VoiceTake], ffmpeg: Ffmpeg
) -> DraftMeasurements:
    """Everything the Critic's checks read, measured on the draft (video, voice stem, ducked-music stem)."""
    # decoding and ffmpeg scans are blocking: keep them off the event loop so progress keeps flowing
    return await asyncio.to_thread(_measure, draft, effect, music, takes, ffmpeg)
