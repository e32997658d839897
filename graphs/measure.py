"""The Critic's measurements of a draft: the video, its voice stem and its ducked-music stem."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from agents.critic import SAFE_WIDTH, DraftMeasurements, colour_share
from agents.models import EffectPlan, VoiceTake
from tools.audio_measure import load_mono, rms_db_in, rms_db_outside, speech_intervals
from tools.boundaries import detect_boundaries
from tools.fonts import text_width_px
from tools.models import AudioTrack
from tools.probe import black_intervals, frames, frozen_intervals, probe
from tools.subtitles import REF_WIDTH, wrap_lines


def subtitle_fit(effect: EffectPlan) -> tuple[dict[str, float], dict[str, int]]:
    """Per cue: widest wrapped line over the safe width (at the 1080-wide reference the style is
    written for), and how many lines it wraps to."""
    style = effect.style
    safe = SAFE_WIDTH * REF_WIDTH
    ratios: dict[str, float] = {}
    counts: dict[str, int] = {}
    for i, cue in enumerate(effect.cues):
        lines = wrap_lines(cue.text, style.max_chars_per_line)
        widest = max((text_width_px(line, style.font_size, style.bold) for line in lines), default=0)
        ratios[str(i)] = round(widest / safe, 4)
        counts[str(i)] = len(lines)
    return ratios, counts


def _line_spans(takes: list[VoiceTake]) -> dict[str, tuple[float, float]]:
    spans: dict[str, tuple[float, float]] = {}
    for take in takes:
        samples, sr = load_mono(take.path)
        voiced = speech_intervals(samples, sr)
        if voiced:
            spans[take.line_id] = (round(take.start + voiced[0][0], 3), round(take.start + voiced[-1][1], 3))
    return spans


def _measure(draft: dict[str, Any], effect: EffectPlan, music: AudioTrack, takes: list[VoiceTake]) -> DraftMeasurements:
    path = Path(draft["path"])
    info = probe(path)
    voice, sr = load_mono(draft["stems"]["voice"])
    voiced = speech_intervals(voice, sr)
    music_db_in = music_db_out = None
    if "music_ducked" in draft["stems"]:
        mus, msr = load_mono(draft["stems"]["music_ducked"])
        if voiced:
            music_db_in = rms_db_in(mus, msr, voiced)
            music_db_out = rms_db_outside(mus, msr, voiced, info.duration)
    share = 0.0
    if effect.cta.box_color:
        (last,) = frames(path, [max(0.0, info.duration - 1.0)])
        share = colour_share(last, effect.cta.box_color)
    ratios, counts = subtitle_fit(effect)
    v = info.video
    return DraftMeasurements(
        duration=info.duration,
        width=v.width or 0 if v else 0,
        height=v.height or 0 if v else 0,
        lufs=draft.get("lufs"),
        voice_intervals=[(round(a, 3), round(b, 3)) for a, b in voiced],
        line_spans=_line_spans(takes),
        music_db_in_speech=music_db_in,
        music_db_outside=music_db_out,
        cuts=detect_boundaries(path),
        beats=music.beats,
        black=black_intervals(path, min_duration=0.5),
        frozen=frozen_intervals(path),
        cta_color_share=share,
        subtitle_width_ratio=ratios,
        subtitle_lines=counts,
    )


async def measure_draft(
    draft: dict[str, Any], effect: EffectPlan, music: AudioTrack, takes: list[VoiceTake]
) -> DraftMeasurements:
    # decoding and ffmpeg scans are blocking: keep them off the event loop so progress keeps flowing
    return await asyncio.to_thread(_measure, draft, effect, music, takes)
