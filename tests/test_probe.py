"""Probing with PyAV and ffmpeg's detectors, on small files made by ffmpeg's own test sources."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.errors import ToolError
from tools.ffmpeg import shipped
from tools.probe import (
    black_intervals,
    detect_cuts,
    frame_diffs,
    frames,
    frozen_intervals,
    probe,
    top_level_atoms,
)


def make(out: Path, vf: str, *extra: str, faststart: bool = True, audio: bool = True) -> Path:
    args = ["-f", "lavfi", "-i", vf]
    if audio:
        args += [
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=44100:duration=3",
            "-c:a",
            "aac",
            "-shortest",
        ]
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", *extra]
    if faststart:
        args += ["-movflags", "+faststart"]
    shipped().run([*args, str(out)], what="making a probe fixture")
    return out


def test_probe_streams_and_faststart(tmp_path: Path) -> None:
    f = make(tmp_path / "a.mp4", "testsrc2=s=160x284:r=25:d=2")
    info = probe(f)
    assert info.duration == pytest.approx(2.0, abs=0.05) and info.has_faststart
    v, a = info.video, info.audio
    assert v is not None and (v.codec, v.width, v.height, v.fps, v.pix_fmt) == (
        "h264",
        160,
        284,
        25.0,
        "yuv420p",
    )
    assert a is not None and (a.codec, a.sample_rate, a.channels) == ("aac", 44100, 1)
    slow = make(tmp_path / "b.mp4", "testsrc2=s=160x284:r=25:d=1", faststart=False, audio=False)
    assert not probe(slow).has_faststart
    assert top_level_atoms(slow).index("mdat") < top_level_atoms(slow).index("moov")
    with pytest.raises(ToolError):
        probe(tmp_path / "missing.mp4")


def test_frames_and_cuts(tmp_path: Path) -> None:
    # red for 1 s, then moving test pattern for 1 s, then blue: cuts at 1.0 and 2.0
    graph = (
        "color=c=red:s=96x160:r=30:d=1[a];testsrc2=s=96x160:r=30:d=1[b];color=c=blue:s=96x160:r=30:d=1[c];"
        "[a][b][c]concat=n=3:v=1:a=0"
    )
    f = make(tmp_path / "c.mp4", graph, audio=False)
    red, blue = frames(f, [0.5, 2.5], size=(48, 80))
    assert red.shape == (80, 48, 3) and red[..., 0].mean() > 200 and blue[..., 2].mean() > 200
    times, diffs = frame_diffs(f)
    assert len(times) == len(diffs) == 89
    cuts = detect_cuts(f)
    assert len(cuts) == 2
    assert cuts[0] == pytest.approx(1.0, abs=2 / 30) and cuts[1] == pytest.approx(2.0, abs=2 / 30)


def test_black_and_frozen(tmp_path: Path) -> None:
    graph = "color=c=black:s=96x160:r=30:d=1[a];testsrc2=s=96x160:r=30:d=1[b];[a][b]concat=n=2:v=1:a=0"
    f = make(tmp_path / "d.mp4", graph, audio=False)
    (black,) = black_intervals(f)
    assert black[0] == pytest.approx(0.0, abs=0.05) and black[1] == pytest.approx(1.0, abs=0.05)
    frozen = frozen_intervals(f)
    assert frozen and frozen[0][0] < 0.1 and 0.9 < frozen[0][1] < 1.1  # the still black second
    moving = make(tmp_path / "e.mp4", "testsrc2=s=96x160:r=30:d=1", audio=False)
    assert frozen_intervals(moving) == [] and black_intervals(moving) == []
