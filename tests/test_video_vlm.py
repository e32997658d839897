"""tools/video/vlm.py against a local stand-in for an OpenAI-compatible VLM server.

No vision-language model can run here, so the server's answers are HAND-WRITTEN, not recorded from a live
model: tests/data/vlm_exchange.json holds one chat.completion per factor in the OpenAI format (as vLLM serving
Qwen2.5-VL answers it). A real HTTP server (``http.server`` on 127.0.0.1 in a thread) records every request body
the `openai` client sends and answers from that file, so what is tested is the request the adapter builds (the
factor prompts, the frames as JPEG data URLs, the model) and what it makes of the answers and of HTTP errors,
over real HTTP; not the quality of any model's captions."""

from __future__ import annotations

import base64
import io
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from prompts import load
from tools.cache import ToolCache
from tools.errors import InputError, ToolError
from tools.video.vlm import FACTORS, FactorCaptions, VlmCaptioner, caption_video, factor_prompt, frame_times

EXCHANGE = json.loads((Path(__file__).parent / "data" / "vlm_exchange.json").read_text(encoding="utf-8"))
MODEL = EXCHANGE["model"]
# one colour per eighth of the test video: frame k of 8 must come back as colour k
COLOURS = [(220, 40, 40), (40, 200, 40), (40, 40, 220), (230, 220, 40), (200, 40, 200), (40, 210, 210),
           (250, 250, 250), (20, 20, 20)]  # fmt: skip
SECONDS_PER_COLOUR = 0.5


