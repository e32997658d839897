"""Video generators (`tools.protocols.VideoGenerator`).

The offline default, `OfflineVideo`, does what `ClipRequest` promises: image-to-video (camera moves)
when the request has an image, procedural motion graphics when it has none."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from tools.cache import ToolCache
from tools.models import Clip, ClipRequest
from tools.protocols import VideoGenerator
from tools.video.adapters import DiffusersVideo, OpenAIVideoAPI, StockFolderVideo, conform
from tools.video.image import ImageToVideo, render_image_frames
from tools.video.motion import MotionGraphics, render_motion_frames

log = logging.getLogger(__name__)


class OfflineVideo:
    """Routes each request: with an image → `ImageToVideo`, without → `MotionGraphics`."""

    name = "offline"
    offline = True

    def __init__(self, cache: ToolCache) -> None:
        self.image = ImageToVideo(cache)
        self.motion = MotionGraphics(cache)

    async def generate(self, request: ClipRequest) -> Clip:
        if request.image is not None and Path(request.image).exists():
            return await self.image.generate(request)
        if request.image is not None:
            log.warning("shot %s: image %s not found, using motion graphics", request.shot_id, request.image)
            request = request.model_copy(update={"image": None})
        return await self.motion.generate(request)


def make_video_generator(name: str, cache: ToolCache, **options: Any) -> VideoGenerator:
    """Build a generator by name: `offline` (default), `image`, `motion`, `stock` (folder=),
    `diffusers` (model_path=, device=, steps=), `openai` (model=, base_url=, api_key=)."""
    key = name.lower().replace("-", "_")
    if key in ("offline", "default", "auto"):
        return OfflineVideo(cache)
    if key in ("image", "image_to_video"):
        return ImageToVideo(cache)
    if key in ("motion", "motion_graphics"):
        return MotionGraphics(cache)
    if key in ("stock", "stock_folder"):
        return StockFolderVideo(Path(options["folder"]), cache)
    if key == "diffusers":
        return DiffusersVideo(
            Path(options["model_path"]), cache, **{k: v for k, v in options.items() if k != "model_path"}
        )
    if key in ("openai", "openai_video"):
        return OpenAIVideoAPI(cache, **options)
    raise ValueError(f"unknown video generator {name!r}: offline, image, motion, stock, diffusers, openai")


__all__ = [
    "DiffusersVideo", "ImageToVideo", "MotionGraphics", "OfflineVideo", "OpenAIVideoAPI", "StockFolderVideo",
    "conform", "make_video_generator", "render_image_frames", "render_motion_frames",
]  # fmt: skip
