"""Product photos decode to the picture they show, whatever their pixel format (tools/video/image.py), small
ones are upscaled with a warning, and a photo that shows blank in a draft is found by the Critic and
replaced by the Visual agent.

Every input is made here from one synthetic reference picture (gradients, soft shapes and a fine texture),
never a binary fixture: each format is written with Pillow, or byte by byte where Pillow cannot write it (a
16-bit colour PNG, a CMYK JPEG without an Adobe marker), and the decode is held to PSNR ≥ 35 dB of the
reference — a wrong decode (clipped, inverted, turned) lands far below that.
"""

from __future__ import annotations

import io
import logging
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter

from agents.critic import Draft, feedback_for, route, rule_critique
from agents.effect import rule_effect
from agents.models import AudioPlan, Critique, EffectPlan, VisualPlan
from agents.visual import rule_visual
from graphs.measure import image_blank_shares, text_free_rows
from tests.test_agents import instructions_for, measurements_for, takes_for
from tools.cache import ToolCache
from tools.errors import ToolError
from tools.models import ClipRequest
from tools.video._encode import encode_frames
from tools.video.image import (
    BLANK_SHARE,
    MIN_SHORT_SIDE,
    Box,
    ImageToVideo,
    blank_share,
    decode_product_image,
    image_area,
    is_blank,
    load_product_image,
    render_image_frames,
    small_image_warning,
    upright_size,
)
from tools.vocabulary import Palette

MIN_PSNR = 35.0
W, H = 256, 192  # not square: a quarter turn shows in the size
BACKGROUND = "#204060"  # where a test composites transparency: not white, so the argument is seen to count
BG_RGB = np.array([0x20, 0x40, 0x60], dtype=np.float64)


def reference() -> np.ndarray:
    """H×W×3 uint8: two gradients, soft shapes in three colours and a fine sine texture (a product shot's
    shading and grain); soft edges keep lossy codecs above the PSNR bar, as they do on photographs."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    base = np.stack([40 + 170 * x / W, 60 + 150 * y / H, 200 - 120 * (x + y) / (W + H)], axis=-1)
    base += 12 * np.sin(x / 3.0)[..., None] * np.cos(y / 5.0)[..., None]
    im = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    draw = ImageDraw.Draw(im)
    draw.ellipse((30, 40, 120, 130), fill=(210, 40, 60))
    draw.rectangle((150, 30, 230, 110), fill=(30, 140, 70))
    draw.polygon([(140, 180), (200, 125), (250, 185)], fill=(250, 220, 40))
    return np.asarray(im.filter(ImageFilter.GaussianBlur(1.2)))


REF = reference()
REF_GREY = np.asarray(Image.fromarray(REF).convert("L"))


def alpha_mask() -> np.ndarray:
    """H×W uint8: opaque in the middle, fading to clear at the left and right and fully clear at the top."""
    y, x = np.mgrid[0:H, 0:W]
    a = np.clip(255 * (1 - np.abs(x - W / 2) / (W / 2)) * 1.6, 0, 255)
    a[y < 20] = 0
    return a.astype(np.uint8)


ALPHA = alpha_mask()


def over(rgb: np.ndarray, alpha: np.ndarray, bg: np.ndarray = BG_RGB) -> np.ndarray:
    """``rgb`` (H×W×3 or H×W) composited over ``bg`` with ``alpha`` (H×W, 0..255): the expected picture."""
    rgb = rgb.astype(np.float64)
    if rgb.ndim == 2:
        rgb = np.repeat(rgb[..., None], 3, axis=-1)
    a = alpha.astype(np.float64)[..., None] / 255
    return np.clip(np.rint(rgb * a + bg * (1 - a)), 0, 255).astype(np.uint8)


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio (dB) of two equal-shape uint8 pictures; inf when identical."""
    assert a.shape == b.shape, (a.shape, b.shape)
    mse = float(np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2))
    return float("inf") if mse == 0 else 10 * np.log10(255**2 / mse)


