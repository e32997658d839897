"""The benchmarks' MoviePy baseline: a Timeline composed the way MoviePy users compose one, so
bench/render.py can time ragvid's one-pass ffmpeg composer against it on the same clips, voice, music and
subtitles. Outside the package (`pip install .` never imports moviepy); `pip install '.[bench]'` or
`make bench` installs it."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from tools.audio_measure import integrated_lufs, integrated_lufs_sync
from tools.composer import SAMPLE_RATE, check_timeline, frame_spans
from tools.errors import BackendMissing
from tools.models import RenderResult, RenderSettings, Timeline


class MoviepyComposer:
    """The same Timeline rendered the way moviepy users do it: clips on a CompositeVideoClip with
    crossfades, TextClips (the shipped font) for subtitles and overlays, a CompositeAudioClip with the
    music ducked under each voice line by a volume envelope, and `write_videofile` with the same
    encoder settings. Loudness is matched like the ffmpeg path: render the mix, measure, apply gain."""

    name = "moviepy"
    offline = True

    def __init__(self, duck_db: float = -12.0) -> None:
        self.duck_db = duck_db

    async def render(
        self, timeline: Timeline, settings: RenderSettings, out: Path, *, stems: bool = False
    ) -> RenderResult:
        check_timeline(timeline)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        stem_paths = await asyncio.to_thread(self._render, timeline, settings, out, stems)
        seconds = time.perf_counter() - t0
        lufs = await integrated_lufs(out)
        return RenderResult(
            path=out,
            duration=timeline.duration,
            width=settings.width,
            height=settings.height,
            seconds=seconds,
            integrated_lufs=lufs,
            stems=stem_paths,
            command=["moviepy.write_videofile"],
        )

    def _render(
        self, timeline: Timeline, settings: RenderSettings, out: Path, stems: bool
    ) -> dict[str, Path]:
        try:
            from moviepy import (
                AudioFileClip,
                ColorClip,
                CompositeAudioClip,
                CompositeVideoClip,
                VideoFileClip,
                afx,
                vfx,
            )
        except ImportError as e:
            raise BackendMissing("moviepy", "bench", str(e)) from e
        W, H, fps, T = settings.width, settings.height, settings.fps, timeline.duration
        layers: list[Any] = []
        opened: list[Any] = []
        for shot, span in zip(timeline.shots, frame_spans(timeline, fps), strict=True):
            clip = VideoFileClip(str(shot.clip), audio=False)
            opened.append(clip)
            length = span.length / fps
            clip = clip.subclipped(0, min(length, clip.duration))
            if (clip.w, clip.h) != (W, H):
                scale = max(W / clip.w, H / clip.h)
                clip = clip.resized(scale).cropped(x_center=clip.w * scale / 2, y_center=clip.h * scale / 2,
                                                   width=W, height=H)  # fmt: skip
            clip = clip.with_start((span.boundary - span.head) / fps)
            if span.transition:
                clip = clip.with_effects([vfx.CrossFadeIn(span.transition / fps)])
            layers.append(clip)
        if timeline.subtitles is not None:
            layers.extend(_moviepy_text_layers(timeline.subtitles.path, W, H, ColorClip))
        video = CompositeVideoClip(layers, size=(W, H), bg_color=(0, 0, 0)).with_duration(T)

        voice_clips = []
        for v in timeline.voice:
            a = AudioFileClip(str(v.path))
            opened.append(a)
            voice_clips.append(a.with_start(v.start))
        music = None
        if timeline.music is not None:
            m = AudioFileClip(str(timeline.music))
            opened.append(m)
            m = m.subclipped(0, min(T, m.duration))
            effects: list[Any] = [afx.MultiplyVolume(10 ** (timeline.ducking.music_gain_db / 20))]
            duck = 10 ** (self.duck_db / 20)
            for v, a in zip(timeline.voice, voice_clips, strict=True):
                effects.append(
                    afx.MultiplyVolume(duck, start_time=v.start, end_time=min(T, v.start + a.duration))
                )
            music = m.with_effects(effects)
        parts = [*voice_clips, *([music] if music is not None else [])]
        stem_paths: dict[str, Path] = {}
        audio = None
        if parts:
            audio = CompositeAudioClip(parts).with_duration(T)
            mix = out.with_name(out.stem + ".mix.wav")
            audio.write_audiofile(str(mix), fps=SAMPLE_RATE, logger=None)
            measured = integrated_lufs_sync(mix)
            mix.unlink(missing_ok=True)
            if measured is not None:
                gain = max(-40.0, min(40.0, timeline.target_lufs - measured))
                audio = audio.with_effects([afx.MultiplyVolume(10 ** (gain / 20))])
            if stems:
                if voice_clips:
                    p = out.with_name(f"{out.stem}.voice.wav")
                    CompositeAudioClip(voice_clips).with_duration(T).write_audiofile(
                        str(p), fps=SAMPLE_RATE, logger=None
                    )
                    stem_paths["voice"] = p
                if music is not None:
                    p = out.with_name(f"{out.stem}.music_ducked.wav")
                    music.write_audiofile(str(p), fps=SAMPLE_RATE, logger=None)
                    stem_paths["music_ducked"] = p
            video = video.with_audio(audio)
        try:
            video.write_videofile(
                str(out),
                fps=fps,
                codec="libx264",
                preset=settings.x264_preset,
                threads=settings.threads,
                audio_codec="aac",
                audio_bitrate=settings.audio_bitrate,
                audio_fps=SAMPLE_RATE,
                ffmpeg_params=["-crf", str(settings.crf), "-pix_fmt", "yuv420p", "-movflags", "+faststart"],
                logger=None,
            )
        finally:
            for c in opened:
                c.close()
        return stem_paths


def _moviepy_text_layers(ass: Path, W: int, H: int, ColorClip: Any) -> list[Any]:
    from moviepy import TextClip

    from tools.fonts import FONT_BOLD, FONT_REGULAR, ass_em_px
    from tools.subtitles import ass_hex, read_ass_events

    styles = read_ass_styles(ass)
    layers: list[tuple[int, Any]] = []
    for ev in read_ass_events(ass):
        dur = ev.end - ev.start
        if dur <= 0:
            continue
        st = styles.get(ev.style, {})
        if ev.drawing:
            rgb = tuple(int((ev.color or "#000000")[i : i + 2], 16) for i in (1, 3, 5))
            layers.append((ev.layer, ColorClip((W, H), color=rgb).with_start(ev.start).with_duration(dur)))
            continue
        if not ev.text.strip():
            continue
        size = ev.font_size or float(st.get("Fontsize", 48))
        bold = st.get("Bold", "0") not in ("0", "")
        outline = float(st.get("Outline", 0) or 0)
        colour = ev.color or ass_hex(st.get("PrimaryColour", "&H00FFFFFF"))
        clip = TextClip(
            font=str(FONT_BOLD if bold else FONT_REGULAR),
            text=ev.text,
            font_size=max(1, round(ass_em_px(size, bold))),
            color=colour,
            stroke_color="black" if outline > 0 and st.get("BorderStyle") != "3" else None,
            stroke_width=max(0, round(outline)),
            method="label",
            text_align="center",
            margin=(0, max(2, round(size * 0.15))),
        )
        align = ev.align or int(st.get("Alignment", 2))
        margin_v = int(st.get("MarginV", 0) or 0)
        if align in (7, 8, 9):
            y: Any = margin_v
        elif align in (4, 5, 6):
            y = "center"
        else:
            y = max(0, H - margin_v - clip.h)
        layers.append((ev.layer, clip.with_position(("center", y)).with_start(ev.start).with_duration(dur)))
    return [c for _, c in sorted(layers, key=lambda x: x[0])]


def read_ass_styles(path: Path) -> dict[str, dict[str, str]]:
    """Style name → its fields (by the Format line's names)."""
    fmt: list[str] = []
    styles: dict[str, dict[str, str]] = {}
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if line.startswith("Format:") and "Fontname" in line:
            fmt = [f.strip() for f in line[len("Format:") :].split(",")]
        elif line.startswith("Style:") and fmt:
            vals = [v.strip() for v in line[len("Style:") :].split(",", len(fmt) - 1)]
            styles[vals[0]] = dict(zip(fmt, vals, strict=False))
    return styles
