"""Text fitted in pixels: line breaks where Unicode allows them (UAX #14, from ``uniseg``), widths measured
in the fonts that set each run and shaped as libass shapes them (``tools.fonts``), and the font size that
lets a text fit a box in a given number of lines.

Sizes are ASS ``Fontsize`` values at the frame's scale and widths are pixels of the same frame, so what is
measured here is what libass draws. Lines are balanced: a cue that needs two lines gets two of similar
width, not one full line and a stray word.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

from uniseg.graphemecluster import grapheme_clusters
from uniseg.linebreak import line_break_units

from tools.escape import visible_text
from tools.fonts import text_width_px


@dataclass(frozen=True)
class TextFont:
    """How a text is set: ASS Fontsize, weight, the language's font families and the paragraph direction."""

    size: float
    bold: bool = False
    fonts: tuple[str, ...] = ()
    direction: str = "ltr"

    def width(self, text: str) -> int:
        """Advance width (px) of one line of ``text``."""
        return _width(text.strip(), self.size, self.bold, self.fonts, self.direction)

    def sized(self, size: float) -> TextFont:
        """The same font at another Fontsize."""
        return TextFont(size, self.bold, self.fonts, self.direction)


@functools.lru_cache(maxsize=8192)
def _width(text: str, size: float, bold: bool, fonts: tuple[str, ...], direction: str) -> int:
    return text_width_px(text, size, bold, fonts=fonts, direction=direction)


def break_units(text: str, font: TextFont, max_width: float) -> list[str]:
    """``text`` (what of it is visible: `tools.escape.visible_text`) cut at its line-break opportunities (UAX #14;
    each unit keeps its trailing spaces); a unit wider
    than ``max_width`` by itself (a very long word) is cut further between grapheme clusters."""
    units: list[str] = []
    for unit in line_break_units(" ".join(visible_text(text).split())):
        if font.width(unit) <= max_width:
            units.append(unit)
            continue
        piece = ""
        for cluster in grapheme_clusters(unit):
            if piece and font.width(piece + cluster) > max_width:
                units.append(piece)
                piece = ""
            piece += cluster
        if piece:
            units.append(piece)
    return units


def _greedy(units: Sequence[str], font: TextFont, width: float) -> list[str]:
    lines: list[str] = []
    cur = ""
    for unit in units:
        if cur and font.width(cur + unit) > width:
            lines.append(cur.strip())
            cur = unit
        else:
            cur += unit
    if cur.strip():
        lines.append(cur.strip())
    return lines


def wrap(text: str, font: TextFont, max_width: float) -> list[str]:
    """``text`` broken into lines no wider than ``max_width`` pixels at Unicode line-break opportunities,
    balanced: as few lines as greedy filling needs, each as close to the same width as the breaks allow."""
    units = break_units(text, font, max_width)
    if not units:
        return []
    lines = _greedy(units, font, max_width)
    if len(lines) < 2:
        return lines
    # the narrowest width that still gives as few lines: bisect on pixels
    lo, hi = float(max(font.width(u) for u in units)), float(max_width)
    while hi - lo > 1:
        mid = (lo + hi) / 2
        if len(_greedy(units, font, mid)) <= len(lines):
            hi = mid
        else:
            lo = mid
    return _greedy(units, font, hi)


def widest(lines: Sequence[str], font: TextFont) -> int:
    """The widest line's advance width (px); 0 for no lines."""
    return max((font.width(line) for line in lines), default=0)


@dataclass(frozen=True)
class Fitted:
    """A text fitted to a box: its lines and the font they are set at."""

    lines: list[str]
    font: TextFont


def fit(texts: Sequence[str], font: TextFont, max_width: float, max_lines: int, min_size: float) -> Fitted | None:
    """The largest Fontsize from ``font.size`` down to ``min_size`` (in 2 % steps) at which every text wraps
    into at most ``max_lines`` lines of ``max_width`` pixels; None when even ``min_size`` does not do. The
    returned lines are those of the longest text (by lines, then width)."""
    size = font.size
    while size >= min_size:
        sized = font.sized(size)
        wrapped = [wrap(t, sized, max_width) for t in texts]
        if all(len(w) <= max_lines for w in wrapped):
            worst = max(wrapped, key=lambda w: (len(w), widest(w, sized)), default=[])
            return Fitted(worst, sized)
        size = round(min(size * 0.98, size - 0.5), 2)
    return None


__all__ = ["Fitted", "TextFont", "break_units", "fit", "widest", "wrap"]
