"""Speech adapters: ``auto`` (the default: piper for English, espeak-ng for every other language), piper,
espeak-ng, edge-tts (online, opt-in, falls back to ``auto``) and ``none`` (no voice). All write trimmed mono
16-bit WAV and report measured onset/duration, and say which voice speaks a language (``voice_for``)."""

from __future__ import annotations

from typing import get_args

from tools.cache import ToolCache
from tools.errors import ToolError
from tools.models import SpeechName
from tools.protocols import Speech
from tools.speech.base import PAD_BEFORE, estimate_words
from tools.speech.edge import EdgeSpeech, FallbackSpeech
from tools.speech.espeak import EspeakSpeech
from tools.speech.piper import PiperSpeech
from tools.speech.voices import LanguageSpeech, SilentSpeech

BACKENDS: tuple[SpeechName, ...] = get_args(SpeechName)


def make_speech(name: str, cache: ToolCache) -> Speech:
    """'auto' (default), 'piper', 'espeak', 'none', or 'edge' — the latter wrapped to fall back to 'auto' offline."""
    key = name.strip().lower()
    if key == "auto":
        return LanguageSpeech(cache)
    if key == "piper":
        return PiperSpeech(cache)
    if key == "espeak":
        return EspeakSpeech(cache)
    if key == "none":
        return SilentSpeech(cache)
    if key == "edge":
        return FallbackSpeech(EdgeSpeech(cache), LanguageSpeech(cache))
    raise ToolError(f"unknown speech back-end {name!r}; choose one of {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS",
    "PAD_BEFORE",
    "EdgeSpeech",
    "EspeakSpeech",
    "FallbackSpeech",
    "LanguageSpeech",
    "PiperSpeech",
    "SilentSpeech",
    "SpeechName",
    "estimate_words",
    "make_speech",
]
