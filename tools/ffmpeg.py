"""Locating and running ffmpeg.

The wheel of `imageio-ffmpeg` carries an ffmpeg built with libass, drawtext and xfade, so a fresh
machine needs no system package; `RAGVID_FFMPEG` or a system ffmpeg on PATH override it.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import subprocess
from collections.abc import Sequence

from tools.errors import ToolError


@functools.cache
def ffmpeg_exe() -> str:
    override = os.environ.get("RAGVID_FFMPEG")
    if override:
        return override
    try:
        import imageio_ffmpeg

        return str(imageio_ffmpeg.get_ffmpeg_exe())
    except Exception:  # the wheel is a dependency, but a broken install should still find PATH
        found = shutil.which("ffmpeg")
        if found:
            return found
    raise ToolError("ffmpeg not found: install the 'imageio-ffmpeg' package or set RAGVID_FFMPEG")


def _cmd(args: Sequence[str]) -> list[str]:
    # argv lists only (never a shell): untrusted text can reach ffmpeg only through escaped filters
    return [ffmpeg_exe(), "-hide_banner", "-nostdin", "-y", *args]


def run_ffmpeg(args: Sequence[str], *, what: str) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(_cmd(args), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        tail = "\n".join(proc.stderr.strip().splitlines()[-6:])
        raise ToolError(f"ffmpeg failed while {what} (exit {proc.returncode}): {tail}")
    return proc


async def arun_ffmpeg(args: Sequence[str], *, what: str) -> str:
    """Async variant; returns stderr (ffmpeg prints measurements there)."""
    proc = await asyncio.create_subprocess_exec(
        *_cmd(args), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    _, err = await proc.communicate()
    stderr = err.decode("utf-8", "replace")
    if proc.returncode != 0:
        tail = "\n".join(stderr.strip().splitlines()[-6:])
        raise ToolError(f"ffmpeg failed while {what} (exit {proc.returncode}): {tail}")
    return stderr
