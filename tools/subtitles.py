r"""ASS subtitle writer: cues (timed from speech) plus on-screen overlays and the CTA card, in one file
that the composer burns with libass, and the folder of fonts that file is set in.

Sizes in `SubtitleStyle` and `TextOverlay` are for a 1080-wide (1920-high) frame; the script's
PlayRes is the output size, so they are scaled here and the same plan renders alike at draft and
final resolution. Every text element is broken into lines in pixels (`tools.textlayout`) with the fonts
that set it (`tools.fonts`): each run of another font carries an ``\fn`` override, and each line opens
with a direction mark so libass lays a right-to-left language's paragraph out right to left even where a
line begins with a Latin word (styles use Encoding -1: the base direction comes from the text)."""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tools.cache import temp_beside
from tools.escape import ASS_NEWLINE, ass_text, track_text, visible_text
from tools.fonts import FONT_BOLD, FONT_REGULAR, face, font_runs, run_fontsize, settable
from tools.languages import language_of
from tools.limits import SAFE_WIDTH
from tools.models import SubtitleCue, SubtitleFile, SubtitleStyle, TextOverlay
from tools.scripts import paragraph_direction, unspaced
from tools.textlayout import TextFont, wrap
from tools.vocabulary import outline_for

log = logging.getLogger("ragvid.tools")

REF_WIDTH = 1080
REF_HEIGHT = 1920
BADGE_PAD = 14.0  # px at the reference: the badge box (BorderStyle 3) reaches this far past its text
TITLE_BOLD = {"title": True, "badge": True, "cta": True, "caption": False}
MARKS = {"ltr": "\u200e", "rtl": "\u200f"}  # LRM / RLM: a strong character of the paragraph's direction

_HEX = re.compile(r"^#?([0-9a-fA-F]{6})([0-9a-fA-F]{2})?$")


def ass_color(color: str, alpha: int | None = None) -> str:
    """`#RRGGBB` or `#RRGGBBAA` (AA = opacity, CSS order) → ASS `&HAABBGGRR` (AA = transparency)."""
    m = _HEX.match(color.strip())
    if not m:
        raise ValueError(f"not a #RRGGBB colour: {color!r}")
    rgb = m.group(1)
    r, g, b = rgb[0:2], rgb[2:4], rgb[4:6]
    if alpha is None:
        alpha = 255 - int(m.group(2), 16) if m.group(2) else 0
    return f"&H{alpha:02X}{b}{g}{r}".upper()


def _tag_color(color: str) -> str:
    # override tags take &HBBGGRR& (alpha is a separate tag)
    return ass_color(color)[:2] + ass_color(color)[4:] + "&"


def ass_time(t: float) -> str:
    """Seconds as an ASS timestamp ``H:MM:SS.cc`` (rounded to centiseconds; a negative time reads as 0)."""
    cs = max(0, round(t * 100))
    h, rem = divmod(cs, 360000)
    m, rem = divmod(rem, 6000)
    s, c = divmod(rem, 100)
    return f"{h}:{m:02d}:{s:02d}.{c:02d}"


def text_font(style: SubtitleStyle, size: float, bold: bool, text: str = "") -> TextFont:
    """How `text` in `style`'s language is set at Fontsize `size`: the language's fonts and the paragraph
    direction of the text in that language."""
    lang = language_of(style.language)
    fonts = (style.font, *lang.fonts) if style.font else lang.fonts
    return TextFont(size, bold, tuple(dict.fromkeys(fonts)), paragraph_direction(text, lang.direction))


def safe_width(width: int) -> float:
    """The title-safe width (px) of a `width`-pixel frame: no line of text is wider."""
    return SAFE_WIDTH * width


def _chunks(lines: list[str], size: int) -> list[list[str]]:
    return [lines[i : i + size] for i in range(0, len(lines), size)]


