"""The issue's acceptance, measured on rendered videos (real piper, real ffmpeg, real MiniLM): the demo at
full resolution, the other renders at the fast profile (tests/conftest.py).

Every figure comes from the output: the container via PyAV, boundaries from frame differences, speech
onsets and ducking from the rendered stems, loudness from ffmpeg's ebur128, the CTA card from pixels.
"""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import av
import pytest

from agents.critic import colour_share
from graphs.state import ASPECTS
from rag_recsys.embedding import get_text_encoder
from tests.conftest import EXAMPLES, Rendered, render
from tools.audio_measure import integrated_lufs_sync, load_mono, rms_db_in, rms_db_outside, speech_intervals
from tools.boundaries import detect_boundaries
from tools.probe import frames, probe
from tools.profiles import PROFILES
from tools.subtitles import read_ass_events
from tools.video.words import subtitle_track

pytestmark = pytest.mark.slow


def chosen(record: dict[str, Any], agent: str) -> dict[str, Any]:
    """The agent's output that the final render used (the latest at or before the chosen round)."""
    r = record["chosen_round"]
    entries = [rd[agent] for rd in record["rounds"] if rd[agent] is not None and rd["round"] <= r]
    return entries[-1]


def test_demo_is_accepted(demo: Rendered) -> None:
    """`make demo` is a video the Critic accepts: exit 0, no open finding, no ``rejected:`` line."""
    assert demo.cli.code == 0
    assert demo.record["accepted"] is True and demo.record["final"]["accepted"] is True
    assert demo.record["open_findings"] == []
    assert demo.cli.stderr.strip().splitlines()[-1].startswith(f"wrote {demo.video} ")


def test_demo_container(demo: Rendered) -> None:
    info = probe(demo.video)
    v, a = info.video, info.audio
    assert v is not None and a is not None
    assert (v.codec, v.width, v.height) == ("h264", 1080, 1920)
    assert v.fps is not None and abs(v.fps - 30) < 0.01
    assert a.codec == "aac"
    assert 15.0 <= info.duration <= 30.0
    assert info.has_faststart


def _spoken(record: dict[str, Any]) -> list[tuple[float, float, str]]:
    """The burned-in spoken lines (style Sub) as (start, end, text without whitespace)."""
    events = read_ass_events(Path(record["final"]["subtitles"]))
    return [(e.start, e.end, "".join(e.text.split())) for e in events if e.style == "Sub"]


def test_demo_carries_its_spoken_lines_as_a_soft_subtitle_track(demo: Rendered) -> None:
    """Beside the burned-in text: a mov_text track in the copy's language, off by default, one cue per spoken line
    with the burned-in line's text and times."""
    with av.open(str(demo.video)) as container:
        (stream,) = container.streams.subtitles
        assert (stream.codec_context.name, stream.language) == ("mov_text", "eng")
        assert not stream.disposition & av.stream.Disposition.default
    cues = subtitle_track(demo.video)
    assert cues is not None
    spoken = _spoken(demo.record)
    assert len(spoken) >= 3 and len(cues) == len(spoken)
    for cue, (start, end, text) in zip(cues, spoken, strict=True):
        assert "".join(cue.text.split()) == text
        assert cue.start_s == pytest.approx(start, abs=0.011) and cue.end_s == pytest.approx(end, abs=0.011)


def test_demo_shot_boundaries_are_in_the_frames(demo: Rendered) -> None:
    found = detect_boundaries(demo.video)
    visual = chosen(demo.record, "visual")["output"]
    effect = chosen(demo.record, "effect")["output"]
    planned = visual["boundaries"][1:-1]
    assert len(planned) >= 3, "fewer than 4 shots planned"
    assert len([t for t in found if t < visual["duration"] - 0.5]) >= 3, f"found only {found}"
    for b, d in zip(planned, effect["transition_seconds"], strict=True):
        assert any(abs(t - b) <= 0.2 + d / 2 for t in found), f"no cut/transition near {b:.2f}s in {found}"


def _voice_intervals(record: dict[str, Any]) -> list[tuple[float, float]]:
    voice, sr = load_mono(record["final"]["stems"]["voice"])
    return speech_intervals(voice, sr)


def test_demo_music_ducks_under_voice(demo: Rendered) -> None:
    voiced = _voice_intervals(demo.record)
    assert len(voiced) >= 4
    music, sr = load_mono(demo.record["final"]["stems"]["music_ducked"])
    duration = probe(demo.video).duration
    under, outside = rms_db_in(music, sr, voiced), rms_db_outside(music, sr, voiced, duration)
    assert outside - under >= 6.0, f"music only {outside - under:.1f} dB quieter under the voice"


def test_demo_subtitles_start_at_measured_speech_onsets(demo: Rendered) -> None:
    onsets = [a for a, _ in _voice_intervals(demo.record)]
    cues = [e for e in read_ass_events(Path(demo.record["final"]["subtitles"])) if e.style == "Sub"]
    assert len(cues) >= 4
    for cue in cues:
        nearest = min(onsets, key=lambda t: abs(t - cue.start))
        assert abs(nearest - cue.start) <= 0.25, f"cue '{cue.text}' at {cue.start:.2f}s, speech at {nearest:.2f}s"


def test_demo_ends_on_cta_card(demo: Rendered) -> None:
    duration = probe(demo.video).duration
    box = chosen(demo.record, "effect")["output"]["cta"]["box_color"]
    for frame in frames(demo.video, [duration - 1.9, duration - 1.0, duration - 0.1]):
        assert colour_share(frame, box) >= 0.3


def test_demo_loudness(demo: Rendered) -> None:
    assert -15.0 <= integrated_lufs_sync(demo.video) <= -13.0


