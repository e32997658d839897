"""Last-resort TTS: the system `espeak-ng` binary. Robotic, but present on many minimal machines."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from tools.audio_measure import load_mono
from tools.cache import ToolCache
from tools.errors import ToolError
from tools.models import Line, SpeechResult
from tools.speech.base import Finished, Rendered, cached_synthesis, finish

VERSION = "1"
BASE_WPM = 175  # espeak-ng's default speed; Line.rate divides it (rate > 1 is slower)


class EspeakSpeech:
    """Offline last-resort TTS through the system ``espeak-ng`` (or ``espeak``) program; the text goes on
    stdin, never into argv. ``timeout`` in seconds per line."""

    name = "espeak"
    offline = True

    def __init__(self, cache: ToolCache, *, voice: str = "en-us", timeout: float = 60.0) -> None:
        self.cache = cache
        self.voice = voice
        self.timeout = timeout

    @staticmethod
    def executable() -> str:
        """The path of ``espeak-ng`` (else ``espeak``) on PATH. Raises ToolError when neither is installed."""
        exe = shutil.which("espeak-ng") or shutil.which("espeak")
        if exe is None:
            raise ToolError(
                "speech back-end 'espeak' needs the espeak-ng program, which is not installed "
                "(apt-get install espeak-ng); the default 'piper' back-end needs nothing extra"
            )
        return exe

    async def _render(self, text: str, rate: float) -> Finished:
        exe = self.executable()
        wpm = str(max(80, min(450, round(BASE_WPM / rate))))
        with tempfile.TemporaryDirectory(prefix="ragvid-espeak-") as d:
            out = Path(d) / "line.wav"
            # argv list, and the untrusted text on stdin: it can be neither a shell word nor an option
            proc = await asyncio.create_subprocess_exec(
                exe, "-v", self.voice, "-s", wpm, "-w", str(out), "--stdin",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            try:
                _, err = await asyncio.wait_for(proc.communicate(text.encode("utf-8")), self.timeout)
            except TimeoutError as exc:
                proc.kill()
                await proc.wait()
                raise ToolError(f"espeak-ng timed out after {self.timeout:.0f}s") from exc
            if proc.returncode != 0 or not out.exists():
                detail = err.decode(errors="replace")[-300:]
                raise ToolError(f"espeak-ng failed (exit {proc.returncode}): {detail}")
            samples, sr = await asyncio.to_thread(load_mono, out)
        return await asyncio.to_thread(finish, text, Rendered(samples, sr))

    async def synthesize(self, line: Line) -> SpeechResult:
        """Speak `line` (cached): Line.rate divides espeak's 175 words a minute, clamped to 80–450. Raises
        ToolError when the program is missing, fails or runs past ``timeout``."""
        self.executable()  # fail before touching the cache when the program is missing

        async def render(text: str) -> Finished:
            return await self._render(text, line.rate)

        return await cached_synthesis(self.cache, self.name, VERSION, line, render)