def _fade(start: float, end: float, fade_ms: int, fade_out: bool = True) -> str:
    # fades never eat more than a quarter of a short event, so it is readable at full opacity
    ms = min(fade_ms, int((end - start) * 1000 / 4))
    return f"\\fad({ms},{ms if fade_out else 0})" if ms >= 20 else ""


def ass_line(line: str, font: TextFont, base_family: str) -> str:
    r"""One line of untrusted text as ASS Dialogue text: escaped, each run outside ``base_family`` set in its
    font with ``\fn`` and the Fontsize that gives it the common em (`tools.fonts.run_fontsize`), and back; the
    line opens with the mark of the paragraph's direction."""
    parts = [MARKS[font.direction]]
    current = base_family
    for run in font_runs(line, font.fonts, font.bold):
        if run.family != current:
            parts.append(f"{{\\fn{run.family}\\fs{_fs(font.size, run.family, font.bold)}}}")
            current = run.family
        parts.append(ass_text(run.text))
    if current != base_family:
        parts.append(f"{{\\fn{base_family}\\fs{_fs(font.size, base_family, font.bold)}}}")
    return "".join(parts)


def _fs(size: float, family: str, bold: bool) -> str:
    # Fontsize as ASS reads it: at most two decimals, no trailing zeros
    return f"{run_fontsize(size, family, bold):.2f}".rstrip("0").rstrip(".")


