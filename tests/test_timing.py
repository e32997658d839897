"""Planning maths: beat grids, beat-aligned boundaries, clip spans under transitions."""

from __future__ import annotations

import itertools

import pytest

from tools.timing import beat_aligned_boundaries, beat_grid, clip_spans, distance_to_grid, fit_bpm


@pytest.mark.parametrize("duration,bpm", [(15, 100), (20, 96), (23.7, 120), (30, 70)])
def test_fit_bpm_holds_whole_bars_and_stays_near(duration: float, bpm: float) -> None:
    fitted = fit_bpm(duration, bpm)
    bars = duration / (4 * 60 / fitted)
    assert abs(bars - round(bars)) < 1e-9
    assert abs(fitted - bpm) / bpm < 0.2


def test_boundaries_on_grid_cover_duration_and_follow_weights() -> None:
    bpm = fit_bpm(20, 100)
    b = beat_aligned_boundaries([1, 2, 1, 1, 3], 20, bpm)
    grid = beat_grid(bpm, 20)
    assert b[0] == 0 and b[-1] == 20
    assert all(distance_to_grid(t, grid) < 1e-6 for t in b)
    lengths = [y - x for x, y in itertools.pairwise(b)]
    assert lengths[1] > lengths[0] and lengths[4] > lengths[3]
    assert all(length >= 60 / bpm - 1e-9 for length in lengths)


def test_boundaries_refuse_more_shots_than_beats() -> None:
    with pytest.raises(ValueError, match="fewer than"):
        beat_aligned_boundaries([1] * 10, 3, 60)


def test_clip_spans_overlap_by_half_transitions() -> None:
    spans = clip_spans([0, 4, 8, 12], [0, 0.5, 0.0])
    assert [(s.start, s.end) for s in spans] == [(0, 4.25), (3.75, 8.0), (8.0, 12)]
