"""Optional video back-ends: a stock-footage folder, diffusers pipelines (GPU) and an OpenAI-style
video API. Each conforms its footage to the request (size, fps, duration) so the composer sees the
same kind of clip from every back-end."""

from __future__ import annotations

import asyncio
import importlib.util
import re
from pathlib import Path
from typing import Any

from tools.cache import ToolCache, content_key
from tools.errors import BackendMissing, ToolError
from tools.ffmpeg import Ffmpeg, shipped
from tools.models import Clip, ClipRequest
from tools.probe import probe
from tools.video._encode import INTERMEDIATE_X264, clip_for, frame_count
from tools.video.image import decode_product_image
from tools.vocabulary import CAMERA_MOTIONS, CameraMotion

VIDEO_EXTS = (".mp4", ".mov", ".m4v", ".webm", ".mkv")
_WORD = re.compile(r"[a-z0-9]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "of",
        "on",
        "in",
        "with",
        "for",
        "to",
        "at",
        "by",
        "from",
        "is",
        "are",
        "shot",
        "video",
        "clip",
        "close",
        "up",
    ]
)


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 1}


async def conform(src: Path, request: ClipRequest, out: Path, ffmpeg: Ffmpeg | None = None) -> None:
    """Re-encode `src` to the request's size (cover crop), fps and exact duration, looping short
    footage so a 3 s stock clip can fill a 5 s shot."""
    info = probe(src)
    loop = ["-stream_loop", "-1"] if 0 < info.duration < request.duration else []
    w, h = request.width, request.height
    vf = f"fps={request.fps},scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h},setsar=1"
    n = frame_count(request.duration, request.fps)
    await (ffmpeg or shipped()).arun(
        [*loop, "-i", str(Path(src).resolve()), "-an", "-vf", vf, "-frames:v", str(n),
         *INTERMEDIATE_X264, "-movflags", "+faststart", "-f", "mp4", str(out)],
        what=f"conforming {src.name}",
    )  # fmt: skip


class StockFolderVideo:
    """Picks footage from a local folder by keyword overlap between the prompt and each file's name
    (plus an optional `<name>.txt` sidecar of tags); ties go to the seed, so variants differ."""

    name = "stock_folder"
    offline = True
    # footage is chosen by its words, so a camera motion in the prompt is as good as any other word
    camera_motions: frozenset[CameraMotion] = frozenset(CAMERA_MOTIONS)

    def __init__(self, folder: Path, cache: ToolCache, ffmpeg: Ffmpeg | None = None) -> None:
        self.folder = Path(folder)
        self.cache = cache
        self.ffmpeg = ffmpeg or shipped()
        if not self.folder.is_dir():
            raise ToolError(f"stock folder not found: {self.folder}")

    def candidates(self) -> list[tuple[Path, set[str]]]:
        """Every video file under the folder (recursively, sorted) with its tags: the words of its name and of a
        ``<name>.txt`` sidecar, stop words dropped."""
        out = []
        for p in sorted(self.folder.rglob("*")):
            if p.suffix.lower() in VIDEO_EXTS:
                tags = _words(p.stem.replace("_", " ").replace("-", " "))
                side = p.with_suffix(".txt")
                if side.exists():
                    tags |= _words(side.read_text(encoding="utf-8", errors="replace"))
                out.append((p, tags))
        return out

    def pick(self, request: ClipRequest) -> Path:
        """The file whose tags share the most words with the prompt; among equals the seed chooses. Raises
        ToolError when the folder holds no video file."""
        cands = self.candidates()
        if not cands:
            raise ToolError(f"stock folder {self.folder} has no video files ({', '.join(VIDEO_EXTS)})")
        want = _words(request.prompt)
        best = max(len(want & tags) for _, tags in cands)
        top = [p for p, tags in cands if len(want & tags) == best]
        return top[request.seed % len(top)]

    async def generate(self, request: ClipRequest) -> Clip:
        """The picked footage conformed to the request (cover crop, fps, duration; cached by the file's content).
        Raises ToolError as `pick` does, or when ffmpeg fails."""
        src = self.pick(request)
        payload = request.model_dump(mode="json", exclude={"shot_id", "image", "camera", "palette", "prompt"})
        key = content_key(self.name, "1", payload, src)
        path, cached = await self.cache.get_or_create(key, ".mp4", lambda tmp: conform(src, request, tmp, self.ffmpeg))
        return clip_for(request, path, self.name, cached)


