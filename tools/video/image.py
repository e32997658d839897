"""Image-to-video without a model: a camera move over a product photo.

Decoding is strict about what the picture looks like, because a wrong decode fails silently (a 16-bit PNG
clipped to a white rectangle, a CMYK JPEG in negative): every file becomes an upright 8-bit RGB picture —
EXIF orientation applied, 16-bit and 32-bit grey scaled (not clipped) to 8 bits, CMYK JPEGs read with the
ink polarity their Adobe marker declares, transparent areas composited over the shot's palette background.
A photo whose shorter side is under `MIN_SHORT_SIDE` is upscaled (Lanczos) with a warning.

Frames are computed with PIL (sub-pixel affine transforms, so slow moves glide instead of stepping a
pixel at a time as ffmpeg's zoompan does) and piped to x264. When the photo's aspect does not match
the frame, the photo is shown whole over a blurred, darkened cover of itself; near-matching aspects
simply fill the frame. `image_area` says where the photo sits in the frame and `blank_share` how much of
that area is flat, which is how the Critic tells a photo that rendered blank."""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageFilter, ImageOps, JpegImagePlugin

from tools.cache import ToolCache, content_key
from tools.errors import ToolError
from tools.ffmpeg import Ffmpeg
from tools.models import Clip, ClipRequest
from tools.video._encode import FrameGenerator, ease_in_out, frame_count
from tools.vocabulary import CameraMotion

log = logging.getLogger("ragvid.tools")

VERSION = "2"  # 2: decoding fixed (16-bit, CMYK polarity, alpha over the palette background), small photos upscaled

# how far each move travels over the shot: zoom factors and offsets as a fraction of frame width
_ZOOM = 0.14
_PAN = 0.07

# a 1080-wide frame shows a photo ~1000 px wide; below 540 px on its shorter side it is visibly soft there
MIN_SHORT_SIDE = 540
# photos whose aspect is within this log-ratio of the frame's fill it (cover crop) instead of floating in it
_FILL_LOG_ASPECT = 0.12

# Flatness of a tile of the image area, in 8-bit levels. A flat colour comes out of x264 at the draft CRFs
# (30-32) flat to within a level or two, and even grain of σ = 1 level (a noisy blank scan) has std ≈ 1 and a
# mean neighbour step ≈ 1.1; a photographed surface still shows shading or texture at the ~20 px tile scale of
# a draft (the example coffee photo's tiles, 10th percentile: std ≈ 10, step ≈ 2.5). A tile is flat only when both
# figures are under their bound: the step catches fine low-contrast texture that the std alone would pass.
FLAT_STD = 3.0
FLAT_EDGE = 2.0  # mean |step| to the right or lower neighbour
BLANK_GRID = 8  # tiles per side of the image area
# The share of flat tiles from which the area is blank. A photo that decoded to one colour measures 1.0 (the
# Critic leaves out the rows burned-in text can take); the margin below that is for the odd tile a stray
# overlay or a transition's edge breaks. A product on a plain studio backdrop breaks the tiles it covers: a
# product filling a quarter of the photo measures ~0.5-0.7, one filling a tenth ~0.78 at draft size, so only a
# product smaller still would be taken for a blank photo (and makes a weak shot anyway).
BLANK_SHARE = 0.8


class Box(NamedTuple):
    """A pixel box: columns ``x0 ≤ x < x1``, rows ``y0 ≤ y < y1``."""

    x0: int
    y0: int
    x1: int
    y1: int


@dataclass(frozen=True)
class _Pose:
    scale: float  # foreground scale relative to its fitted size
    dx: float  # foreground centre offset, px
    dy: float
    bg_dx: float  # background offset, px (parallax moves it slower than the foreground)
    bg_dy: float