def decoded(path: Path, background: str = BACKGROUND) -> np.ndarray:
    im = decode_product_image(path, background)
    assert im.mode == "RGB"
    return np.asarray(im)


# ------------------------------------------------------------------------------------------- writers


def png16(samples: np.ndarray) -> bytes:
    """A 16-bit PNG of ``samples`` (H×W×C uint16; C = 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA), written by hand:
    Pillow reads 16-bit colour PNGs but cannot write them."""
    h, w, c = samples.shape
    colour_type = {1: 0, 2: 4, 3: 2, 4: 6}[c]
    rows = samples.astype(">u2").reshape(h, w * c)
    raw = b"".join(b"\x00" + row.tobytes() for row in rows)

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 16, colour_type, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def deepen(samples: np.ndarray) -> np.ndarray:
    """8-bit samples as 16-bit ones with low bits that vary (a real 16-bit file is not ×257 exactly)."""
    rng = np.random.default_rng(7)
    noise = rng.integers(-120, 121, size=samples.shape)
    return np.clip(samples.astype(np.int64) * 257 + noise, 0, 65535).astype(np.uint16)


def without_adobe_marker(jpeg: bytes) -> bytes:
    """``jpeg`` with its APP14 "Adobe" segment dropped (the segments before the scan are walked by length)."""
    out, i = bytearray(jpeg[:2]), 2
    while i < len(jpeg):
        marker = jpeg[i : i + 2]
        if marker == b"\xff\xda":  # start of scan: the rest is entropy-coded data
            out += jpeg[i:]
            break
        length = struct.unpack(">H", jpeg[i + 2 : i + 4])[0]
        segment = jpeg[i : i + 2 + length]
        if not (marker == b"\xff\xee" and segment[4:9] == b"Adobe"):
            out += segment
        i += 2 + length
    return bytes(out)


def save(im: Image.Image, path: Path, **options: Any) -> Path:
    im.save(path, **options)
    return path


Maker = Callable[[Path], tuple[Path, np.ndarray]]  # writes a file, returns it and the expected picture


def _l(tmp: Path) -> tuple[Path, np.ndarray]:
    return save(Image.fromarray(REF_GREY), tmp / "l.png"), over(REF_GREY, np.full((H, W), 255))


def _la(tmp: Path) -> tuple[Path, np.ndarray]:
    im = Image.merge("LA", [Image.fromarray(REF_GREY), Image.fromarray(ALPHA)])
    return save(im, tmp / "la.png"), over(REF_GREY, ALPHA)


def _p_transparent(tmp: Path) -> tuple[Path, np.ndarray]:
    im = Image.fromarray(REF).quantize(colors=200)
    im.paste(0, (90, 60, 170, 140))  # index 0 is the transparent one: here, and wherever else it was used
    clear = np.where(np.asarray(im) == 0, 0, 255).astype(np.uint8)
    return save(im, tmp / "p.png", transparency=0), over(np.asarray(im.convert("RGB")), clear)


def _rgba(tmp: Path) -> tuple[Path, np.ndarray]:
    im = Image.fromarray(np.dstack([REF, ALPHA]))
    return save(im, tmp / "rgba.png"), over(REF, ALPHA)


def _rgb_trns(tmp: Path) -> tuple[Path, np.ndarray]:
    # an RGB PNG whose tRNS chunk makes one colour transparent: no alpha channel, still transparency
    ref = REF.copy()
    ref[:30, :40] = (1, 2, 3)
    clear = np.full((H, W), 255, dtype=np.uint8)
    clear[:30, :40] = 0
    return save(Image.fromarray(ref), tmp / "trns.png", transparency=(1, 2, 3)), over(ref, clear)


def _grey16_png(tmp: Path) -> tuple[Path, np.ndarray]:
    path = tmp / "grey16.png"
    path.write_bytes(png16(deepen(REF_GREY)[..., None]))
    return path, over(REF_GREY, np.full((H, W), 255))


