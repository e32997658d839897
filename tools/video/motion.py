"""Procedural motion graphics for shots with no footage: an animated gradient in the palette with
moving bars, soft orbs and a light sweep. The seed picks the layout, so consecutive shots look
different (a cut between two of them is visible), and something moves every frame."""

from __future__ import annotations

import colorsys
import math
import random
from collections.abc import Iterator
from functools import partial

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

from tools.cache import content_key
from tools.models import Clip, ClipRequest
from tools.video._encode import FrameGenerator, frame_count
from tools.vocabulary import Palette

VERSION = "1"


def _rgb(hex_color: str) -> tuple[int, int, int]:
    h = hex_color.strip().lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    try:
        return int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16)
    except ValueError:
        return (40, 40, 60)


def _lift(c: tuple[int, int, int], min_value: float) -> tuple[int, int, int]:
    # a black or near-black palette would read as a black frame to QC (and to viewers): keep the
    # hue, raise the HSV value to a floor
    r, g, b = (x / 255 for x in c)
    h, s, v = colorsys.rgb_to_hsv(r, g, b)
    r2, g2, b2 = colorsys.hsv_to_rgb(h, s, max(v, min_value))
    return round(r2 * 255), round(g2 * 255), round(b2 * 255)


def _gradient(
    w: int, h: int, c0: tuple[int, int, int], c1: tuple[int, int, int], angle: float
) -> Image.Image:
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (x - w / 2) * math.cos(angle) + (y - h / 2) * math.sin(angle)
    t = (t - t.min()) / max(1e-6, float(t.max() - t.min()))
    t = t * t * (3 - 2 * t)
    a, b = np.array(c0, np.float32), np.array(c1, np.float32)
    img = a[None, None, :] * (1 - t[..., None]) + b[None, None, :] * t[..., None]
    return Image.fromarray(img.clip(0, 255).astype(np.uint8)).convert("RGBA")


def _orb(radius: int, color: tuple[int, int, int], alpha: int) -> Image.Image:
    size = radius * 2 + 8
    mask = Image.new("L", (size, size), 0)
    ImageDraw.Draw(mask).ellipse((4, 4, size - 4, size - 4), fill=alpha)
    mask = mask.filter(ImageFilter.GaussianBlur(radius=max(1.5, radius / 18)))
    orb = Image.new("RGBA", (size, size), (*color, 0))
    orb.putalpha(mask)
    return orb


def _bar(
    length: int, thickness: int, color: tuple[int, int, int], alpha: int, angle_deg: float
) -> Image.Image:
    bar = Image.new("RGBA", (length, thickness), (*color, alpha))
    return bar.rotate(angle_deg, resample=Image.Resampling.BICUBIC, expand=True)


