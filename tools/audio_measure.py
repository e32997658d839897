"""Audio measurements shared by the speech tools, the Critic agent and the tests.

Everything except the decoders and the loudness meter is a pure function of a float sample array, so
a finding ("music too loud under speech", "line starts late") can cite a number that a test can
reproduce. Levels are dBFS of float samples in [-1, 1]; silence reads as `FLOOR_DB`, never -inf, so
results stay JSON-serialisable.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

from tools.errors import ToolError
from tools.ffmpeg import Ffmpeg, shipped

FloatArray = npt.NDArray[np.float32]
Interval = tuple[float, float]

FLOOR_DB = -120.0
_EPS = 10 ** (FLOOR_DB / 20)


def load_mono(path: Path | str, sr: int | None = None) -> tuple[FloatArray, int]:
    """Decode the first audio stream of any file PyAV can open (WAV, MP3, MP4…) to mono float32,
    the mean of its channels.

    PyAV rather than ffprobe/ffmpeg pipes because the ffmpeg wheel ships no ffprobe, and decoding
    in-process avoids guessing the stream layout from text output. `sr=None` keeps the native rate.
    """
    p = Path(path)
    if not p.is_file():
        raise ToolError(f"audio file not found: {p}")
    try:
        with av.open(str(p)) as container:
            if not container.streams.audio:
                raise ToolError(f"no audio stream in {p}")
            stream = container.streams.audio[0]
            rate = int(sr or stream.rate or stream.codec_context.sample_rate)
            # Planar float at the source layout, averaged here: libswresample's own downmix weights
            # each side by -3 dB, so identical channels would read 3 dB hotter than either one.
            resampler = av.AudioResampler(format="fltp", rate=rate)
            parts: list[FloatArray] = []
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    parts.append(out.to_ndarray().mean(axis=0, dtype=np.float32))
            for out in resampler.resample(None):  # flush the resampler's delay line
                parts.append(out.to_ndarray().mean(axis=0, dtype=np.float32))
    except av.error.FFmpegError as exc:
        raise ToolError(f"cannot decode audio from {p}: {exc}") from exc
    samples = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
    return samples, rate


# ---------------------------------------------------------------------------------------- loudness

_SUMMARY_I = re.compile(r"Summary:.*?\bI:\s*(-?\d+(?:\.\d+)?|-?inf)\s*LUFS", re.S)
SILENCE_LUFS = -70.0  # BS.1770's absolute gate: ebur128 reports anything quieter as this or -inf


def ebur128_args(path: Path | str) -> list[str]:
    """The ffmpeg arguments that print the ebur128 summary of a file's first audio stream."""
    # An absolute path cannot be mistaken for a protocol URL or an option by ffmpeg.
    src = str(Path(path).resolve())
    return ["-nostats", "-i", src, "-map", "0:a:0", "-af", "ebur128=framelog=quiet", "-f", "null", "-"]


def parse_integrated_lufs(stderr: str) -> float | None:
    """The integrated loudness (LUFS) of ffmpeg's ebur128 summary in ``stderr``; None for silence (at or
    below the -70 LUFS gate). Raises ToolError when there is no summary."""
    m = _SUMMARY_I.search(stderr)
    if not m:
        raise ToolError("ffmpeg's ebur128 printed no integrated loudness")
    value = float(m.group(1))
    return None if value <= SILENCE_LUFS else value


def loudness_text(lufs: float | None) -> str:
    """An integrated loudness as people read it: ``"-14.1 LUFS"``, or ``"silent"`` for None."""
    return "silent" if lufs is None else f"{lufs:.1f} LUFS"


def integrated_lufs_sync(path: Path | str, ffmpeg: Ffmpeg | None = None) -> float | None:
    """Integrated loudness (ITU-R BS.1770 / EBU R128, LUFS) of a media file's first audio stream,
    measured by ffmpeg's ebur128 filter; None for silence."""
    proc = (ffmpeg or shipped()).run(ebur128_args(path), what=f"measuring loudness of {Path(path).name}")
    return parse_integrated_lufs(proc.stderr)


async def integrated_lufs(path: Path | str, ffmpeg: Ffmpeg | None = None) -> float | None:
    """`integrated_lufs_sync` without blocking the event loop."""
    stderr = await (ffmpeg or shipped()).arun(ebur128_args(path), what=f"measuring loudness of {Path(path).name}")
    return parse_integrated_lufs(stderr)


# ---------------------------------------------------------------------------------------- envelopes


def db(x: float) -> float:
    """Linear amplitude `x` (1.0 = full scale) in dBFS, 20·log10(x); zero or less reads as FLOOR_DB, never -inf."""
    return float(20.0 * np.log10(max(float(x), _EPS)))


def peak_db(samples: npt.ArrayLike) -> float:
    """Sample peak (dBFS) of float samples in [-1, 1], any shape; FLOOR_DB when there are none. Not the true
    (inter-sample) peak."""
    a = np.asarray(samples, dtype=np.float64)
    return db(float(np.max(np.abs(a)))) if a.size else FLOOR_DB


