"""Audio measurements against signals whose answers are known, plus real piper and real music."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tools.audio_measure import (
    FLOOR_DB,
    first_onset,
    integrated_lufs,
    integrated_lufs_sync,
    load_mono,
    onsets,
    peak_db,
    rms_db_in,
    rms_db_outside,
    speech_intervals,
)
from tools.cache import ToolCache
from tools.errors import ToolError
from tools.ffmpeg import shipped
from tools.models import BgmSpec, Line
from tools.music import ProceduralMusic
from tools.speech import PiperSpeech

SR = 48_000


def sine(seconds: float, hz: float = 1000.0, dbfs: float = -20.0, sr: int = SR) -> np.ndarray:
    t = np.arange(round(seconds * sr)) / sr
    return (10 ** (dbfs / 20) * np.sin(2 * np.pi * hz * t)).astype(np.float32)


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> ToolCache:
    return ToolCache(tmp_path_factory.mktemp("cache"))


def test_load_mono_downmixes_and_resamples(tmp_path: Path) -> None:
    left, right = sine(1.0, 440, -6, 44_100), np.zeros(44_100, dtype=np.float32)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([left, right], axis=1), 44_100, subtype="PCM_16")
    x, sr = load_mono(path)
    assert sr == 44_100 and x.dtype == np.float32 and x.size == 44_100
    # FFmpeg's downmix averages the two sides: a one-sided tone drops by 6 dB
    assert peak_db(x) == pytest.approx(-12.0, abs=0.3)
    y, sr16 = load_mono(path, sr=16_000)
    assert sr16 == 16_000 and abs(y.size - 16_000) <= 32


def test_load_mono_decodes_compressed_audio(tmp_path: Path) -> None:
    out = tmp_path / "tone.m4a"
    shipped().run(["-f", "lavfi", "-i", "sine=frequency=440:duration=1.5", "-c:a", "aac", str(out)], what="test")
    x, sr = load_mono(out)
    assert sr == 44_100
    assert x.size / sr == pytest.approx(1.5, abs=0.05)


def test_load_mono_errors_are_tool_errors(tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="not found"):
        load_mono(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not audio at all")
    with pytest.raises(ToolError):
        load_mono(bad)


def test_integrated_lufs_of_a_sine(tmp_path: Path) -> None:
    path = tmp_path / "sine.wav"
    sf.write(path, sine(5.0), SR, subtype="PCM_24")
    # A 1 kHz sine at -20 dBFS peak is -23.0 dBFS RMS; K-weighting adds ~+0.7 dB at 1 kHz and
    # BS.1770's constant subtracts 0.691, so it reads -23.0 LUFS.
    lufs = integrated_lufs_sync(path)
    assert lufs == pytest.approx(-23.0, abs=0.3)
    pyln = pytest.importorskip("pyloudnorm")
    assert lufs == pytest.approx(pyln.Meter(SR).integrated_loudness(sine(5.0).astype(np.float64)), abs=0.3)


async def test_async_lufs_matches_sync_and_gates_silence(tmp_path: Path) -> None:
    path = tmp_path / "two.wav"
    sf.write(path, np.stack([sine(3.0, 500, -12)] * 2, axis=1), SR)
    assert await integrated_lufs(path) == pytest.approx(integrated_lufs_sync(path), abs=0.01)
    quiet = tmp_path / "silence.wav"
    sf.write(quiet, np.zeros(SR * 2, dtype=np.float32), SR)
    assert integrated_lufs_sync(quiet) is None  # below the -70 LUFS gate: silence


def test_intervals_onsets_and_levels_on_known_bursts() -> None:
    x = np.zeros(3 * SR, dtype=np.float32)
    for start, end in ((0.5, 1.0), (1.1, 1.4), (2.0, 2.6)):  # the 0.1 s gap is not a silence
        x[int(start * SR) : int(end * SR)] = sine(end - start + 1, 300, -10)[
            : int(end * SR) - int(start * SR)
        ]
    spans = speech_intervals(x, SR, threshold_db=-35, min_silence=0.25)
    assert len(spans) == 2
    assert spans[0][0] == pytest.approx(0.5, abs=0.02) and spans[0][1] == pytest.approx(1.4, abs=0.03)
    assert spans[1][0] == pytest.approx(2.0, abs=0.02) and spans[1][1] == pytest.approx(2.6, abs=0.03)
    found = onsets(x, SR, min_silence=0.05)
    assert found == pytest.approx([0.5, 1.1, 2.0], abs=0.005)
    assert rms_db_in(x, SR, spans) == pytest.approx(-13.3, abs=0.5)  # includes the 0.1 s gap
    assert rms_db_outside(x, SR, spans, 3.0) == FLOOR_DB
    assert rms_db_in(x, SR, []) == FLOOR_DB
    assert first_onset(np.zeros(100), SR) is None


async def test_onset_of_a_real_line_with_known_padding(cache: ToolCache) -> None:
    result = await PiperSpeech(cache).synthesize(Line(line_id="pad", text="Fresh coffee, anywhere you go."))
    voice, sr = load_mono(result.path)
    pad = 0.5
    padded = np.concatenate(
        [np.zeros(int(pad * sr), dtype=np.float32), voice, np.zeros(sr // 2, dtype=np.float32)]
    )
    measured = first_onset(padded, sr)
    assert measured is not None
    assert measured == pytest.approx(pad + result.onset, abs=0.03)
    spans = speech_intervals(padded, sr, threshold_db=-40)
    assert spans[0][0] == pytest.approx(pad + result.onset, abs=0.03)
    assert spans[-1][1] <= pad + result.duration + 0.01
    # voice is louder inside its intervals than the silent padding around it
    assert rms_db_in(padded, sr, spans) > rms_db_outside(padded, sr, spans, padded.size / sr) + 40


async def test_lufs_of_procedural_music(cache: ToolCache) -> None:
    track = await ProceduralMusic(cache).compose(BgmSpec(mood="pop", bpm=120, duration=8.0))
    lufs = await integrated_lufs(track.path)
    assert -24.0 < lufs < -10.0  # normalised to -3 dBFS peak: a typical mastered-for-mixing level
