"""What every speech back-end shares: trimming, onset measurement, word-timing estimates, writing the
WAV and caching the result with its measurements."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import soundfile as sf

from tools.audio_measure import first_onset, rms_envelope, speech_intervals
from tools.cache import ToolCache, content_key, temp_beside
from tools.errors import InputError, ToolError
from tools.models import Line, SpeechResult, WordTiming

PAD_BEFORE = 0.060  # s kept before the first voiced sample so consonant attacks are not clipped
PAD_AFTER = 0.080  # s kept after the last voiced sample: room for the release of the final phoneme
PEAK = 10 ** (-1.0 / 20)  # -1 dBFS: headroom for resampling overshoot in the mixer
EDGE_DB = -40.0  # relative to the loudest window: below this a line's edge counts as silence


@dataclass
class Rendered:
    """A back-end's raw output before the shared finishing steps."""

    samples: npt.NDArray[np.float32]
    sr: int
    # (word, start, end) in seconds of `samples`, when the back-end reports them
    words: list[tuple[str, float, float]] | None = None


@dataclass
class Finished:
    """A line after the shared finishing steps: trimmed float32 mono samples at ``sr`` Hz, their duration (s),
    the measured onset (s) and word timings relative to the start of ``samples``."""

    samples: npt.NDArray[np.float32]
    sr: int
    duration: float
    onset: float
    words: list[WordTiming]