def _pose(camera: CameraMotion, p: float, w: int, h: int) -> _Pose:
    e = ease_in_out(p)
    pan = _PAN * w
    if camera == "push_in":
        return _Pose(1.0 + _ZOOM * e, 0, 0, 0, 0)
    if camera == "pull_out":
        return _Pose(1.0 + _ZOOM * (1 - e), 0, 0, 0, 0)
    if camera == "pan_left":  # the camera turns left, so the scene slides right
        return _Pose(1.0 + _ZOOM, pan * (2 * e - 1), 0, 0.3 * pan * (2 * e - 1), 0)
    if camera == "pan_right":
        return _Pose(1.0 + _ZOOM, -pan * (2 * e - 1), 0, -0.3 * pan * (2 * e - 1), 0)
    if camera == "tilt_up":  # the camera tilts up, so the scene slides down
        return _Pose(1.0 + _ZOOM, 0, pan * (2 * e - 1), 0, 0.3 * pan * (2 * e - 1))
    if camera == "parallax":
        return _Pose(1.06 + 0.04 * e, -1.6 * pan * (2 * e - 1), 0, 0.5 * pan * (2 * e - 1), 0)
    # "static" still drifts by 2%: a perfectly still frame would be a frozen video to any QC check
    return _Pose(1.0 + 0.02 * e, 0, 0, 0, 0)


# ------------------------------------------------------------------------------------------- decoding

_DECODE_ERRORS = (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError)
_SWAPS_SIDES = frozenset({5, 6, 7, 8})  # EXIF orientations that turn the picture a quarter turn


def upright_size(path: Path) -> tuple[int, int]:
    """(width, height) in pixels of the photo at ``path`` as shown upright (EXIF orientations 5-8 swap the
    stored sides), read from the header without decoding the pixels. Raises ToolError when the file is not
    an image Pillow reads."""
    try:
        with Image.open(path) as im:
            w, h = im.size
            orientation = im.getexif().get(0x0112)
    except _DECODE_ERRORS as e:
        raise ToolError(f"cannot read product image {path}: {e}") from e
    return (h, w) if orientation in _SWAPS_SIDES else (w, h)


def small_image_warning(path: Path) -> str | None:
    """The warning for a photo whose upright shorter side is under `MIN_SHORT_SIDE` px (it gets upscaled,
    and looks soft at full size), e.g. ``"image shoe.png is 320x240; upscaled (shorter side under 540 px)"``;
    None for a large enough photo. Raises ToolError as `upright_size` does."""
    w, h = upright_size(path)
    if min(w, h) >= MIN_SHORT_SIDE:
        return None
    return f"image {path.name} is {w}x{h}; upscaled (shorter side under {MIN_SHORT_SIDE} px)"


def _cmyk_polarity(im: Image.Image) -> Image.Image:
    """A CMYK JPEG with its ink values the right way round. Pillow always reads CMYK JPEGs as Adobe-inverted
    (raw mode ``CMYK;I``), which is right for files with an Adobe APP14 marker (Photoshop stores ink
    inverted and says so there), and renders the rest — plain CMYK, as libjpeg writes it without the marker
    — as a negative. libvips and libjpeg's own tools decide by the marker the same way."""
    if im.mode == "CMYK" and isinstance(im, JpegImagePlugin.JpegImageFile) and "adobe" not in im.info:
        return im.point(lambda v: 255 - v)
    return im


def _to_8bit(im: Image.Image) -> Image.Image:
    """Grey deeper than 8 bits (``I;16*``, ``I``, ``F``) scaled to mode L. Pillow's own conversion clips at
    255, which turns a 16-bit photo into a white rectangle. ``I`` holds either 8- or 16-bit samples
    (decoders differ), told apart by its range; ``F`` is taken as 0..1 when it stays within 1.0."""
    arr = np.asarray(im).astype(np.float64)
    top = float(arr.max()) if arr.size else 0.0
    if im.mode.startswith("I;16") or (im.mode in ("I", "F") and top > 255.0):
        scale = 255.0 / 65535.0
    elif im.mode == "F" and top <= 1.0:
        scale = 255.0
    else:
        scale = 1.0
    grey = Image.fromarray(np.clip(np.rint(arr * scale), 0, 255).astype(np.uint8))
    key = im.info.get("transparency")
    if isinstance(key, int | float):  # a 16-bit PNG's tRNS key is a sample value, compared before scaling
        grey = grey.convert("LA")
        grey.putalpha(Image.fromarray(np.where(np.asarray(im) == key, 0, 255).astype(np.uint8)))
    return grey


