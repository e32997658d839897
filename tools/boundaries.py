"""Shot boundaries found in the frames, hard cuts and transitions alike.

`probe.detect_cuts` finds abrupt cuts only; a 0.5 s crossfade changes the picture a little each frame
and slips under it. Comparing each frame with the one `span` seconds later turns both into the same
shape — a plateau of large differences centred on the boundary — while camera moves within a shot
stay low, because a push-in or pan changes a frame far less than a change of subject does.
"""

from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import numpy.typing as npt


def gray_frames(path: str | Path, width: int = 48) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float32]]:
    """(times, frames) of every frame, grey and `width` wide: small enough to hold a whole ad."""
    times: list[float] = []
    frames: list[npt.NDArray[np.float32]] = []
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        height = max(2, round(width * stream.height / stream.width))
        for frame in container.decode(stream):
            if frame.pts is None or frame.time_base is None:
                continue
            times.append(float(frame.pts * frame.time_base))
            img = frame.reformat(width=width, height=height, format="gray").to_ndarray()
            frames.append(img.astype(np.float32))
    return np.asarray(times), np.stack(frames)


def boundary_strength(frames: npt.NDArray[np.float32], k: int) -> npt.NDArray[np.float64]:
    """Mean absolute difference between frame i-k and i+k (0 where the window leaves the clip)."""
    out = np.zeros(len(frames))
    if len(frames) > 2 * k:
        out[k:-k] = np.abs(frames[2 * k :] - frames[: -2 * k]).mean(axis=(1, 2))
    return out


def detect_boundaries(
    path: str | Path, span: float = 0.4, threshold: float | None = None, min_gap: float = 0.8
) -> list[float]:
    """Times of shot boundaries (centre of each plateau of the span-difference)."""
    times, frames = gray_frames(path)
    if len(times) < 3:
        return []
    fps = (len(times) - 1) / max(times[-1] - times[0], 1e-6)
    k = max(1, round(span * fps))
    strength = boundary_strength(frames, k)
    level = (
        threshold
        if threshold is not None
        else max(10.0, 2.5 * float(np.median(strength[k:-k] if len(strength) > 2 * k else strength)))
    )
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
