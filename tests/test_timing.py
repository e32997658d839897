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


def test_boundaries_hold_minimum_lengths_that_fit() -> None:
    bpm = fit_bpm(15, 110)
    period = 60 / bpm
    weights = [2.6, 3.9, 2.9, 3.0, 2.6]
    needs = [2.3, 3.6, 2.6, 2.7, 2.3]  # what measured speech asks for: rounding alone cuts shot 3 short
    plain = beat_aligned_boundaries(weights, 15, bpm)
    held = beat_aligned_boundaries(weights, 15, bpm, min_seconds=needs)
    lengths = [y - x for x, y in itertools.pairwise(held)]
    assert all(length >= need - 1e-6 for length, need in zip(lengths, needs, strict=True))
    assert any(y - x < need for (x, y), need in zip(itertools.pairwise(plain), needs, strict=True))
    assert held[0] == 0 and held[-1] == 15
    assert all(distance_to_grid(t, beat_grid(bpm, 15)) < 1e-6 for t in held)
    assert all(abs(length / period - round(length / period)) < 1e-4 for length in lengths[:-1])
    # minimums that cannot all fit leave the proportional split alone
    assert beat_aligned_boundaries(weights, 15, bpm, min_seconds=[5.0] * 5) == plain


def test_boundaries_refuse_more_shots_than_beats() -> None:
    with pytest.raises(ValueError, match="fewer than"):
        beat_aligned_boundaries([1] * 10, 3, 60)


def test_clip_spans_overlap_by_half_transitions() -> None:
    spans = clip_spans([0, 4, 8, 12], [0, 0.5, 0.0])
    assert [(s.start, s.end) for s in spans] == [(0, 4.25), (3.75, 8.0), (8.0, 12)]