class AssSubtitles:
    """`SubtitleWriter` producing one ASS v4+ script for libass."""

    name = "ass"
    offline = True

    def __init__(self, cue_fade_ms: int = 80, overlay_fade_ms: int = 250) -> None:
        self.cue_fade_ms = cue_fade_ms
        self.overlay_fade_ms = overlay_fade_ms

    def write(
        self,
        cues: list[SubtitleCue],
        overlays: list[TextOverlay],
        style: SubtitleStyle,
        width: int,
        height: int,
        out: Path,
    ) -> SubtitleFile:
        """Write the ASS script (UTF-8) for a `width`×`height` frame to `out` and the folder of its fonts beside
        it (``<out>.fonts/``, links to the font files); see `SubtitleWriter.write`. Raises FontMissing (naming the
        package) when a text needs a font that is not installed, InputError for an unsupported language."""
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        lang = language_of(style.language, "style.language")
        base = style.font or lang.fonts[0]
        self._families: dict[str, None] = {base: None}
        events = self._events(cues, overlays, style, width, height, base)
        text = "\n".join([*self._header(style, width, height, base), "", *events])
        out.write_text(text + "\n", encoding="utf-8")
        families = list(self._families)
        return SubtitleFile(
            path=out, fonts_dir=_link_fonts(out.with_suffix(".fonts"), families), families=families, language=lang.code
        )

    @staticmethod
    def _settable(text: str, font: TextFont, what: str) -> str:
        """What of ``text`` can be drawn; a character no installed font has is dropped with a warning naming it."""
        kept, dropped = settable(visible_text(text), font.fonts, font.bold)
        if dropped:
            shown = ", ".join(f"{c!r} (U+{ord(c[0]):04X})" for c in dict.fromkeys(dropped))
            log.warning("%s %r: dropped %s: no installed font has a glyph for it", what, text, shown)
        return kept

    def _line(self, line: str, font: TextFont, base: str) -> str:
        self._families.update(dict.fromkeys(r.family for r in font_runs(line, font.fonts, font.bold)))
        return ass_line(line, font, base)

    def _header(self, style: SubtitleStyle, width: int, height: int, font: str) -> list[str]:
        sx, sy = width / REF_WIDTH, height / REF_HEIGHT
        fmt = (
            "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
            "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
            "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding"
        )
        margin_h = round((1 - SAFE_WIDTH) / 2 * width)

        def st(
            name: str,
            size: float,
            primary: str,
            outline_c: str,
            back: str,
            bold: bool,
            border: int,
            outline: float,
            shadow: float,
            align: int,
            margin_v: float,
        ) -> str:
            # Encoding -1: libass takes each paragraph's base direction from its text (our direction marks)
            # the style's Fontsize gives the base font the common em (tools.fonts.ass_em_px)
            return (
                f"Style: {name},{font},{_fs(size, font, bold)},{ass_color(primary)},{ass_color(primary)},"
                f"{ass_color(outline_c)},{back},{-1 if bold else 0},0,0,0,100,100,0,0,{border},"
                f"{outline:.2f},{shadow:.2f},{align},{margin_h},{margin_h},{round(margin_v)},-1"
            )

        shadow_back = ass_color("#000000", alpha=0x80)
        return [
            "[Script Info]",
            "; written by ragvid tools.subtitles",
            "ScriptType: v4.00+",
            f"PlayResX: {width}",
            f"PlayResY: {height}",
            # smart wrapping stays on as a safety net: our own \N breaks come first, libass only
            # breaks a line that still would not fit the frame
            "WrapStyle: 0",
            "ScaledBorderAndShadow: yes",
            "YCbCr Matrix: TV.709",
            "",
            "[V4+ Styles]",
            fmt,
            st(
                "Sub",
                style.font_size * sx,
                style.primary,
                style.outline,
                shadow_back,
                style.bold,
                1,
                style.outline_width * sx,
                1.5 * sx,
                2,
                style.margin_v * sy,
            ),
            st("Title", 84 * sx, "#FFFFFF", "#000000", shadow_back, True, 1, 4 * sx, 2 * sx, 8, 180 * sy),
            st("Caption", 48 * sx, "#FFFFFF", "#000000", shadow_back, False, 1, 3 * sx, 1 * sx, 2, 120 * sy),
            # opaque box (BorderStyle 3) drawn in the outline colour: a price tag / sticker
            st("Badge", 64 * sx, "#FFFFFF", "#E63946", shadow_back, True, 3, BADGE_PAD * sx, 0, 8, 360 * sy),
            st("Cta", 96 * sx, "#FFFFFF", "#000000", shadow_back, True, 1, 3 * sx, 0, 5, 0),
            st("Card", 10, "#000000", "#000000", ass_color("#000000", 0xFF), False, 1, 0, 0, 7, 0),
        ]

    def _events(
        self,
        cues: list[SubtitleCue],
        overlays: list[TextOverlay],
        style: SubtitleStyle,
        width: int,
        height: int,
        base: str,
    ) -> list[str]:
        lines = [
            "[Events]",
            "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
        ]
        lines.extend(self._cue_events(cues, style, width, base))
        lines.extend(self._overlay_events(overlays, style, width, height, base))
        return lines

    def _cue_events(self, cues: Iterable[SubtitleCue], style: SubtitleStyle, width: int, base: str) -> list[str]:
        events: list[str] = []
        size = style.font_size * width / REF_WIDTH
        for cue in sorted(cues, key=lambda c: c.start):
            if cue.end <= cue.start:
                continue
            font = text_font(style, size, style.bold, cue.text)
            text = self._settable(cue.text, font, "cue")
            wrapped = wrap(text, font, safe_width(width))
            if not wrapped:
                continue
            pages = _chunks(wrapped, max(1, style.max_lines))
            # a cue longer than max_lines becomes consecutive pages, each on screen for a share of
            # the cue proportional to its length, rather than a third line or a truncation
            weights = [sum(len(x) for x in p) for p in pages]
            total = float(sum(weights))
            t = cue.start
            for page, w in zip(pages, weights, strict=True):
                t_end = cue.end if page is pages[-1] else t + (cue.end - cue.start) * w / total
                body = ASS_NEWLINE.join(self._line(x, font, base) for x in page)
                fade = _fade(t, t_end, self.cue_fade_ms)
                tags = f"{{{fade}}}" if fade else ""
                events.append(f"Dialogue: 2,{ass_time(t)},{ass_time(t_end)},Sub,,0,0,0,,{tags}{body}")
                t = t_end
        return events

    def _overlay_events(self, overlays: Iterable[TextOverlay], style: SubtitleStyle, width: int, height: int,
                        base: str) -> list[str]:  # fmt: skip
        sx = width / REF_WIDTH
        events: list[str] = []
        for ov in sorted(overlays, key=lambda o: o.start):
            if ov.end <= ov.start:
                continue
            start, end = ass_time(ov.start), ass_time(ov.end)
            # the CTA card holds to the last frame: a video ends on its call to action, not on a fade
            fade = _fade(ov.start, ov.end, self.overlay_fade_ms, fade_out=ov.role != "cta")
            if ov.full_frame:
                card = ov.box_color or "#000000"
                # a vector rectangle covering the frame; layer 3 keeps it above the cues it replaces
                draw = f"m 0 0 l {width} 0 {width} {height} 0 {height}"
                events.append(
                    f"Dialogue: 3,{start},{end},Card,,0,0,0,,"
                    f"{{\\an7\\pos(0,0)\\bord0\\shad0\\1c{_tag_color(card)}{fade}\\p1}}{draw}{{\\p0}}"
                )
            role_style = {"title": "Title", "badge": "Badge", "cta": "Cta", "caption": "Caption"}[ov.role]
            align = {"top": 8, "center": 5, "bottom": 2}[ov.position]
            if ov.full_frame:
                align = 5
            size = ov.font_size * sx
            bold = TITLE_BOLD[ov.role]
            tags = f"\\an{align}\\fs{_fs(size, base, bold)}\\1c{_tag_color(ov.color)}{fade}"
            boxed = bool(ov.box_color and not ov.full_frame) or role_style == "Badge"
            if ov.box_color and not ov.full_frame:
                # BorderStyle 3 paints the box in the outline colour
                tags += f"\\3c{_tag_color(ov.box_color)}"
                role_style = "Badge"
            elif role_style != "Badge":  # an outline that stands out from the text over any picture
                tags += f"\\3c{_tag_color(outline_for(ov.color))}"
            font = text_font(style, size, bold, ov.text)
            text = self._settable(ov.text, font, ov.role)
            room = safe_width(width) - (2 * BADGE_PAD * sx if boxed else 0.0)
            body = ASS_NEWLINE.join(self._line(x, font, base) for x in wrap(text, font, room))
            if not body:
                continue
            layer = 4 if ov.full_frame else 1
            events.append(f"Dialogue: {layer},{start},{end},{role_style},,0,0,0,,{{{tags}}}{body}")
        return events