def trim(
    samples: npt.NDArray[np.float32], sr: int, pad_before: float = PAD_BEFORE, pad_after: float = PAD_AFTER
) -> tuple[npt.NDArray[np.float32], float]:
    """Cut leading/trailing silence, keeping exactly `pad_before` before the voice (padding with zeros
    if the engine left less) and `pad_after` after. Returns (samples, shift): a time t in the input is
    t - shift in the output."""
    x = samples.astype(np.float32, copy=False).reshape(-1)
    window, hop = 0.01, 0.0025
    env, hop_s = rms_envelope(x, sr, window, hop)
    if env.size == 0 or env.max() <= 0:
        raise ToolError("speech engine produced silence")
    voiced = np.flatnonzero(env > env.max() * 10 ** (EDGE_DB / 20))
    first = round(voiced[0] * hop_s * sr)
    last = min(x.size, round((voiced[-1] * hop_s + window) * sr))
    lead_n, tail_n = round(pad_before * sr), round(pad_after * sr)
    start = first - lead_n
    body = x[max(0, start) : min(x.size, last + tail_n)].copy()
    if start < 0:
        body = np.concatenate([np.zeros(-start, dtype=np.float32), body])
    # short fades so the cut points never click, even where the cut lands mid-breath
    f = min(round(0.005 * sr), body.size // 2)
    if f > 0:
        ramp = np.linspace(0.0, 1.0, f, dtype=np.float32)
        body[:f] *= ramp
        body[-f:] *= ramp[::-1]
    peak = float(np.max(np.abs(body)))
    if peak > 0:
        body *= PEAK / peak
    return body, start / sr


_TOKEN_WEIGHT = re.compile(r"[A-Za-z\u00C0-\uFFFF]")


def _word_weight(word: str) -> float:
    # Spoken length tracks letters; digits and symbols expand when read out ("$49" -> "forty-nine
    # dollars"), so they weigh more. A heuristic, which is why these timings are labelled estimates.
    letters = len(_TOKEN_WEIGHT.findall(word))
    digits = sum(ch.isdigit() for ch in word)
    symbols = sum(ch in "$€£%&+@" for ch in word)
    return max(1.0, letters + 3.0 * digits + 5.0 * symbols)


def estimate_words(text: str, samples: npt.NDArray[np.float32], sr: int, onset: float) -> list[WordTiming]:
    """ESTIMATED word timings: the measured voiced time is shared among the words in proportion to
    a per-word length weight. Only voiced time is shared out (pauses between sentences are skipped),
    so a word never lands inside a measured silence; within a phrase, error is typically a syllable."""
    words = text.split()
    if not words:
        return []
    voiced = speech_intervals(samples, sr, threshold_db=_relative_threshold(samples, sr), min_silence=0.15)
    spans = [(max(s, onset), e) for s, e in voiced if e > onset]
    if not spans:
        spans = [(onset, samples.size / sr)]
    lengths = np.array([e - s for s, e in spans])
    cum_voiced = np.concatenate([[0.0], np.cumsum(lengths)])
    total = float(cum_voiced[-1])

    def at(v: float) -> float:
        """Voiced-time position v -> file time."""
        i = int(np.clip(np.searchsorted(cum_voiced, v, side="right") - 1, 0, len(spans) - 1))
        return spans[i][0] + min(v - cum_voiced[i], lengths[i])

    weights = np.array([_word_weight(w) for w in words])
    edges = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * total
    out: list[WordTiming] = []
    for w, a, b in zip(words, edges[:-1], edges[1:], strict=True):
        # a word starting exactly at a span's end belongs to the next span, not the pause before it
        start = at(a + 1e-6) if a > 0 else at(0.0)
        end = at(b)
        out.append(WordTiming(word=w, start=round(start, 3), end=round(max(end, start), 3)))
    return out


def estimate_silent_words(text: str, seconds: float) -> list[WordTiming]:
    """Word timings for a line that is not spoken: ``seconds`` shared among the words by their length weight."""
    words = text.split()
    if not words:
        return []
    weights = np.array([_word_weight(w) for w in words])
    edges = np.concatenate([[0.0], np.cumsum(weights)]) / weights.sum() * seconds
    return [WordTiming(word=w, start=round(float(a), 3), end=round(float(b), 3))
            for w, a, b in zip(words, edges[:-1], edges[1:], strict=True)]  # fmt: skip


def _relative_threshold(samples: npt.NDArray[np.float32], sr: int) -> float:
    env, _ = rms_envelope(samples, sr)
    peak = float(env.max()) if env.size else 0.0
    # 35 dB under the loudest 20 ms separates voice from breath and vocoder hiss on TTS output
    return 20 * float(np.log10(max(peak, 1e-6))) - 35.0


def finish(text: str, raw: Rendered) -> Finished:
    """Trim `raw`, measure its onset and place its words: the engine's boundaries shifted by the trim (and
    clamped to the WAV), else `estimate_words`. Raises ToolError when the engine produced silence."""
    body, shift = trim(raw.samples, raw.sr)
    onset = first_onset(body, raw.sr, relative_db=EDGE_DB)
    if onset is None:
        raise ToolError("speech engine produced silence")
    duration = body.size / raw.sr
    if raw.words:
        words = [
            WordTiming(
                word=w,
                start=round(min(max(0.0, s - shift), duration), 3),
                end=round(min(max(0.0, e - shift), duration), 3),
            )
            for w, s, e in raw.words
        ]
    else:
        words = estimate_words(text, body, raw.sr, onset)
    return Finished(body, raw.sr, duration, onset, words)


def primary_subtag(language: str) -> str:
    """The primary subtag of a BCP 47 tag, lower-cased: ``"zh-Hans-CN"`` → ``"zh"``."""
    return re.split(r"[-_]", language.strip().lower())[0]


def no_voice(language: str, why: str) -> InputError:
    """The error for a language a speech tool has no voice for: what is missing, and the two ways on."""
    return InputError(
        "meta.language",
        f"no voice speaks {language!r}: {why}; use --tts auto (espeak-ng voices for every supported language) "
        "or --tts none for a render without a voice",
    )


def write_wav(path: Path, samples: npt.NDArray[np.float32], sr: int) -> None:
    """Write float `samples` (mono, [-1, 1]) as a 16-bit PCM WAV at `sr` Hz."""
    sf.write(str(path), samples, sr, subtype="PCM_16", format="WAV")


def check_text(line: Line) -> str:
    """The text of `line` with its whitespace collapsed. Raises ToolError when it is empty or longer than 2000
    characters (a planning bug)."""
    text = " ".join(line.text.split())
    if not text:
        raise ToolError(f"line {line.line_id!r} has no text to speak")
    if len(text) > 2000:  # a narration line; anything this long is a planning bug, not a script
        raise ToolError(f"line {line.line_id!r} is {len(text)} characters; split it into lines")
    return text


async def cached_synthesis(
    cache: ToolCache,
    backend: str,
    version: str,
    line: Line,
    render: Callable[[str], Awaitable[Finished]],
) -> SpeechResult:
    """Run `render` once per (backend, version, line) and keep the WAV plus its measurements.

    The measurements go to a JSON sidecar written before the WAV is renamed into place, so a cached
    WAV always has them (the cache's atomic rename is what marks an entry complete)."""
    text = check_text(line)
    key = content_key(backend, version, line)
    meta_path = cache.path_for(key, ".json")

    async def make(tmp: Path) -> None:
        done = await render(text)
        write_wav(tmp, done.samples, done.sr)
        meta = {
            "duration": done.duration,
            "onset": done.onset,
            "words": [w.model_dump() for w in done.words],
            "sample_rate": done.sr,
        }
        meta_tmp = temp_beside(meta_path)
        meta_tmp.write_text(json.dumps(meta))
        os.replace(meta_tmp, meta_path)

    path, hit = await cache.get_or_create(key, ".wav", make)
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError):
        # a sidecar lost after the fact: the WAV is still good, so re-measure rather than re-synthesise
        samples, sr = sf.read(str(path), dtype="float32")
        onset = first_onset(samples, sr, relative_db=EDGE_DB) or 0.0
        meta = {
            "duration": samples.size / sr,
            "onset": onset,
            "words": [w.model_dump() for w in estimate_words(text, samples, sr, onset)],
        }
    return SpeechResult(
        line_id=line.line_id,
        path=path,
        duration=float(meta["duration"]),
        onset=float(meta["onset"]),
        words=[WordTiming(**w) for w in meta["words"]],
        backend=backend,
        cached=hit,
    )
