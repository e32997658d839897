"""Locating and running ffmpeg.

The wheel of `imageio-ffmpeg` carries an ffmpeg built with libass, drawtext and xfade, so a fresh
machine needs no system package. Which binary a run uses is a value (`Ffmpeg`), handed to the tools
that run it by the shell (the `RAGVID_FFMPEG` setting overrides the shipped one); a tool built without
one uses `shipped()`.
"""

from __future__ import annotations

import asyncio
import functools
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from tools.errors import ToolError


@dataclass(frozen=True)
class Ffmpeg:
    """One ffmpeg executable. Commands are argv lists (never a shell): untrusted text can reach ffmpeg
    only through escaped filter values (`tools.escape`)."""

    exe: str

    @classmethod
    def find(cls, override: str | None = None) -> Ffmpeg:
        """``override`` when given (checked: it runs and says it is ffmpeg), else the binary inside the
        `imageio-ffmpeg` wheel, else ``ffmpeg`` on PATH. Raises ToolError when there is none."""
        if override:
            return cls._checked(override)
        try:
            import imageio_ffmpeg

            return cls(str(imageio_ffmpeg.get_ffmpeg_exe()))
        except Exception:  # the wheel is a dependency, but a broken install should still find PATH
            found = shutil.which("ffmpeg")
            if found:
                return cls(found)
        raise ToolError("ffmpeg not found: install the 'imageio-ffmpeg' package or set RAGVID_FFMPEG")

    @classmethod
    def _checked(cls, exe: str) -> Ffmpeg:
        found = shutil.which(exe)
        if found is None:
            raise ToolError(f"not an executable: {exe}")
        try:
            done = subprocess.run([found, "-version"], capture_output=True, text=True, timeout=30, check=False)
        except (OSError, subprocess.SubprocessError) as e:
            raise ToolError(f"{exe} does not run: {e}") from None
        if done.returncode != 0 or not done.stdout.startswith("ffmpeg version"):
            raise ToolError(f"{exe} is not ffmpeg (`{exe} -version` does not say 'ffmpeg version')")
        return cls(found)

    def command(self, args: Sequence[str]) -> list[str]:
        """The argv that runs `args`: the executable, then ``-hide_banner -nostdin -y`` (no banner, never a prompt
        on stdin, outputs overwritten)."""
        return [self.exe, "-hide_banner", "-nostdin", "-y", *args]

    def run(self, args: Sequence[str], *, what: str) -> subprocess.CompletedProcess[str]:
        """Run to the end; ``what`` completes "ffmpeg failed while …". Raises ToolError with the last lines
        of ffmpeg's log on a non-zero exit."""
        proc = subprocess.run(self.command(args), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise failed(what, proc.returncode, proc.stderr)
        return proc

    async def arun(self, args: Sequence[str], *, what: str) -> str:
        """`run` without blocking the event loop; returns stderr (ffmpeg prints measurements there)."""
        proc = await asyncio.create_subprocess_exec(
            *self.command(args), stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
        )
        _, err = await proc.communicate()
        stderr = err.decode("utf-8", "replace")
        if proc.returncode != 0:
            raise failed(what, proc.returncode, stderr)
        return stderr


def failed(what: str, code: int | None, stderr: str) -> ToolError:
    """The ToolError of an ffmpeg run that exited ``code``: what it was doing and the end of its log."""
    tail = "\n".join(stderr.strip().splitlines()[-6:]) or "(it printed nothing)"
    return ToolError(f"ffmpeg failed while {what} (exit {code}): {tail}")


@functools.cache
def shipped() -> Ffmpeg:
    """The ffmpeg of the `imageio-ffmpeg` wheel (or PATH): what a tool uses when it is given none."""
    return Ffmpeg.find()
