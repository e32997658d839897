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


def detect_boundaries(
    path: str | Path, span: float = 0.4, threshold: float | None = None, min_gap: float = 0.8
) -> list[float]:
    """Times (s) of shot boundaries: the strength-weighted centre of each plateau above ``threshold``
    (default: 3 × the median strength, and at least a quarter of the pixels changing colour bin — within a
    shot, moving graphics stay under that; a change of shot is far above it)."""
    times, hists = colour_histograms(path)
    if len(times) < 3:
        return []
    fps = (len(times) - 1) / max(times[-1] - times[0], 1e-6)
    k = max(1, round(span * fps))
    strength = boundary_strength(hists, k)
    inner = strength[k:-k] if len(strength) > 2 * k else strength
    level = threshold if threshold is not None else max(0.5, 3.0 * float(np.median(inner)))
    above = strength > level
    found: list[float] = []
    i = 0
    while i < len(above):
        if not above[i]:
            i += 1
            continue
        j = i
        while j + 1 < len(above) and above[j + 1]:
            j += 1
        # weight the run by strength: a cut's plateau is flat, a transition's peaks at its middle
        idx = np.arange(i, j + 1)
        centre = float(np.average(times[idx], weights=strength[idx]))
        if not found or centre - found[-1] >= min_gap:
            found.append(centre)
        i = j + 1
    return found
