"""Composers: a Timeline (shots, voice, music, subtitles) → one MP4.

`FfmpegComposer` is the default: one ffmpeg filtergraph pass for picture and sound, preceded by an
audio-only pass of the same audio graph that measures loudness (and writes stems when asked), so the
final pass can apply an exact gain instead of one-pass loudnorm's estimate. `MoviepyComposer` does the
same job the way moviepy users do; it is the baseline the benchmarks compare against."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from tools.errors import BackendMissing, ToolError
from tools.ffmpeg import arun_ffmpeg, ffmpeg_exe
from tools.fonts import FONT_DIR
from tools.models import RenderResult, RenderSettings, Timeline, TimelineShot
from tools.probe import probe

log = logging.getLogger(__name__)

SAMPLE_RATE = 48000
# the limiter's ceiling: sample peaks at -1.5 dBFS keep AAC's inter-sample (true) peaks under -1 dBTP
LIMIT_LINEAR = 10 ** (-1.5 / 20)
LUFS_TOLERANCE = 0.25
MASTER_PASSES = 3

XFADE_TRANSITIONS = frozenset(
    [
        "fade",
        "wipeleft",
        "wiperight",
        "wipeup",
        "wipedown",
        "slideleft",
        "slideright",
        "slideup",
        "slidedown",
        "circlecrop",
        "rectcrop",
        "distance",
        "fadeblack",
        "fadewhite",
        "radial",
        "smoothleft",
        "smoothright",
        "smoothup",
        "smoothdown",
        "circleopen",
        "circleclose",
        "vertopen",
        "vertclose",
        "horzopen",
        "horzclose",
        "dissolve",
        "pixelize",
        "diagtl",
        "diagtr",
        "diagbl",
        "diagbr",
        "hlslice",
        "hrslice",
        "vuslice",
        "vdslice",
        "hblur",
        "fadegrays",
        "wipetl",
        "wipetr",
        "wipebl",
        "wipebr",
        "squeezeh",
        "squeezev",
        "zoomin",
        "fadefast",
        "fadeslow",
        "hlwind",
        "hrwind",
        "vuwind",
        "vdwind",
        "coverleft",
        "coverright",
        "coverup",
        "coverdown",
        "revealleft",
        "revealright",
        "revealup",
        "revealdown",
    ]
)

_LUFS = re.compile(r"Integrated loudness:\s*\n\s*I:\s*(-?[\d.]+|-inf)\s*LUFS", re.MULTILINE)


def parse_integrated_lufs(ebur128_stderr: str) -> float | None:
    """The summary's integrated loudness from ffmpeg's `ebur128` log (None for silence)."""
    found = _LUFS.findall(ebur128_stderr)
    if not found or found[-1] == "-inf":
        return None
    value = float(found[-1])
    return None if value <= -70.0 else value


async def measure_lufs(path: Path) -> float | None:
    """Integrated loudness (EBU R128) of a media file's audio."""
    err = await arun_ffmpeg(
        ["-i", str(path), "-vn", "-af", "ebur128=framelog=quiet", "-f", "null", "-"],
        what=f"measuring loudness of {Path(path).name}",
    )
    return parse_integrated_lufs(err)


def _transition_seconds(shot: TimelineShot) -> float:
    return 0.0 if shot.transition_in == "cut" else float(shot.transition_seconds)


def _check(timeline: Timeline) -> None:
    if not timeline.shots:
        raise ToolError("timeline has no shots")
    for s in timeline.shots:
        if not Path(s.clip).exists():
            raise ToolError(f"shot {s.shot_id}: clip file not found: {s.clip}")
        if s.end <= s.start:
            raise ToolError(f"shot {s.shot_id}: end {s.end} is not after start {s.start}")
    for a, b in zip(timeline.shots, timeline.shots[1:], strict=False):
        if abs(a.end - b.start) > 1e-3:
            raise ToolError(f"shots {a.shot_id} and {b.shot_id} do not meet ({a.end} vs {b.start})")
    for v in timeline.voice:
        if not Path(v.path).exists():
            raise ToolError(f"voice line {v.line_id}: file not found: {v.path}")
    if timeline.music is not None and not Path(timeline.music).exists():
        raise ToolError(f"music file not found: {timeline.music}")
    if timeline.subtitles is not None and not Path(timeline.subtitles).exists():
        raise ToolError(f"subtitle file not found: {timeline.subtitles}")


