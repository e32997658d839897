r"""Fonts per script, with fallback: which installed font sets each character of a text, and how wide it is.

DejaVu Sans ships with the package (Bitstream Vera licence, see LICENSE-DejaVu.txt) for Latin, Greek and
Cyrillic; other scripts are set in Noto fonts and emoji in Symbola's monochrome glyphs, from Debian
packages (``fonts-noto-core``, ``fonts-noto-cjk``, ``fonts-symbola``) that both README commands install.

libass has font fallback of its own (through fontconfig), but ragvid must know *before* rendering which font
sets each character: to fit text in pixels with that font's advances, to refuse text that no installed
font can show, and to name the package that is missing. So the choice is made here, per grapheme cluster
(UAX #29, from ``uniseg``), written into the subtitle file as ``\fn`` overrides, and handed to libass as the
render's font folder; the Critic then reads libass's own selection back (``tools.libass``) and checks every
character against the cmap of the font it really used. Cmaps and metrics are read with fontTools.
"""

from __future__ import annotations

import functools
import os
import unicodedata
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont
from PIL import ImageFont
from uniseg.graphemecluster import grapheme_clusters

from tools.errors import InputError, ToolError
from tools.scripts import COMMON, script_of

FONT_DIR = Path(__file__).resolve().parent
FONT_REGULAR = FONT_DIR / "DejaVuSans.ttf"
FONT_BOLD = FONT_DIR / "DejaVuSans-Bold.ttf"
FONT_FAMILY = "DejaVu Sans"
SYMBOL_FAMILY = "Symbola"
SYSTEM_FONT_DIRS: tuple[Path, ...] = (
    Path("/usr/share/fonts"),
    Path("/usr/local/share/fonts"),
    Path.home() / ".local/share/fonts",
    Path.home() / ".fonts",
)
"""Where installed fonts are looked for (fontconfig's default directories on Debian)."""


@dataclass(frozen=True)
class FamilySpec:
    """A font family ragvid knows how to find: its regular and bold files (None: libass emboldens the regular
    one) and the Debian package that installs them."""

    family: str
    regular: str
    bold: str | None
    package: str


_CJK = ("NotoSansCJK-Regular.ttc", "NotoSansCJK-Bold.ttc", "fonts-noto-cjk")
FAMILIES: dict[str, FamilySpec] = {
    spec.family: spec
    for spec in (
        FamilySpec(FONT_FAMILY, FONT_REGULAR.name, FONT_BOLD.name, "ragvid (shipped)"),
        FamilySpec("Noto Sans CJK SC", *_CJK),
        FamilySpec("Noto Sans CJK TC", *_CJK),
        FamilySpec("Noto Sans CJK JP", *_CJK),
        FamilySpec("Noto Sans CJK KR", *_CJK),
        FamilySpec(SYMBOL_FAMILY, "Symbola_hint.ttf", None, "fonts-symbola"),
    )
}
"""The families with files that do not follow Noto's naming; every other script's family is ``Noto Sans
<Script>`` from ``fonts-noto-core`` (`family_for_script`)."""

SCRIPT_FAMILIES: dict[str, str] = {
    "Latn": FONT_FAMILY, "Grek": FONT_FAMILY, "Cyrl": FONT_FAMILY, "Hani": "Noto Sans CJK SC",
    "Bopo": "Noto Sans CJK TC", "Hira": "Noto Sans CJK JP", "Kana": "Noto Sans CJK JP", "Hang": "Noto Sans CJK KR",
}  # fmt: skip


def family_for_script(script: str) -> FamilySpec:
    """The family that sets ``script`` (ISO 15924) when the language's own fonts do not cover it: DejaVu Sans
    for Latin, Greek and Cyrillic, Noto Sans CJK for Han, kana and Hangul, else ``Noto Sans <Script name>``."""
    if script in SCRIPT_FAMILIES:
        return FAMILIES[SCRIPT_FAMILIES[script]]
    from fontTools import unicodedata as ucd

    name = str(ucd.script_name(script)).replace("_", " ")
    stem = "NotoSans" + name.replace(" ", "")
    spec = FamilySpec(f"Noto Sans {name}", f"{stem}-Regular.ttf", f"{stem}-Bold.ttf", "fonts-noto-core")
    return FAMILIES.get(spec.family, spec)


