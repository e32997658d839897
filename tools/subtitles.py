"""ASS subtitle writer: cues (timed from speech) plus on-screen overlays and the CTA card, in one file
that the composer burns with libass.

Sizes in `SubtitleStyle` and `TextOverlay` are for a 1080-wide (1920-high) frame; the script's
PlayRes is the output size, so they are scaled here and the same plan renders alike at draft and
final resolution."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from tools.escape import ASS_NEWLINE, ass_text
from tools.fonts import FONT_FAMILY
from tools.models import SubtitleCue, SubtitleStyle, TextOverlay

REF_WIDTH = 1080
REF_HEIGHT = 1920

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


def _greedy(words: list[str], width: int) -> list[str]:
    lines: list[str] = []
    cur = ""
    for w in words:
        if not cur:
            cur = w
        elif len(cur) + 1 + len(w) <= width:
            cur += " " + w
        else:
            lines.append(cur)
            cur = w
    if cur:
        lines.append(cur)
    return lines


def wrap_lines(text: str, max_chars: int) -> list[str]:
    """Word-wrap `text` into lines of at most `max_chars` characters, balanced so the lines are of
    similar length (a 30-char cue becomes 15+15, not 28+2). Words longer than a line are split."""
    max_chars = max(1, int(max_chars))
    words: list[str] = []
    for w in text.split():
        words.extend(w[i : i + max_chars] for i in range(0, len(w), max_chars))
    if not words:
        return []
    n = len(_greedy(words, max_chars))
    longest = max(len(w) for w in words)
    lower = max(longest, math.ceil(sum(len(w) for w in words) / n))
    for width in range(lower, max_chars + 1):
        lines = _greedy(words, width)
        if len(lines) <= n:
            return lines
    return _greedy(words, max_chars)


def _chunks(lines: list[str], size: int) -> list[list[str]]:
    return [lines[i : i + size] for i in range(0, len(lines), size)]


def _fade(start: float, end: float, fade_ms: int, fade_out: bool = True) -> str:
    # fades never eat more than a quarter of a short event, so it is readable at full opacity
    ms = min(fade_ms, int((end - start) * 1000 / 4))
    return f"\\fad({ms},{ms if fade_out else 0})" if ms >= 20 else ""


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
    ) -> Path:
        """Write the ASS script (UTF-8) for a `width`×`height` frame to `out` and return its path; see
        `SubtitleWriter.write`."""
        out = Path(out)
        out.parent.mkdir(parents=True, exist_ok=True)
        text = "\n".join(
            [*self._header(style, width, height), "", *self._events(cues, overlays, style, width, height)]
        )
        out.write_text(text + "\n", encoding="utf-8")
        return out

    def _header(self, style: SubtitleStyle, width: int, height: int) -> list[str]:
        sx, sy = width / REF_WIDTH, height / REF_HEIGHT
        font = style.font or FONT_FAMILY
        fmt = (
            "Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, "
            "Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, "
            "Shadow, Alignment, MarginL, MarginR, MarginV, Encoding"
        )
        margin_h = round(48 * sx)

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
            return (
                f"Style: {name},{font},{max(1, round(size))},{ass_color(primary)},{ass_color(primary)},"
                f"{ass_color(outline_c)},{back},{-1 if bold else 0},0,0,0,100,100,0,0,{border},"
                f"{outline:.2f},{shadow:.2f},{align},{margin_h},{margin_h},{round(margin_v)},1"
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
            st("Badge", 64 * sx, "#FFFFFF", "#E63946", shadow_back, True, 3, 14 * sx, 0, 8, 360 * sy),
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
    ) -> list[str]:
        lines = [
            "[Events]",
            "Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text",
        ]
        lines.extend(self._cue_events(cues, style))
        lines.extend(self._overlay_events(overlays, width, height))
        return lines

    def _cue_events(self, cues: Iterable[SubtitleCue], style: SubtitleStyle) -> list[str]:
        events: list[str] = []
        for cue in sorted(cues, key=lambda c: c.start):
            if cue.end <= cue.start:
                continue
            wrapped = wrap_lines(cue.text, style.max_chars_per_line)
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
                body = ASS_NEWLINE.join(ass_text(x) for x in page)
                fade = _fade(t, t_end, self.cue_fade_ms)
                tags = f"{{{fade}}}" if fade else ""
                events.append(f"Dialogue: 2,{ass_time(t)},{ass_time(t_end)},Sub,,0,0,0,,{tags}{body}")
                t = t_end
        return events

    def _overlay_events(self, overlays: Iterable[TextOverlay], width: int, height: int) -> list[str]:
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
            tags = f"\\an{align}\\fs{max(1, round(ov.font_size * sx))}\\1c{_tag_color(ov.color)}{fade}"
            if ov.box_color and not ov.full_frame:
                # BorderStyle 3 paints the box in the outline colour
                tags += f"\\3c{_tag_color(ov.box_color)}"
                if role_style != "Badge":
                    role_style = "Badge"
            max_chars = max(8, int(REF_WIDTH * 0.86 / (ov.font_size * 0.55)))
            body = ASS_NEWLINE.join(ass_text(x) for x in wrap_lines(ov.text, max_chars))
            if not body:
                continue
            layer = 4 if ov.full_frame else 1
            events.append(f"Dialogue: {layer},{start},{end},{role_style},,0,0,0,,{{{tags}}}{body}")
        return events


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
        text = text.replace("\\N", "\n").replace("\\{", "{").replace("\\}", "}").replace("\\\u2060", "\\")
        ev.text = text
        events.append(ev)
    return events


__all__ = [
    "AssEvent",
    "AssSubtitles",
    "ass_color",
    "ass_hex",
    "ass_time",
    "read_ass_events",
    "wrap_lines",
]