def _sweep(w: int, h: int, alpha: int) -> Image.Image:
    # a soft diagonal band of light, wider than the frame is tall so it crosses corner to corner
    bw = max(8, w // 3)
    x = np.linspace(-1, 1, bw, dtype=np.float32)
    a = (np.exp(-(x**2) * 6) * alpha).astype(np.uint8)
    band = Image.new("RGBA", (bw, h * 2), (255, 255, 255, 0))
    band.putalpha(Image.fromarray(np.repeat(a[None, :], h * 2, 0)))
    return band.rotate(-20, resample=Image.Resampling.BICUBIC, expand=True)


def render_motion_frames(
    palette: Palette, seed: int, duration: float, w: int, h: int, fps: int, variant: int = 0
) -> Iterator[bytes]:
    """Yield rgba frames. All sprites are built once; each frame is a crop of a drifting gradient plus
    alpha-composited sprites at new positions. An odd ``variant`` (another take) runs the gradient through
    the accent and text colours instead: a pale look's shots would otherwise all be near-white."""
    rng = random.Random(seed)
    n = frame_count(duration, fps)
    bg = _lift(_rgb(palette.background), 0.22)
    surface = _lift(_rgb(palette.surface), 0.35)
    accent = _lift(_rgb(palette.accent), 0.5)
    text = _rgb(palette.text)
    # consecutive seeds alternate the gradient's colours (dark→surface, then surface→accent tint), so
    # neighbouring shots differ in overall colour, not just in layout
    tint = (
        round(0.55 * surface[0] + 0.45 * accent[0]),
        round(0.55 * surface[1] + 0.45 * accent[1]),
        round(0.55 * surface[2] + 0.45 * accent[2]),
    )
    c0, c1 = (bg, surface) if seed % 2 == 0 else (tint, bg)
    if variant % 2:
        deep = tuple(round(0.5 * a + 0.5 * t) for a, t in zip(accent, text, strict=True))
        c0, c1 = accent, (deep[0], deep[1], deep[2])
    angle = rng.uniform(0, 2 * math.pi)
    mx, my = int(w * 0.25), int(h * 0.25)
    grad = _gradient(w + 2 * mx, h + 2 * my, c0, c1, angle)
    drift = (rng.uniform(-1, 1), rng.uniform(-1, 1))

    layout = seed % 3  # bars / orbs / both, rotated through by consecutive seeds
    sprites: list[tuple[Image.Image, float, float, float, float]] = []  # img, x0, y0, vx, vy (px/s)
    speed = w * rng.uniform(0.08, 0.16)
    if layout in (0, 2):
        ang = rng.choice([-30.0, -15.0, 15.0, 30.0, 90.0, 0.0])
        for _ in range(rng.randint(2, 4)):
            col = rng.choice([accent, surface, text])
            bar = _bar(
                int(w * rng.uniform(0.8, 1.6)),
                max(2, int(w * rng.uniform(0.02, 0.08))),
                col,
                rng.randint(60, 150),
                ang,
            )
            sx = rng.uniform(-0.5, 0.5) * w
            sy = rng.uniform(0.0, 1.0) * h - bar.height / 2
            dirn = rng.choice([-1, 1])
            sprites.append((bar, sx, sy, dirn * speed * rng.uniform(0.6, 1.4), 0.0))
    if layout in (1, 2):
        for _ in range(rng.randint(2, 4)):
            col = rng.choice([accent, surface, accent])
            r = int(w * rng.uniform(0.12, 0.32))
            orb = _orb(r, col, rng.randint(70, 170))
            sx = rng.uniform(-0.2, 0.9) * w
            sy = rng.uniform(-0.1, 0.9) * h
            a = rng.uniform(0, 2 * math.pi)
            v = speed * rng.uniform(0.4, 1.0)
            sprites.append((orb, sx, sy, v * math.cos(a), v * math.sin(a)))
    sweep = _sweep(w, h, rng.randint(50, 90))
    sweep_period = rng.uniform(1.8, 3.2)
    sweep_phase = rng.uniform(0, 1)

    for i in range(n):
        t = i / fps
        # the gradient window circles slowly; rounding is invisible on a smooth gradient
        gx = round(mx + mx * 0.8 * math.sin(0.6 * t + drift[0] * 3))
        gy = round(my + my * 0.8 * math.cos(0.5 * t + drift[1] * 3))
        frame = grad.crop((gx, gy, gx + w, gy + h))
        for img, sx, sy, vx, vy in sprites:
            x = sx + vx * t
            y = sy + vy * t
            # wrap around so sprites keep crossing the frame for any duration
            span_x, span_y = w + img.width, h + img.height
            x = (x + img.width) % span_x - img.width
            y = (y + img.height) % span_y - img.height
            _blit(frame, img, x, y)
        # two sweeps half a period apart: one is always well inside the frame, so every frame
        # changes measurably whatever the sprites are doing
        for offset in (0.0, 0.5):
            ph = ((t / sweep_period) + sweep_phase + offset) % 1.0
            sx = -sweep.width + ph * (w + sweep.width)
            _blit(frame, sweep, sx, (h - sweep.height) / 2)
        yield frame.tobytes()


def _blit(frame: Image.Image, sprite: Image.Image, x: float, y: float) -> None:
    ix, iy = round(x), round(y)
    # alpha_composite wants non-negative destinations: crop the sprite instead
    sx0, sy0 = max(0, -ix), max(0, -iy)
    dx0, dy0 = max(0, ix), max(0, iy)
    wv = min(sprite.width - sx0, frame.width - dx0)
    hv = min(sprite.height - sy0, frame.height - dy0)
    if wv <= 0 or hv <= 0:
        return
    frame.alpha_composite(sprite, dest=(dx0, dy0), source=(sx0, sy0, sx0 + wv, sy0 + hv))


class MotionGraphics(FrameGenerator):
    """Offline procedural clips in the request's palette; `seed` picks the layout. Any camera motion is
    accepted: graphics animate on their own, whatever the plan's camera."""

    name = "motion_graphics"

    def key(self, request: ClipRequest) -> str:
        """The cache key of `request`: palette, size, fps, duration and seed (the camera does not change the
        pixels)."""
        payload = request.model_dump(mode="json", exclude={"shot_id", "image", "prompt", "camera"})
        return content_key(self.name, VERSION, payload)

    async def generate(self, request: ClipRequest) -> Clip:
        """Procedural graphics in the request's palette, layout from its seed, as an MP4 at its size and fps
        (cached). Raises ToolError when encoding fails."""

        frames = partial(render_motion_frames, request.palette, request.seed, request.duration, request.width,
                         request.height, request.fps, request.variant)  # fmt: skip
        return await self.encoded(request, self.key(request), frames, pix_fmt="rgba")
