"""Procedural BGM: exact length, beats on the grid, accents on cuts, tonal content, level, speed."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
from scipy import signal

from tools.cache import ToolCache
from tools.errors import ToolError
from tools.models import BgmSpec
from tools.music import MOODS, SR, ProceduralMusic, parse_key, render, resolve_mood
from tools.protocols import Music, Tool
from tools.timing import beat_grid


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> ToolCache:
    return ToolCache(tmp_path_factory.mktemp("music-cache"))


def band_rms(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    sos = signal.butter(4, [lo, hi], btype="bandpass", fs=SR, output="sos")
    return signal.sosfilt(sos, x)


def window_rms(x: np.ndarray, t0: float, t1: float) -> float:
    seg = x[max(0, int(t0 * SR)) : int(t1 * SR)]
    return float(np.sqrt(np.mean(seg**2)) + 1e-12)


async def test_compose_writes_exact_length_48k_stereo(cache: ToolCache) -> None:
    spec = BgmSpec(mood="warm", bpm=97.0, duration=7.3333, beat_offset=0.25, accent_times=[0.25, 3.96])
    music: Music = ProceduralMusic(cache)  # mypy checks the protocol structurally
    assert isinstance(music, Tool) and music.offline
    track = await music.compose(spec)
    info = sf.info(str(track.path))
    assert (info.channels, info.samplerate, info.subtype) == (2, 48_000, "PCM_16")
    assert info.frames == round(7.3333 * SR)
    assert track.duration == pytest.approx(7.3333, abs=1 / SR)
    assert track.beats == beat_grid(97.0, track.duration, 0.25)
    assert not track.cached
    again = await ProceduralMusic(cache).compose(spec)
    assert again.cached and again.path == track.path


@pytest.mark.parametrize("mood", sorted(MOODS))
def test_every_mood_is_clean_and_deterministic(mood: str) -> None:
    spec = BgmSpec(mood=mood, bpm=120, duration=30.0, accent_times=[0, 8.0, 16.0, 24.0], seed=3)
    x, beats = render(spec)
    assert x.shape == (30 * SR, 2) and len(beats) == 61
    peak = 20 * np.log10(np.max(np.abs(x)))
    assert peak == pytest.approx(-3.0, abs=0.05)  # headroom, never clipping
    rms = 20 * np.log10(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
    assert -26 < rms < -12  # a full mix, not a few blips nor a wall of noise
    # fades out over the last bar, to silence
    assert window_rms(x[:, 0], 29.9, 30.0) < 0.05 * window_rms(x[:, 0], 10.0, 20.0)
    x2, _ = render(spec)
    assert np.array_equal(x, x2)
    x3, _ = render(spec.model_copy(update={"seed": 4}))
    assert not np.array_equal(x, x3)


def test_kicks_land_on_the_beats() -> None:
    x, beats = render(BgmSpec(mood="pop", bpm=110, duration=12.0, beat_offset=0.4))
    low = band_rms(x[:, 0].astype(np.float64), 40, 140)
    period = 60 / 110
    on = [window_rms(low, b, b + 0.06) for b in beats[1:-3]]
    off = [window_rms(low, b - 0.1, b - 0.02) for b in beats[1:-3]]
    assert np.median(np.array(on) / np.array(off)) > 2.0
    assert beats[0] == pytest.approx(0.4) and beats[1] - beats[0] == pytest.approx(period, abs=1e-5)


def test_accents_hit_at_the_cuts() -> None:
    base = BgmSpec(mood="cinematic", bpm=100, duration=12.0)
    cuts = [3.6, 7.2]
    plain, _ = render(base)
    accented, _ = render(base.model_copy(update={"accent_times": cuts}))
    hi_plain = band_rms(plain[:, 0].astype(np.float64), 4000, 12000)
    hi_acc = band_rms(accented[:, 0].astype(np.float64), 4000, 12000)
    for c in cuts:
        after = window_rms(hi_acc, c, c + 0.15) / window_rms(hi_plain, c, c + 0.15)
        assert 20 * np.log10(after) > 6  # a crash you can hear
        # the riser builds into the cut: more energy just before than a beat earlier
        assert window_rms(hi_acc, c - 0.15, c) > window_rms(hi_acc, c - 1.2, c - 1.05)


def test_harmony_is_the_key_chord() -> None:
    # ambient in C holds a C major triad (G3 C4 E4) for its first two bars: peaks at those pitches
    x, _ = render(BgmSpec(mood="ambient", bpm=90, duration=5.0, key="C"))
    seg = x[int(0.5 * SR) : int(4.5 * SR), 0].astype(np.float64)
    spectrum = np.abs(np.fft.rfft(seg * np.hanning(seg.size)))
    freqs = np.fft.rfftfreq(seg.size, 1 / SR)

    def level(hz: float) -> float:
        return float(spectrum[(freqs > hz * 0.99) & (freqs < hz * 1.01)].max())

    chord = [level(hz) for hz in (196.0, 261.63, 329.63)]
    off_key = [level(hz) for hz in (185.0, 277.18, 311.13)]  # F#3, C#4, D#4
    assert min(chord) > 10 * max(off_key)


def test_moods_keys_and_aliases() -> None:
    assert resolve_mood("Cinematic") == "cinematic"
    assert resolve_mood("upbeat, energetic") == "pop"
    assert resolve_mood("something unheard of") == "warm"
    assert parse_key("F#") == (6, (0, 2, 4, 5, 7, 9, 11))
    assert parse_key("Am")[0] == 9 and parse_key("Am")[1][2] == 3
    assert parse_key("Bb major")[0] == 10
    with pytest.raises(ToolError, match="key"):
        parse_key("H#")
