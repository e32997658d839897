"""Factor captions of a video from a vision-language model: the paper's Eq. 4,
D_m = CapModel(v, PROMPT_m) for m ∈ {content, creative} (§2.2.1), over any OpenAI-compatible chat endpoint
that takes images (vLLM serving Qwen2.5-VL in production).

D_content (product, entities, brand, topic) and D_creative (palette, lighting, pacing, camera, transitions,
typography, mood) are what the disentangled encoder embeds and RQ-KMeans turns into content and creative
codes; a caption that mixes the two leaks one factor into the other's codes, so each factor gets its own
request whose prompt (``prompts/captions/<factor>.md``) names what to describe and what to leave out.

How a video reaches the model: `frames` frames sampled at the middles of equal segments (never the first frame,
which is often black or mid-fade), scaled down to `long_side` px and sent as JPEG ``data:`` URLs in one user
message — every OpenAI-compatible server that accepts images accepts these, where a ``video_url`` part is a
vLLM extension. The frames and their timing text come first and the factor prompt last, so the two requests
for a video share their whole image prefix and vLLM's prefix cache serves the second from the first. vLLM
caps images per prompt (``--limit-mm-per-prompt``): start it with room for `frames` images.

Why the ``openai`` SDK (already the project's chat client, agents/llm_client.py): it speaks the chat format
every such server implements; this module builds its own client because tools may not import agents, and maps
the SDK's errors to one-line `ToolError`s naming the URL and the model. Nothing here reads the environment:
the URL, model and key are arguments.
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
from pathlib import Path
from string import Template
from typing import Any, Literal

import openai
from openai import AsyncOpenAI
from PIL import Image
from pydantic import BaseModel, ConfigDict

from prompts import load
from tools.cache import ToolCache, content_key
from tools.errors import InputError, ToolError, one_line
from tools.probe import frames as sample_frames
from tools.probe import probe

Factor = Literal["content", "creative"]
FACTORS: tuple[Factor, ...] = ("content", "creative")
VERSION = "1"  # of the request this module builds: bump when sampling, encoding or message layout change


class FactorCaptions(BaseModel):
    """D_content and D_creative of one video (Eq. 4) and the model that wrote them (as the server named it)."""

    model_config = ConfigDict(frozen=True)

    content: str
    creative: str
    model: str


def factor_prompt(factor: Factor) -> str:
    """PROMPT_m: the instruction for one factor, from ``prompts/captions/<factor>.md``. Raises InputError naming
    ``factor`` for any other name."""
    if factor not in FACTORS:
        raise InputError("factor", f"unknown factor {factor!r} (factors: {', '.join(FACTORS)})")
    return load(f"captions/{factor}.md").strip()


def frame_times(duration: float, count: int) -> list[float]:
    """Times (s) of `count` frames of a `duration` s video: the middle of each of `count` equal segments."""
    return [round((k + 0.5) * duration / count, 3) for k in range(count)]


def jpeg_frames(path: Path, count: int = 8, *, long_side: int = 768, quality: int = 85) -> tuple[list[bytes], float]:
    """`count` frames of the video at `path` as JPEG bytes (at `frame_times`, scaled so the longer side is at
    most `long_side` px, never up), and the video's duration in s. Raises ToolError when the file is missing,
    unreadable or has no video stream."""
    info = probe(path)
    video = info.video
    if video is None or not video.width or not video.height:
        raise ToolError(f"{path}: no video stream to caption")
    scale = min(1.0, long_side / max(video.width, video.height))
    size = (max(2, round(video.width * scale)), max(2, round(video.height * scale)))
    encoded = []
    for rgb in sample_frames(path, frame_times(info.duration, count), size=size):
        buf = io.BytesIO()
        Image.fromarray(rgb).save(buf, format="JPEG", quality=quality)
        encoded.append(buf.getvalue())
    return encoded, info.duration


def data_url(jpeg: bytes) -> str:
    """A JPEG as the ``data:image/jpeg;base64,…`` URL an ``image_url`` content part carries."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


