"""`ragvid sid encode VIDEO|IMAGE`: the D-SIDs read back from a render (the issue's round trip), measured on real
renders of the shipped examples, which the style renders never saw (they show other products: ragvid.style_renders)."""

from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import pytest
from typer.testing import CliRunner

from rag_recsys.tokenizers import default_tokenizer
from ragvid.commands.sid import sid_app
from tests.conftest import EXAMPLES
from tools.ffmpeg import shipped

pytestmark = pytest.mark.slow
runner = CliRunner()
NAMES = ("coffee", "skincare", "sneakers")


@dataclass
class RoundTrip:
    sid: dict[str, Any]  # the example SID file the video was made from
    video: Path  # the render, soft subtitle track and all
    stripped: Path  # the same with its subtitle track removed: the words must come from OCR


def _encode(media: Path, out: Path, *extra: str) -> tuple[dict[str, Any], str]:
    result = runner.invoke(sid_app, ["encode", str(media), "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    return json.loads(out.read_text()), result.output


@pytest.fixture(scope="module")
def trips(fast_example, tmp_path_factory: pytest.TempPathFactory) -> dict[str, RoundTrip]:  # type: ignore[no-untyped-def]
    d = tmp_path_factory.mktemp("sid-video")
    out: dict[str, RoundTrip] = {}
    for name in NAMES:
        video = fast_example(name).video
        stripped = d / f"{name}.stripped.mp4"
        shipped().run(["-y", "-v", "error", "-i", str(video), "-map", "0", "-map", "-0:s", "-c", "copy", str(stripped)],
                      what="stripping the subtitle track")  # fmt: skip
        out[name] = RoundTrip(json.loads((EXAMPLES / f"{name}.json").read_text()), video, stripped)
    return out


@pytest.fixture(scope="module")
def read_back(trips: dict[str, RoundTrip], tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    d = tmp_path_factory.mktemp("read-back")
    return {name: _encode(trip.stripped, d / f"{name}.sid.json")[0] for name, trip in trips.items()}


def test_stripped_renders_have_no_subtitle_track(trips: dict[str, RoundTrip]) -> None:
    for trip in trips.values():
        with av.open(str(trip.stripped)) as c:
            assert not c.streams.subtitles and c.streams.video and c.streams.audio


Trips = dict[str, RoundTrip]
ReadBack = dict[str, dict[str, Any]]


def test_content_code_survives_the_round_trip(trips: Trips, read_back: ReadBack) -> None:
    """From OCR alone, every example's full content path: its first line read, the product name, is coded as its
    SID file's product is."""
    assert {n: read_back[n]["content"] for n in NAMES} == {n: trips[n].sid["content"] for n in NAMES}


def test_creative_path_survives_the_round_trip(trips: Trips, read_back: ReadBack) -> None:
    """From the measured creative vector alone, against the style renders (which showed other products)."""
    assert {n: read_back[n]["creative"] for n in NAMES} == {n: trips[n].sid["creative"] for n in NAMES}


def _plain(text: str) -> str:
    """Casefolded, accents dropped: OCR reads "Lumière" as "Lumiere" as often as not."""
    return "".join(c for c in unicodedata.normalize("NFKD", text.casefold()) if not unicodedata.combining(c))


def test_words_read_become_the_meta(trips: Trips, read_back: ReadBack) -> None:
    for name in NAMES:
        meta = read_back[name]["meta"]
        read = _plain(" ".join([meta["product"], *meta["selling_points"]]))
        product = _plain(trips[name].sid["meta"]["product"])
        assert product.split()[0] in read, (name, read)  # the brand-like first word of the product name
        assert meta["language"] == "en"


def test_the_soft_track_is_read_first(trips: dict[str, RoundTrip], tmp_path: Path) -> None:
    trip = trips["coffee"]
    sid, output = _encode(trip.video, tmp_path / "coffee.sid.json")
    assert "words from subtitle_track" in output
    assert sid["content"][0] == trip.sid["content"][0]


def test_an_image_gets_a_creative_path_and_its_words(trips: dict[str, RoundTrip], tmp_path: Path) -> None:
    frame = tmp_path / "title.png"  # the title is on screen in the first seconds
    shipped().run(["-y", "-v", "error", "-ss", "1.5", "-i", str(trips["coffee"].video), "-frames:v", "1", str(frame)],
                  what="extracting a frame")  # fmt: skip
    sid, output = _encode(frame, tmp_path / "frame.sid.json")
    assert "words from ocr" in output
    assert default_tokenizer().lexicon.has_creative(sid["creative"])  # a still: the path of a video that never moves
    assert "aurora" in sid["meta"]["product"].lower()


def test_a_video_without_words_is_refused_by_name(tmp_path: Path) -> None:
    blank = tmp_path / "blank.mp4"
    shipped().run(["-y", "-v", "error", "-f", "lavfi", "-i", "color=c=gray:s=180x320:d=2", "-c:v", "libx264",
                   str(blank)], what="making a blank video")  # fmt: skip
    result = runner.invoke(sid_app, ["encode", str(blank), "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 2
    assert "TEXT: blank.mp4 carries no words" in result.output
    assert not (tmp_path / "x.json").exists()


def test_text_options_do_not_apply_to_a_video(tmp_path: Path) -> None:
    video = tmp_path / "any.mp4"
    result = runner.invoke(sid_app, ["encode", str(video), "--style", "warm", "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "--style: applies to product text" in result.output


def test_a_missing_video_is_named(tmp_path: Path) -> None:
    result = runner.invoke(sid_app, ["encode", str(tmp_path / "gone.mp4"), "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 2 and "gone.mp4" in result.output and "not found" in result.output


def _with_track(tmp_path: Path, name: str, srt: str, language: str) -> Path:
    (tmp_path / f"{name}.srt").write_text(srt, encoding="utf-8")
    out = tmp_path / f"{name}.mp4"
    shipped().run(["-y", "-v", "error", "-f", "lavfi", "-i", "color=c=0x2b1d14:s=180x320:d=3", "-f", "lavfi",
                   "-i", "sine=f=220:d=3", "-i", str(tmp_path / f"{name}.srt"), "-map", "0", "-map", "1", "-map", "2",
                   "-c:v", "libx264", "-c:a", "aac", "-c:s", "mov_text", "-metadata:s:s:0", f"language={language}",
                   str(out)], what="making a video with a subtitle track")  # fmt: skip
    return out


def test_words_in_a_language_the_tokenizer_does_not_read_are_named_as_the_videos(tmp_path: Path) -> None:
    video = _with_track(tmp_path, "th", "1\n00:00:00,200 --> 00:00:02,500\nเมล็ดกาแฟคั่วเข้ม\n", "tha")
    result = runner.invoke(sid_app, ["encode", str(video), "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 2
    line = result.output.strip()
    assert line.startswith("error: TEXT: the words read from th.mp4 (subtitle_track) cannot get content codes")
    assert "Hindi only" in line and "--selling-point" not in line
    assert not (tmp_path / "x.json").exists()


def test_chinese_words_of_a_video_are_coded(tmp_path: Path) -> None:
    video = _with_track(tmp_path, "zh", "1\n00:00:00,200 --> 00:00:02,500\n深烘意式咖啡豆\n", "zho")
    sid, _ = _encode(video, tmp_path / "x.json")
    tok = default_tokenizer()
    assert tok.nearest_category("深烘意式咖啡豆", sid["content"])[0].startswith("Food, Beverages & Tobacco > Beverages")


def test_the_track_gives_the_language_and_a_contradicting_flag_is_a_warning(tmp_path: Path) -> None:
    video = _with_track(tmp_path, "en", "1\n00:00:00,200 --> 00:00:02,500\nAurora single-origin coffee beans\n", "eng")
    sid, _ = _encode(video, tmp_path / "en.json")
    assert sid["meta"]["language"] == "en"
    result = runner.invoke(sid_app, ["encode", str(video), "--language", "es", "-o", str(tmp_path / "es.json")])
    assert result.exit_code == 0
    assert "warning: en.mp4's subtitle track is tagged 'en', --language says 'es'" in result.output


@pytest.mark.parametrize(("name", "content"), [("fake.mp4", b"not a video"), ("fake.png", b"\x89PNG\r\n\x1a\nbroken")])
def test_an_undecodable_file_is_bad_input_naming_it(tmp_path: Path, name: str, content: bytes) -> None:
    (tmp_path / name).write_bytes(content)
    result = runner.invoke(sid_app, ["encode", str(tmp_path / name), "-o", str(tmp_path / "x.json")])
    assert result.exit_code == 2
    assert f"error: TEXT: {tmp_path / name}: cannot be read as a video or image" in result.output


def test_media_ragvid_does_not_read_is_never_encoded_as_product_text(tmp_path: Path) -> None:
    for text in ("clip.avi", str(tmp_path)):
        result = runner.invoke(sid_app, ["encode", text, "-o", str(tmp_path / "x.json")])
        assert result.exit_code == 2 and "not a video or image ragvid reads (.jpeg, .jpg, .m4v" in result.output


def test_decode_points_a_video_to_encode(tmp_path: Path) -> None:
    result = runner.invoke(sid_app, ["decode", str(tmp_path / "out.mp4")])
    assert result.exit_code == 2 and "ragvid sid encode" in result.output
