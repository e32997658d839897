"""Image-to-video without a model: a camera move over a product photo.

Frames are computed with PIL (sub-pixel affine transforms, so slow moves glide instead of stepping a
pixel at a time as ffmpeg's zoompan does) and piped to x264. When the photo's aspect does not match
the frame, the photo is shown whole over a blurred, darkened cover of itself; near-matching aspects
simply fill the frame."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageFilter, ImageOps

from tools.cache import content_key
from tools.errors import ToolError
from tools.models import Clip, ClipRequest
from tools.video._encode import FrameGenerator, ease_in_out, frame_count
from tools.vocabulary import CameraMotion

VERSION = "1"

# how far each move travels over the shot: zoom factors and offsets as a fraction of frame width
_ZOOM = 0.14
_PAN = 0.07


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


def _load(path: Path) -> Image.Image:
    try:
        with Image.open(path) as im:
            im = ImageOps.exif_transpose(im)
            has_alpha = im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info)
            return im.convert("RGBA" if has_alpha else "RGB")
    except (OSError, ValueError) as e:
        raise ToolError(f"cannot read product image {path}: {e}") from e


def render_image_frames(
    img: Image.Image,
    camera: CameraMotion,
    duration: float,
    w: int,
    h: int,
    fps: int,
    background: str = "#000000",
) -> Iterator[bytes]:
    """Yield rgb24 frames of the camera move over `img`."""
    n = frame_count(duration, fps)
    iw, ih = img.size
    frame_aspect, img_aspect = w / h, iw / ih
    fill = abs(math.log(img_aspect / frame_aspect)) < 0.12 and img.mode == "RGB"
    max_scale = 1.0 + _ZOOM + 0.02
    travel = 1.6 * _PAN * w
    # cover: the photo is the background, sized so every pose (zoom + pan) stays covered; otherwise
    # the whole photo is shown over its blurred self
    base = max(w / iw, h / ih) if fill else min(0.92 * w / iw, 0.80 * h / ih)
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

    def key(self, request: ClipRequest) -> str:
        """The cache key of `request`: camera, size, fps, duration, palette and seed plus the image's bytes.
        Raises ToolError when the request has no image."""
        if request.image is None:
            raise ToolError(f"shot {request.shot_id}: ImageToVideo needs ClipRequest.image")
        # shot id and image path do not change the pixels; the image is hashed by content
        payload = request.model_dump(mode="json", exclude={"shot_id", "image", "prompt"})
        return content_key(self.name, VERSION, payload, request.image)

    async def generate(self, request: ClipRequest) -> Clip:
        """The product photo under the request's camera move, an MP4 at its size and fps (cached). Raises
        ToolError when the request has no image or encoding fails."""
        key = self.key(request)
        assert request.image is not None
        image = Path(request.image)
        return await self.encoded(request, key, lambda: render_image_frames(
            _load(image), request.camera, request.duration, request.width, request.height, request.fps,
            request.palette.background,
        ))  # fmt: skip