def spec_of(family: str) -> FamilySpec:
    """The `FamilySpec` of a family name (a known one, or a ``Noto Sans <Script>`` one)."""
    if family in FAMILIES:
        return FAMILIES[family]
    stem = family.replace(" ", "")
    return FamilySpec(family, f"{stem}-Regular.ttf", f"{stem}-Bold.ttf", "fonts-noto-core")


class FontMissing(ToolError):
    """A font ragvid needs is not installed; the message names the Debian package that installs it."""

    def __init__(self, family: str, package: str, needed_for: str = "") -> None:
        self.family, self.package = family, package
        why = f" for {needed_for}" if needed_for else ""
        super().__init__(f"font '{family}' is needed{why} but not installed (apt-get install {package})")


@functools.lru_cache(maxsize=1)
def _installed() -> dict[str, Path]:
    """File name → path of every font file under the system font directories (first one found wins)."""
    found: dict[str, Path] = {}
    for root in SYSTEM_FONT_DIRS:
        for dirpath, _dirs, files in os.walk(root):
            for name in files:
                found.setdefault(name, Path(dirpath) / name)
    return found


def _file(name: str) -> Path | None:
    shipped = FONT_DIR / name
    return shipped if shipped.is_file() else _installed().get(name)


@functools.lru_cache(maxsize=64)
def _face_index(path: Path, family: str) -> int:
    """The face of a collection (.ttc) whose family name is ``family`` (0 for a single font)."""
    if path.suffix.lower() != ".ttc":
        return 0
    for i, font in enumerate(TTCollection(str(path), lazy=True).fonts):
        names = {font["name"].getDebugName(n) for n in (1, 16)}
        if family in names:
            return i
    raise ToolError(f"font collection {path} has no face of family '{family}'")


@dataclass(frozen=True)
class FontFace:
    """One font file (and face of a collection) that sets a family at a weight. ``synthetic_bold``: the family has
    no bold file, so libass emboldens the regular one."""

    family: str
    bold: bool
    path: Path
    index: int
    package: str
    synthetic_bold: bool = False

    @property
    def cmap(self) -> frozenset[int]:
        """The code points the face has glyphs for."""
        return _cmap(self.path, self.index)

    def covers(self, cluster: str) -> bool:
        """True when the face has a glyph for every visible character of ``cluster`` (default-ignorable ones,
        such as ZWJ and variation selectors, are never drawn and need none)."""
        cmap = self.cmap
        return all(ord(ch) in cmap for ch in cluster if not ignorable(ch))

    @property
    def em_ratio(self) -> float:
        """Em size in pixels per ASS ``Fontsize``: libass asks FreeType for a *real dimension* (ascent + descent,
        from OS/2 usWinAscent/usWinDescent where set, as GDI does) equal to Fontsize, so the em is
        Fontsize × unitsPerEm / (ascent + descent) (libass ``ass_face_set_size`` and ``set_font_metrics``)."""
        return _em_ratio(self.path, self.index)

    def pil(self, em_px: float) -> ImageFont.FreeTypeFont:
        """The face at an em of ``em_px`` pixels in Pillow, shaped by HarfBuzz and FriBiDi (raqm) as libass does."""
        return _pil(self.path, self.index, round(em_px * 64) / 64)


@functools.lru_cache(maxsize=32)
def _cmap(path: Path, index: int) -> frozenset[int]:
    with TTFont(str(path), fontNumber=index, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


@functools.lru_cache(maxsize=32)
def _em_ratio(path: Path, index: int) -> float:
    with TTFont(str(path), fontNumber=index, lazy=True) as font:
        upem = font["head"].unitsPerEm
        os2 = font.get("OS/2", None)
        if os2 is not None and os2.usWinAscent + os2.usWinDescent > 0:
            return float(upem) / (os2.usWinAscent + os2.usWinDescent)
        hhea = font["hhea"]
        return float(upem) / (hhea.ascent - hhea.descent)


@functools.lru_cache(maxsize=256)
def _pil(path: Path, index: int, em_px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), em_px, index=index, layout_engine=ImageFont.Layout.RAQM)