def decode_product_image(path: Path, background: str = "#FFFFFF") -> Image.Image:
    """The photo at ``path`` as an upright 8-bit RGB picture of its own size (width, height after EXIF
    orientation). Transparent areas (alpha, a palette or tRNS transparency key) are composited over
    ``background`` (``#RRGGBB``; image-to-video passes the shot's palette background, so a cut-out product
    sits on the ad's own colour; white otherwise). Raises ToolError when the file cannot be decoded or its
    colour mode has no RGB conversion."""
    try:
        with Image.open(path) as src:
            im = ImageOps.exif_transpose(_cmyk_polarity(src))
            if im.mode.startswith("I") or im.mode == "F":
                im = _to_8bit(im)
            if im.has_transparency_data:
                rgba = im.convert("RGBA")
                out = Image.new("RGBA", rgba.size, background)
                return Image.alpha_composite(out, rgba).convert("RGB")
            return im.convert("RGB")
    except _DECODE_ERRORS as e:
        raise ToolError(f"cannot read product image {path}: {e}") from e


def upscale_small(img: Image.Image) -> Image.Image:
    """``img`` resized (Lanczos) so its shorter side is `MIN_SHORT_SIDE` px when it is shorter; the aspect
    is kept to the pixel. A large enough image comes back as is."""
    w, h = img.size
    short = min(w, h)
    if short >= MIN_SHORT_SIDE:
        return img
    k = MIN_SHORT_SIDE / short
    size = (MIN_SHORT_SIDE, max(MIN_SHORT_SIDE, round(h * k))) if w == short else (
        max(MIN_SHORT_SIDE, round(w * k)), MIN_SHORT_SIDE)  # fmt: skip
    return img.resize(size, Image.Resampling.LANCZOS)


def load_product_image(path: Path, background: str = "#FFFFFF") -> Image.Image:
    """`decode_product_image` then `upscale_small`: the RGB picture image-to-video animates. Raises
    ToolError as `decode_product_image` does."""
    return upscale_small(decode_product_image(path, background))


# ------------------------------------------------------------------------------------------- placement


def _fills(image_size: tuple[int, int], frame_size: tuple[int, int]) -> bool:
    (iw, ih), (w, h) = image_size, frame_size
    return abs(math.log((iw / ih) / (w / h))) < _FILL_LOG_ASPECT


def _base_scale(image_size: tuple[int, int], frame_size: tuple[int, int], fill: bool) -> float:
    """Frame pixels per photo pixel at rest: cover the frame, or fit the photo whole with room around it."""
    (iw, ih), (w, h) = image_size, frame_size
    return max(w / iw, h / ih) if fill else min(0.92 * w / iw, 0.80 * h / ih)


def image_area(image_size: tuple[int, int], frame_size: tuple[int, int], inset: float = 0.0) -> Box:
    """Where a product photo of ``image_size`` (width, height; any scale, only the aspect counts) sits in a
    ``frame_size`` frame of image-to-video, at rest: the whole frame when the aspects nearly match, else the
    centred fitted box. Mid-shot every camera move is centred and zoomed in at least that far, so the box
    lies on the photo; ``inset`` (a fraction of the box per side, 0 ≤ inset < 0.5) keeps a margin from its
    edges. Assumes an opaque photo, as `load_product_image` makes. Raises ValueError for an inset out of
    range or an empty size."""
    if not 0.0 <= inset < 0.5:
        raise ValueError(f"inset {inset} is not in [0, 0.5)")
    if min(*image_size, *frame_size) <= 0:
        raise ValueError(f"empty size: image {image_size}, frame {frame_size}")
    w, h = frame_size
    base = _base_scale(image_size, frame_size, _fills(image_size, frame_size))
    bw, bh = min(w, image_size[0] * base), min(h, image_size[1] * base)
    x0, y0 = (w - bw) / 2 + inset * bw, (h - bh) / 2 + inset * bh
    x1, y1 = (w + bw) / 2 - inset * bw, (h + bh) / 2 - inset * bh
    return Box(math.ceil(x0), math.ceil(y0), max(math.ceil(x0) + 1, math.floor(x1)),
               max(math.ceil(y0) + 1, math.floor(y1)))  # fmt: skip


