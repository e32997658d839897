"""Media probing without ffprobe (the pip ffmpeg has none): container and stream facts via PyAV,
frame sampling and frame differences for cut detection, and ffmpeg's blackdetect/freezedetect for
the Critic's black- and frozen-frame checks."""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np
from pydantic import BaseModel, Field

from tools.errors import ToolError
from tools.ffmpeg import Ffmpeg, shipped


class StreamInfo(BaseModel):
    """One stream of a media file as PyAV reports it: ``duration`` in seconds, ``fps`` in frames per second
    (average rate), ``bit_rate`` in bits per second; the video fields (size in pixels, pixel format) and the
    audio fields (Hz, channels) are None on other kinds."""

    index: int
    kind: str  # "video" | "audio" | "subtitle" | "data"
    codec: str
    duration: float | None = None
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    pix_fmt: str | None = None
    frames: int | None = None
    sample_rate: int | None = None
    channels: int | None = None
    bit_rate: int | None = None


class MediaInfo(BaseModel):
    """Container facts of a media file (`probe`): ``duration`` in seconds (the container's, else its longest
    stream's), size in bytes, bit rate in bits per second and the streams in file order."""

    path: Path
    format: str
    duration: float
    size_bytes: int
    bit_rate: int | None = None
    has_faststart: bool = Field(
        description="MP4/MOV: the moov atom precedes mdat (playable while downloading)"
    )
    streams: list[StreamInfo]

    @property
    def video(self) -> StreamInfo | None:
        """The first video stream; None when there is none."""
        return next((s for s in self.streams if s.kind == "video"), None)

    @property
    def audio(self) -> StreamInfo | None:
        """The first audio stream; None when there is none."""
        return next((s for s in self.streams if s.kind == "audio"), None)


def top_level_atoms(path: Path, limit: int = 64) -> list[str]:
    """Names of the top-level ISO-BMFF boxes in file order (empty for non-MP4 files)."""
    names: list[str] = []
    size_total = Path(path).stat().st_size
    with open(path, "rb") as f:
        pos = 0
        while pos + 8 <= size_total and len(names) < limit:
            f.seek(pos)
            head = f.read(8)
            size, name = struct.unpack(">I4s", head)
            header = 8
            if size == 1:  # 64-bit largesize follows the name
                size = struct.unpack(">Q", f.read(8))[0]
                header = 16
            elif size == 0:  # box runs to the end of the file
                size = size_total - pos
            if size < header or not all(32 <= c < 127 for c in name):
                break  # not an ISO-BMFF file (or corrupt): stop rather than wander through data
            names.append(name.decode("ascii"))
            pos += size
    return names


def _has_faststart(path: Path) -> bool:
    atoms = top_level_atoms(path)
    if "moov" not in atoms:
        return False
    return "mdat" not in atoms or atoms.index("moov") < atoms.index("mdat")


def _f(x: Fraction | float | int | None) -> float | None:
    return float(x) if x is not None else None


def probe(path: str | Path) -> MediaInfo:
    """Container and stream facts of `path` through PyAV (the pip ffmpeg ships no ffprobe). Raises ToolError
    when the file does not exist or PyAV cannot open it."""
    path = Path(path)
    if not path.exists():
        raise ToolError(f"no such media file: {path}")
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as e:
        raise ToolError(f"cannot open media {path}: {e}") from e
    with container:
        streams: list[StreamInfo] = []
        for s_ in container.streams:
            s: Any = s_  # PyAV's stubs type streams by their base class; fields differ per kind
            dur = _f(s.duration * s.time_base) if s.duration is not None and s.time_base else None
            info = StreamInfo(
                index=s.index,
                kind=s.type,
                codec=s.codec_context.name if s.codec_context else "?",
                duration=dur,
                frames=s.frames or None,
                bit_rate=s.bit_rate or None,
            )
            if s.type == "video":
                rate = s.average_rate or s.base_rate or s.guessed_rate
                info.width, info.height = s.codec_context.width, s.codec_context.height
                info.fps = _f(rate)
                info.pix_fmt = s.codec_context.pix_fmt
            elif s.type == "audio":
                cc = s.codec_context
                info.sample_rate = cc.sample_rate
                info.channels = cc.channels
            streams.append(info)
        duration = (
            container.duration / av.time_base
            if container.duration
            else max((s.duration or 0.0 for s in streams), default=0.0)
        )
        return MediaInfo(
            path=path,
            format=container.format.name,
            duration=float(duration),
            size_bytes=path.stat().st_size,
            bit_rate=container.bit_rate or None,
            has_faststart=_has_faststart(path),
            streams=streams,
        )


def _iter_video_frames(
    path: Path, fmt: str, size: tuple[int, int] | None
) -> Iterator[tuple[float, np.ndarray]]:
    container = av.open(str(path))
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        for frame in container.decode(stream):
            t = float(frame.time) if frame.time is not None else 0.0
            if size is not None:
                arr = frame.to_ndarray(format=fmt, width=size[0], height=size[1])
            else:
                arr = frame.to_ndarray(format=fmt)
            yield t, arr
    finally:
        container.close()