def _grey_alpha16_png(tmp: Path) -> tuple[Path, np.ndarray]:
    path = tmp / "greya16.png"
    path.write_bytes(png16(deepen(np.dstack([REF_GREY, ALPHA]))))
    return path, over(REF_GREY, ALPHA)


def _rgb16_png(tmp: Path) -> tuple[Path, np.ndarray]:
    path = tmp / "rgb16.png"
    path.write_bytes(png16(deepen(REF)))
    return path, REF


def _rgba16_png(tmp: Path) -> tuple[Path, np.ndarray]:
    path = tmp / "rgba16.png"
    path.write_bytes(png16(deepen(np.dstack([REF, ALPHA]))))
    return path, over(REF, ALPHA)


def _i16_tiff(tmp: Path) -> tuple[Path, np.ndarray]:
    return save(Image.fromarray(deepen(REF_GREY)), tmp / "i16.tif"), over(REF_GREY, np.full((H, W), 255))


def _i32_tiff(tmp: Path) -> tuple[Path, np.ndarray]:
    im = Image.fromarray(deepen(REF_GREY).astype(np.int32))  # mode I: 16-bit samples in 32-bit integers
    assert im.mode == "I"
    return save(im, tmp / "i32.tif"), over(REF_GREY, np.full((H, W), 255))


def _float_tiff(tmp: Path) -> tuple[Path, np.ndarray]:
    im = Image.fromarray((REF_GREY / 255.0).astype(np.float32))  # mode F: 0..1
    return save(im, tmp / "f.tif"), over(REF_GREY, np.full((H, W), 255))


def _cmyk_adobe(tmp: Path) -> tuple[Path, np.ndarray]:
    path = save(Image.fromarray(REF).convert("CMYK"), tmp / "adobe.jpg", quality=95)
    with Image.open(path) as im:
        assert "adobe" in im.info  # libjpeg writes the marker for CMYK, with Photoshop's inverted ink
    return path, REF


def _cmyk_plain(tmp: Path) -> tuple[Path, np.ndarray]:
    # Pillow stores CMYK inverted (Adobe's way); storing the inverse inverted leaves plain ink in the file,
    # which without the marker is how other writers store it
    inverse = Image.fromarray(REF).convert("CMYK").point(lambda v: 255 - v)
    buf = io.BytesIO()
    inverse.save(buf, "JPEG", quality=95)
    path = tmp / "plain.jpg"
    path.write_bytes(without_adobe_marker(buf.getvalue()))
    with Image.open(path) as im:
        assert im.mode == "CMYK" and "adobe" not in im.info
        # what Pillow alone makes of it: a negative — the decode has to undo that
        assert psnr(np.asarray(im.convert("RGB")), REF) < 15
    return path, REF


def _webp_lossless(tmp: Path) -> tuple[Path, np.ndarray]:
    return save(Image.fromarray(REF), tmp / "lossless.webp", lossless=True), REF


def _webp_lossy(tmp: Path) -> tuple[Path, np.ndarray]:
    return save(Image.fromarray(REF), tmp / "lossy.webp", quality=92), REF


def _webp_alpha(tmp: Path) -> tuple[Path, np.ndarray]:
    return save(Image.fromarray(np.dstack([REF, ALPHA])), tmp / "alpha.webp", lossless=True), over(REF, ALPHA)


FORMATS: dict[str, Maker] = {
    "L": _l, "LA": _la, "P+transparency": _p_transparent, "RGBA": _rgba, "RGB+tRNS": _rgb_trns,
    "16-bit grey PNG (I;16)": _grey16_png, "16-bit grey+alpha PNG": _grey_alpha16_png, "16-bit RGB PNG": _rgb16_png,
    "16-bit RGBA PNG": _rgba16_png, "I;16 TIFF": _i16_tiff, "I (32-bit) TIFF": _i32_tiff, "F TIFF": _float_tiff,
    "CMYK JPEG, Adobe-inverted": _cmyk_adobe, "CMYK JPEG, plain": _cmyk_plain, "WebP lossless": _webp_lossless,
    "WebP lossy q92": _webp_lossy, "WebP with alpha": _webp_alpha,
}  # fmt: skip


