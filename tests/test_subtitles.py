"""ASS writing and escaping: hostile text stays literal in libass and in ffmpeg filtergraphs."""

from __future__ import annotations

import re
from pathlib import Path

import ffmpeg
import numpy as np
import pytest
from PIL import Image

from tools.escape import ass_text, ffmpeg_filter_value, ffmpeg_path
from tools.ffmpeg import shipped
from tools.fonts import FONT_BOLD, FONT_DIR, FONT_FAMILY, FONT_REGULAR, text_width_px
from tools.models import SubtitleCue, SubtitleFile, SubtitleStyle, TextOverlay
from tools.subtitles import AssSubtitles, ass_color, ass_time, read_ass_events
from tools.textlayout import TextFont, widest, wrap

HOSTILE = [
    "{\\b1}bold{\\fs200}",
    "C:\\new\\Nline \\h",
    "it's 50% off: [now], a;b",
    "drawtext=text=x:fontfile=/etc/passwd",
    "line1\nline2\r\nline3",
    "%{pts} %{localtime}",
    "emoji ☕🔥 é ü",
    "}{ \\ ' : , ; [ ]",
    "\x00\x07ctrl\x1b[31m",
]


def test_fonts_ship_with_licence() -> None:
    assert FONT_REGULAR.exists() and FONT_BOLD.exists() and FONT_FAMILY == "DejaVu Sans"
    assert "Bitstream" in (FONT_DIR / "LICENSE-DejaVu.txt").read_text()
    assert text_width_px("", 64) == 0
    assert text_width_px("WWWW", 64, True) > text_width_px("iiii", 64, True) > 0


def test_wrap_in_pixels_balanced_at_unicode_breaks() -> None:
    font = TextFont(64, bold=True)
    assert wrap("", font, 500) == []
    text = "Fresh roasted coffee beans for your morning"
    lines = wrap(text, font, 972)
    assert " ".join(lines) == text and len(lines) == 2
    assert widest(lines, font) <= 972
    widths = [font.width(x) for x in lines]
    assert abs(widths[0] - widths[1]) < 0.3 * max(widths)  # balanced, not a full line and a stray word
    # a word wider than the box is cut between grapheme clusters, each piece fitting
    word = "Supercalifragilisticexpialidocious" * 2
    long = wrap(word, font, 400)
    assert len(long) >= 3 and all(font.width(x) <= 400 for x in long) and "".join(long) == word
    # Chinese breaks between characters, and closing punctuation never starts a line (UAX #14)
    zh = TextFont(64, bold=True, fonts=("Noto Sans CJK SC",))
    lines = wrap("深烘意式咖啡豆，香气浓郁，适合每天早上的一杯浓缩咖啡。", zh, 600)
    assert len(lines) >= 2 and all(zh.width(x) <= 600 for x in lines)
    assert not any(x[0] in "，。" for x in lines)
    assert "".join(lines) == "深烘意式咖啡豆，香气浓郁，适合每天早上的一杯浓缩咖啡。"


@pytest.mark.parametrize("text", HOSTILE)
def test_ass_text_cannot_inject(text: str) -> None:
    out = ass_text(text)
    assert "\n" not in out and "\r" not in out
    assert not re.search(r"(?<!\\)[{}]", out)  # every brace is escaped: no override block can open
    assert not re.search(r"\\[Nnh]", out)  # an author's backslash never forms an escape
    assert not any(ord(c) < 32 for c in out)


def test_ffmpeg_filter_value_matches_ffmpeg_python_and_escapes_both_levels() -> None:
    for s in HOSTILE:
        args = ffmpeg.input("in").filter("drawtext", text=s.replace("\x00", "")).output("out").get_args()
        graph = args[args.index("-filter_complex") + 1]
        assert graph == f"[0]drawtext=text={ffmpeg_filter_value(s)}[s0]"
    assert ffmpeg_filter_value("a:b") == "a\\\\:b"
    assert ffmpeg_filter_value("[x],y;z'") == "\\[x\\]\\,y\\;z\\\\\\'"
    assert ffmpeg_path("rel/x.ass").startswith(ffmpeg_filter_value(str(Path.cwd().as_posix()))[:5])


def test_hostile_values_survive_a_real_filtergraph(tmp_path: Path) -> None:
    # a hand-built graph: hostile drawtext text and a hostile ASS filename must parse and render
    ass = tmp_path / "it's [a],b;c=d %x.ass"
    AssSubtitles().write([SubtitleCue(start=0, end=1, text="x")], [], SubtitleStyle(), 160, 90, ass)
    text = " ".join(HOSTILE)
    graph = (
        f"color=c=gray:s=160x90:d=0.2,"
        f"drawtext=fontfile={ffmpeg_path(FONT_REGULAR)}:expansion=none:text={ffmpeg_filter_value(text)},"
        f"ass=filename={ffmpeg_path(ass)}:fontsdir={ffmpeg_path(FONT_DIR)}"
    )
    shipped().run(["-f", "lavfi", "-i", graph, "-frames:v", "1", str(tmp_path / "o.png")], what="hostile graph")
    assert (tmp_path / "o.png").stat().st_size > 0


def _render(subs: SubtitleFile, w: int, h: int, t: float, out: Path) -> np.ndarray:
    shipped().run(
        ["-f", "lavfi", "-i", f"color=c=0x336699:s={w}x{h}:d=10", "-ss", str(t), "-vf",
         f"ass=filename={ffmpeg_path(subs.path)}:fontsdir={ffmpeg_path(subs.fonts_dir)}", "-frames:v", "1", str(out)],
        what="rendering subtitles",
    )  # fmt: skip
    return np.asarray(Image.open(out).convert("RGB")).astype(int)


