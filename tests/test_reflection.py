"""Reflection: for every kind of finding the Critic routes, the agent it goes to changes its next plan so
that the next draft's measurement of that check improves or clears.

Each test makes round 0 fail one check — with a tool or a model answer that a user could meet: a composer
that pads or misses loudness, a quiet voice, a library track on its own beat grid, a generator whose
takes look alike, a dark product photo, a static camera an LLM chose, an end card that comes in late —
runs the VGA graph in-process (fast profile, one reflection round, stopped before the final render) and
measures round 1. Subtitle fitting is measured on the plan (as the
Critic measures it), without a render: tests/test_agents.py.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
import soundfile as sf
from PIL import Image

from agents.models import ShotInstructions
from agents.policy import AgentTask
from agents.testing import FunctionPolicy
from graphs.context import RunContext
from graphs.state import CRITIQUES, VISUAL, CritiqueEntry, VGAState
from graphs.timeline import VARIANT_SEED_STEP
from tests.conftest import EXAMPLES
from tests.vga_run import Wrapper, run_rounds, short_copy, swap
from tools.ffmpeg import shipped
from tools.models import (
    AudioTrack,
    BgmSpec,
    Clip,
    ClipRequest,
    Line,
    RenderResult,
    RenderSettings,
    SpeechResult,
    SubtitleFile,
    Timeline,
)
from tools.subtitles import ass_time
from tools.timing import beat_grid
from tools.video._encode import clip_for, encode_frames, frame_count

pytestmark = pytest.mark.slow


def rounds(state: VGAState) -> tuple[CritiqueEntry, CritiqueEntry]:
    first, second = CRITIQUES.all(state)
    return first, second


def checks(entry: CritiqueEntry) -> list[str]:
    return [f.check for f in entry.output.findings]


# ------------------------------------------------------------------------------------------- tool faults


class PaddingComposer(Wrapper):
    """Renders 0.6 s longer than the timeline (as an encoder that pads its last GOP would)."""

    async def render(self, timeline: Timeline, settings: RenderSettings, out: Path, *, stems: bool = False
                     ) -> RenderResult:  # fmt: skip
        longer = timeline.model_copy(update={"duration": timeline.duration + 0.6})
        return await self.inner.render(longer, settings, out, stems=stems)


class QuietComposer(Wrapper):
    """Masters 2.5 LU below what it is asked for."""

    async def render(self, timeline: Timeline, settings: RenderSettings, out: Path, *, stems: bool = False
                     ) -> RenderResult:  # fmt: skip
        quieter = timeline.model_copy(update={"target_lufs": timeline.target_lufs - 2.5})
        return await self.inner.render(quieter, settings, out, stems=stems)


class QuietVoice(Wrapper):
    """Speaks 12 dB quieter than the shipped voice (a back-end with a low output level)."""

    async def synthesize(self, line: Line) -> SpeechResult:
        result: SpeechResult = await self.inner.synthesize(line)
        samples, sr = sf.read(result.path, dtype="float32")
        quiet = result.path.with_name(result.path.stem + ".quiet.wav")
        sf.write(quiet, samples * 10 ** (-12 / 20), sr)
        return result.model_copy(update={"path": quiet})


LIBRARY_PHASE = 0.25  # s: where a library track's first beat falls, whatever was asked


class LibraryMusic(Wrapper):
    """A music library track: the tempo asked for, but its own beat phase and no accents on the cuts."""

    async def compose(self, spec: BgmSpec) -> AudioTrack:
        track: AudioTrack = await self.inner.compose(
            spec.model_copy(update={"beat_offset": LIBRARY_PHASE, "accent_times": []})
        )
        return track.model_copy(update={"beats": beat_grid(spec.bpm, track.duration, LIBRARY_PHASE)})


TAKES = [("#1A2230", "#263244"), ("#D8C8A8", "#E8DCC0")]  # a dark and a light take


class TwoTakeVideo(Wrapper):
    """A generator with one take per variant (a small stock library): every graphics shot of a variant
    looks the same, whatever it was asked for."""

    async def generate(self, request: ClipRequest) -> Clip:
        if request.image is not None:
            clip: Clip = await self.inner.generate(request)
            return clip
        take = request.seed // VARIANT_SEED_STEP % len(TAKES)  # the variant, not the shot
        background, surface = TAKES[take]
        palette = request.palette.model_copy(update={"background": background, "surface": surface})
        clip = await self.inner.generate(request.model_copy(update={"seed": 0, "palette": palette}))
        return clip.model_copy(update={"shot_id": request.shot_id})


class LateCardSubtitles(Wrapper):
    """Brings the CTA card in 2.2 s after it was asked for (an end-card template with a delayed entrance)."""

    def write(self, cues: Any, overlays: Any, style: Any, width: int, height: int, out: Path) -> SubtitleFile:
        written: SubtitleFile = self.inner.write(cues, overlays, style, width, height, out)
        path = written.path
        lines = [self._late(ln) if ",Card," in ln else ln for ln in path.read_text(encoding="utf-8").splitlines()]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return written

    @staticmethod
    def _late(line: str) -> str:
        layer, start, rest = line.split(",", 2)
        h, m, sec = start.split(":")
        return f"{layer},{ass_time(int(h) * 3600 + int(m) * 60 + float(sec) + 2.2)},{rest}"


class StillVideo(Wrapper):
    """A slideshow back-end: a photo on a "static" camera is a still frame (other moves are the real tool's)."""

    async def generate(self, request: ClipRequest) -> Clip:
        if request.image is None or request.camera != "static":
            clip: Clip = await self.inner.generate(request)
            return clip
        out = self.inner.image.cache.root / f"still-{request.shot_id}-{request.width}x{request.height}.mp4"
        frame = Image.open(request.image).convert("RGB").resize((request.width, request.height)).tobytes()
        n = frame_count(request.duration, request.fps)
        encode_frames((frame for _ in range(n)), request.width, request.height, request.fps, out, shipped())
        return clip_for(request, out, self.name, False)


# ------------------------------------------------------------------------------------------- the tests


async def test_duration_is_compensated(ragvid_home: Path, tmp_path: Path) -> None:
    state = await run_rounds(ragvid_home, tmp_path / "o.mp4", short_copy(),
                             tweak=swap(composer=PaddingComposer))  # fmt: skip
    first, second = rounds(state)
    assert "duration" in checks(first) and first.draft.duration == pytest.approx(12.6, abs=0.05)
    assert "duration" not in checks(second) and second.draft.duration == pytest.approx(12.0, abs=0.1)
    assert VISUAL.require(state).output.duration == pytest.approx(11.4, abs=0.01)


class SlowVoice(Wrapper):
    """Speaks at 1.8 times the length than the plan's estimate (a voice whose pace the planner does not know)."""

    async def synthesize(self, line: Line) -> SpeechResult:
        result: SpeechResult = await self.inner.synthesize(line.model_copy(update={"rate": line.rate * 1.8}))
        return result


async def test_speech_overrun_is_retimed_and_condensed(ragvid_home: Path, tmp_path: Path) -> None:
    sid = json.loads((EXAMPLES / "coffee.json").read_text())
    sid["meta"]["images"] = []
    sid["meta"]["selling_points"] = ["Slow roasted in small batches", "Single origin beans from one family farm"]
    state = await run_rounds(ragvid_home, tmp_path / "o.mp4", sid, duration=12.0, tweak=swap(speech=SlowVoice))
    first, second = rounds(state)

    def overrun(entry: CritiqueEntry) -> float:
        return sum(float(f.measured) for f in entry.output.findings if f.check == "speech_overrun")

    assert overrun(first) > 0.3
    assert overrun(second) < overrun(first) / 2


async def test_loudness_is_compensated(ragvid_home: Path, tmp_path: Path) -> None:
    state = await run_rounds(ragvid_home, tmp_path / "o.mp4", short_copy(),
                             tweak=swap(composer=QuietComposer))  # fmt: skip
    first, second = rounds(state)
    assert "loudness" in checks(first) and first.draft.lufs is not None and first.draft.lufs < -15.5
    assert "loudness" not in checks(second)
    assert second.draft.lufs is not None and abs(second.draft.lufs + 14.0) <= 1.0


async def test_weak_ducking_is_strengthened(ragvid_home: Path, tmp_path: Path) -> None:
    state = await run_rounds(ragvid_home, tmp_path / "o.mp4", short_copy(),
                             tweak=swap(speech=QuietVoice))  # fmt: skip
    first, second = rounds(state)

    def duck(entry: CritiqueEntry) -> float:
        return float(entry.output.measurements["ducking_db"])  # type: ignore[arg-type]

    assert "ducking" in checks(first)
    assert duck(second) > duck(first) + 2.0


async def test_cuts_move_onto_a_library_tracks_beats(ragvid_home: Path, tmp_path: Path) -> None:
    # sneakers: energetic-pop × fast-punchy, hard cuts (a transition would widen the tolerance)
    state = await run_rounds(ragvid_home, tmp_path / "o.mp4", EXAMPLES / "sneakers.json",
                             tweak=swap(music=LibraryMusic))  # fmt: skip
    first, second = rounds(state)
    assert "off_beat" in checks(first)
    assert "off_beat" not in checks(second) and "boundary_missing" not in checks(second)
    plan = VISUAL.require(state).output
    assert plan.beat_offset == pytest.approx(LIBRARY_PHASE, abs=0.01)


async def test_look_alike_shots_get_another_take(ragvid_home: Path, tmp_path: Path) -> None:
    sid = short_copy(images=[])  # graphics only: every shot comes from the generator
    state = await run_rounds(ragvid_home, tmp_path / "o.mp4", sid, tweak=swap(video=TwoTakeVideo))
    first, second = rounds(state)
    missing = checks(first).count("boundary_missing")
    assert missing >= 2
    assert checks(second).count("boundary_missing") < missing
    variants = [s.variant for s in VISUAL.require(state).output.segments]
    assert all(a != b for a, b in itertools.pairwise(variants[:-1]))  # neighbours alternate takes


async def test_black_photo_shots_become_graphics(ragvid_home: Path, tmp_path: Path) -> None:
    black = tmp_path / "black.png"
    Image.new("RGB", (900, 1600), (3, 3, 3)).save(black)
    state = await run_rounds(ragvid_home, tmp_path / "o.mp4", short_copy(images=[str(black)]))
    first, second = rounds(state)
    dark = {f.shot_id for f in first.output.findings if f.check == "black_frames"}
    assert dark
    assert "black_frames" not in checks(second)
    plan = VISUAL.require(state).output
    assert all(s.image is None for s in plan.segments if s.shot_id in dark)


def _static_hook(task: AgentTask[Any], rule: Any) -> Any:
    """An LLM's instructions: the hook shot on a still camera (the camera is the model's to choose)."""
    if task.role != "instruction":
        return None
    shots = [s.model_copy(update={"camera": "static"}) if s.purpose == "hook" else s for s in rule.shots]
    out: ShotInstructions = rule.model_copy(update={"shots": shots})
    return out


async def test_frozen_shot_gets_a_moving_camera(ragvid_home: Path, tmp_path: Path) -> None:
    def tweak(ctx: RunContext) -> None:
        ctx.policy = FunctionPolicy(_static_hook)
        ctx.toolbox.video = StillVideo(ctx.toolbox.video)

    state = await run_rounds(ragvid_home, tmp_path / "o.mp4", short_copy(), tweak=tweak)
    first, second = rounds(state)
    frozen = [f for f in first.output.findings if f.check == "frozen_frames"]
    assert frozen and frozen[0].shot_id == "s0"
    assert "frozen_frames" not in checks(second)
    assert VISUAL.require(state).output.segments[0].camera != "static"


async def test_late_end_card_gets_a_longer_last_shot(ragvid_home: Path, tmp_path: Path) -> None:
    state = await run_rounds(ragvid_home, tmp_path / "o.mp4", short_copy(),
                             tweak=swap(subtitles=LateCardSubtitles))  # fmt: skip
    first, second = rounds(state)
    assert "cta_missing" in checks(first)
    assert second.draft.cta_color_share > first.draft.cta_color_share
    assert "cta_missing" not in checks(second) and "boundary_missing" not in checks(second)