# ------------------------------------------------------------------------------------------- decoding


@pytest.mark.parametrize("name", list(FORMATS))
def test_each_pixel_format_decodes_to_the_reference(name: str, tmp_path: Path) -> None:
    path, expected = FORMATS[name](tmp_path)
    got = decoded(path)
    assert got.shape == (H, W, 3)
    assert psnr(got, expected) >= MIN_PSNR, f"{name}: {psnr(got, expected):.1f} dB"


def test_transparency_goes_over_the_background_asked_for(tmp_path: Path) -> None:
    path, _ = _rgba(tmp_path)
    white = decoded(path, "#FFFFFF")
    assert psnr(white, over(REF, ALPHA, np.array([255.0, 255.0, 255.0]))) >= MIN_PSNR
    assert white[5, 5].tolist() == [255, 255, 255]  # the clear top rows
    assert decoded(path)[5, 5].tolist() == [0x20, 0x40, 0x60]


# EXIF orientation n says where the stored picture's first row and column are on the upright picture
# (EXIF 2.32, tag 0x0112). Each stored array below is written from that definition, not from Pillow's
# transposes, so a decode that turned the wrong way would fail.
STORED: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    1: lambda u: u,
    2: lambda u: u[:, ::-1],  # row 0 at the top, column 0 on the right
    3: lambda u: u[::-1, ::-1],  # row 0 at the bottom, column 0 on the right
    4: lambda u: u[::-1, :],  # row 0 at the bottom, column 0 on the left
    5: lambda u: u.transpose(1, 0, 2),  # row 0 on the left, column 0 at the top
    6: lambda u: u.transpose(1, 0, 2)[::-1, :],  # row 0 on the right, column 0 at the top
    7: lambda u: u[::-1, ::-1].transpose(1, 0, 2),  # row 0 on the right, column 0 at the bottom
    8: lambda u: u.transpose(1, 0, 2)[:, ::-1],  # row 0 on the left, column 0 at the bottom
}


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientations_come_out_upright(orientation: int, tmp_path: Path) -> None:
    stored = np.ascontiguousarray(STORED[orientation](REF))
    exif = Image.Exif()
    exif[0x0112] = orientation
    path = save(Image.fromarray(stored), tmp_path / f"o{orientation}.jpg", quality=95, subsampling=0, exif=exif)
    got = decoded(path)
    assert got.shape == REF.shape  # upright: 256 wide, 192 high, whatever was stored
    assert psnr(got, REF) >= MIN_PSNR, f"orientation {orientation}: {psnr(got, REF):.1f} dB"
    assert upright_size(path) == (W, H)


def test_stored_orientations_are_what_the_tag_names() -> None:
    # the table above, checked by hand on a 2×3 picture whose pixels are numbered [[0, 1, 2], [3, 4, 5]]:
    # orientation 6 (a phone held upright) stores the upright right column, top to bottom, as its first row;
    # orientation 8 the left column, bottom to top
    u = np.arange(6).reshape(2, 3, 1)
    assert STORED[6](u)[..., 0].tolist() == [[2, 5], [1, 4], [0, 3]]
    assert STORED[8](u)[..., 0].tolist() == [[3, 0], [4, 1], [5, 2]]


def test_unreadable_files_are_a_tool_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.png"
    bad.write_bytes(png16(deepen(REF))[:200])  # truncated in the image data
    with pytest.raises(ToolError, match=r"broken\.png"):
        decode_product_image(bad)
    with pytest.raises(ToolError, match=r"missing\.png"):
        upright_size(tmp_path / "missing.png")


# ------------------------------------------------------------------------------------------- small photos