def frame_message(jpegs: list[bytes], duration: float, factor: Factor) -> dict[str, Any]:
    """The one user message of a factor request: the timing text (``prompts/captions/frames.md``), the frames as
    ``image_url`` parts in time order, then the factor prompt (last, so both factors share the prefix)."""
    times = ", ".join(f"{t:g}" for t in frame_times(duration, len(jpegs)))
    intro = Template(load("captions/frames.md")).substitute(count=len(jpegs), duration=f"{duration:.1f}", times=times)
    images = [{"type": "image_url", "image_url": {"url": data_url(j)}} for j in jpegs]
    return {"role": "user", "content": [{"type": "text", "text": intro.strip()}, *images,
                                        {"type": "text", "text": factor_prompt(factor)}]}  # fmt: skip


class VlmCaptioner:
    """Eq. 4 against one OpenAI-compatible endpoint and model: `caption` sends one chat completion per factor,
    both at once.

    Args:
        base_url: the endpoint, ending in ``/v1`` (e.g. ``http://gpu:8000/v1`` for ``vllm serve``).
        model: the served model's id (e.g. ``Qwen/Qwen2.5-VL-7B-Instruct``).
        api_key: sent as the bearer token (vLLM ignores it unless started with ``--api-key``).
        frames: frames sampled per video.
        long_side: frames are scaled down so their longer side is at most this (px): Qwen2.5-VL spends one token
            per 28×28 px, so 768 keeps 8 frames of a 9:16 video near 8 × 420 tokens.
        jpeg_quality: 1–95, Pillow's scale.
        max_tokens: the longest caption (tokens); the prompts ask for 60–120 words.
        temperature: 0 by default, so a video's captions (and so its codes) are repeatable.
        timeout: seconds per request; a slow request is not retried (`max_retries` 0: the caller's job queue
            owns retries, and a 500 from a VLM server is rarely transient).
        cache: when given, captions are kept by the video's bytes and the whole request (model, prompts, frame
            settings), so a catalogue re-encoded after a crash or a tokenizer change costs no second call.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "none",
        *,
        frames: int = 8,
        long_side: int = 768,
        jpeg_quality: int = 85,
        max_tokens: int = 512,
        temperature: float = 0.0,
        timeout: float = 120.0,
        cache: ToolCache | None = None,
    ) -> None:
        if frames < 1:
            raise InputError("frames", f"must be at least 1, got {frames}")
        if not 1 <= jpeg_quality <= 95:
            raise InputError("jpeg_quality", f"must be within 1–95, got {jpeg_quality}")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.frames = frames
        self.long_side = long_side
        self.jpeg_quality = jpeg_quality
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.timeout = float(timeout)
        self.cache = cache
        self._client = AsyncOpenAI(base_url=self.base_url, api_key=api_key, timeout=self.timeout, max_retries=0)

    async def aclose(self) -> None:
        """Close the client's HTTP connections (leaving ``async with`` does it too)."""
        await self._client.close()

    async def __aenter__(self) -> VlmCaptioner:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def caption(self, path: Path) -> FactorCaptions:
        """D_content and D_creative of the video at `path`. Raises ToolError when the video cannot be read, and
        one line naming the URL and the model when the endpoint fails (unreachable, timeout, HTTP error, an answer
        without text)."""
        if self.cache is None:
            return await self._caption(path)
        key = content_key("vlm-captions", VERSION, self._request_identity(), Path(path))

        async def make(tmp: Path) -> None:
            tmp.write_text((await self._caption(path)).model_dump_json(), encoding="utf-8")

        entry, _ = await self.cache.get_or_create(key, ".json", make)
        return FactorCaptions.model_validate_json(entry.read_text(encoding="utf-8"))

    async def _caption(self, path: Path) -> FactorCaptions:
        jpegs, duration = await asyncio.to_thread(
            jpeg_frames, Path(path), self.frames, long_side=self.long_side, quality=self.jpeg_quality
        )
        # both requests run to the end before any error is raised, so none is left running unobserved, and the
        # error raised is always the content request's when both fail
        answers = await asyncio.gather(
            *(self._complete(frame_message(jpegs, duration, factor), factor) for factor in FACTORS),
            return_exceptions=True,
        )
        done: list[tuple[str, str]] = []
        for answer in answers:
            if isinstance(answer, BaseException):
                raise answer
            done.append(answer)
        (content, served), (creative, _) = done
        return FactorCaptions(content=content, creative=creative, model=served)

    def _request_identity(self) -> dict[str, object]:
        return {"base_url": self.base_url, "model": self.model, "frames": self.frames, "long_side": self.long_side,
                "jpeg_quality": self.jpeg_quality, "max_tokens": self.max_tokens, "temperature": self.temperature,
                "prompts": [load("captions/frames.md"), *map(factor_prompt, FACTORS)]}  # fmt: skip

    async def _complete(self, message: dict[str, Any], factor: Factor) -> tuple[str, str]:
        """(caption, the model the server says answered) of one factor request."""
        try:
            # typed loosely: the SDK's message TypedDicts do not take a plain dict built at run time
            response: Any = await self._client.chat.completions.create(
                model=self.model,
                messages=[message],  # type: ignore[list-item]
                max_tokens=self.max_tokens,
                temperature=self.temperature,
            )
        except openai.OpenAIError as e:
            raise self._error(e, factor) from None
        choices = getattr(response, "choices", None) or []
        text = (choices[0].message.content or "").strip() if choices else ""
        if not text:
            raise ToolError(f"VLM at {self._where()} answered the {factor} caption with no text")
        return text, str(getattr(response, "model", "") or self.model)

    def _where(self) -> str:
        return f"{self.base_url} (model '{self.model}')"

    def _error(self, e: openai.OpenAIError, factor: Factor) -> ToolError:
        """The one mapping of the SDK's errors onto a one-line ToolError, after agents/llm_client.py."""
        what = f"VLM {factor} caption at {self._where()}"
        if isinstance(e, openai.APITimeoutError):  # before its base class, APIConnectionError
            return ToolError(f"{what}: no answer within {self.timeout:g} s")
        if isinstance(e, openai.APIConnectionError):
            return ToolError(f"{what}: endpoint unreachable ({e.__cause__ or e})")
        if isinstance(e, openai.APIStatusError):
            body = one_line(_body_text(e), 240)
            if e.status_code == 404:
                return ToolError(f"{what}: model not served or no chat endpoint (HTTP 404: {body})")
            if e.status_code in (401, 403):
                return ToolError(f"{what}: the API key was refused (HTTP {e.status_code})")
            return ToolError(f"{what}: HTTP {e.status_code}: {body}")
        return ToolError(f"{what}: {type(e).__name__}: {e}")


def _body_text(e: openai.APIStatusError) -> str:
    body = getattr(e, "body", None)
    if isinstance(body, dict):
        return str(body.get("message") or body.get("error") or json.dumps(body))
    return str(body or e.message)


async def caption_video(
    path: Path, *, base_url: str, model: str, api_key: str = "none", frames: int = 8, cache: ToolCache | None = None
) -> FactorCaptions:
    """Eq. 4 for one video with a client opened and closed around it (`VlmCaptioner` for many videos)."""
    async with VlmCaptioner(base_url, model, api_key, frames=frames, cache=cache) as captioner:
        return await captioner.caption(path)


__all__ = [
    "FACTORS", "Factor", "FactorCaptions", "VlmCaptioner", "caption_video", "data_url", "factor_prompt",
    "frame_message", "frame_times", "jpeg_frames",
]  # fmt: skip