def _link_fonts(folder: Path, families: list[str]) -> Path:
    """``folder`` holding links to the shipped fonts and to the regular and bold files of ``families``: libass
    loads every font in its ``fontsdir``, so it finds exactly the faces the text was measured in, whatever
    fontconfig knows of this machine."""
    folder.mkdir(parents=True, exist_ok=True)
    faces = [face(family, bold) for family in families for bold in (False, True)]
    wanted = {FONT_REGULAR, FONT_BOLD, *(f.path for f in faces)}
    for path in wanted:
        link = folder / path.name
        if link.is_symlink() and Path(os.readlink(link)) == path:
            continue
        tmp = temp_beside(link)
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(path)
        os.replace(tmp, link)
    return folder


@dataclass
class AssEvent:
    """A Dialogue line read back from an ASS file this module wrote (for renderers without libass)."""

    layer: int
    start: float
    end: float
    style: str
    text: str  # plain text, lines joined with "\n"
    align: int | None = None
    font_size: float | None = None
    color: str | None = None  # "#RRGGBB"
    drawing: bool = False


_TAG_BLOCK = re.compile(r"(?<!\\)\{([^}]*)\}")


def _parse_time(s: str) -> float:
    h, m, rest = s.split(":")
    return int(h) * 3600 + int(m) * 60 + float(rest)