def rms_envelope(
    samples: npt.ArrayLike, sr: int, window: float = 0.02, hop: float = 0.005
) -> tuple[npt.NDArray[np.float64], float]:
    """Short-window RMS, one value per hop; frame i covers [i*hop, i*hop + window).

    Cumulative sums make this O(n) whatever the window, which matters for minute-long mixes.
    Returns (rms, hop_seconds) — the hop is rounded to whole samples.
    """
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    w = max(1, round(window * sr))
    h = max(1, round(hop * sr))
    if x.size == 0:
        return np.zeros(0), h / sr
    c = np.concatenate([[0.0], np.cumsum(x * x)])
    starts = np.arange(0, x.size, h)
    ends = np.minimum(starts + w, x.size)
    ms = (c[ends] - c[starts]) / np.maximum(ends - starts, 1)
    return np.sqrt(np.maximum(ms, 0.0)), h / sr


def _runs(mask: npt.NDArray[np.bool_]) -> list[tuple[int, int]]:
    """[start, end) index runs where mask is True."""
    if mask.size == 0:
        return []
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1).tolist(), np.flatnonzero(d == -1).tolist(), strict=True))


def _intervals_above(
    samples: npt.ArrayLike,
    sr: int,
    threshold: float,
    min_silence: float,
    min_voiced: float,
    window: float,
    hop: float,
) -> list[Interval]:
    env, hop_s = rms_envelope(samples, sr, window, hop)
    n = np.asarray(samples).size
    total = n / sr
    merged: list[list[float]] = []
    for a, b in _runs(env > threshold):
        # a frame is voiced if its window is, so the span runs to the end of the last window
        start, end = a * hop_s, min(total, (b - 1) * hop_s + window)
        if merged and start - merged[-1][1] < min_silence:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return [(round(s, 4), round(e, 4)) for s, e in merged if e - s >= min_voiced]


def speech_intervals(
    samples: npt.ArrayLike,
    sr: int,
    threshold_db: float = -35.0,
    min_silence: float = 0.25,
    min_voiced: float = 0.03,
    window: float = 0.02,
    hop: float = 0.005,
) -> list[Interval]:
    """Voiced intervals (seconds): short-window RMS above `threshold_db` dBFS, with gaps shorter than
    `min_silence` bridged (pauses between words are not silences) and blips under `min_voiced`
    dropped."""
    return _intervals_above(samples, sr, 10 ** (threshold_db / 20), min_silence, min_voiced, window, hop)


def _refine(x: npt.NDArray[np.float64], sr: int, t: float, window: float, amp: float) -> float:
    """Move a window-resolution onset to the first sample in that window above `amp`, so onsets are
    accurate to a sample rather than to a hop."""
    i0 = round(t * sr)
    seg = np.abs(x[i0 : i0 + max(1, round(window * sr))])
    hit = np.flatnonzero(seg > amp)
    return (i0 + int(hit[0])) / sr if hit.size else t


def onsets(
    samples: npt.ArrayLike,
    sr: int,
    relative_db: float = -30.0,
    min_silence: float = 0.1,
    window: float = 0.01,
    hop: float = 0.0025,
) -> list[float]:
    """Times where sound starts after at least `min_silence` of quiet. The threshold is relative to
    the loudest window (`relative_db` below it), so it works on a line at any level."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    env, _ = rms_envelope(x, sr, window, hop)
    if env.size == 0 or env.max() <= _EPS:
        return []
    thr = float(env.max()) * 10 ** (relative_db / 20)
    spans = _intervals_above(x, sr, thr, min_silence, 0.0, window, hop)
    return [round(_refine(x, sr, s, window, thr), 5) for s, _ in spans]


def first_onset(samples: npt.ArrayLike, sr: int, relative_db: float = -30.0) -> float | None:
    """The first of `onsets`: seconds from the start of `samples` to the first sound; None for silence."""
    found = onsets(samples, sr, relative_db=relative_db)
    return found[0] if found else None


def _mask(n: int, sr: int, intervals: Sequence[Interval]) -> npt.NDArray[np.bool_]:
    m = np.zeros(n, dtype=bool)
    for s, e in intervals:
        m[max(0, round(s * sr)) : max(0, min(n, round(e * sr)))] = True
    return m


def _rms_db_where(x: npt.NDArray[np.float64], m: npt.NDArray[np.bool_]) -> float:
    if not m.any():
        return FLOOR_DB
    return db(float(np.sqrt(np.mean(x[m] ** 2))))


def rms_db_in(samples: npt.ArrayLike, sr: int, intervals: Sequence[Interval]) -> float:
    """RMS level (dBFS) over the union of `intervals`; e.g. music level under narration."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    return _rms_db_where(x, _mask(x.size, sr, intervals))


def rms_db_outside(
    samples: npt.ArrayLike, sr: int, intervals: Sequence[Interval], duration: float | None = None
) -> float:
    """RMS level (dBFS) over [0, duration) minus `intervals`; e.g. music level between lines."""
    x = np.asarray(samples, dtype=np.float64).reshape(-1)
    n = x.size if duration is None else min(x.size, round(duration * sr))
    return _rms_db_where(x[:n], ~_mask(n, sr, intervals))
