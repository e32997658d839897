"""Speech that follows each line's language (``auto``, the default) and speech without a voice (``none``).

``auto`` speaks English with piper's shipped neural voice and every other supported language with espeak-ng,
so a Chinese line is never read out by an English voice; ``none`` renders the video without a voice (a
caption-only ad), each line's silence as long as its text would take to say.
"""

from __future__ import annotations

import numpy as np

from tools.cache import ToolCache
from tools.languages import LANGUAGES
from tools.models import Line, SpeechResult, VoiceChoice
from tools.protocols import Speech
from tools.speech.base import Finished, cached_synthesis, estimate_silent_words, primary_subtag
from tools.speech.espeak import EspeakSpeech
from tools.speech.piper import PiperSpeech

SILENT_VERSION = "1"
SILENT_RATE = 16000  # Hz: the WAV is all zeros; any rate the mixer accepts will do


class LanguageSpeech:
    """Speaks each line with the best offline voice for its language: piper for English, espeak-ng for the rest."""

    name = "auto"
    offline = True

    def __init__(self, cache: ToolCache) -> None:
        self.piper = PiperSpeech(cache)
        self.espeak = EspeakSpeech(cache)

    def _engine(self, language: str) -> Speech:
        return self.piper if primary_subtag(language) == "en" else self.espeak

    def voice_for(self, language: str) -> VoiceChoice:
        """Piper's ``joe`` for English, espeak-ng's voice of the language otherwise (`EspeakSpeech.voice_for`)."""
        return self._engine(language).voice_for(language)

    async def synthesize(self, line: Line) -> SpeechResult:
        """Speak `line` with the engine of its language; see `PiperSpeech` and `EspeakSpeech` for errors."""
        return await self._engine(line.language).synthesize(line)


class SilentSpeech:
    """No voice: each line becomes silence as long as its text would take to say (the language's speaking rate
    in ``tools.languages``), so subtitles keep their timing. The Critic does not look for speech in it."""

    name = "none"
    offline = True

    def __init__(self, cache: ToolCache) -> None:
        self.cache = cache

    def voice_for(self, language: str) -> VoiceChoice:
        """The silent voice, for any language."""
        return VoiceChoice(engine="none", voice="silent", language=primary_subtag(language),
                           reason="a render without a voice was asked for (--tts none)")  # fmt: skip

    async def synthesize(self, line: Line) -> SpeechResult:
        """Silence for `line` (cached) lasting its estimated speaking time × Line.rate; onset 0."""
        lang = LANGUAGES.get(primary_subtag(line.language), LANGUAGES["en"])

        async def render(text: str) -> Finished:
            seconds = max(0.5, len(text) / lang.chars_per_second * line.rate)
            samples = np.zeros(round(seconds * SILENT_RATE), dtype=np.float32)
            return Finished(samples, SILENT_RATE, seconds, 0.0, estimate_silent_words(text, seconds))

        result = await cached_synthesis(self.cache, self.name, SILENT_VERSION, line, render)
        return result.model_copy(update={"voice": "silent"})

