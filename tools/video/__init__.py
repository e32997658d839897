"""Video generators (`tools.protocols.VideoGenerator`), and the readers of a finished video.

The offline default, `OfflineVideo`, does what `ClipRequest` promises: image-to-video (camera moves)
when the request has an image, procedural motion graphics when it has none.

Reading a video back (the two views of the paper's video encoder, section 2.2): `words` (its soft subtitle
track, else tesseract OCR: the content view's text), `measures` (look, rhythm and sound measured from the
file: the creative view) and `vlm` (factor captions from an OpenAI-compatible vision-language endpoint,
Eq. 4)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tools.cache import ToolCache
from tools.ffmpeg import Ffmpeg
from tools.models import Clip, ClipRequest
from tools.protocols import VideoGenerator
from tools.video.adapters import DiffusersVideo, OpenAIVideoAPI, StockFolderVideo, conform
from tools.video.image import ImageToVideo, render_image_frames
from tools.video.motion import MotionGraphics, render_motion_frames
from tools.vocabulary import CAMERA_MOTIONS, CameraMotion

log = logging.getLogger(__name__)


class OfflineVideo:
    """Routes each request: with an image → `ImageToVideo`, without → `MotionGraphics`."""

    name = "offline"
    offline = True
    camera_motions: frozenset[CameraMotion] = frozenset(CAMERA_MOTIONS)

    def __init__(self, cache: ToolCache, ffmpeg: Ffmpeg | None = None) -> None:
        self.image = ImageToVideo(cache, ffmpeg)
        self.motion = MotionGraphics(cache, ffmpeg)

    async def generate(self, request: ClipRequest) -> Clip:
        """Footage for `request`: image-to-video when its image exists, else motion graphics (a missing image is
        logged and dropped, not an error)."""
        if request.image is not None and Path(request.image).exists():
            return await self.image.generate(request)
        if request.image is not None:
            log.warning("shot %s: image %s not found, using motion graphics", request.shot_id, request.image)
            request = request.model_copy(update={"image": None})
        return await self.motion.generate(request)


def make_video_generator(name: str, cache: ToolCache, ffmpeg: Ffmpeg | None = None, **options: Any) -> VideoGenerator:
    """Build a generator by name: `offline` (default), `image`, `motion`, `stock` (folder=),
    `diffusers` (model_path=, device=, steps=), `openai` (model=, base_url=, api_key=). Raises ValueError
    for an unknown name."""
    key = name.lower().replace("-", "_")
    if key in ("offline", "default", "auto"):
        return OfflineVideo(cache, ffmpeg)
    if key in ("image", "image_to_video"):
        return ImageToVideo(cache, ffmpeg)
    if key in ("motion", "motion_graphics"):
        return MotionGraphics(cache, ffmpeg)
    if key in ("stock", "stock_folder"):
        return StockFolderVideo(Path(options["folder"]), cache, ffmpeg)
    if key == "diffusers":
        rest = {k: v for k, v in options.items() if k != "model_path"}
        return DiffusersVideo(Path(options["model_path"]), cache, ffmpeg=ffmpeg, **rest)
    if key in ("openai", "openai_video"):
        return OpenAIVideoAPI(cache, ffmpeg=ffmpeg, **options)
    raise ValueError(f"unknown video generator {name!r}: offline, image, motion, stock, diffusers, openai")


__all__ = [
    "DiffusersVideo", "ImageToVideo", "MotionGraphics", "OfflineVideo", "OpenAIVideoAPI", "StockFolderVideo",
    "conform", "make_video_generator", "render_image_frames", "render_motion_frames",
]  # fmt: skip
