"""The ffmpeg composer: a Timeline (shots, voice, music, subtitles) → one MP4.

One ffmpeg filtergraph pass for picture and sound, preceded by an audio-only pass of the same audio
graph that measures loudness (and writes stems when asked), so the final pass can apply an exact gain
instead of one-pass loudnorm's estimate. (The benchmarks' MoviePy baseline lives in
bench/moviepy_composer.py, outside the package.)"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from tools.audio_measure import integrated_lufs, parse_integrated_lufs
from tools.errors import ToolError
from tools.ffmpeg import Ffmpeg, shipped
from tools.languages import language_of
from tools.limits import MASTER_TOLERANCE_LU
from tools.models import RenderResult, RenderSettings, Timeline, TimelineShot
from tools.mp4 import disable_subtitle_tracks
from tools.probe import probe
from tools.subtitles import write_text_track
from tools.vocabulary import TRANSITIONS, Transition

SAMPLE_RATE = 48000
# the limiter's ceiling: sample peaks at -1.5 dBFS keep AAC's inter-sample (true) peaks under -1 dBTP
LIMIT_LINEAR = 10 ** (-1.5 / 20)
MASTER_PASSES = 3
# sidechaincompress ends at whichever input reaches EOF first, and which one does depends on thread
# timing: on equal-length inputs it dropped the music's last partial frame in about 1 run of 100
# (285056 of 288000 samples). Both inputs run this much past the timeline and the output is trimmed
# back to it, so the lost frame always falls in the discarded tail.
SIDECHAIN_TAIL_S = 0.5


def _transition_seconds(shot: TimelineShot) -> float:
    return 0.0 if shot.transition_in == "cut" else float(shot.transition_seconds)


def check_timeline(timeline: Timeline) -> None:
    """Raise ToolError when a timeline cannot be composed: no shots, a missing file, shots that do not meet."""
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
    if timeline.subtitles is not None and not timeline.subtitles.path.exists():
        raise ToolError(f"subtitle file not found: {timeline.subtitles.path}")


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
    voice_tap: Any | None = None  # with stems: a copy of the voice bus
    music_tap: Any | None = None  # …and of the ducked music bus


def _audio_graph(timeline: Timeline, *, stems: bool) -> _AudioBuses:
    """The audio part of the graph, shared by the measuring pass and the final pass; with `stems`, taps
    of the voice bus and the ducked music bus beside the mix."""
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
            .filter("volume", volume=f"{timeline.ducking.music_gain_db}dB")
        )
    voice_tap = music_tap = None
    if voice is not None and music is not None:
        d = timeline.ducking
        vs = voice.filter_multi_output("asplit")
        tail = T + SIDECHAIN_TAIL_S
        music = ffmpeg.filter(
            [
                music.filter("atrim", duration=tail).filter("apad", whole_dur=tail),
                vs[0].filter("apad", whole_dur=tail),
            ],
            "sidechaincompress",
            threshold=d.threshold,
            ratio=d.ratio,
            attack=d.attack_ms,
            release=d.release_ms,
            makeup=1,
            detection="rms",
            link="maximum",
        ).filter("atrim", duration=T)
        voice_mix = vs[1]
        if stems:
            voice_tap = vs[2]
            ms = music.filter_multi_output("asplit")
            music, music_tap = ms[0], ms[1]
        master = ffmpeg.filter(
            [voice_mix, music], "amix", inputs=2, normalize=0, duration="first", dropout_transition=0
        )
        return _AudioBuses(master, voice_tap, music_tap)
    if music is not None:
        music = music.filter("atrim", duration=T).filter("apad", whole_dur=T)
    only = voice if voice is not None else music
    if only is None:
        return _AudioBuses(ffmpeg.input(f"anullsrc=r={SAMPLE_RATE}:cl=stereo", f="lavfi", t=T).audio)
    if stems:
        sp = only.filter_multi_output("asplit")
        only = sp[0]
        if voice is not None:
            voice_tap = sp[1]
        else:
            music_tap = sp[1]
    return _AudioBuses(only, voice_tap, music_tap)


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
            transition=timeline.shots[i].transition_in,
            duration=f"{span.transition / fps:.6f}",
            offset=f"{(span.boundary - span.head) / fps:.6f}",
        )
    if timeline.subtitles is not None:
        # ffmpeg-python escapes keyword values for both filtergraph levels (the same rule as
        # tools.escape.ffmpeg_filter_value), so any path is passed through intact
        subs = timeline.subtitles
        out = out.filter("ass", filename=subs.path.resolve().as_posix(), fontsdir=subs.fonts_dir.resolve().as_posix())
    # never end early: hold the last frame if the shots stop short of the timeline
    return out.filter("tpad", stop_mode="clone", stop_duration=f"{timeline.duration:.6f}")


class FfmpegComposer:
    """The offline default composer (one ffmpeg filtergraph pass); every xfade transition is supported.

    Args:
        ffmpeg: the binary to run (default: the shipped one).
        limit_true_peak: a limiter keeps sample peaks at -1.5 dBFS (true peaks under -1 dBTP after AAC).
    """

    name = "ffmpeg"
    offline = True
    transitions: frozenset[Transition] = frozenset(TRANSITIONS)

    def __init__(self, ffmpeg: Ffmpeg | None = None, limit_true_peak: bool = True) -> None:
        self.ffmpeg = ffmpeg or shipped()
        self.limit_true_peak = limit_true_peak

    def audio_measure_args(
        self, timeline: Timeline, stems_out: Path | None
    ) -> tuple[list[str], dict[str, Path]]:
        """Args of the audio-only pass: the mix into ebur128, plus `<stems_out stem>.<bus>.wav` taps."""
        buses = _audio_graph(timeline, stems=stems_out is not None)
        outs = [ffmpeg.output(buses.master.filter("ebur128", framelog="quiet"), "-", f="null")]
        stem_paths: dict[str, Path] = {}
        if stems_out is not None:
            for key, tap in (("voice", buses.voice_tap), ("music_ducked", buses.music_tap)):
                if tap is not None:
                    p = stems_out.parent / f"{stems_out.stem}.{key}.wav"
                    stem_paths[key] = p
                    outs.append(ffmpeg.output(tap, str(p), acodec="pcm_s16le", t=timeline.duration))
        graph = ffmpeg.merge_outputs(*outs) if len(outs) > 1 else outs[0]
        return graph.get_args(), stem_paths

    def _mastered(self, timeline: Timeline, gain_db: float) -> Any:
        audio = _audio_graph(timeline, stems=False).master.filter("volume", volume=f"{gain_db:.3f}dB")
        if self.limit_true_peak:
            audio = audio.filter(
                "alimiter", limit=f"{LIMIT_LINEAR:.4f}", level=0, attack=5, release=50, latency=1
            )
        return audio.filter("aformat", sample_fmts="fltp", sample_rates=SAMPLE_RATE, channel_layouts="stereo")

    async def _master_gain(self, timeline: Timeline, raw_lufs: float | None) -> float:
        """The gain that lands the *limited* mix on target. The limiter takes back some of a large
        gain (−15 LUFS instead of −14 was typical), so the mastered chain is measured again, audio
        only and cheap, and the gain corrected until it is within MASTER_TOLERANCE_LU."""
        if raw_lufs is None:
            return 0.0
        gain = max(-40.0, min(40.0, timeline.target_lufs - raw_lufs))
        for _ in range(MASTER_PASSES):
            out = ffmpeg.output(self._mastered(timeline, gain).filter("ebur128", framelog="quiet"), "-", f="null")
            measured = parse_integrated_lufs(await self.ffmpeg.arun(out.get_args(), what="measuring the mastered mix"))
            if measured is None or abs(measured - timeline.target_lufs) <= MASTER_TOLERANCE_LU:
                break
            gain = max(-40.0, min(40.0, gain + timeline.target_lufs - measured))
        return gain

    def render_args(
        self, timeline: Timeline, settings: RenderSettings, out: Path, gain_db: float, track: Path | None = None
    ) -> list[str]:
        """The final pass's ffmpeg arguments (without the executable): the video graph and the mix at `gain_db` dB
        (then the limiter) into an H.264 + 48 kHz AAC MP4 with faststart, cut to the timeline's duration; with
        `track` (an ASS script, `tools.subtitles.write_text_track`), a mov_text subtitle stream in the
        subtitles' language, not marked default."""
        streams = [_video_graph(timeline, settings), self._mastered(timeline, gain_db)]
        extra: dict[str, str] = {}
        if track is not None:
            streams.append(ffmpeg.input(str(track))["s"])
            language = language_of(timeline.subtitles.language if timeline.subtitles else "en").iso639_2
            extra = {"scodec": "mov_text", "metadata:s:s:0": f"language={language}", "disposition:s:0": "0"}
        stream = ffmpeg.output(
            *streams, str(out),
            vcodec="libx264", preset=settings.x264_preset, crf=settings.crf, pix_fmt="yuv420p",
            r=settings.fps, threads=settings.threads, acodec="aac", audio_bitrate=settings.audio_bitrate,
            ar=SAMPLE_RATE, movflags="+faststart", t=f"{timeline.duration:.6f}", f="mp4", **extra,
        )  # fmt: skip
        return stream.get_args()

    async def render(
        self, timeline: Timeline, settings: RenderSettings, out: Path, *, stems: bool = False
    ) -> RenderResult:
        """Render `timeline` to the MP4 `out` with its mix at `timeline.target_lufs` (EBU R128 integrated; up to
        MASTER_PASSES gain corrections towards MASTER_TOLERANCE_LU): measure, master, render, measure the file
        (``integrated_lufs``, None for silence). With `stems`, also
        ``<out stem>.voice.wav`` and ``<out stem>.music_ducked.wav`` (16-bit PCM, before the master gain). Raises
        ToolError for a timeline `check_timeline` rejects or when ffmpeg fails."""
        check_timeline(timeline)
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        # stems come from the measuring pass: same audio graph, before the master gain, and it costs
        # no extra decode of the video
        margs, stem_paths = self.audio_measure_args(timeline, out if stems else None)
        err = await self.ffmpeg.arun(margs, what="measuring the audio mix")
        gain = await self._master_gain(timeline, parse_integrated_lufs(err))
        track = (
            write_text_track(timeline.subtitles, timeline.subtitles.path.with_suffix(".track.ass"))
            if timeline.subtitles is not None
            else None
        )
        args = self.render_args(timeline, settings, out, gain, track)
        await self.ffmpeg.arun(args, what=f"rendering {out.name}")
        if track is not None:
            # the MP4 muxer enables the first subtitle track whatever -disposition says (tools.mp4)
            disable_subtitle_tracks(out)
        seconds = time.perf_counter() - t0
        lufs = await integrated_lufs(out, self.ffmpeg)
        return RenderResult(
            path=out,
            duration=timeline.duration,
            width=settings.width,
            height=settings.height,
            seconds=seconds,
            integrated_lufs=lufs,
            stems=stem_paths,
            command=[self.ffmpeg.exe, *args],
        )