def _xfade_name(shot: TimelineShot) -> str:
    if shot.transition_in in XFADE_TRANSITIONS:
        return shot.transition_in
    log.warning("shot %s: unknown transition %r, using 'fade'", shot.shot_id, shot.transition_in)
    return "fade"


def _split_inputs(paths: list[Path], kind: str, **input_kwargs: Any) -> list[Any]:
    """One stream per entry of `paths`; a file used twice is opened once and split. (ffmpeg-python
    also merges identical nodes, so two equal chains on one file would otherwise collapse into one.)"""
    uses: dict[str, list[int]] = {}
    for i, p in enumerate(paths):
        uses.setdefault(str(Path(p).resolve()), []).append(i)
    out: list[Any] = [None] * len(paths)
    for key, idx in uses.items():
        inp = ffmpeg.input(key, **input_kwargs)
        stream = inp.audio if kind == "a" else inp.video
        if len(idx) == 1:
            out[idx[0]] = stream
        else:
            split = stream.filter_multi_output("asplit" if kind == "a" else "split")
            for j, i in enumerate(idx):
                out[i] = split[j]
    return out


@dataclass
class _AudioBuses:
    master: Any  # pre-gain mix
    voice: Any | None
    music: Any | None


def _audio_graph(timeline: Timeline, *, stems: bool) -> tuple[_AudioBuses, Any | None, Any | None]:
    """The audio part of the graph, shared by the measuring pass and the final pass. Returns the buses
    and, when `stems`, extra taps of the voice bus and the ducked music bus."""
    T = timeline.duration
    fmt = {"sample_fmts": "fltp", "sample_rates": SAMPLE_RATE, "channel_layouts": "stereo"}
    voice = None
    if timeline.voice:
        parts = []
        for v, src in zip(timeline.voice, _split_inputs([v.path for v in timeline.voice], "a"), strict=True):
            a = src.filter("aformat", **fmt)
            delay_ms = max(0, round(v.start * 1000))
            if delay_ms:
                a = a.filter("adelay", delays=str(delay_ms), all=1)
            parts.append(a)
        voice = (
            parts[0]
            if len(parts) == 1
            else ffmpeg.filter(
                parts, "amix", inputs=len(parts), normalize=0, duration="longest", dropout_transition=0
            )
        )
        # a fixed-length bus: the sidechain and the mix must not end before the picture
        voice = voice.filter("apad", whole_dur=T).filter("atrim", duration=T)
    music = None
    if timeline.music is not None:
        mdur = probe(timeline.music).duration
        kwargs = {"stream_loop": -1} if 0 < mdur < T - 0.05 else {}
        music = (
            ffmpeg.input(str(timeline.music), **kwargs)
            .audio.filter("aformat", **fmt)
            .filter("atrim", duration=T)
            .filter("apad", whole_dur=T)
            .filter("volume", volume=f"{timeline.ducking.music_gain_db}dB")
        )
    voice_tap = music_tap = None
    if voice is not None and music is not None:
        d = timeline.ducking
        vs = voice.filter_multi_output("asplit")
        music = ffmpeg.filter(
            [music, vs[0]],
            "sidechaincompress",
            threshold=d.threshold,
            ratio=d.ratio,
            attack=d.attack_ms,
            release=d.release_ms,
            makeup=1,
            detection="rms",
            link="maximum",
        )
        voice_mix = vs[1]
        if stems:
            voice_tap = vs[2]
            ms = music.filter_multi_output("asplit")
            music, music_tap = ms[0], ms[1]
        master = ffmpeg.filter(
            [voice_mix, music], "amix", inputs=2, normalize=0, duration="first", dropout_transition=0
        )
        return _AudioBuses(master, voice_mix, music), voice_tap, music_tap
    only = voice if voice is not None else music
    if only is None:
        only = ffmpeg.input(f"anullsrc=r={SAMPLE_RATE}:cl=stereo", f="lavfi", t=T).audio
        return _AudioBuses(only, None, None), None, None
    if stems:
        sp = only.filter_multi_output("asplit")
        only = sp[0]
        if voice is not None:
            voice_tap = sp[1]
        else:
            music_tap = sp[1]
    return _AudioBuses(only, voice, music), voice_tap, music_tap


@dataclass(frozen=True)
class _FrameSpan:
    """A shot's segment on the frame grid: it starts `head` frames before its boundary (its half of
    the incoming transition) and runs `length` frames."""

    boundary: int
    head: int
    length: int
    transition: int  # frames of the incoming xfade (0 for a cut)


