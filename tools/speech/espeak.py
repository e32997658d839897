"""Offline TTS for every supported language: the system `espeak-ng` program (Debian package ``espeak-ng``).
Formant synthesis, robotic next to piper's neural English voice, but it speaks 100+ languages offline;
the voice for each language is ``tools.languages.LANGUAGES[code].espeak_voice``."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

from tools.audio_measure import load_mono
from tools.cache import ToolCache
from tools.errors import ToolError
from tools.languages import LANGUAGES
from tools.models import Line, SpeechResult, VoiceChoice
from tools.speech.base import Finished, Rendered, cached_synthesis, finish, no_voice, primary_subtag

VERSION = "2"
BASE_WPM = 175  # espeak-ng's default speed; Line.rate divides it (rate > 1 is slower)


class EspeakSpeech:
    """Offline TTS through the system ``espeak-ng`` (or ``espeak``) program, in the voice of each line's language
    (``voice`` given: that one for every line); the text goes on stdin, never into argv. ``timeout`` in seconds
    per line."""

    name = "espeak"
    offline = True

    def __init__(self, cache: ToolCache, *, voice: str | None = None, timeout: float = 60.0) -> None:
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

    def voice_for(self, language: str) -> VoiceChoice:
        """espeak-ng's voice for `language`. Raises InputError when espeak-ng is not installed or the language is
        not one of ``tools.languages.LANGUAGES``."""
        code = primary_subtag(language)
        if shutil.which("espeak-ng") is None and shutil.which("espeak") is None:
            raise no_voice(language, "espeak-ng is not installed (apt-get install espeak-ng)")
        if self.voice is not None:
            return VoiceChoice(engine="espeak-ng", voice=self.voice, language=code, reason="the espeak voice given")
        if code not in LANGUAGES:
            raise no_voice(language, "ragvid has no espeak-ng voice on its list for it")
        why = "the offline voice for English when piper is not used" if code == "en" else (
            f"no neural voice for {LANGUAGES[code].name} ships offline; espeak-ng speaks it")  # fmt: skip
        return VoiceChoice(engine="espeak-ng", voice=LANGUAGES[code].espeak_voice, language=code, reason=why)

    async def _render(self, text: str, rate: float, voice: str) -> Finished:
        exe = self.executable()
        wpm = str(max(80, min(450, round(BASE_WPM / rate))))
        with tempfile.TemporaryDirectory(prefix="ragvid-espeak-") as d:
            out = Path(d) / "line.wav"
            # argv list, and the untrusted text on stdin: it can be neither a shell word nor an option
            proc = await asyncio.create_subprocess_exec(
                exe, "-v", voice, "-s", wpm, "-w", str(out), "--stdin",
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
        """Speak `line` (cached) in its language's voice: Line.rate divides espeak's 175 words a minute, clamped to
        80–450. Raises InputError for a language without a voice, ToolError when the program is missing, fails or
        runs past ``timeout``."""
        self.executable()  # fail before touching the cache when the program is missing
        voice = self.voice_for(line.language).voice

        async def render(text: str) -> Finished:
            return await self._render(text, line.rate, voice)

        result = await cached_synthesis(self.cache, self.name, VERSION, line.model_copy(update={"voice": voice}),
                                        render)  # fmt: skip
        return result.model_copy(update={"voice": voice})