def test_ass_file_renders_cues_overlays_and_cta(tmp_path: Path) -> None:
    w, h = 270, 480
    cues = [SubtitleCue(start=0.0, end=2.0, text=t) for t in HOSTILE[:1]] + [
        SubtitleCue(start=2.0, end=4.0, text=" ".join(HOSTILE[1:])),
    ]
    overlays = [
        TextOverlay(start=0, end=2, text="{\\an5}Title", role="title"),
        TextOverlay(start=4, end=6, text="Shop now →", role="cta", full_frame=True, box_color="#E63946"),
    ]
    style = SubtitleStyle()
    ass = AssSubtitles().write(cues, overlays, style, w, h, tmp_path / "s.ass")
    body = ass.path.read_text(encoding="utf-8")
    assert f"PlayResX: {w}" in body and f"PlayResY: {h}" in body
    assert f"Style: Sub,DejaVu Sans,{round(64 * w / 1080)}," in body  # scaled from the 1080 reference
    assert "\\{\\\u2060b1\\}bold" in body  # literally escaped
    assert "{\\p1}" in body.replace("\\p1}", "{\\p1}") and "m 0 0 l 270 0 270 480 0 480" in body
    events = read_ass_events(ass.path)
    assert events[0].text == HOSTILE[0]  # read back exactly: nothing was interpreted
    long_pages = [e for e in events if e.style == "Sub" and e.start >= 2.0]
    assert len(long_pages) > 1  # more than max_lines lines → consecutive pages, not a third line
    assert all(e.text.count("\n") < style.max_lines for e in long_pages)
    assert long_pages[0].start == 2.0 and long_pages[-1].end == 4.0

    frame = _render(ass, w, h, 1.0, tmp_path / "a.png")
    bottom = frame[int(h * 0.7) : int(h * 0.95)]
    assert (bottom.min(axis=2) > 200).sum() > 50  # white subtitle glyphs near the bottom
    cta = _render(ass, w, h, 5.0, tmp_path / "b.png")
    corner = cta[:20, :20].reshape(-1, 3).mean(0)
    assert corner[0] > 200 and corner[1] < 90  # full-frame card in box_color
    assert (cta.min(axis=2) > 220).sum() > 30  # with the CTA text on it


@pytest.mark.parametrize("role", ["title", "caption"])
def test_dark_text_gets_a_light_outline_that_shows_on_a_dark_picture(tmp_path: Path, role: str) -> None:
    """A look's dark text colour (#1E1E1E) over a dark photo: the outline is white, so the letters stand out
    (with the black outline it once had, nothing above the background's brightness was drawn)."""
    w, h = 540, 960
    overlays = [TextOverlay(start=0, end=2, text="Aurora coffee", role=role, color="#1E1E1E")]
    subs = AssSubtitles().write([], overlays, SubtitleStyle(primary="#1E1E1E", outline="#FFFFFF"), w, h,
                                tmp_path / "s.ass")  # fmt: skip
    frame = _render(subs, w, h, 1.0, tmp_path / "t.png")
    assert (frame.min(axis=2) > 220).sum() > 100  # the white ring around the dark letters
    assert (frame.max(axis=2) < 60).sum() > 50  # and the dark letters themselves


def test_text_width_matches_libass(tmp_path: Path) -> None:
    w, h = 1080, 200
    style = SubtitleStyle(font_size=64, outline_width=0.0, bold=True)
    ass = AssSubtitles().write(
        [SubtitleCue(start=0, end=5, text="Hello World 123")], [], style, w, h, tmp_path / "w.ass"
    )
    frame = _render(ass, w, h, 1.0, tmp_path / "w.png")
    cols = np.where((frame.min(axis=2) > 200).any(axis=0))[0]
    ink = cols[-1] - cols[0]
    assert ink == pytest.approx(text_width_px("Hello World 123", 64, True), rel=0.06)


def test_colour_and_time_formats() -> None:
    assert ass_color("#FF8000") == "&H000080FF"
    assert ass_color("#FF800080") == "&H7F0080FF"
    assert ass_time(3723.456) == "1:02:03.46"
    with pytest.raises(ValueError):
        ass_color("red")


def test_the_soft_track_undoes_the_burned_in_line_breaks() -> None:
    from tools.subtitles import unwrapped

    assert unwrapped("Meet Aurora Single-Origin\nBeans by Aurora.") == "Meet Aurora Single-Origin Beans by Aurora."
    assert unwrapped("隆重推出阿芙拉烘焙阿\n芙拉单一产地咖啡豆。") == "隆重推出阿芙拉烘焙阿芙拉单一产地咖啡豆。"
    assert unwrapped("咖啡。\n好") == "咖啡。好"
    assert unwrapped("커피\n원두") == "커피 원두"  # Hangul is written with spaces
    # a break after a word's own hyphen (UAX #14 allows one) had no space to restore
    assert unwrapped("Charges over USB-\nC in two hours") == "Charges over USB-C in two hours"
    assert unwrapped("well -\nknown") == "well - known"


def test_track_text_keeps_braces_and_backslashes_out_of_ffmpegs_ass_splitter() -> None:
    from tools.escape import track_text

    assert track_text("50% {\\b1}off\\N now\n") == "50% ｛＼b1｝off＼N now "