def blank_share(frame: np.ndarray, box: Box, grid: int = BLANK_GRID) -> float:
    """The share (0..1) of ``box`` in ``frame`` (H×W×C or H×W, uint8) that is flat: the box is cut into
    ``grid``×``grid`` tiles (fewer when it is smaller), and a tile is flat when, in every channel, its
    standard deviation is under `FLAT_STD` and its mean step between neighbouring pixels under `FLAT_EDGE`
    (8-bit levels). Raises ValueError when the box holds no pixel of the frame."""
    x0, y0 = max(0, box.x0), max(0, box.y0)
    x1, y1 = min(frame.shape[1], box.x1), min(frame.shape[0], box.y1)
    if x1 <= x0 or y1 <= y0:
        raise ValueError(f"box {tuple(box)} holds no pixel of a {frame.shape[1]}x{frame.shape[0]} frame")
    crop = frame[y0:y1, x0:x1].astype(np.float32)
    if crop.ndim == 2:
        crop = crop[..., None]
    crop = crop[..., :3]
    h, w = crop.shape[:2]
    ys = np.linspace(0, h, min(grid, h) + 1).round().astype(int)
    xs = np.linspace(0, w, min(grid, w) + 1).round().astype(int)
    flat = 0
    for ya, yb in itertools.pairwise(ys):
        for xa, xb in itertools.pairwise(xs):
            tile = crop[ya:yb, xa:xb]
            steps = [np.abs(np.diff(tile, axis=a)).mean(axis=(0, 1)) for a in (0, 1) if tile.shape[a] > 1]
            edge = float(np.max(steps)) if steps else 0.0
            std = float(tile.reshape(-1, tile.shape[-1]).std(axis=0).max())
            flat += std < FLAT_STD and edge < FLAT_EDGE
    return flat / ((len(ys) - 1) * (len(xs) - 1))


def is_blank(frame: np.ndarray, box: Box) -> bool:
    """Whether ``box`` of ``frame`` shows no picture: at least `BLANK_SHARE` of it flat (`blank_share`).
    Raises ValueError as `blank_share` does."""
    return blank_share(frame, box) >= BLANK_SHARE


# ------------------------------------------------------------------------------------------- frames