def frame_spans(timeline: Timeline, fps: int) -> list[_FrameSpan]:
    """`tools.timing.clip_spans` quantised to whole frames. Every boundary and transition is rounded
    once, so xfade offsets and trims agree exactly and each cut lands on round(boundary * fps), instead
    of drifting a frame per half-frame transition."""
    shots = timeline.shots
    bounds = [round(s.start * fps) for s in shots] + [round(shots[-1].end * fps)]
    n = len(shots)
    d = [0] + [round(_transition_seconds(s) * fps) for s in shots[1:]] + [0]
    for i in range(1, n):  # a transition cannot be longer than either shot it joins
        d[i] = max(0, min(d[i], bounds[i] - bounds[i - 1], bounds[i + 1] - bounds[i]))
    head = [x // 2 for x in d]
    tail = [x - h for x, h in zip(d, head, strict=True)]  # frames the previous shot runs past the boundary
    return [
        _FrameSpan(bounds[i], head[i], bounds[i + 1] - bounds[i] + head[i] + tail[i + 1], d[i])
        for i in range(n)
    ]


def _video_graph(timeline: Timeline, settings: RenderSettings) -> Any:
    W, H, fps = settings.width, settings.height, settings.fps
    spans = frame_spans(timeline, fps)
    segs = []
    sources = _split_inputs([s.clip for s in timeline.shots], "v")
    for src, span in zip(sources, spans, strict=True):
        length = max(1, span.length)
        v = (
            src.filter("setpts", "PTS-STARTPTS")
            .filter("fps", fps=fps)
            .filter("scale", w=W, h=H, force_original_aspect_ratio="increase", flags="bicubic")
            .filter("crop", w=W, h=H)
            .filter("setsar", sar="1")
            .filter("format", pix_fmts="yuv420p")
            # a clip a frame or two short (rounding in the generator) holds its last frame rather
            # than shortening the chain and shifting every later transition
            .filter("tpad", stop_mode="clone", stop=length)
            .filter("trim", end_frame=length)
            .filter("setpts", "PTS-STARTPTS")
            .filter("settb", expr=f"1/{fps}")
        )
        segs.append(v)
    out = segs[0]
    for i in range(1, len(segs)):
        span = spans[i]
        if span.transition <= 0:
            # concat outputs in AV_TIME_BASE; a following xfade needs both inputs in 1/fps
            out = ffmpeg.concat(out, segs[i], v=1, a=0).filter("settb", expr=f"1/{fps}")
            continue
        # offset is in the first input's time, which starts at timeline 0: boundary - d/2
        out = ffmpeg.filter(
            [out, segs[i]],
            "xfade",
            transition=_xfade_name(timeline.shots[i]),
            duration=f"{span.transition / fps:.6f}",
            offset=f"{(span.boundary - span.head) / fps:.6f}",
        )
    if timeline.subtitles is not None:
        # ffmpeg-python escapes keyword values for both filtergraph levels (the same rule as
        # tools.escape.ffmpeg_filter_value), so any path is passed through intact
        out = out.filter(
            "ass", filename=Path(timeline.subtitles).resolve().as_posix(), fontsdir=FONT_DIR.as_posix()
        )
    # never end early: hold the last frame if the shots stop short of the timeline
    return out.filter("tpad", stop_mode="clone", stop_duration=f"{timeline.duration:.6f}")


class FfmpegComposer:
    """The offline default composer (one ffmpeg filtergraph pass)."""

    name = "ffmpeg"
    offline = True

    def __init__(self, limit_true_peak: bool = True) -> None:
        self.limit_true_peak = limit_true_peak

    def audio_measure_args(
        self, timeline: Timeline, stems_out: Path | None
    ) -> tuple[list[str], dict[str, Path]]:
        """Args of the audio-only pass: the mix into ebur128, plus `<stems_out stem>.<bus>.wav` taps."""
        buses, vtap, mtap = _audio_graph(timeline, stems=stems_out is not None)
        outs = [ffmpeg.output(buses.master.filter("ebur128", framelog="quiet"), "-", f="null")]
        stem_paths: dict[str, Path] = {}
        if stems_out is not None:
            for key, tap in (("voice", vtap), ("music_ducked", mtap)):
                if tap is not None:
                    p = stems_out.parent / f"{stems_out.stem}.{key}.wav"
                    stem_paths[key] = p
                    outs.append(ffmpeg.output(tap, str(p), acodec="pcm_s16le", t=timeline.duration))
        graph = ffmpeg.merge_outputs(*outs) if len(outs) > 1 else outs[0]
        return graph.get_args(), stem_paths

    def _mastered(self, timeline: Timeline, gain_db: float) -> Any:
        buses, _, _ = _audio_graph(timeline, stems=False)
        audio = buses.master.filter("volume", volume=f"{gain_db:.3f}dB")
        if self.limit_true_peak:
            audio = audio.filter(
                "alimiter", limit=f"{LIMIT_LINEAR:.4f}", level=0, attack=5, release=50, latency=1
            )
        return audio.filter("aformat", sample_fmts="fltp", sample_rates=SAMPLE_RATE, channel_layouts="stereo")

    async def _master_gain(self, timeline: Timeline, raw_lufs: float | None) -> float:
        """The gain that lands the *limited* mix on target. The limiter takes back some of a large
        gain (−15 LUFS instead of −14 was typical), so the mastered chain is measured again, audio
        only and cheap, and the gain corrected until it is within LUFS_TOLERANCE."""
        if raw_lufs is None:
            return 0.0
        gain = max(-40.0, min(40.0, timeline.target_lufs - raw_lufs))
        for _ in range(MASTER_PASSES):
            out = ffmpeg.output(self._mastered(timeline, gain).filter("ebur128", framelog="quiet"), "-", f="null")
            measured = parse_integrated_lufs(await arun_ffmpeg(out.get_args(), what="measuring the mastered mix"))
            if measured is None or abs(measured - timeline.target_lufs) <= LUFS_TOLERANCE:
                break
            gain = max(-40.0, min(40.0, gain + timeline.target_lufs - measured))
        return gain

    def render_args(
        self, timeline: Timeline, settings: RenderSettings, out: Path, gain_db: float
    ) -> list[str]:
        video = _video_graph(timeline, settings)
        audio = self._mastered(timeline, gain_db)
        stream = ffmpeg.output(
            video, audio, str(out),
            vcodec="libx264", preset=settings.x264_preset, crf=settings.crf, pix_fmt="yuv420p",
            r=settings.fps, threads=settings.threads, acodec="aac", audio_bitrate=settings.audio_bitrate,
            ar=SAMPLE_RATE, movflags="+faststart", t=f"{timeline.duration:.6f}", f="mp4",
        )  # fmt: skip
        return stream.get_args()

    async def render(
        self, timeline: Timeline, settings: RenderSettings, out: Path, *, stems: bool = False
    ) -> RenderResult:
        _check(timeline)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        # stems come from the measuring pass: same audio graph, before the master gain, and it costs
        # no extra decode of the video
        margs, stem_paths = self.audio_measure_args(timeline, out if stems else None)
        err = await arun_ffmpeg(margs, what="measuring the audio mix")
        gain = await self._master_gain(timeline, parse_integrated_lufs(err))
        args = self.render_args(timeline, settings, out, gain)
        await arun_ffmpeg(args, what=f"rendering {out.name}")
        seconds = time.perf_counter() - t0
        lufs = await measure_lufs(out)
        return RenderResult(
            path=out,
            duration=timeline.duration,
            width=settings.width,
            height=settings.height,
            seconds=seconds,
            integrated_lufs=lufs,
            stems=stem_paths,
            command=[ffmpeg_exe(), *args],
        )


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
        _check(timeline)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        stem_paths = await asyncio.to_thread(self._render, timeline, settings, out, stems)
        seconds = time.perf_counter() - t0
        lufs = await measure_lufs(out)
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
            raise BackendMissing("moviepy", "moviepy", str(e)) from e
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
            layers.extend(_moviepy_text_layers(Path(timeline.subtitles), W, H, ColorClip))
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
            measured = parse_integrated_lufs(
                run_sync_ffmpeg(["-i", str(mix), "-af", "ebur128=framelog=quiet", "-f", "null", "-"])
            )
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


def run_sync_ffmpeg(args: list[str]) -> str:
    from tools.ffmpeg import run_ffmpeg

    return run_ffmpeg(args, what="measuring loudness").stderr


def _moviepy_text_layers(ass: Path, W: int, H: int, ColorClip: Any) -> list[Any]:
    from moviepy import TextClip

    from tools.fonts import FONT_BOLD, FONT_REGULAR, ass_em_px
    from tools.subtitles import read_ass_events, read_ass_styles

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
        colour = ev.color or _tag_to_hex_style(st.get("PrimaryColour", "&H00FFFFFF"))
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


def _tag_to_hex_style(v: str) -> str:
    v = v.strip().lstrip("&H").rjust(8, "0")[-6:]
    return f"#{v[4:6]}{v[2:4]}{v[0:2]}"
