"""Escaping for the places untrusted text meets a parser: ASS dialogue text (libass), the text of a soft
subtitle track (ffmpeg's ASS splitter) and ffmpeg filtergraph option values. Everything a user, an LLM
or a product feed wrote goes through here."""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

# U+2060 WORD JOINER: invisible, zero width, and (unlike a space) no line-break opportunity. Placed
# after a literal backslash it stops libass from reading `\N`, `\n`, `\h`, `\{` as escapes while the
# text still shows the backslash the author typed.
_WJ = "\u2060"
_LINE_BREAKS = re.compile(r"\r\n|[\r\n\u2028\u2029\x0b\x0c\x85]")


def _strip_controls(s: str) -> str:
    # Cc/Cf would otherwise reach the ASS file (a raw newline would even start a new Dialogue line);
    # Cf is kept for ZWJ/ZWNJ/VS so emoji sequences and joined scripts survive.
    keep_cf = {"\u200c", "\u200d", "\ufe0e", "\ufe0f"}
    out = []
    for ch in s:
        cat = unicodedata.category(ch)
        if ch == "\t":
            out.append(" ")
        elif cat == "Cc" or (cat == "Cf" and ch not in keep_cf) or cat == "Cs":
            continue
        else:
            out.append(ch)
    return "".join(out)


def visible_text(s: str) -> str:
    """What of untrusted `s` can be drawn: line breaks become spaces, control and format characters go (but
    ZWJ/ZWNJ and variation selectors, which emoji sequences and joined scripts need). Text is laid out on
    this, so what is measured is what `ass_text` writes."""
    return _strip_controls(_LINE_BREAKS.sub(" ", s))


def ass_text(s: str) -> str:
    r"""Make untrusted `s` a literal in an ASS Dialogue Text field.

    Override blocks cannot open (`{`/`}` become libass's `\{`/`\}` escapes), an author's backslash
    cannot start an escape, and line breaks in the input become spaces: only the writer inserts `\N`
    (join wrapped lines with `ASS_NEWLINE`)."""
    s = visible_text(s)
    s = s.replace("\\", "\\" + _WJ)
    s = s.replace("{", "\\{").replace("}", "\\}")
    return s


ASS_NEWLINE = "\\N"

# ffmpeg turns every subtitle format into ASS internally and its mov_text encoder splits that text on
# override blocks without honouring libass's `\{` escape (`x \{\pos(1,1)\} y` comes out as `x \`), so a
# literal brace or backslash cannot cross it: they cross as their fullwidth forms.
_TRACK_LITERALS = str.maketrans({"{": "\uff5b", "}": "\uff5d", "\\": "\uff3c"})


def track_text(s: str) -> str:
    r"""Make untrusted `s` literal text of one line of a soft subtitle track written through ffmpeg (an ASS
    script muxed to MP4 mov_text): as `visible_text`, with ``{``, ``}`` and ``\`` as ``｛``, ``｝`` and ``＼``
    (ffmpeg's ASS splitter would read them as override codes and drop text)."""
    return visible_text(s).translate(_TRACK_LITERALS)


_LEVEL1 = "\\':"  # av_opt_set_from_string: option value inside one filter's arguments
_LEVEL2 = "\\'[],;"  # avfilter_graph_parse: the filter's whole argument string inside the graph


def _backslash(s: str, chars: str) -> str:
    return "".join("\\" + c if c in chars else c for c in s)


def ffmpeg_filter_value(s: str) -> str:
    """Escape `s` as one option value in a hand-built filtergraph string (`name=key=VALUE:...`).

    ffmpeg unescapes twice (graph parser, then option parser), so both levels are applied here. `=` is
    escaped at level 1 too so the same function is safe for positional values. The result is
    byte-identical to what ffmpeg-python produces for a keyword argument. It protects the *parser*
    only: a filter that expands its own syntax in the value (drawtext's `%{...}`) needs
    `expansion=none` as well. NUL is dropped: no argv can carry it."""
    return _backslash(_backslash(str(s).replace("\x00", ""), _LEVEL1 + "="), _LEVEL2)


def ffmpeg_path(p: str | Path) -> str:
    """A file path as a filter option value (e.g. `ass=filename=...`): absolute and with forward
    slashes (a Windows drive colon would otherwise split the option), then escaped like any value."""
    return ffmpeg_filter_value(Path(p).resolve().as_posix())


__all__ = ["ASS_NEWLINE", "ass_text", "ffmpeg_filter_value", "ffmpeg_path", "track_text", "visible_text"]
