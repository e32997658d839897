"""Shared plumbing of the video generators: raw frames piped into one x264 encoder process, the `Clip` a
generator returns for a request, and the base of the generators that draw their frames in Python."""

from __future__ import annotations

import asyncio
import math
import subprocess
from collections.abc import Callable, Iterable
from pathlib import Path

from tools.cache import ToolCache
from tools.ffmpeg import Ffmpeg, failed, shipped
from tools.models import Clip, ClipRequest
from tools.vocabulary import CAMERA_MOTIONS, CameraMotion

# intermediates are re-encoded by the composer, so favour speed and headroom over size
INTERMEDIATE_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", "-pix_fmt", "yuv420p"]


def frame_count(duration: float, fps: int) -> int:
    return max(1, round(duration * fps))


def ease_in_out(p: float) -> float:
    """Sine ease: camera moves start and stop without a jolt, which matters across xfades."""
    p = min(1.0, max(0.0, p))
    return 0.5 - 0.5 * math.cos(math.pi * p)


def clip_for(request: ClipRequest, path: Path, backend: str, cached: bool) -> Clip:
    """The `Clip` of a generated file: the request's size and fps, its duration on the frame grid."""
    return Clip(
        shot_id=request.shot_id,
        path=path,
        duration=frame_count(request.duration, request.fps) / request.fps,
        width=request.width,
        height=request.height,
        fps=request.fps,
        backend=backend,
        cached=cached,
    )


def encode_frames(
    frames: Iterable[bytes], width: int, height: int, fps: int, out: Path, ffmpeg: Ffmpeg, *, pix_fmt: str = "rgb24"
) -> None:
    """Pipe raw frames (`pix_fmt`, width×height) into ffmpeg; Python draws while x264 encodes."""
    cmd = [
        ffmpeg.exe, "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
        "-f", "rawvideo", "-pix_fmt", pix_fmt, "-s", f"{width}x{height}", "-r", str(fps), "-i", "-",
        *INTERMEDIATE_X264, "-r", str(fps), "-movflags", "+faststart", "-f", "mp4", str(out),
    ]  # fmt: skip
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    try:
        for buf in frames:
            proc.stdin.write(buf)
        proc.stdin.close()
    except BrokenPipeError:
        pass  # ffmpeg died; its stderr below says why
    finally:
        err = proc.stderr.read().decode("utf-8", "replace") if proc.stderr else ""
        rc = proc.wait()
    if rc != 0:
        raise failed("encoding generated frames", rc, err)


class FrameGenerator:
    """A generator that draws each frame in Python and pipes it to x264, cached by request (the offline
    image-to-video and motion graphics). Subclasses name themselves and draw; `encoded` does the rest."""

    name: str
    offline = True
    camera_motions: frozenset[CameraMotion] = frozenset(CAMERA_MOTIONS)

    def __init__(self, cache: ToolCache, ffmpeg: Ffmpeg | None = None) -> None:
        self.cache = cache
        self.ffmpeg = ffmpeg or shipped()

    async def encoded(self, request: ClipRequest, key: str, frames: Callable[[], Iterable[bytes]],
                      pix_fmt: str = "rgb24") -> Clip:  # fmt: skip
        """The clip cached under ``key``, made (off the event loop) from ``frames()`` when missing. Raises
        ToolError when encoding fails."""

        async def make(tmp: Path) -> None:
            await asyncio.to_thread(encode_frames, frames(), request.width, request.height, request.fps, tmp,
                                    self.ffmpeg, pix_fmt=pix_fmt)  # fmt: skip

        path, cached = await self.cache.get_or_create(key, ".mp4", make)
        return clip_for(request, path, self.name, cached)