def test_a_small_photo_is_upscaled_to_the_minimum_with_a_good_filter(tmp_path: Path) -> None:
    small = Image.fromarray(REF).resize((320, 240), Image.Resampling.LANCZOS)
    path = save(small, tmp_path / "shoe.png")
    big = load_product_image(path)
    assert big.size == (720, MIN_SHORT_SIDE)
    # back down to its own size, the upscaled picture is the photo again: no shift, no blur beyond the filter's
    assert psnr(np.asarray(big.resize((320, 240), Image.Resampling.LANCZOS)), np.asarray(small)) >= MIN_PSNR
    assert small_image_warning(path) == "image shoe.png is 320x240; upscaled (shorter side under 540 px)"
    large = save(Image.fromarray(REF).resize((720, 540)), tmp_path / "large.png")
    assert small_image_warning(large) is None and load_product_image(large).size == (720, 540)


def test_the_warning_gives_the_upright_size(tmp_path: Path) -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    path = save(Image.fromarray(REF), tmp_path / "phone.jpg", exif=exif)  # stored 256×192, upright 192×256
    assert small_image_warning(path) == "image phone.jpg is 192x256; upscaled (shorter side under 540 px)"
    assert load_product_image(path).size == (MIN_SHORT_SIDE, 720)


async def test_the_clip_carries_the_warning_and_it_is_logged_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = save(Image.fromarray(REF), tmp_path / "tiny.png")
    gen = ImageToVideo(ToolCache(tmp_path / "cache"))
    palette = Palette(background="#101010", surface="#202020", text="#FFFFFF", accent="#FF0000")
    request = ClipRequest(shot_id="s0", prompt="p", duration=0.2, width=64, height=112, fps=10, image=path,
                          palette=palette)  # fmt: skip
    warning = "image tiny.png is 256x192; upscaled (shorter side under 540 px)"
    with caplog.at_level(logging.WARNING, logger="ragvid.tools"):
        first = await gen.generate(request)
        again = await gen.generate(request.model_copy(update={"shot_id": "s1"}))
    assert first.warnings == [warning] and again.warnings == [warning]
    assert again.cached  # a cache hit still says so
    logged = [r for r in caplog.records if r.name == "ragvid.tools" and r.levelno == logging.WARNING]
    assert [r.getMessage() for r in logged] == [f"shot s0: {warning}"]


# ------------------------------------------------------------------------------------------- image area


def test_image_area_fills_a_matching_frame_and_centres_a_fitted_photo() -> None:
    assert image_area((900, 1600), (180, 320)) == Box(0, 0, 180, 320)
    # a square photo in 180×320: 0.92 × 180 = 165.6 px wide (0.80 × 320 would be taller than that)
    assert image_area((100, 100), (180, 320)) == Box(8, 78, 172, 242)
    # inset 0.1: 16.56 px in from each side
    assert image_area((100, 100), (180, 320), inset=0.1) == Box(24, 94, 156, 226)
    with pytest.raises(ValueError):
        image_area((100, 100), (180, 320), inset=0.5)