def render_image_frames(
    img: Image.Image,
    camera: CameraMotion,
    duration: float,
    w: int,
    h: int,
    fps: int,
    background: str = "#000000",
) -> Iterator[bytes]:
    """Yield rgb24 frames (w×h, ``fps``, ``duration`` s) of the camera move over ``img``, RGB or RGBA (an RGBA
    picture is shown whole, its transparent areas over the blurred cover composited on ``background``)."""
    n = frame_count(duration, fps)
    iw, ih = img.size
    fill = _fills(img.size, (w, h)) and img.mode == "RGB"
    max_scale = 1.0 + _ZOOM + 0.02
    travel = 1.6 * _PAN * w
    # cover: the photo is the background, sized so every pose (zoom + pan) stays covered; otherwise
    # the whole photo is shown over its blurred self
    base = _base_scale(img.size, (w, h), fill)
    # one high-quality resample to the largest size any frame needs; per-frame bilinear transforms
    # then only ever shrink slightly, which bilinear does without aliasing
    fg_w, fg_h = max(1, round(iw * base * max_scale)), max(1, round(ih * base * max_scale))
    fg = img.resize((fg_w, fg_h), Image.Resampling.LANCZOS)
    fg_alpha = fg.getchannel("A") if fg.mode == "RGBA" else None
    fg_rgb = fg.convert("RGB")
    if fg_alpha is not None:
        fg_rgb.putalpha(fg_alpha)  # keep RGBA for transform + masked paste

    # blurred cover background with room to drift; blurred at quarter size because it is cheap and
    # the blur hides the resolution
    margin = int(0.6 * _PAN * w) + 4
    bw, bh = w + 2 * margin, h + 2 * margin
    bg_base = Image.new("RGB", img.size, background)
    src_rgb = (
        img.convert("RGB")
        if img.mode == "RGB"
        else Image.alpha_composite(bg_base.convert("RGBA"), img.convert("RGBA")).convert("RGB")
    )
    cover = ImageOps.fit(src_rgb, (max(1, bw // 4), max(1, bh // 4)), Image.Resampling.BILINEAR)
    cover = cover.filter(ImageFilter.GaussianBlur(radius=max(2.0, w / 4 / 40)))
    cover = Image.eval(cover, lambda v: int(v * 0.62))  # darker, so the photo and text stand out
    bg = cover.resize((bw, bh), Image.Resampling.BILINEAR)

    s0 = 1.0 / max_scale  # fg is stored at max_scale; a pose scale s shows it at s * s0
    for i in range(n):
        p = i / max(1, n - 1)
        pose = _pose(camera, p, w, h)
        bx = min(2 * margin, max(0, round(margin - pose.bg_dx)))
        by = min(2 * margin, max(0, round(margin - pose.bg_dy)))
        frame = bg.crop((bx, by, bx + w, by + h))
        k = pose.scale * s0
        if fill:
            # cover mode must never reveal an edge: clamp the pan to the slack the zoom gives
            slack_x = max(0.0, (fg_w * k - w) / 2)
            slack_y = max(0.0, (fg_h * k - h) / 2)
            dx, dy = max(-slack_x, min(slack_x, pose.dx)), max(-slack_y, min(slack_y, pose.dy))
        else:
            dx, dy = pose.dx, pose.dy
            if camera == "parallax":
                dx = max(-travel, min(travel, dx))
        # placed box of the foreground in frame coordinates (floats)
        x0 = w / 2 + dx - fg_w * k / 2
        y0 = h / 2 + dy - fg_h * k / 2
        x1, y1 = x0 + fg_w * k, y0 + fg_h * k
        ix0, iy0 = max(0, math.floor(x0)), max(0, math.floor(y0))
        ix1, iy1 = min(w, math.ceil(x1)), min(h, math.ceil(y1))
        if ix1 > ix0 and iy1 > iy0:
            # output pixel (u, v) of the box maps to source ((u + ix0 - x0) / k, (v + iy0 - y0) / k):
            # the fractional part of x0 lives in the affine, so motion is sub-pixel smooth
            inv = 1.0 / k
            tile = fg_rgb.transform(
                (ix1 - ix0, iy1 - iy0),
                Image.Transform.AFFINE,
                (inv, 0.0, (ix0 - x0) * inv, 0.0, inv, (iy0 - y0) * inv),
                resample=Image.Resampling.BILINEAR,
            )
            if tile.mode == "RGBA":
                frame.paste(tile, (ix0, iy0), tile)
            else:
                frame.paste(tile, (ix0, iy0))
        yield frame.tobytes()


class ImageToVideo(FrameGenerator):
    """Offline image-to-video: product photo → clip with a camera move (`ClipRequest.camera`)."""

    name = "image_to_video"

    def __init__(self, cache: ToolCache, ffmpeg: Ffmpeg | None = None) -> None:
        super().__init__(cache, ffmpeg)
        self._warned: set[Path] = set()  # one log line per small photo and generator, not per shot and round

    def key(self, request: ClipRequest) -> str:
        """The cache key of `request`: camera, size, fps, duration, palette and seed plus the image's bytes.
        Raises ToolError when the request has no image."""
        if request.image is None:
            raise ToolError(f"shot {request.shot_id}: ImageToVideo needs ClipRequest.image")
        # shot id and image path do not change the pixels; the image is hashed by content
        payload = request.model_dump(mode="json", exclude={"shot_id", "image", "prompt"})
        return content_key(self.name, VERSION, payload, request.image)

    async def generate(self, request: ClipRequest) -> Clip:
        """The product photo (decoded by `load_product_image`, transparency over the shot's palette background)
        under the request's camera move, an MP4 at its size and fps (cached). A photo under `MIN_SHORT_SIDE` px
        on its shorter side is upscaled: the clip's ``warnings`` say so, on a cache hit too, and the warning is
        logged on ``ragvid.tools``. Raises ToolError when the request has no image, the image cannot be
        decoded or encoding fails."""
        key = self.key(request)
        assert request.image is not None
        image = Path(request.image)
        warning = small_image_warning(image)
        if warning is not None and image.resolve() not in self._warned:
            self._warned.add(image.resolve())
            log.warning("shot %s: %s", request.shot_id, warning)
        clip = await self.encoded(request, key, lambda: render_image_frames(
            load_product_image(image, request.palette.background), request.camera, request.duration,
            request.width, request.height, request.fps, request.palette.background,
        ))  # fmt: skip
        return clip.model_copy(update={"warnings": [warning]}) if warning is not None else clip