def ass_hex(v: str) -> str:
    """An ASS colour (`&HBBGGRR` or `&HAABBGGRR`) as `#RRGGBB`."""
    v = v.strip("&H").rjust(6, "0")[-6:]
    return f"#{v[4:6]}{v[2:4]}{v[0:2]}"


def read_ass_events(path: Path) -> list[AssEvent]:
    """Dialogue events of an ASS file, with override tags removed and `ass_text` escapes undone."""
    events: list[AssEvent] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        if not line.startswith("Dialogue:"):
            continue
        fields = line[len("Dialogue:") :].split(",", 9)
        if len(fields) < 10:
            continue
        ev = AssEvent(
            int(fields[0]), _parse_time(fields[1].strip()), _parse_time(fields[2].strip()), fields[3], ""
        )
        raw = fields[9]
        for tags in _TAG_BLOCK.findall(raw):
            if m := re.search(r"\\an(\d)", tags):
                ev.align = int(m.group(1))
            if m := re.search(r"\\fs([\d.]+)", tags):
                ev.font_size = float(m.group(1))
            if m := re.search(r"\\1c(&H[0-9A-Fa-f]+)&", tags):
                ev.color = ass_hex(m.group(1))
            if re.search(r"\\p1", tags):
                ev.drawing = True
        text = _TAG_BLOCK.sub("", raw)
        text = text.replace("\u200e", "").replace("\u200f", "")
        text = text.replace("\\N", "\n").replace("\\{", "{").replace("\\}", "}").replace("\\\u2060", "\\")
        ev.text = text
        events.append(ev)
    return events


def unwrapped(text: str) -> str:
    r"""`text` with its line breaks undone: a space where the break was, none between two characters of scripts
    written without spaces (Han, kana: "阿\n芙拉" → "阿芙拉") and none after a hyphen that ends a word (line
    breaking (UAX #14) may break after it: "USB-\nC" → "USB-C"; "well -\nknown" keeps its space)."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    out = lines[0] if lines else ""
    for line in lines[1:]:
        joined = (unspaced(out[-1]) and unspaced(line[0])) or (out.endswith("-") and not out[:-1].endswith(" "))
        out += line if joined else " " + line
    return out


TRACK_HEADER = (
    "[Script Info]\n; the soft subtitle track, written by ragvid tools.subtitles\nScriptType: v4.00+\n\n"
    "[V4+ Styles]\nFormat: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
    "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, "
    "MarginL, MarginR, MarginV, Encoding\nStyle: Sub,Sans,20,&H00FFFFFF,&H00FFFFFF,&H00000000,&H80000000,"
    "0,0,0,0,100,100,0,0,1,1,0,2,10,10,10,1\n\n"
    "[Events]\nFormat: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\n"
)


def write_text_track(subs: SubtitleFile, out: Path) -> Path | None:
    """The spoken lines (style ``Sub``) of the burned-in script `subs` as a plain ASS script at `out`, for a soft
    subtitle track beside the burned-in text: no styling, no positions, no drawings, the breaks fitted to the
    burned-in frame undone (a player wraps for its own width), each line's text through
    `tools.escape.track_text`. Titles, badges and the end card are graphics, not subtitles, and stay out.
    Returns `out`, or None (nothing written) when the script has no spoken line."""
    lines = [
        f"Dialogue: 0,{ass_time(ev.start)},{ass_time(ev.end)},Sub,,0,0,0,,{track_text(unwrapped(ev.text))}"
        for ev in read_ass_events(subs.path)
        if ev.style == "Sub" and not ev.drawing and ev.text.strip()
    ]
    if not lines:
        return None
    out = Path(out)
    out.write_text(TRACK_HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return out


__all__ = [
    "AssEvent",
    "AssSubtitles",
    "SubtitleFile",
    "ass_color",
    "ass_hex",
    "ass_line",
    "ass_time",
    "read_ass_events",
    "safe_width",
    "text_font",
    "write_text_track",
]