@dataclass
class FakeVlm:
    """What the stand-in server saw and how it answers."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    fail: bool = False


def _handler(state: FakeVlm) -> type[BaseHTTPRequestHandler]:
    prompts = {factor: factor_prompt(factor) for factor in FACTORS}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            state.requests.append(body)
            state.paths.append(self.path)
            if state.fail:
                return self._send(EXCHANGE["error"]["status"], EXCHANGE["error"]["body"])
            last = body["messages"][-1]["content"][-1]["text"]  # the factor prompt comes last
            factor = next((f for f, p in prompts.items() if p == last), None)
            if factor is None:
                return self._send(400, {"object": "error", "message": "no factor prompt in the request"})
            self._send(200, EXCHANGE["responses"][factor])

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:  # keep pytest's output clean
            pass

    return Handler


@pytest.fixture
def vlm() -> Iterator[FakeVlm]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state := FakeVlm(url="")))
    state.url = f"http://127.0.0.1:{server.server_address[1]}/v1"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def colours_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """4 s at 10 fps, 320×180: eight solid colours of 0.5 s each (`COLOURS`)."""
    out = tmp_path_factory.mktemp("vlm") / "colours.mp4"
    with av.open(str(out), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 320, 180, "yuv420p"
        for colour in COLOURS:
            frame = np.full((180, 320, 3), colour, dtype=np.uint8)
            for _ in range(round(10 * SECONDS_PER_COLOUR)):
                container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode())
    return out


def images_of(request: dict[str, Any]) -> list[Image.Image]:
    """The frames a request carries, decoded from their data URLs (asserted to be base64 JPEG)."""
    parts = [p for p in request["messages"][0]["content"] if p["type"] == "image_url"]
    images = []
    for part in parts:
        url = part["image_url"]["url"]
        assert url.startswith("data:image/jpeg;base64,"), url[:40]
        image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1], validate=True)))
        assert image.format == "JPEG"
        images.append(image.convert("RGB"))
    return images


async def test_each_factor_is_one_request_with_its_prompt_and_the_sampled_frames(
    vlm: FakeVlm, colours_video: Path
) -> None:
    async with VlmCaptioner(vlm.url, MODEL) as captioner:
        got = await captioner.caption(colours_video)
    recorded = {f: r["choices"][0]["message"]["content"] for f, r in EXCHANGE["responses"].items()}
    assert got == FactorCaptions(content=recorded["content"], creative=recorded["creative"], model=MODEL)
    assert vlm.paths == ["/v1/chat/completions"] * 2
    by_factor = {f: r for r in vlm.requests for f in FACTORS
                 if r["messages"][0]["content"][-1]["text"] == factor_prompt(f)}  # fmt: skip
    assert set(by_factor) == set(FACTORS)
    for request in vlm.requests:
        assert request["model"] == MODEL and request["temperature"] == 0 and len(request["messages"]) == 1
        parts = request["messages"][0]["content"]
        assert [p["type"] for p in parts] == ["text", *["image_url"] * 8, "text"]
        assert "8 images" in parts[0]["text"] and "4.0-second" in parts[0]["text"]
        images = images_of(request)
        assert [im.size for im in images] == [(320, 180)] * 8  # under long_side: never upscaled
        for k, image in enumerate(images):  # frame k is the middle of the k-th eighth: colour k
            mean = np.asarray(image, dtype=float).reshape(-1, 3).mean(axis=0)
            assert np.abs(mean - COLOURS[k]).max() < 12, (k, mean, COLOURS[k])
    # the two requests differ only in the prompt: the frames are a prefix the server can cache
    content, creative = (by_factor[f]["messages"][0]["content"] for f in FACTORS)
    assert content[:-1] == creative[:-1]


def test_the_prompts_keep_the_factors_apart() -> None:
    content, creative = factor_prompt("content"), factor_prompt("creative")
    assert content == load("captions/content.md").strip() and creative == load("captions/creative.md").strip()
    for word in ("product", "brand", "entities", "topic"):
        assert word in content
    for word in ("palette", "lighting", "pacing", "camera motion", "transitions", "typography", "music mood"):
        assert word in creative
    assert "never name the product" in creative and "Leave out the creative style" in content
    with pytest.raises(InputError, match=r"^factor: "):
        factor_prompt("mood")  # type: ignore[arg-type]


async def test_frames_are_scaled_down_and_their_count_follows_the_setting(vlm: FakeVlm, colours_video: Path) -> None:
    async with VlmCaptioner(vlm.url, MODEL, frames=3, long_side=160) as captioner:
        await captioner.caption(colours_video)
    for request in vlm.requests:
        assert [im.size for im in images_of(request)] == [(160, 90)] * 3
        assert "at 0.667, 2, 3.333 seconds" in request["messages"][0]["content"][0]["text"]
    assert frame_times(4.0, 3) == [0.667, 2.0, 3.333]


async def test_an_http_error_is_one_line_naming_the_url_and_model(vlm: FakeVlm, colours_video: Path) -> None:
    vlm.fail = True
    with pytest.raises(ToolError) as caught:
        await caption_video(colours_video, base_url=vlm.url, model=MODEL)
    message = str(caught.value)
    assert vlm.url in message and f"model '{MODEL}'" in message and "HTTP 500" in message
    assert "CUDA out of memory" in message and "\n" not in message
    assert len(vlm.requests) == 2  # no retries: the caller's queue owns them


async def test_an_unreachable_endpoint_is_one_line_naming_the_url(colours_video: Path) -> None:
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(ToolError, match="unreachable") as caught:
        await caption_video(colours_video, base_url=url, model=MODEL)
    assert url in str(caught.value) and MODEL in str(caught.value)


async def test_cached_captions_cost_no_second_request(vlm: FakeVlm, colours_video: Path, tmp_path: Path) -> None:
    cache = ToolCache(tmp_path / "cache")
    first = await caption_video(colours_video, base_url=vlm.url, model=MODEL, cache=cache)
    again = await caption_video(colours_video, base_url=vlm.url, model=MODEL, cache=cache)
    assert first == again and len(vlm.requests) == 2
    await caption_video(colours_video, base_url=vlm.url, model=MODEL, frames=4, cache=cache)  # another request
    assert len(vlm.requests) == 4


async def test_a_file_without_video_is_a_tool_error(vlm: FakeVlm, tmp_path: Path) -> None:
    with pytest.raises(ToolError, match="no such media file"):
        await caption_video(tmp_path / "missing.mp4", base_url=vlm.url, model=MODEL)
    assert vlm.requests == []
