"""Shared plumbing for the offline generators: raw frames piped into one x264 encoder process."""

from __future__ import annotations

import math
import subprocess
from collections.abc import Iterable
from pathlib import Path

from tools.errors import ToolError
from tools.ffmpeg import ffmpeg_exe

# intermediates are re-encoded by the composer, so favour speed and headroom over size
INTERMEDIATE_X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "16", "-pix_fmt", "yuv420p"]


def frame_count(duration: float, fps: int) -> int:
    return max(1, round(duration * fps))


def ease_in_out(p: float) -> float:
    """Sine ease: camera moves start and stop without a jolt, which matters across xfades."""
    p = min(1.0, max(0.0, p))
    return 0.5 - 0.5 * math.cos(math.pi * p)


def encode_frames(
    frames: Iterable[bytes], width: int, height: int, fps: int, out: Path, *, pix_fmt: str = "rgb24"
) -> None:
    """Pipe raw frames (`pix_fmt`, width×height) into ffmpeg; Python draws while x264 encodes."""
    cmd = [
        ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y",
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
        tail = "\n".join(err.strip().splitlines()[-6:])
        raise ToolError(f"ffmpeg failed while encoding generated frames (exit {rc}): {tail}")
