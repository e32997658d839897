"""Speech adapters with the real piper voice (no fakes): trimming, measured onset, estimated word
timings, rate, caching, concurrency, fallback, espeak-ng's voice per language and the silent voice."""

from __future__ import annotations

import asyncio
import logging
import shutil
import time

import numpy as np
import pytest
import soundfile as sf

from tools.audio_measure import first_onset, load_mono, speech_intervals
from tools.cache import ToolCache
from tools.errors import InputError, ToolError
from tools.languages import LANGUAGES
from tools.models import Line, SpeechResult, VoiceChoice
from tools.protocols import Speech, Tool
from tools.speech import (
    PAD_BEFORE,
    EdgeSpeech,
    EspeakSpeech,
    FallbackSpeech,
    LanguageSpeech,
    PiperSpeech,
    SilentSpeech,
    make_speech,
)
from tools.speech.edge import edge_rate

TEXT = "Meet the new AeroPress Go. Brew barista coffee anywhere, in under a minute."


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> ToolCache:
    return ToolCache(tmp_path_factory.mktemp("speech-cache"))


@pytest.fixture(scope="module")
def piper(cache: ToolCache) -> PiperSpeech:
    return PiperSpeech(cache)


async def test_piper_line_is_trimmed_measured_and_timed(piper: PiperSpeech) -> None:
    r = await piper.synthesize(Line(line_id="l1", text=TEXT))
    assert r.backend == "piper" and not r.cached and r.fallback_from is None
    info = sf.info(str(r.path))
    assert (info.channels, info.samplerate, info.subtype) == (1, 22_050, "PCM_16")
    assert r.duration == pytest.approx(info.frames / info.samplerate, abs=1e-6)
    x, sr = load_mono(r.path)
    # lead-in kept (~60 ms), and the reported onset is what an independent measurement finds
    assert r.onset == pytest.approx(PAD_BEFORE, abs=0.02)
    measured = first_onset(x, sr)
    assert measured is not None and measured == pytest.approx(r.onset, abs=0.01)
    assert np.max(np.abs(x[: int(0.04 * sr)])) < 0.02
    spans = speech_intervals(x, sr, threshold_db=-40)
    assert r.duration - spans[-1][1] < 0.15  # trailing silence trimmed
    assert np.max(np.abs(x)) == pytest.approx(10 ** (-1 / 20), abs=0.01)
    # estimated word timings: one per word, in order, inside the voiced span
    assert [w.word for w in r.words] == TEXT.split()
    assert r.words[0].start == pytest.approx(r.onset, abs=0.01)
    assert r.words[-1].end <= r.duration
    for a, b in zip(r.words, r.words[1:], strict=False):
        assert a.start < a.end <= b.start + 1e-3


async def test_piper_cache_hit_returns_the_same_measurements(piper: PiperSpeech, cache: ToolCache) -> None:
    line = Line(line_id="l1", text=TEXT)
    first = await piper.synthesize(line)
    again = await PiperSpeech(cache).synthesize(line)  # a fresh adapter: the entry is on disk
    assert again.cached and again.path == first.path
    assert (again.duration, again.onset, again.words) == (first.duration, first.onset, first.words)


async def test_rate_is_length_scale(piper: PiperSpeech) -> None:
    text = "Order today and save twenty percent."
    normal = await piper.synthesize(Line(line_id="n", text=text))
    slow = await piper.synthesize(Line(line_id="s", text=text, rate=1.4))
    assert slow.duration > normal.duration * 1.2


async def test_untrusted_text_only_reaches_piper(
    piper: PiperSpeech, tmp_path_factory: pytest.TempPathFactory
) -> None:
    marker = tmp_path_factory.mktemp("inject") / "pwned"
    text = f'Price $(touch {marker}); `touch {marker}` && echo "hi" > {marker} | $49.99!'
    r = await piper.synthesize(Line(line_id="evil", text=text))
    assert r.path.exists() and r.duration > 1.0
    assert not marker.exists()


async def test_concurrent_lines_are_safe(piper: PiperSpeech) -> None:
    lines = [Line(line_id=f"c{i}", text=f"Line number {i}, spoken in parallel.") for i in range(3)]
    results = await asyncio.gather(*(piper.synthesize(line) for line in lines))
    assert len({r.path for r in results}) == 3
    assert all(r.duration > 1.0 and r.onset == pytest.approx(PAD_BEFORE, abs=0.02) for r in results)


async def test_bad_lines_are_clear_errors(piper: PiperSpeech) -> None:
    with pytest.raises(ToolError, match="no text"):
        await piper.synthesize(Line(line_id="e", text="   "))
    with pytest.raises(InputError, match=r"meta\.language: no voice speaks 'fr': piper ships only the English"):
        await piper.synthesize(Line(line_id="f", text="Bonjour", language="fr"))