def installed_face(family: str, bold: bool = False) -> FontFace | None:
    """The installed face of ``family`` at that weight (the regular one, to be emboldened, when the family has no
    bold file), or None when the family is not installed."""
    spec = spec_of(family)
    # many Noto families ship a regular weight only (Egyptian Hieroglyphs, Math, Mongolian, …): libass then
    # emboldens the regular face, as it does for a family declared without a bold file
    path = _file(spec.bold) if bold and spec.bold else None
    synthetic = bold and path is None
    path = path or _file(spec.regular)
    if path is None:
        return None
    return FontFace(family, bold, path, _face_index(path, family), spec.package, synthetic_bold=synthetic)


def face(family: str, bold: bool = False) -> FontFace:
    """The installed face of ``family``. Raises FontMissing naming the Debian package when it is not installed."""
    found = installed_face(family, bold)
    if found is None:
        spec = spec_of(family)
        raise FontMissing(family, spec.package)
    return found


def ignorable(ch: str) -> bool:
    """True for a default-ignorable character (format controls such as ZWJ and bidi marks, variation
    selectors): shaped away, never drawn, so it needs no glyph."""
    cp = ord(ch)
    return unicodedata.category(ch) == "Cf" or 0xFE00 <= cp <= 0xFE0F or 0xE0100 <= cp <= 0xE01EF or cp == 0x034F


@dataclass(frozen=True)
class Run:
    """A stretch of text set in one family."""

    text: str
    family: str


@dataclass(frozen=True)
class Unset:
    """A grapheme cluster no installed font covers, and the family (and its package) that would have set it."""

    cluster: str
    family: str
    package: str
    installed: bool


def _candidates(cluster: str, fonts: Sequence[str], current: str | None) -> Iterator[str]:
    base = next((ch for ch in cluster if not ignorable(ch)), cluster[:1])
    script = script_of(base)
    if script in COMMON:
        # punctuation, digits and emoji stay in the font of the text around them where it has the glyph
        if current is not None:
            yield current
        yield from fonts
        yield FONT_FAMILY
        yield SYMBOL_FAMILY
    else:
        yield from fonts
        yield family_for_script(script).family
    yield from FAMILIES


def _choose(cluster: str, fonts: Sequence[str], current: str | None, bold: bool) -> str | Unset:
    wanted: str | None = None
    for family in dict.fromkeys(_candidates(cluster, fonts, current)):
        found = installed_face(family, bold)
        if found is None:
            wanted = wanted or family
            continue
        if found.covers(cluster):
            return family
    base = next((ch for ch in cluster if not ignorable(ch)), cluster[:1])
    script = script_of(base)
    family = wanted or (family_for_script(script).family if script not in COMMON else SYMBOL_FAMILY)
    return Unset(cluster, family, spec_of(family).package, installed_face(family, bold) is not None)


def font_runs(text: str, fonts: Sequence[str] = (), bold: bool = False) -> list[Run]:
    """``text`` cut into runs, each set in the first family that covers it: the language's ``fonts`` first,
    then the family of the character's script (`family_for_script`); punctuation, digits and symbols stay in
    the surrounding run's font when it has them, emoji go to Symbola. Default-ignorable characters stay with
    their cluster. Raises FontMissing naming the package when the family for a script is not installed, and
    ToolError when no installed font covers a cluster (check text first with `check_coverage`)."""
    runs: list[Run] = []
    current: str | None = None
    for cluster in grapheme_clusters(text):
        if all(ignorable(ch) for ch in cluster) or cluster.isspace():
            family = current or (fonts[0] if fonts else FONT_FAMILY)
        else:
            chosen = _choose(cluster, fonts, current, bold)
            if isinstance(chosen, Unset):
                if not chosen.installed:
                    raise FontMissing(chosen.family, chosen.package, f"{cluster!r}")
                raise ToolError(f"no installed font has a glyph for {_codepoints(cluster)}")
            family = chosen
        if runs and runs[-1].family == family:
            runs[-1] = Run(runs[-1].text + cluster, family)
        else:
            runs.append(Run(cluster, family))
        current = family
    return runs


