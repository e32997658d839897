"""Shot boundaries found in the frames, hard cuts and transitions alike.

`probe.detect_cuts` finds abrupt cuts only; a 0.5 s crossfade changes the picture a little each frame
and slips under it. Comparing each frame with the one `span` seconds later turns both into the same
shape — a plateau of large differences centred on the boundary. What is compared is each frame's
coarse colour histogram, not its pixels: within a shot a camera move or moving graphics rearrange the
same colours (pixel differences of fast graphics are as large as a cut's, so a pixel detector misses
the cuts of an energetic look), while a change of shot changes the colours themselves.

Written here rather than taken from PySceneDetect (whose HistogramDetector compares neighbouring frames
the same way) because that library needs OpenCV, a large dependency for a 48-pixel-wide histogram.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import numpy.typing as npt

BINS = 4  # per RGB channel: 64 colours, coarse enough that noise and small moves stay in their bin


def colour_histograms(
    path: str | Path, width: int = 48
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """(times in s, one normalised BINS³-bin RGB histogram per frame) of every frame, ``width`` wide."""
    times: list[float] = []
    hists: list[npt.NDArray[np.float64]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        height = max(2, round(width * stream.height / stream.width))
        for frame in container.decode(stream):
            if frame.pts is None or frame.time_base is None:
                continue
            times.append(float(frame.pts * frame.time_base))
            q = frame.reformat(width=width, height=height, format="rgb24").to_ndarray() // (256 // BINS)
            idx = (q[..., 0].astype(np.int64) * BINS + q[..., 1]) * BINS + q[..., 2]
            hists.append(np.bincount(idx.ravel(), minlength=BINS**3) / idx.size)
    return np.asarray(times), np.stack(hists) if hists else np.zeros((0, BINS**3))


def boundary_strength(hists: npt.NDArray[np.float64], k: int) -> npt.NDArray[np.float64]:
    """L1 distance (0..2) between the histograms of frame i-k and i+k (0 where the window leaves the clip)."""
    out = np.zeros(len(hists))
    if len(hists) > 2 * k:
        out[k:-k] = np.abs(hists[2 * k :] - hists[: -2 * k]).sum(axis=1)
    return out


SPAN_S = 0.4  # frames this far either side are compared: a 0.5 s dissolve still shows as one plateau
MIN_GAP_S = 0.8  # a plateau closer than this to the previous boundary is part of it
QUIET_QUANTILE = 0.1


def boundary_runs(
    times: npt.ArrayLike,
    hists: npt.ArrayLike,
    span: float = SPAN_S,
    threshold: float | None = None,
    min_gap: float = MIN_GAP_S,
) -> list[tuple[float, float, float]]:
    """Shot boundaries from per-frame times (N,) in seconds and colour histograms (N, BINS³), as (centre, first,
    last) times of each run of frames whose `boundary_strength` (k = ``span`` seconds of frames) is above
    ``threshold``; the centre is the strength-weighted mean time of the run (a cut's plateau is flat, a
    transition's peaks at its middle); a run closer than ``min_gap`` s to the previous boundary is dropped.

    The default threshold is 3 × the strength of quiet frames — the `QUIET_QUANTILE` quantile, so videos cut
    every 1–2 s, where most frames lie within ``span`` of a cut, still have a quiet level (a median would be a
    cut's strength there and hide every cut) — and at least 0.5, a quarter of the pixels changing colour bin:
    within a shot, moving graphics stay under that; a change of shot is far above it. Boundaries less than
    about 2 × ``span`` apart merge into one run."""
    t = np.asarray(times, dtype=np.float64)
    h = np.asarray(hists, dtype=np.float64)
    if t.size < 3:
        return []
    fps = (t.size - 1) / max(float(t[-1] - t[0]), 1e-6)
    k = max(1, round(span * fps))
    strength = boundary_strength(h, k)
    inner = strength[k:-k] if strength.size > 2 * k else strength
    level = threshold if threshold is not None else max(0.5, 3.0 * float(np.quantile(inner, QUIET_QUANTILE)))
    d = np.diff(np.concatenate([[0], (strength > level).astype(np.int8), [0]]))
    found: list[tuple[float, float, float]] = []
    for i, j in zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1) - 1, strict=True):
        centre = float(np.average(t[i : j + 1], weights=strength[i : j + 1]))
        if not found or centre - found[-1][0] >= min_gap:
            found.append((centre, float(t[i]), float(t[j])))
    return found


def detect_boundaries(
    path: str | Path, span: float = SPAN_S, threshold: float | None = None, min_gap: float = MIN_GAP_S
) -> list[float]:
    """Times (s) of the shot boundaries of the video at `path`, from all its frames (`boundary_runs`)."""
    times, hists = colour_histograms(path)
    return [centre for centre, _, _ in boundary_runs(times, hists, span, threshold, min_gap)]
