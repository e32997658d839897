"""tools.mp4: subtitle tracks of an ffmpeg-made MP4 switched off in place, nothing else touched."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

from tools.errors import InputError
from tools.ffmpeg import shipped
from tools.mp4 import disable_subtitle_tracks

SRT = "1\n00:00:00,200 --> 00:00:01,000\nhello\n"


@pytest.fixture()
def with_track(tmp_path: Path) -> Path:
    (tmp_path / "t.srt").write_text(SRT, encoding="utf-8")
    out = tmp_path / "t.mp4"
    shipped().run(["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x64:d=1", "-f", "lavfi",
                   "-i", "sine=d=1", "-i", str(tmp_path / "t.srt"), "-map", "0", "-map", "1", "-map", "2",
                   "-c:v", "libx264", "-c:a", "aac", "-c:s", "mov_text", "-disposition:s:0", "0",
                   "-movflags", "+faststart", str(out)], what="making a test MP4")  # fmt: skip
    return out


def _dispositions(path: Path) -> dict[str, bool]:
    with av.open(str(path)) as c:
        return {s.type: bool(s.disposition & av.stream.Disposition.default) for s in c.streams}


def test_ffmpeg_enables_the_subtitle_track_and_disabling_it_keeps_the_rest(with_track: Path) -> None:
    # the reason tools.mp4 exists: -disposition 0 is not honoured by the MP4 muxer
    assert _dispositions(with_track) == {"video": True, "audio": True, "subtitle": True}
    size = with_track.stat().st_size
    assert disable_subtitle_tracks(with_track) == 1
    assert _dispositions(with_track) == {"video": True, "audio": True, "subtitle": False}
    assert with_track.stat().st_size == size
    assert disable_subtitle_tracks(with_track) == 0  # idempotent
    with av.open(str(with_track)) as c:  # still decodes, track and all
        # mov_text fills gaps with empty (2-byte) samples; "hello" is one sample of 2 + 5 bytes
        texts = [bytes(p)[2:] for p in c.demux(c.streams.subtitles[0]) if p.size > 2]
    assert texts == [b"hello"]


def test_a_file_without_moov_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "not.mp4"
    bad.write_bytes(b"\x00\x00\x00\x10free" + b"\x00" * 8)
    with pytest.raises(InputError, match=r"not\.mp4: moov"):
        disable_subtitle_tracks(bad)


def test_a_box_with_an_impossible_size_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x00\x10\x00moov" + b"\x00" * 8)
    with pytest.raises(InputError, match=r"broken\.mp4: boxes: malformed MP4"):
        disable_subtitle_tracks(bad)
