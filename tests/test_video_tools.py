"""Offline video generators: size, fps, length, motion, palette, caching, back-end selection."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tools.cache import ToolCache
from tools.errors import BackendMissing, ToolError
from tools.ffmpeg import shipped
from tools.models import ClipRequest, Palette
from tools.probe import black_intervals, frame_diffs, frames, frozen_intervals, probe
from tools.video import (
    DiffusersVideo,
    ImageToVideo,
    MotionGraphics,
    OfflineVideo,
    StockFolderVideo,
    make_video_generator,
)
from tools.video._encode import encode_frames

W, H = 270, 480
PALETTE = Palette(background="#000000", surface="#1a1a2e", text="#ffffff", accent="#e94560")


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # a landscape "product photo": the 9:16 frame must be filled without losing the product
    y, x = np.mgrid[0:300, 0:400]
    arr = np.stack([x * 255 // 400, y * 255 // 300, np.full_like(x, 90)], -1).astype(np.uint8)
    im = Image.fromarray(arr)
    ImageDraw.Draw(im).ellipse((120, 70, 280, 230), fill=(250, 210, 40))
    p = tmp_path_factory.mktemp("img") / "product.jpg"
    im.save(p, quality=95)
    return p


@pytest.fixture()
def cache(tmp_path: Path) -> ToolCache:
    return ToolCache(tmp_path / "cache")


def req(**kw: object) -> ClipRequest:
    base: dict[str, object] = dict(
        shot_id="s1", prompt="coffee beans", duration=1.0, width=W, height=H, palette=PALETTE
    )
    base.update(kw)
    return ClipRequest.model_validate(base)


@pytest.mark.parametrize(
    "camera", ["push_in", "pull_out", "pan_left", "pan_right", "tilt_up", "parallax", "static"]
)
async def test_image_to_video_every_camera_moves(camera: str, photo: Path, cache: ToolCache) -> None:
    clip = await ImageToVideo(cache).generate(req(image=photo, camera=camera))
    info = probe(clip.path)
    v = info.video
    assert v is not None and (v.width, v.height, v.fps, v.pix_fmt) == (W, H, 30.0, "yuv420p")
    assert v.frames == 30 and clip.duration == pytest.approx(1.0)
    assert info.has_faststart
    _, diffs = frame_diffs(clip.path)
    # sub-pixel motion: every frame changes a little (no frozen frames), none jumps (no zoompan jitter)
    assert (diffs > 0).sum() >= len(diffs) - 2
    assert diffs.max() < 6.0
    assert not frozen_intervals(clip.path, min_duration=0.3)


async def test_image_fills_frame_and_keeps_product(photo: Path, cache: ToolCache) -> None:
    clip = await ImageToVideo(cache).generate(req(image=photo, camera="push_in"))
    (first,) = frames(clip.path, [0.0])
    # blurred cover in the bars above/below the photo, not black
    assert first[:40].mean() > 20 and first[-40:].mean() > 20
    # the yellow product stays in the middle of the frame
    cy, cx = H // 2, W // 2
    r, g, b = first[cy - 5 : cy + 5, cx - 5 : cx + 5].reshape(-1, 3).mean(0)
    assert r > 180 and g > 150 and b < 120


async def test_image_cache_hits_by_content(photo: Path, cache: ToolCache, tmp_path: Path) -> None:
    gen = ImageToVideo(cache)
    a = await gen.generate(req(image=photo))
    moved = tmp_path / "elsewhere.jpg"
    shutil.copy(photo, moved)
    b = await gen.generate(req(image=moved, shot_id="other"))
    assert not a.cached and b.cached and a.path == b.path and b.shot_id == "other"
    c = await gen.generate(req(image=photo, camera="pan_left"))
    assert not c.cached and c.path != a.path


async def test_motion_graphics_never_black_never_frozen_distinct(cache: ToolCache) -> None:
    gen = MotionGraphics(cache)
    clips = [await gen.generate(req(seed=s, duration=1.5)) for s in (0, 1)]
    for clip in clips:
        assert probe(clip.path).video.frames == 45  # type: ignore[union-attr]
        assert not black_intervals(clip.path, min_duration=0.05)
        assert not frozen_intervals(clip.path, min_duration=0.2)
        _, diffs = frame_diffs(clip.path)
        assert (diffs > 0).all()
    a, b = (frames(c.path, [0.7])[0].astype(float) for c in clips)
    assert np.abs(a - b).mean() > 8  # consecutive seeds are visibly different shots
    again = await gen.generate(req(seed=0, duration=1.5, shot_id="x"))
    assert again.cached and again.path == clips[0].path


async def test_offline_routes_by_image(photo: Path, cache: ToolCache) -> None:
    gen = make_video_generator("offline", cache)
    assert isinstance(gen, OfflineVideo) and gen.offline
    assert (await gen.generate(req(image=photo))).backend == "image_to_video"
    assert (await gen.generate(req())).backend == "motion_graphics"
    missing = await gen.generate(req(image=Path("/nonexistent.png")))
    assert missing.backend == "motion_graphics"
    with pytest.raises(ValueError):
        make_video_generator("nope", cache)


def test_diffusers_backend_names_its_extra(cache: ToolCache, tmp_path: Path) -> None:
    try:
        import diffusers  # noqa: F401
    except ImportError:
        with pytest.raises(BackendMissing) as e:
            DiffusersVideo(tmp_path, cache)
        assert e.value.extra == "diffusers" and "ragvid[diffusers]" in str(e.value)
    else:
        with pytest.raises(ToolError):
            DiffusersVideo(tmp_path / "no-such-model", cache)


async def test_stock_folder_picks_by_keywords_and_conforms(cache: ToolCache, tmp_path: Path) -> None:
    folder = tmp_path / "stock"
    folder.mkdir()
    for name, colour in (("coffee_beans_roast", (120, 70, 30)), ("ocean_waves", (20, 80, 200))):
        raw = (np.full((240, 320, 3), colour, np.uint8).tobytes() for _ in range(15))  # 0.5 s, 4:3
        encode_frames(raw, 320, 240, 30, folder / f"{name}.mp4", shipped())
    (folder / "ocean_waves.txt").write_text("sea beach summer")
    gen = StockFolderVideo(folder, cache)
    clip = await gen.generate(req(prompt="A cup of fresh coffee, roast aroma", duration=1.2))
    assert gen.pick(req(prompt="summer beach")).stem == "ocean_waves"
    v = probe(clip.path).video
    assert v is not None and (v.width, v.height, v.frames) == (W, H, 36)  # looped to length, cover-cropped
    r, _, b = frames(clip.path, [1.0])[0].reshape(-1, 3).mean(0)
    assert r > b  # the coffee clip, not the ocean