def frames(path: str | Path, times: list[float], size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """RGB frames (H×W×3 uint8) shown at each of `times` (the last frame whose pts ≤ t), optionally
    resized to `size` = (w, h). One sequential decode, which for short clips beats seeking. Raises
    ToolError when the file decodes no frame (every time would otherwise come back empty-handed)."""
    if not times:
        return []
    order = sorted(range(len(times)), key=lambda i: times[i])
    out: list[np.ndarray | None] = [None] * len(times)
    k = 0
    prev: np.ndarray | None = None
    for t, arr in _iter_video_frames(Path(path), "rgb24", size):
        while k < len(order) and times[order[k]] < t - 1e-6:
            out[order[k]] = prev if prev is not None else arr
            k += 1
        prev = arr
        if k >= len(order):
            break
    if prev is None:
        raise ToolError(f"{path}: no video frame decoded")
    while k < len(order):
        out[order[k]] = prev
        k += 1
    return [a for a in out if a is not None]


def frame_diffs(path: str | Path, scale_w: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """(times, mean absolute luma difference 0..255) between each frame and the one before it, on
    frames scaled to `scale_w` wide: cheap, and what cut detection and freeze checks need."""
    info = probe(path)
    v = info.video
    if v is None or not v.width or not v.height:
        raise ToolError(f"{path} has no video stream")
    scale_h = max(2, round(scale_w * v.height / v.width / 2) * 2)
    times: list[float] = []
    diffs: list[float] = []
    prev: np.ndarray | None = None
    for t, arr in _iter_video_frames(Path(path), "gray", (scale_w, scale_h)):
        cur = arr.astype(np.int16)
        if prev is not None:
            times.append(t)
            diffs.append(float(np.abs(cur - prev).mean()))
        prev = cur
    return np.asarray(times), np.asarray(diffs)


def detect_cuts(path: str | Path, threshold: float = 6.0, *, min_gap: float = 0.25) -> list[float]:
    """Times (of the first frame of the new shot) where the picture changes abruptly: a difference
    above `threshold` that also stands well clear of the motion around it, so fast camera moves and
    xfade midpoints are not cuts."""
    times, diffs = frame_diffs(path)
    cuts: list[float] = []
    for i, d in enumerate(diffs):
        if d < threshold:
            continue
        lo, hi = max(0, i - 4), min(len(diffs), i + 5)
        neighbours = np.concatenate([diffs[lo:i], diffs[i + 1 : hi]])
        base = float(np.median(neighbours)) if neighbours.size else 0.0
        if d < 3.0 * base or d < max(diffs[max(0, i - 1)], diffs[min(len(diffs) - 1, i + 1)]):
            continue
        if cuts and times[i] - cuts[-1] < min_gap:
            continue
        cuts.append(float(times[i]))
    return cuts


_BLACK = re.compile(r"black_start:\s*([\d.]+)\s+black_end:\s*([\d.]+)")
_FREEZE_START = re.compile(r"freeze_start:\s*([\d.]+)")
_FREEZE_END = re.compile(r"freeze_end:\s*([\d.]+)")


def black_intervals(
    path: str | Path,
    min_duration: float = 0.1,
    pixel_threshold: float = 0.10,
    picture_threshold: float = 0.98,
    ffmpeg: Ffmpeg | None = None,
) -> list[tuple[float, float]]:
    """Black stretches (start, end) in seconds found by ffmpeg's blackdetect."""
    vf = f"blackdetect=d={min_duration}:pix_th={pixel_threshold}:pic_th={picture_threshold}"
    proc = (ffmpeg or shipped()).run(
        ["-i", str(Path(path).resolve()), "-an", "-vf", vf, "-f", "null", "-"],
        what=f"detecting black frames in {Path(path).name}",
    )
    return [(float(a), float(b)) for a, b in _BLACK.findall(proc.stderr)]


def frozen_intervals(
    path: str | Path, min_duration: float = 0.5, noise_db: float = -60.0, ffmpeg: Ffmpeg | None = None
) -> list[tuple[float, float]]:
    """Frozen stretches (start, end) in seconds found by ffmpeg's freezedetect; a freeze still open at
    the end of the file ends at the file's duration."""
    proc = (ffmpeg or shipped()).run(
        ["-i", str(Path(path).resolve()), "-an", "-vf", f"freezedetect=n={noise_db}dB:d={min_duration}", "-f", "null",
         "-"],
        what=f"detecting frozen frames in {Path(path).name}",
    )
    starts = [float(x) for x in _FREEZE_START.findall(proc.stderr)]
    ends = [float(x) for x in _FREEZE_END.findall(proc.stderr)]
    if len(ends) < len(starts):
        ends.append(probe(path).duration)
    return list(zip(starts, ends, strict=False))


__all__ = [
    "MediaInfo", "StreamInfo", "black_intervals", "detect_cuts", "frame_diffs", "frames", "frozen_intervals",
    "probe", "top_level_atoms",
]  # fmt: skip
