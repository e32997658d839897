"""What libass really does with a subtitle file: the font it selects for each family it is asked for, and the
characters that font has no glyph for.

libass reports its font selection only in its log (``fontselect: (family, weight, italic) -> file, face,
PostScript name`` and ``Glyph 0x… not found``), which ffmpeg's ``ass`` filter passes on at level info; no
library exposes it to Python, hence this reader. A probe copy of the file, with every event on screen at once,
is rendered for one frame by the same ffmpeg (and so the same libass) as the video, so every run of text is
shaped and every font selected.
"""

from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fontTools.ttLib import TTCollection, TTFont

from tools.escape import ffmpeg_path
from tools.ffmpeg import Ffmpeg
from tools.fonts import ignorable
from tools.models import SubtitleFile

_SELECT = re.compile(r"fontselect: \((?P<family>.*), (?P<weight>\d+), (?P<italic>\d+)\) -> (?P<file>.*), "
                     r"(?P<index>\d+), (?P<ps>\S*)\s*$")  # fmt: skip
_NOT_FOUND = re.compile(r"Glyph 0x(?P<cp>[0-9A-Fa-f]+) not found in font for \((?P<family>.*), (?P<weight>\d+),")
_EVENT_TIMES = re.compile(r"^(Dialogue:\s*\d+,)[^,]*,[^,]*,")
_BLOCK = re.compile(r"(?<!\\)\{([^}]*)\}")
_FN = re.compile(r"\\fn([^\\}]*)")
_BOLD = re.compile(r"\\b(\d+)")


@dataclass(frozen=True)
class Selected:
    """The font libass selected for a request: the file (or fontsdir font), the face in it, its PostScript name."""

    file: Path
    index: int
    postscript: str


@dataclass
class FontSelection:
    """libass's selections by (family, bold) request, and the code points it found in no font."""

    selected: dict[tuple[str, bool], Selected] = field(default_factory=dict)
    not_found: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class TextRun:
    """A stretch of one Dialogue event's text and the font it asks for (family, bold)."""

    event: int
    style: str
    text: str
    family: str
    bold: bool


def _styles(lines: list[str]) -> dict[str, tuple[str, bool]]:
    """Style name → (Fontname, Bold) from the [V4+ Styles] section."""
    styles: dict[str, tuple[str, bool]] = {}
    for line in lines:
        if line.startswith("Style:"):
            cols = [c.strip() for c in line[len("Style:") :].split(",")]
            styles[cols[0]] = (cols[1], cols[7] not in ("0", ""))
    return styles


def text_runs(ass: Path) -> Iterator[TextRun]:
    r"""Every run of text in the file's Dialogue events with the family and weight it asks libass for (the
    style's, changed by ``\fn``/``\b`` overrides); drawings (``\p1``) are not text."""
    lines = ass.read_text(encoding="utf-8").splitlines()
    styles = _styles(lines)
    events = [ln for ln in lines if ln.startswith("Dialogue:")]
    for i, line in enumerate(events):
        fields = line[len("Dialogue:") :].split(",", 9)
        style = fields[3].strip()
        family, bold = styles.get(style, ("", False))
        drawing = False
        pos = 0
        raw = fields[9]
        for m in [*_BLOCK.finditer(raw), None]:
            end = m.start() if m is not None else len(raw)
            text = _plain(raw[pos:end])
            if text and not drawing:
                yield TextRun(i, style, text, family, bold)
            if m is None:
                break
            tags = m.group(1)
            if fn := _FN.search(tags):
                family = fn.group(1).strip() or styles.get(style, ("", False))[0]
            if b := _BOLD.search(tags):
                bold = b.group(1) not in ("0",)
            if "\\p" in tags:
                drawing = bool(re.search(r"\\p[1-9]", tags))
            pos = m.end()


def _plain(text: str) -> str:
    return text.replace("\\N", " ").replace("\\h", " ").replace("\\{", "{").replace("\\}", "}")


