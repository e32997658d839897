"""Pure planning maths shared by agents and tools: beat grids, beat-aligned shot boundaries and the
clip spans a transition chain needs. No I/O, so each function is testable on its own."""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass


def fit_bpm(duration: float, bpm: float, beats_per_bar: int = 4) -> float:
    """The tempo nearest `bpm` at which `duration` holds a whole number of bars, so the last cut and
    the video's end both land on a downbeat."""
    seconds_per_bar = beats_per_bar * 60.0 / bpm
    bars = max(1, round(duration / seconds_per_bar))
    return bars * beats_per_bar * 60.0 / duration


def beat_grid(bpm: float, duration: float, offset: float = 0.0) -> list[float]:
    """Beat times (s, rounded to 1 µs) every 60/bpm s from `offset` up to `duration` inclusive; [offset]
    alone when not one period fits."""
    period = 60.0 / bpm
    n = math.floor((duration - offset) / period + 1e-9)
    return [round(offset + i * period, 6) for i in range(n + 1)]


def snap_to_grid(t: float, grid: Sequence[float]) -> float:
    """The time of `grid` nearest `t` (s); on a tie the one listed first. Raises ValueError on an empty grid."""
    return min(grid, key=lambda g: abs(g - t))


def distance_to_grid(t: float, grid: Sequence[float]) -> float:
    """Seconds (≥ 0) from `t` to the nearest time of `grid`: the Critic's off-beat measure of a cut. Raises
    ValueError on an empty grid."""
    return min(abs(g - t) for g in grid)


def beat_aligned_boundaries(
    weights: Sequence[float], duration: float, bpm: float, min_seconds: Sequence[float] | None = None
) -> list[float]:
    """Split `duration` into len(weights) shots proportional to `weights`, every boundary on a beat
    and every shot at least one beat long (and at least `min_seconds[i]`, rounded up to whole beats,
    when those fit together). Returns the n+1 boundaries [0, ..., duration]."""
    n = len(weights)
    period = 60.0 / bpm
    total_beats = round(duration / period)
    if total_beats < n:
        raise ValueError(f"{duration:.2f}s at {bpm:.1f} bpm holds {total_beats} beats, fewer than {n} shots")
    wsum = float(sum(weights))
    cum, beats = 0.0, [0]
    for w in weights[:-1]:
        cum += w
        beats.append(round(cum / wsum * total_beats))
    beats.append(total_beats)
    for i in range(1, n + 1):  # keep every shot >= 1 beat, pushing later boundaries right
        beats[i] = max(beats[i], beats[i - 1] + 1)
    for i in range(n - 1, 0, -1):  # and pull back from the end if that overran
        beats[i] = min(beats[i], beats[i + 1] - 1)
    if min_seconds is not None:
        beats = _hold_minimums(beats, [max(1, math.ceil(m / period - 1e-6)) for m in min_seconds])
    return [round(b * period, 6) for b in beats[:-1]] + [round(duration, 6)]


def _hold_minimums(beats: list[int], minimum: list[int]) -> list[int]:
    """Boundaries (in beats) moved so that shot i spans at least minimum[i] beats: rounding to the grid
    can cut a shot up to a beat below what its speech needs. Beats come from the shots with the most
    to spare; when the minimums do not fit together, the boundaries stay as they are."""
    lengths = [b - a for a, b in itertools.pairwise(beats)]
    if sum(minimum) > sum(lengths):
        return beats
    for i, need in enumerate(minimum):
        while lengths[i] < need:
            donor = max(range(len(lengths)), key=lambda j: lengths[j] - minimum[j])
            lengths[donor] -= 1
            lengths[i] += 1
    return [0, *itertools.accumulate(lengths)]


@dataclass(frozen=True)
class Grid:
    """A beat grid: tempo (beats per minute) and the time of its first beat (s)."""

    bpm: float
    offset: float = 0.0


def grid_of(beats: Sequence[float]) -> Grid:
    """The tempo and phase of delivered beat times (median spacing; the first beat as offset). Needs at
    least two beats."""
    if len(beats) < 2:
        raise ValueError("a beat grid needs at least two beats")
    period = float(sorted(b - a for a, b in itertools.pairwise(beats))[(len(beats) - 1) // 2])
    return Grid(bpm=60.0 / period, offset=float(beats[0]) % period)


def snap_boundaries(boundaries: Sequence[float], grid: Sequence[float]) -> list[float]:
    """Interior boundaries moved to the nearest time of ``grid``; the first and last stay, and a boundary
    whose nearest grid time would not leave its shot longer than zero keeps its place."""
    out = [boundaries[0]]
    for b, nxt in itertools.pairwise(boundaries[1:]):
        snapped = snap_to_grid(b, grid)
        out.append(round(snapped, 6) if out[-1] < snapped < nxt else b)
    return [*out, boundaries[-1]]


@dataclass(frozen=True)
class ClipSpan:
    """Which part of the output timeline a clip must cover once transitions overlap it."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        """Seconds the clip must run: its shot plus half of each adjoining transition."""
        return self.end - self.start


def clip_spans(boundaries: Sequence[float], transition_seconds: Sequence[float]) -> list[ClipSpan]:
    """Transition i (between shot i-1 and i) is centred on boundary i, so shot i's clip runs from
    b_i - d_i/2 to b_{i+1} + d_{i+1}/2. `transition_seconds[0]` is ignored (no shot before)."""
    n = len(boundaries) - 1
    d = [0.0, *list(transition_seconds[1:n]), 0.0]
    return [ClipSpan(boundaries[i] - d[i] / 2, boundaries[i + 1] + d[i + 1] / 2) for i in range(n)]
