"""Speech adapters: piper (offline default), espeak-ng (offline last resort), edge-tts (online,
opt-in, falls back to piper). All write trimmed mono 16-bit WAV and report measured onset/duration."""

from __future__ import annotations

from tools.cache import ToolCache
from tools.errors import ToolError
from tools.protocols import Speech
from tools.speech.base import PAD_BEFORE, estimate_words
from tools.speech.edge import EdgeSpeech, FallbackSpeech
from tools.speech.espeak import EspeakSpeech
from tools.speech.piper import PiperSpeech

BACKENDS = ("piper", "edge", "espeak")


def make_speech(name: str, cache: ToolCache) -> Speech:
    """'piper' (default), 'espeak', or 'edge' — the latter wrapped to fall back to piper offline."""
    key = name.strip().lower()
    if key == "piper":
        return PiperSpeech(cache)
    if key == "espeak":
        return EspeakSpeech(cache)
    if key == "edge":
        return FallbackSpeech(EdgeSpeech(cache), PiperSpeech(cache))
    raise ToolError(f"unknown speech back-end {name!r}; choose one of {', '.join(BACKENDS)}")


__all__ = [
    "BACKENDS",
    "PAD_BEFORE",
    "EdgeSpeech",
    "EspeakSpeech",
    "FallbackSpeech",
    "PiperSpeech",
    "estimate_words",
    "make_speech",
]
