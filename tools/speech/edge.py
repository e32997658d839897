"""Opt-in online TTS (Microsoft Edge read-aloud voices via `edge-tts`), with real word boundaries."""

from __future__ import annotations

import asyncio
import logging
import tempfile
import time
from pathlib import Path

from tools.audio_measure import load_mono
from tools.cache import ToolCache
from tools.errors import BackendMissing, InputError, ToolError
from tools.models import Line, SpeechResult, VoiceChoice
from tools.protocols import Speech
from tools.speech.base import Finished, Rendered, cached_synthesis, finish, no_voice, primary_subtag

log = logging.getLogger("ragvid.tools")

VERSION = "1"
DEFAULT_VOICE = "en-US-GuyNeural"
# one neural voice per supported language (`edge-tts --list-voices` lists them all)
LANGUAGE_VOICES = {
    "en": DEFAULT_VOICE, "es": "es-ES-AlvaroNeural", "fr": "fr-FR-HenriNeural", "de": "de-DE-ConradNeural",
    "it": "it-IT-DiegoNeural", "pt": "pt-BR-AntonioNeural", "ru": "ru-RU-DmitryNeural", "zh": "zh-CN-YunxiNeural",
    "ar": "ar-SA-HamedNeural", "hi": "hi-IN-MadhurNeural",
}  # fmt: skip
_TICKS = 10_000_000  # edge-tts reports offsets in 100 ns units


def edge_rate(rate: float) -> str:
    """Line.rate is a length scale (2.0 = twice as long); edge wants a signed speed percentage."""
    pct = round((1.0 / rate - 1.0) * 100)
    return f"{pct:+d}%"


class EdgeSpeech:
    """Online TTS through Microsoft Edge's read-aloud service (`edge-tts`), with the word boundaries it reports.
    Sends the text over the network; a plan voice that is not a full Edge id (``…Neural``) speaks as
    ``voice``. Timeouts in seconds."""

    name = "edge"
    offline = False

    def __init__(
        self,
        cache: ToolCache,
        *,
        voice: str = DEFAULT_VOICE,
        connect_timeout: int = 5,
        receive_timeout: int = 20,
    ) -> None:
        self.cache = cache
        self.voice = voice
        self.connect_timeout = connect_timeout
        self.receive_timeout = receive_timeout

    def voice_for(self, language: str) -> VoiceChoice:
        """The Edge neural voice of `language` (``voice`` for English). Raises InputError for a language without
        one on the list."""
        code = primary_subtag(language)
        if code not in LANGUAGE_VOICES:
            raise no_voice(language, "edge-tts has no voice on ragvid's list for it")
        voice = self.voice if code == "en" else LANGUAGE_VOICES[code]
        return VoiceChoice(engine="edge", voice=voice, language=code, reason="the online neural voice (opt-in)")

    def _voice_for(self, line: Line) -> str:
        # Plan voices are engine-neutral names ("joe"); only a full Edge voice id selects one here.
        return line.voice if line.voice.endswith("Neural") else self.voice_for(line.language).voice

    async def _render(self, text: str, line: Line) -> Finished:
        try:
            import edge_tts
        except ImportError as exc:
            raise BackendMissing("edge", "default", "edge-tts") from exc
        comm = edge_tts.Communicate(
            text,
            self._voice_for(line),
            rate=edge_rate(line.rate),
            boundary="WordBoundary",
            connect_timeout=self.connect_timeout,
            receive_timeout=self.receive_timeout,
        )
        audio = bytearray()
        words: list[tuple[str, float, float]] = []

        async def pull() -> None:
            async for chunk in comm.stream():
                if chunk["type"] == "audio":
                    audio.extend(chunk.get("data", b""))
                elif chunk["type"] == "WordBoundary":
                    start = float(chunk.get("offset", 0)) / _TICKS
                    end = start + float(chunk.get("duration", 0)) / _TICKS
                    words.append((str(chunk.get("text", "")), start, end))

        # the socket timeouts cover connect and idle reads; this bounds a service that trickles data
        budget = self.connect_timeout + self.receive_timeout + len(text) / 5
        try:
            await asyncio.wait_for(pull(), budget)
        except TimeoutError as exc:
            raise ToolError(f"edge-tts timed out after {budget:.0f}s") from exc
        except Exception as exc:  # aiohttp/edge-tts errors have no common base worth naming
            raise ToolError(f"edge-tts failed: {type(exc).__name__}: {exc}") from exc
        if not audio:
            raise ToolError("edge-tts returned no audio")
        with tempfile.TemporaryDirectory(prefix="ragvid-edge-") as d:
            mp3 = Path(d) / "line.mp3"
            mp3.write_bytes(bytes(audio))
            samples, sr = await asyncio.to_thread(load_mono, mp3)
        return await asyncio.to_thread(finish, text, Rendered(samples, sr, words or None))

    async def synthesize(self, line: Line) -> SpeechResult:
        """Speak `line` (cached). Raises BackendMissing without edge-tts, ToolError when the service fails, times
        out or sends no audio."""

        async def render(text: str) -> Finished:
            return await self._render(text, line)

        result = await cached_synthesis(self.cache, self.name, VERSION, line, render)
        return result.model_copy(update={"voice": self._voice_for(line)})


class FallbackSpeech:
    """Try `primary`; on a tool failure use `fallback`, logging one warning and marking each result with
    ``fallback_from``, so a substituted voice is visible in the run record, never silent. After a failure the
    primary is left alone for ``RETRY_AFTER_S`` (a run offline does not wait on it once per line), and
    `voice_for` names the fallback's voice meanwhile."""

    RETRY_AFTER_S = 300.0

    def __init__(self, primary: Speech, fallback: Speech) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = f"{primary.name}|{fallback.name}"
        # it still sends text over the network whenever the primary is reachable
        self.offline = primary.offline
        self._failure: str | None = None
        self._failed_at = 0.0

    def _primary_down(self) -> bool:
        if self._failure is not None and time.monotonic() - self._failed_at > self.RETRY_AFTER_S:
            self._failure = None
        return self._failure is not None

    def voice_for(self, language: str) -> VoiceChoice:
        """The primary's voice for `language`; the fallback's when the primary has none or is failing."""
        if not self._primary_down():
            try:
                return self.primary.voice_for(language)
            except InputError:
                return self.fallback.voice_for(language)
        choice = self.fallback.voice_for(language)
        return choice.model_copy(update={"reason": f"{self.primary.name} failed ({self._failure}); {choice.reason}"})

    async def synthesize(self, line: Line) -> SpeechResult:
        """Speak `line` with the primary; on ToolError or OSError (or while it is failing) with the fallback,
        whose result then carries ``fallback_from``."""
        failed: Exception | None = None
        if not self._primary_down():
            try:
                return await self.primary.synthesize(line)
            except (ToolError, OSError) as exc:
                self._failure, self._failed_at, failed = str(exc), time.monotonic(), exc
        result = await self.fallback.synthesize(line)
        if failed is not None:  # once per failure: name the engine that actually spoke, not just "auto"
            log.warning(
                "speech back-end %r failed for line %r (%s); using %r instead (%s voice %r) for the next %.0f s",
                self.primary.name, line.line_id, failed, self.fallback.name, result.backend, result.voice,
                self.RETRY_AFTER_S,
            )  # fmt: skip
        return result.model_copy(update={"fallback_from": self.primary.name})