async def test_piper_real_time_factor(cache: ToolCache, capsys: pytest.CaptureFixture[str]) -> None:
    speech = PiperSpeech(cache)
    await speech.synthesize(Line(line_id="warm", text="Warm up."))  # loads the voice
    t0 = time.perf_counter()
    r = await speech.synthesize(Line(line_id="rtf", text=TEXT + " Free shipping on every order this week."))
    rtf = (time.perf_counter() - t0) / r.duration
    with capsys.disabled():
        print(f"\npiper real-time factor: {rtf:.3f} ({r.duration:.2f}s of speech)")
    assert rtf < 1.0


def test_make_speech_names(cache: ToolCache) -> None:
    assert isinstance(make_speech("auto", cache), LanguageSpeech)
    assert isinstance(make_speech("none", cache), SilentSpeech)
    assert isinstance(make_speech("piper", cache), PiperSpeech)
    assert isinstance(make_speech("espeak", cache), EspeakSpeech)
    edge = make_speech("edge", cache)
    assert isinstance(edge, FallbackSpeech) and edge.offline is False
    adapters: list[Speech] = [PiperSpeech(cache), EspeakSpeech(cache), EdgeSpeech(cache), edge]
    assert all(isinstance(s, Tool) for s in adapters)
    with pytest.raises(ToolError, match="unknown speech back-end"):
        make_speech("festival", cache)


def test_edge_rate_maps_length_scale() -> None:
    assert edge_rate(1.0) == "+0%"
    assert edge_rate(0.8) == "+25%"
    assert edge_rate(1.25) == "-20%"


async def test_edge_falls_back_to_piper_offline_without_hanging(
    cache: ToolCache, caplog: pytest.LogCaptureFixture
) -> None:
    speech = FallbackSpeech(EdgeSpeech(cache, connect_timeout=5, receive_timeout=10), PiperSpeech(cache))
    t0 = time.perf_counter()
    with caplog.at_level(logging.WARNING, logger="ragvid.tools"):
        r = await speech.synthesize(Line(line_id="e1", text="Hello from the fallback path."))
    assert time.perf_counter() - t0 < 20
    if r.fallback_from is None:  # the network is up: Edge answered, with real word boundaries
        assert r.backend == "edge" and len(r.words) == 5
    else:
        assert (r.backend, r.fallback_from) == ("piper", "edge")
        assert any("edge" in rec.getMessage() and "piper" in rec.getMessage() for rec in caplog.records)


class _Down:
    """A primary back-end that is unreachable: every call fails, and is counted."""

    name, offline = "down", False

    def __init__(self) -> None:
        self.calls = 0

    def voice_for(self, language: str) -> VoiceChoice:
        return VoiceChoice(engine="down", voice="v", language=language, reason="test")

    async def synthesize(self, line: Line) -> SpeechResult:
        self.calls += 1
        raise ToolError("unreachable")


async def test_a_failing_primary_is_left_alone_for_a_while_and_the_voice_says_who_spoke(cache: ToolCache) -> None:
    down = _Down()
    speech = FallbackSpeech(down, PiperSpeech(cache))
    assert speech.voice_for("en").engine == "down"
    for i in range(3):
        r = await speech.synthesize(Line(line_id=f"l{i}", text="Roasted every week."))
        assert (r.backend, r.fallback_from) == ("piper", "down")
    assert down.calls == 1  # not once per line
    voice = speech.voice_for("en")
    assert voice.engine == "piper" and "down failed (unreachable)" in voice.reason
    speech.RETRY_AFTER_S = 0.0  # the wait is over: the primary is tried again
    await speech.synthesize(Line(line_id="l3", text="Roasted every week."))
    assert down.calls == 2


async def test_espeak_speaks_each_line_in_its_language(cache: ToolCache) -> None:
    # the README commands install espeak-ng: without it this is the clear error that names the package
    speech = EspeakSpeech(cache)
    if not (shutil.which("espeak-ng") or shutil.which("espeak")):
        with pytest.raises(InputError, match="apt-get install espeak-ng"):
            speech.voice_for("zh")
        return
    en = await speech.synthesize(Line(line_id="en", text="Roasted every week.", language="en"))
    zh = await speech.synthesize(Line(line_id="zh", text="每周新鲜烘焙。", language="zh"))
    assert (en.backend, en.voice, zh.voice) == ("espeak", "en-us", "cmn")
    # seven Han characters read as Mandarin syllables take about two seconds; spelled out by an English
    # voice ("Chinese letter …") they took over ten
    assert 1.0 < zh.duration - zh.onset < 4.0


async def test_auto_speech_follows_the_line_language_and_none_is_silent(cache: ToolCache) -> None:
    auto = LanguageSpeech(cache)
    assert auto.voice_for("en").engine == "piper" and auto.voice_for("en-GB").voice == "joe"
    assert (auto.voice_for("ar").engine, auto.voice_for("ar").voice) == ("espeak-ng", "ar")
    with pytest.raises(InputError, match="'tlh'"):
        auto.voice_for("tlh")
    silent = SilentSpeech(cache)
    r = await silent.synthesize(Line(line_id="s", text="深烘意式咖啡豆。", language="zh"))
    samples, _ = sf.read(str(r.path))
    assert r.backend == "none" and not samples.any()
    assert r.duration == pytest.approx(len("深烘意式咖啡豆。") / LANGUAGES["zh"].chars_per_second, rel=0.01)