class DiffusersVideo:
    """Text/image-to-video with a local diffusers pipeline (e.g. a Wan or CogVideoX checkpoint already
    on disk). Never downloads: `model_path` must be a local folder."""

    name = "diffusers"
    offline = True  # runs locally once the weights are on disk
    camera_motions: frozenset[CameraMotion] = frozenset(CAMERA_MOTIONS)  # named in the prompt

    def __init__(
        self,
        model_path: Path,
        cache: ToolCache,
        device: str = "cuda",
        steps: int = 30,
        dtype: str = "bfloat16",
        ffmpeg: Ffmpeg | None = None,
    ) -> None:
        if importlib.util.find_spec("diffusers") is None or importlib.util.find_spec("torch") is None:
            raise BackendMissing(self.name, "diffusers", "needs the diffusers and torch packages")
        self.model_path = Path(model_path)
        if not self.model_path.is_dir():
            raise ToolError(
                f"diffusers model folder not found: {self.model_path} (weights are never downloaded)"
            )
        self.cache = cache
        self.device = device
        self.steps = steps
        self.dtype = dtype
        self.ffmpeg = ffmpeg or shipped()
        self._pipe: Any = None

    def _load(self) -> Any:
        if self._pipe is None:
            import torch
            from diffusers import DiffusionPipeline

            self._pipe = DiffusionPipeline.from_pretrained(
                str(self.model_path), torch_dtype=getattr(torch, self.dtype), local_files_only=True
            ).to(self.device)
        return self._pipe

    def _run(self, request: ClipRequest, raw: Path) -> None:
        import torch
        from diffusers.utils import export_to_video

        pipe = self._load()
        # pipelines generate at their native frame rate/size; conform() resamples to the request
        fps = 16
        kwargs: dict[str, Any] = {
            "prompt": request.prompt, "num_inference_steps": self.steps,
            "num_frames": max(9, int(request.duration * fps) // 4 * 4 + 1),
            "generator": torch.Generator(device=self.device).manual_seed(request.seed),
        }  # fmt: skip
        if request.image is not None:
            # the same decode as the offline image-to-video: upright, 16-bit scaled, CMYK polarity, alpha flattened
            kwargs["image"] = decode_product_image(Path(request.image), request.palette.background)
        result = pipe(**kwargs)
        export_to_video(result.frames[0], str(raw), fps=fps)

    async def generate(self, request: ClipRequest) -> Clip:
        """Footage from the local pipeline (image-to-video when the request has an image) at 16 fps, conformed to
        the request; cached. Raises ToolError when ffmpeg fails."""
        files = [request.image] if request.image is not None else []
        payload = request.model_dump(mode="json", exclude={"shot_id", "image"})
        payload.update(model=self.model_path.name, steps=self.steps, dtype=self.dtype)  # each makes other frames
        key = content_key(self.name, "1", payload, *files)

        async def make(tmp: Path) -> None:
            raw = tmp.with_name(tmp.stem + ".raw.mp4")
            try:
                await asyncio.to_thread(self._run, request, raw)
                await conform(raw, request, tmp, self.ffmpeg)
            finally:
                raw.unlink(missing_ok=True)

        path, cached = await self.cache.get_or_create(key, ".mp4", make)
        return clip_for(request, path, self.name, cached)


class OpenAIVideoAPI:
    """An OpenAI-style video endpoint (`videos.create` / `retrieve` / `download_content`)."""

    name = "openai_video"
    offline = False
    camera_motions: frozenset[CameraMotion] = frozenset(CAMERA_MOTIONS)  # named in the prompt

    def __init__(
        self,
        cache: ToolCache,
        model: str = "sora-2",
        base_url: str | None = None,
        api_key: str | None = None,
        poll_seconds: float = 5.0,
        timeout_seconds: float = 900.0,
        ffmpeg: Ffmpeg | None = None,
    ) -> None:
        """``api_key`` None: the openai SDK's own lookup (its ``OPENAI_API_KEY`` variable)."""
        if importlib.util.find_spec("openai") is None:
            raise BackendMissing(self.name, "openai", "needs the openai package")
        self.api_key = api_key
        self.base_url = base_url
        self.ffmpeg = ffmpeg or shipped()
        self.cache = cache
        self.model = model
        self.poll_seconds = poll_seconds
        self.timeout_seconds = timeout_seconds

    async def _fetch(self, request: ClipRequest, raw: Path) -> None:
        from openai import AsyncOpenAI

        client = AsyncOpenAI(api_key=self.api_key, base_url=self.base_url)
        portrait = request.height >= request.width
        job = await client.videos.create(  # type: ignore[attr-defined,unused-ignore]
            model=self.model,
            prompt=request.prompt,
            size="720x1280" if portrait else "1280x720",
            seconds=str(min(12, max(4, round(request.duration / 4) * 4))),  # type: ignore[arg-type]
        )
        waited = 0.0
        while job.status in ("queued", "in_progress"):
            if waited > self.timeout_seconds:
                raise ToolError(f"video job {job.id} still {job.status} after {waited:.0f}s")
            await asyncio.sleep(self.poll_seconds)
            waited += self.poll_seconds
            job = await client.videos.retrieve(job.id)  # type: ignore[attr-defined,unused-ignore]
        if job.status != "completed":
            raise ToolError(f"video job {job.id} ended {job.status}: {getattr(job, 'error', None)}")
        content = await client.videos.download_content(job.id)  # type: ignore[attr-defined,unused-ignore]
        raw.write_bytes(content.read())

    async def generate(self, request: ClipRequest) -> Clip:
        """Footage from the endpoint (720×1280 or 1280×720, 4–12 s in steps of 4; the request's image is not sent),
        conformed to the request; cached. Raises ToolError when the job fails or outlasts ``timeout_seconds``."""
        payload = request.model_dump(mode="json", exclude={"shot_id", "image", "camera"})
        payload["model"] = self.model
        key = content_key(self.name, "1", payload)

        async def make(tmp: Path) -> None:
            raw = tmp.with_name(tmp.stem + ".raw.mp4")
            try:
                await self._fetch(request, raw)
                await conform(raw, request, tmp, self.ffmpeg)
            finally:
                raw.unlink(missing_ok=True)

        path, cached = await self.cache.get_or_create(key, ".mp4", make)
        return clip_for(request, path, self.name, cached)