def unset_clusters(text: str, fonts: Sequence[str] = (), bold: bool = False) -> list[Unset]:
    """The grapheme clusters of ``text`` that no installed font covers (none: the text can be set)."""
    out: list[Unset] = []
    current: str | None = None
    for cluster in grapheme_clusters(text):
        if all(ignorable(ch) for ch in cluster) or cluster.isspace():
            continue
        chosen = _choose(cluster, fonts, current, bold)
        if isinstance(chosen, Unset):
            out.append(chosen)
        else:
            current = chosen
    return out


def settable(text: str, fonts: Sequence[str] = (), bold: bool = False) -> tuple[str, list[str]]:
    """``text`` without the grapheme clusters no installed font covers, and those clusters. Raises FontMissing
    naming the package when the font for a character's script is not installed (that one can be installed)."""
    unset = unset_clusters(text, fonts, bold)
    for u in unset:
        if not u.installed:
            raise FontMissing(u.family, u.package, _codepoints(u.cluster))
    if not unset:
        return text, []
    gone = {u.cluster for u in unset}
    return "".join(c for c in grapheme_clusters(text) if c not in gone), [u.cluster for u in unset]


def _codepoints(cluster: str) -> str:
    return " ".join(f"U+{ord(ch):04X} {ch!r}" for ch in cluster if not ignorable(ch))


def check_coverage(text: str, field: str, fonts: Sequence[str] = ()) -> None:
    """Raise InputError naming ``field`` when a character of ``text`` cannot be set: with the missing package
    when the font for its script is not installed, else saying no installed font has the glyph."""
    missing = unset_clusters(text, fonts) + unset_clusters(text, fonts, bold=True)
    if not missing:
        return
    first = missing[0]
    if not first.installed:
        raise InputError(field, f"{_codepoints(first.cluster)} needs the font '{first.family}', which is not "
                                f"installed (apt-get install {first.package})")  # fmt: skip
    shown = ", ".join(dict.fromkeys(_codepoints(u.cluster) for u in missing))
    raise InputError(field, f"no installed font has a glyph for {shown}")


def ass_em_px(fontsize: float, bold: bool = False) -> float:
    """The em size in PlayRes pixels of text at an ASS ``Fontsize``. ragvid sets every font at the em that DejaVu
    Sans has at that Fontsize (`run_fontsize` scales the others), so a Chinese or Arabic run is as large as the
    Latin text around it: libass alone would size each font by its own ascent + descent."""
    return fontsize * face(FONT_FAMILY, bold).em_ratio


def run_fontsize(fontsize: float, family: str, bold: bool = False) -> float:
    """The ASS Fontsize at which ``family`` has the em that DejaVu Sans has at ``fontsize`` (`ass_em_px`)."""
    return fontsize * face(FONT_FAMILY, bold).em_ratio / face(family, bold).em_ratio


def text_width_px(text: str, size: float, bold: bool = False, *, ass: bool = True, fonts: Sequence[str] = (),
                  direction: str | None = None) -> int:  # fmt: skip
    """Advance width in pixels of one line of ``text``, each run shaped (HarfBuzz) in the font that sets it at the
    common em (`ass_em_px`).

    ``size`` is an ASS ``Fontsize`` at the script's PlayRes scale (what the subtitle writer emits), so the
    result compares directly with PlayResX minus margins; pass ``ass=False`` for a plain em size. ``fonts``:
    the language's families (`font_runs`); ``direction``: "ltr"/"rtl" for the shaper (None: from the text)."""
    if not text:
        return 0
    scale = 8  # measure at 8x and scale down so small sizes are not rounded to whole pixels per glyph
    em = ass_em_px(size, bold) if ass else float(size)
    total = 0.0
    for run in font_runs(text, fonts, bold):
        total += face(run.family, bold).pil(em * scale).getlength(run.text, direction=direction) / scale
    return round(total)


__all__ = [
    "FAMILIES",
    "FONT_BOLD",
    "FONT_DIR",
    "FONT_FAMILY",
    "FONT_REGULAR",
    "SYMBOL_FAMILY",
    "SYSTEM_FONT_DIRS",
    "FamilySpec",
    "FontFace",
    "FontMissing",
    "Run",
    "Unset",
    "ass_em_px",
    "check_coverage",
    "face",
    "family_for_script",
    "font_runs",
    "ignorable",
    "installed_face",
    "run_fontsize",
    "settable",
    "spec_of",
    "text_width_px",
    "unset_clusters",
]