def test_demo_copy_is_coherent(demo: Rendered) -> None:
    meta = demo.record["inputs"]["sid"]["meta"]
    product_text = demo.record["decoded"]["product_text"]
    lines = [ln["text"] for ln in chosen(demo.record, "audio")["output"]["lines"]]
    effect = chosen(demo.record, "effect")["output"]
    onscreen = [o["text"] for o in effect["overlays"]] + [effect["cta"]["text"]]
    enc = get_text_encoder()
    texts = lines + onscreen
    sims = enc.encode([product_text, *texts])
    to_product = sims[1:] @ sims[0]
    for text, cos in zip(texts, to_product, strict=True):
        assert cos >= 0.35, f"'{text}' has cosine {cos:.2f} to the product"
    line_vecs = enc.encode(lines)
    for (i, a), (j, b) in itertools.combinations(enumerate(line_vecs), 2):
        assert float(a @ b) <= 0.9, f"lines {lines[i]!r} and {lines[j]!r} repeat each other"
    point_vecs = enc.encode(meta["selling_points"])
    for point, vec in zip(meta["selling_points"], point_vecs, strict=True):
        assert max(float(vec @ lv) for lv in line_vecs) >= 0.7, f"selling point {point!r} is not used"


def _variant(tmp: Path, name: str, **meta: Any) -> Path:
    sid = json.loads((EXAMPLES / "coffee.json").read_text())
    sid["meta"] = {**sid["meta"], **meta}
    sid["meta"]["images"] = [str((EXAMPLES / img).resolve()) for img in sid["meta"]["images"]]
    path = tmp / f"{name}.json"
    path.write_text(json.dumps(sid))
    return path


HOSTILE = {
    "product": "Aurora {\\b1}Beans' : \\ % [x]",
    "brand": "drawtext=text='pwn'",
    "selling_points": ["Line one\nline two {\\pos(0,0)} %{pts}", "Emoji ☕🔥 and ; , [ ] { }"],
    "cta": "Order now: 50% off \\N {\\c&H0000FF&}",
}


def test_hostile_meta_renders_literally(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sid = _variant(tmp_path, "hostile", **HOSTILE)
    done = render(run_cli, sid, tmp_path / "hostile.mp4", "--duration", "20")  # room for every line as written
    assert probe(done.video).duration == pytest.approx(20.0, abs=0.1)
    events = read_ass_events(Path(done.record["final"]["subtitles"]))
    # a line break may fall at any UAX #14 opportunity (after "}" too), so texts compare without whitespace
    shown = ["".join(e.text.split()) for e in events]
    effect = chosen(done.record, "effect")["output"]
    planned = [ln["text"] for ln in chosen(done.record, "audio")["output"]["lines"]]
    planned += [o["text"] for o in effect["overlays"]] + [effect["cta"]["text"]]
    # every text the agents planned is on screen exactly as written, markup and all
    for text in planned:
        assert "".join(text.split()) in shown, f"{text!r} is not shown literally"
    joined = "".join(shown)
    for needle in (HOSTILE["product"], HOSTILE["cta"], "{\\pos(0,0)} %{pts}", "☕🔥 and ; , [ ] { }"):
        assert "".join(needle.split()) in joined, f"{needle!r} missing"
    raw = Path(done.record["final"]["subtitles"]).read_text()
    assert "{\\b1}" not in raw and "{\\pos(0,0)}" not in raw, "an override tag reached libass unescaped"
    # the soft track carries each spoken line whole; braces and backslashes as their fullwidth forms
    # (tools.escape.track_text), since ffmpeg's ASS splitter would drop what sits between them
    cues = subtitle_track(done.video)
    assert cues is not None
    fullwidth = str.maketrans({"{": "\uff5b", "}": "\uff5d", "\\": "\uff3c"})
    assert ["".join(c.text.split()) for c in cues] == [t.translate(fullwidth) for _, _, t in _spoken(done.record)]


@pytest.mark.parametrize(
    ("sid", "aspect"),
    [("coffee.json", "1:1"), ("skincare.json", "16:9"), ("skincare.json", "1:1"), ("sneakers.json", "16:9"),
     ("sneakers.json", "1:1")],  # coffee at 9:16 is the demo; one other aspect is enough for it
)  # fmt: skip
def test_every_example_renders(run_cli, tmp_path: Path, sid: str, aspect: str) -> None:  # type: ignore[no-untyped-def]
    done = render(run_cli, EXAMPLES / sid, tmp_path / "out.mp4", "--aspect", aspect)
    info = probe(done.video)
    w, h = (d // PROFILES["fast"].final_divisor for d in ASPECTS[aspect])
    assert info.video is not None and (info.video.width, info.video.height) == (w, h)
    assert -15.0 <= done.record["final"]["lufs"] <= -13.0
    assert info.duration == pytest.approx(12.0, abs=0.1)


def test_edge_tts_falls_back_to_piper_and_says_so(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = render(run_cli, EXAMPLES / "skincare.json", tmp_path / "edge.mp4", "--tts", "edge")
    speech = [c for c in done.record["tool_calls"] if c["tool"] == "speech"]
    assert speech
    if all(c["backend"] == "edge" for c in speech):
        pytest.skip("edge-tts reached its service: nothing to fall back from on this machine")
    # offline (as on CI): every line came from piper, each marked as a fallback, and the run says so
    assert {c["backend"] for c in speech} == {"piper"}
    assert all(c["fallback_from"] == "edge" for c in speech)
    assert any("edge" in w and "piper" in w for w in done.record["warnings"]), done.record["warnings"]
