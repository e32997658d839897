"""Draft renders (`ragvid.drafts`): measured, not trusted — streams, duration, the soft track's words, the cuts and
the tempo the settings asked for, the cache, and hostile text kept literal."""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest

from ragvid.drafts import DURATION_S, HEIGHT, WIDTH, DraftSettings, draft_lines, render_draft, render_drafts
from tools.escape import track_text
from tools.video.measures import measure_video
from tools.video.words import subtitle_track

META = {"product": "Lumen Rechargeable Desk Lamp", "brand": "Lumen",
        "selling_points": ["Three warm light settings", "Charges over USB-C in two hours"]}  # fmt: skip
SETTINGS = DraftSettings(hue=20, saturation=0.7, value=0.5, contrast=0.25, shot_s=1.5, motion=0.5, tempo_bpm=120,
                         music_db=-12)  # fmt: skip


@pytest.fixture(scope="module")
def draft(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_draft(META, SETTINGS, tmp_path_factory.mktemp("drafts"))


def test_a_draft_is_a_six_second_h264_aac_mp4_with_a_soft_track_not_on_by_default(draft: Path) -> None:
    with av.open(str(draft)) as container:
        video = container.streams.video[0]
        assert (video.codec_context.name, video.width, video.height) == ("h264", WIDTH, HEIGHT)
        assert container.streams.audio[0].codec_context.name == "aac"
        subtitle = container.streams.subtitles[0]
        assert subtitle.codec_context.name == "mov_text"
        assert not subtitle.disposition & av.stream.Disposition.default
        assert abs(float(container.duration / av.time_base) - DURATION_S) < 0.1


def test_the_track_carries_the_words_in_order_spread_over_the_clip(draft: Path) -> None:
    cues = subtitle_track(draft)
    assert cues is not None
    assert [" ".join(c.text.split()) for c in cues] == draft_lines(META)
    assert cues[0].start_s == pytest.approx(0, abs=0.05) and cues[-1].end_s == pytest.approx(DURATION_S, abs=0.05)


def test_the_measured_cuts_and_tempo_are_the_settings(draft: Path) -> None:
    measured = measure_video(draft)
    # shots of 1.5 s over 6 s: cuts at 1.5, 3.0 and 4.5 s
    assert len(measured.cut_times_s) == 3, measured.cut_times_s
    assert np.allclose(measured.cut_times_s, [1.5, 3.0, 4.5], atol=0.1)
    assert measured.tempo_bpm is not None and abs(measured.tempo_bpm - SETTINGS.tempo_bpm) < 4
    assert measured.motion_energy > 0  # the band sweeps


def test_a_cached_draft_is_not_rendered_again_and_other_settings_are(draft: Path) -> None:
    before = draft.stat().st_mtime_ns
    assert render_draft(META, SETTINGS, draft.parent) == draft
    assert draft.stat().st_mtime_ns == before
    faster = SETTINGS.model_copy(update={"shot_s": 1.0})
    other = render_drafts([(META, faster)], draft.parent, workers=1, progress=lambda _line: None)[0]
    assert other != draft and len(measure_video(other).cut_times_s) == 5


def test_hostile_words_stay_literal(tmp_path: Path) -> None:
    hostile = "Ad' ; rm -rf / :x=1 \\N {\\b1} %{pts} [out]"
    out = render_draft({"product": hostile}, SETTINGS, tmp_path)
    cues = subtitle_track(out)
    # the track keeps every character; braces and backslashes as their fullwidth forms (`track_text`)
    assert cues is not None and " ".join(cues[0].text.split()) == " ".join(track_text(hostile).split())
    assert "pts" in cues[0].text and "rm -rf" in cues[0].text


def test_a_draft_without_words_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no product, selling point or brand"):
        render_draft({"product": "  ", "selling_points": []}, SETTINGS, tmp_path)


def test_the_settings_space_is_a_latin_hypercube_within_every_bound() -> None:
    points = DraftSettings.space(10, seed=3)
    assert points == DraftSettings.space(10, seed=3) and points != DraftSettings.space(10, seed=4)
    for name, field in DraftSettings.model_fields.items():
        values = np.array([getattr(p, name) for p in points])
        lo = next(m.ge for m in field.metadata if getattr(m, "ge", None) is not None)
        hi = next(getattr(m, "le", None) or m.lt for m in field.metadata
                  if getattr(m, "le", None) is not None or getattr(m, "lt", None) is not None)  # fmt: skip
        strata = np.floor((values - lo) / (hi - lo) * 10).astype(int)
        assert sorted(strata.tolist()) == list(range(10)), name  # each tenth of the range once
