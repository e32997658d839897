"""From plans to the composer's Timeline and the clip requests it needs (pure functions)."""

from __future__ import annotations

import math
from pathlib import Path

from agents.models import AudioPlan, EffectPlan, ShotInstructions, VisualPlan, VoiceTake
from tools.models import AudioTrack, Clip, ClipRequest, RenderSettings, SubtitleFile, Timeline, TimelineShot, VoiceClip
from tools.timing import clip_spans
from tools.vocabulary import Palette

VARIANT_SEED_STEP = 7  # another take of a shot: far enough from its neighbours' seeds (i ± 1) to look new


def _round_up(seconds: float, step: float = 0.5) -> float:
    # clip lengths rounded up so a reflection round that nudges a boundary reuses the cached clip
    # (the composer trims it)
    return math.ceil(seconds / step - 1e-9) * step


def _shot_palette(base: Palette, index: int) -> Palette:
    """Alternate background and surface between graphics shots so neighbours are distinct."""
    if index % 2:
        return Palette(background=base.surface, surface=base.background, text=base.text, accent=base.accent)
    return base


def clip_requests(
    visual: VisualPlan, effect: EffectPlan, instructions: ShotInstructions, settings: RenderSettings
) -> list[ClipRequest]:
    """One clip request per storyboard segment, long enough for its transitions (rounded up to 0.5 s)."""
    spans = clip_spans(visual.boundaries, [0.0, *effect.transition_seconds])
    return [
        ClipRequest(
            shot_id=seg.shot_id,
            prompt=seg.prompt,
            duration=_round_up(span.duration),
            width=settings.width,
            height=settings.height,
            fps=settings.fps,
            image=Path(seg.image) if seg.image else None,
            camera=seg.camera,
            palette=_shot_palette(instructions.palette, i),
            seed=i + VARIANT_SEED_STEP * seg.variant,
            variant=seg.variant,
        )
        for i, (seg, span) in enumerate(zip(visual.segments, spans, strict=True))
    ]


def build_timeline(
    visual: VisualPlan,
    audio: AudioPlan,
    effect: EffectPlan,
    takes: list[VoiceTake],
    music: AudioTrack,
    clips: list[Clip],
    subtitles: SubtitleFile,
    settings: RenderSettings,
) -> Timeline:
    """The composer's timeline: shots with their transitions, the voice takes where they were placed, the
    music, the ducking, the subtitles file and the loudness the plan asks of the master."""
    transitions = ["cut", *effect.transitions]
    seconds = [0.0, *effect.transition_seconds]
    shots = [
        TimelineShot(
            shot_id=seg.shot_id,
            clip=clip.path,
            start=seg.start,
            end=seg.end,
            transition_in=transitions[i],
            transition_seconds=seconds[i],
        )
        for i, (seg, clip) in enumerate(zip(visual.segments, clips, strict=True))
    ]
    return Timeline(
        width=settings.width,
        height=settings.height,
        fps=settings.fps,
        duration=visual.duration,
        shots=shots,
        voice=[VoiceClip(line_id=t.line_id, path=Path(t.path), start=t.start) for t in takes],
        music=music.path,
        ducking=audio.ducking,
        subtitles=subtitles,
        target_lufs=audio.target_lufs,
    )