def _probe_copy(ass: Path, out: Path) -> None:
    """``ass`` with every event shown from 0 to 1 s, so one frame makes libass select every font."""
    lines = [
        _EVENT_TIMES.sub(r"\g<1>0:00:00.00,0:00:01.00,", ln) if ln.startswith("Dialogue:") else ln
        for ln in ass.read_text(encoding="utf-8").splitlines()
    ]
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")


def font_selection(subs: SubtitleFile, ffmpeg: Ffmpeg, width: int = 360, height: int = 640) -> FontSelection:
    """Render one frame of a probe copy of ``subs`` with ffmpeg's libass (at ``width``×``height``; font selection
    does not depend on the size) and read back which font it selected for each requested family and weight.
    Raises ToolError when ffmpeg fails."""
    with tempfile.TemporaryDirectory(prefix="ragvid-libass-") as d:
        probe = Path(d) / "probe.ass"
        _probe_copy(subs.path, probe)
        vf = f"ass=filename={ffmpeg_path(probe)}:fontsdir={ffmpeg_path(subs.fonts_dir)}"
        proc = ffmpeg.run(["-loglevel", "info", "-f", "lavfi", "-i", f"color=c=black:s={width}x{height}:d=1",
                           "-vf", vf, "-frames:v", "1", "-f", "null", "-"], what="probing libass's fonts")  # fmt: skip
    return parse_log(proc.stderr, subs.fonts_dir)


def parse_log(log: str, fonts_dir: Path) -> FontSelection:
    """The selections libass logged in an ffmpeg log; a font loaded from ``fonts_dir`` (named by its PostScript name
    there) is resolved to its file."""
    out = FontSelection()
    for line in log.splitlines():
        if m := _SELECT.search(line):
            file = Path(m["file"])
            if not file.is_absolute():
                file = _by_postscript(fonts_dir).get(m["ps"], file)
            key = (m["family"], int(m["weight"]) >= 600)
            # the first selection is the font for the family; later ones are libass's own fallbacks
            out.selected.setdefault(key, Selected(file, int(m["index"]), m["ps"]))
        elif m := _NOT_FOUND.search(line):
            out.not_found.append((int(m["cp"], 16), m["family"]))
    return out


def _by_postscript(folder: Path) -> dict[str, Path]:
    names: dict[str, Path] = {}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        try:
            fonts = TTCollection(str(path), lazy=True).fonts if path.suffix.lower() == ".ttc" else [
                TTFont(str(path), lazy=True)]  # fmt: skip
        except Exception:  # not a font: libass skips it too
            continue
        for font in fonts:
            names.setdefault(str(font["name"].getDebugName(6)), path.resolve())
    return names


def _cmap(selected: Selected) -> frozenset[int]:
    with TTFont(str(selected.file), fontNumber=selected.index, lazy=True) as font:
        return frozenset(font.getBestCmap() or {})


def uncovered(subs: SubtitleFile, selection: FontSelection) -> dict[int, str]:
    """Per Dialogue event (index in file order), the characters of its text that are not in the cmap of the font
    libass selected for their run (default-ignorable characters and spaces need none). Empty: every glyph is
    drawn from the font chosen for it."""
    cmaps: dict[tuple[str, bool], frozenset[int]] = {}
    missing: dict[int, str] = {}
    for run in text_runs(subs.path):
        key = (run.family, run.bold)
        if key not in selection.selected:
            continue  # libass did not need the family: nothing of the run reached the screen
        if key not in cmaps:
            cmaps[key] = _cmap(selection.selected[key])
        gone = [ch for ch in run.text if not (ch.isspace() or ignorable(ch)) and ord(ch) not in cmaps[key]]
        if gone:
            missing[run.event] = "".join(dict.fromkeys(missing.get(run.event, "") + "".join(gone)))
    return missing


__all__ = ["FontSelection", "Selected", "TextRun", "font_selection", "parse_log", "text_runs", "uncovered"]