@pytest.mark.parametrize("size", [(300, 300), (600, 400), (400, 600), (900, 1600)])
def test_the_photo_covers_its_image_area_mid_shot(size: tuple[int, int]) -> None:
    # a flat red photo on a blue palette: mid-shot every pixel of the area is the photo's
    w, h = 90, 160
    photo = Image.new("RGB", size, (230, 20, 20))
    frames = list(render_image_frames(photo, "static", 0.3, w, h, 10, "#0000FF"))
    mid = np.frombuffer(frames[len(frames) // 2], dtype=np.uint8).reshape(h, w, 3)
    x0, y0, x1, y1 = image_area(size, (w, h))
    area = mid[y0:y1, x0:x1].astype(int)
    assert (np.abs(area - [230, 20, 20]).max(axis=-1) <= 12).all()
    # fitted: a few pixels outside the area is the cover (blurred, darkened), not the photo's red
    if y0 > 6:
        assert int(mid[y0 - 6, w // 2, 0]) < 180
    if x0 > 6:
        assert int(mid[h // 2, x0 - 6, 0]) < 180


# ------------------------------------------------------------------------------------------- blank measure


def _grainy() -> np.ndarray:
    """The reference with texture over its flat shapes too (a photo has no perfectly flat patch)."""
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    return np.clip(REF + (8 * np.sin(x / 2.3) * np.sin(y / 3.1))[..., None], 0, 255)


GRAINY = _grainy()


def frame_of(picture: np.ndarray, noise: float = 1.0, seed: int = 0) -> np.ndarray:
    """``picture`` with the grain a draft's encode leaves (Gaussian, ``noise`` levels)."""
    rng = np.random.default_rng(seed)
    return np.clip(picture + rng.normal(0, noise, picture.shape), 0, 255).astype(np.uint8)


def test_a_flat_area_is_blank_and_a_photo_is_not() -> None:
    full = Box(0, 0, W, H)
    white = frame_of(np.full((H, W, 3), 250.0))
    assert blank_share(white, full) == 1.0 and is_blank(white, full)
    assert blank_share(frame_of(GRAINY), full) == 0.0 and not is_blank(frame_of(GRAINY), full)


def test_blank_share_counts_flat_tiles() -> None:
    # left half flat, right half the photo's texture: 8×8 tiles split down the middle → exactly half flat
    picture = np.full((H, W, 3), 240.0)
    picture[:, W // 2 :] = GRAINY[:, W // 2 :]
    assert blank_share(frame_of(picture), Box(0, 0, W, H)) == 0.5
    # only the flat half measured
    assert blank_share(frame_of(picture), Box(0, 0, W // 2, H)) == 1.0
    # a product on a plain backdrop: the backdrop is flat, the product is not, and the area is not blank
    product = np.full((H, W, 3), 245.0)
    product[50:150, 70:190] = GRAINY[50:150, 70:190]
    share = blank_share(frame_of(product), Box(0, 0, W, H))
    assert 0.3 < share < BLANK_SHARE


def test_a_gentle_gradient_is_flat_and_a_faint_texture_is_not() -> None:
    y, x = np.mgrid[0:H, 0:W].astype(np.float64)
    gradient = np.repeat((200 + 20 * x / W)[..., None], 3, axis=-1)  # 20 levels over the width: a lit backdrop
    assert blank_share(frame_of(gradient), Box(0, 0, W, H)) == 1.0
    weave = 200 + 6 * np.sign(np.sin(x / 1.5) * np.sin(y / 1.5))  # ±6 levels at a 5 px period: fabric
    assert blank_share(frame_of(np.repeat(weave[..., None], 3, axis=-1)), Box(0, 0, W, H)) == 0.0


def test_blank_share_refuses_a_box_outside_the_frame() -> None:
    with pytest.raises(ValueError):
        blank_share(np.zeros((10, 10, 3), np.uint8), Box(20, 20, 30, 30))


# ------------------------------------------------------------------------------------------- Critic and Visual


@pytest.fixture(scope="module")
def photo_plans(tmp_path_factory: pytest.TempPathFactory) -> tuple[Any, ...]:
    """Plans of a draft whose first shot shows a textured photo, the second a blank one and the end card (under
    the CTA card) a photo again; the rest graphics."""
    folder = tmp_path_factory.mktemp("photos")
    photo = save(Image.fromarray(REF), folder / "photo.png")
    blank = save(Image.new("RGB", (W, H), (255, 255, 255)), folder / "blank.png")
    instructions = instructions_for(selling_points=["Slow roasted", "Single origin"])
    visual = rule_visual(instructions, [])
    images = {0: str(photo), 1: str(blank), len(visual.segments) - 1: str(photo)}
    segments = [s.model_copy(update={"image": images.get(i), "layout": "full_bleed" if i in images and s.layout !=
                                     "end_card" else s.layout}) for i, s in enumerate(visual.segments)]  # fmt: skip
    visual = visual.model_copy(update={"segments": segments})
    texts = {f"l{s.index}": s.narration_intent for s in instructions.shots}
    effect = rule_effect(instructions, visual, texts, takes_for(visual))
    return instructions, visual, effect, photo, blank


def draft_video(path: Path, visual: Any, w: int = 90, h: int = 160, fps: int = 10) -> Path:
    """A draft as the composer would show these shots, without text: each photo at its image area over a
    mid-grey cover, graphics shots as coarse noise."""
    rng = np.random.default_rng(1)

    def frames() -> Any:
        for i in range(round(visual.duration * fps)):
            t = i / fps
            seg = next(s for s in visual.segments if s.start <= t < s.end or s is visual.segments[-1])
            frame = np.full((h, w, 3), 90, np.uint8)
            if seg.image is None:
                frame = rng.integers(0, 255, (h, w, 3), dtype=np.uint8)
            else:
                x0, y0, x1, y1 = image_area(upright_size(Path(seg.image)), (w, h))
                photo = Image.open(seg.image).convert("RGB").resize((x1 - x0, y1 - y0), Image.Resampling.LANCZOS)
                frame[y0:y1, x0:x1] = np.asarray(photo)
            yield frame.tobytes()

    from tools.ffmpeg import shipped

    encode_frames(frames(), w, h, fps, path, shipped())
    return path


def test_the_measurement_finds_the_blank_photo_mid_shot(photo_plans: tuple[Any, ...], tmp_path: Path) -> None:
    _, visual, effect, _, _ = photo_plans
    shares = image_blank_shares(draft_video(tmp_path / "draft.mp4", visual), visual, effect)
    first, second, last = visual.segments[0].shot_id, visual.segments[1].shot_id, visual.segments[-1].shot_id
    assert last not in shares  # the CTA card covers the end card's photo
    assert set(shares) == {first, second}
    assert shares[second] >= BLANK_SHARE and shares[first] < 0.5  # the photo's soft shapes leave some tiles flat


def test_text_rows_are_left_out_of_the_measurement(photo_plans: tuple[Any, ...]) -> None:
    _, visual, effect, _, _ = photo_plans
    seg = visual.segments[1]
    top, bottom = text_free_rows(effect, (seg.start + seg.end) / 2, 180, 320)
    # 9:16 at a sixth of 1080×1920: subtitles 260 px up plus two rows of 64 px × 1.3 → 71 rows off the bottom
    style = effect.style
    assert bottom == int(320 - (style.margin_v + style.max_lines * 1.3 * style.font_size) / 6)
    assert 0 <= top < bottom


def critique_with(visual: VisualPlan, effect: EffectPlan, shares: dict[str, float]) -> Critique:
    """The rule Critic on a faultless draft of these plans (tests/test_agents.py) whose photos measured
    ``shares``; no check here reads the audio plan."""
    measured = measurements_for(visual, effect, image_blank_share=shares)
    draft = Draft(round=0, measured=measured, target_duration=visual.duration, visual=visual,
                  audio=cast(AudioPlan, None), effect=effect, takes=takes_for(visual))  # fmt: skip
    return rule_critique(draft)


def test_a_blank_photo_is_a_finding_for_the_visual_agent_which_drops_it(photo_plans: tuple[Any, ...]) -> None:
    instructions, visual, effect, _, _ = photo_plans
    first, second = visual.segments[0].shot_id, visual.segments[1].shot_id
    critique = critique_with(visual, effect, {first: 0.05, second: 0.97})
    (finding,) = [f for f in critique.findings if f.check == "image_blank"]
    assert (finding.shot_id, finding.agent, finding.measured, finding.severity) == (second, "visual", 0.97, "major")
    assert route(critique) == "visual"
    again = rule_visual(instructions, [], visual, feedback_for(critique, [], "visual"))
    by_id = {s.shot_id: s for s in again.segments}
    assert by_id[second].image is None and by_id[second].layout == "title_card" and by_id[second].variant == 1
    assert by_id[first].image == visual.segments[0].image and by_id[first].variant == 0
    # measured just under the bar: no finding
    ok = critique_with(visual, effect, {second: round(BLANK_SHARE - 0.01, 3)})
    assert "image_blank" not in [f.check for f in ok.findings]
