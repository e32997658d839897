"""Writing systems of a text: the Unicode Script property of each character (UAX #24) and the
paragraph direction it implies.

The script data comes from fontTools' Unicode tables (``fontTools.unicodedata.script``), which track
the current Unicode release; only the grouping into "what a reader of this text needs" is ragvid's:
which scripts a font must cover, whether a paragraph runs right to left, and whether an encoder that
reads Latin text can read it.
"""

from __future__ import annotations

from collections import Counter
from typing import Literal

from fontTools import unicodedata as ucd

Direction = Literal["ltr", "rtl"]

COMMON = frozenset({"Zyyy", "Zinh", "Zzzz"})
"""Script codes that belong to no one writing system: punctuation, digits, symbols and emoji (Common),
combining marks (Inherited) and unassigned code points (Unknown)."""
RTL_SCRIPTS = frozenset({"Arab", "Hebr", "Syrc", "Thaa", "Nkoo", "Adlm", "Rohg", "Mand", "Samr"})
"""Scripts written right to left (the ones a product text is likely to use)."""
UNSPACED_SCRIPTS = frozenset({"Hani", "Hira", "Kana", "Bopo", "Thai", "Laoo", "Khmr", "Mymr"})
"""Scripts written without spaces between words (Korean Hangul is written with them)."""
LATIN = "Latn"


def script_of(ch: str) -> str:
    """The ISO 15924 code of one character's script (``"Latn"``, ``"Hani"``, ``"Arab"``, ``"Zyyy"`` for
    Common…), per Unicode's Scripts.txt."""
    return str(ucd.script(ch))


def unspaced(ch: str) -> bool:
    """Whether `ch` belongs to writing without spaces between words: a letter of `UNSPACED_SCRIPTS`, or CJK
    punctuation and full-width forms (U+3000–U+303F, U+FF00–U+FFEF: "。", "，")."""
    return script_of(ch) in UNSPACED_SCRIPTS or "\u3000" <= ch <= "\u303f" or "\uff00" <= ch <= "\uffef"


def script_counts(text: str) -> Counter[str]:
    """How many characters of ``text`` belong to each script other than the Common/Inherited/Unknown
    ones (a text of only digits and punctuation counts nothing)."""
    return Counter(s for s in map(script_of, text) if s not in COMMON)


def main_script(text: str) -> str | None:
    """The script most of ``text``'s letters are in (None for a text without letters)."""
    counts = script_counts(text)
    return counts.most_common(1)[0][0] if counts else None


def first_strong_direction(text: str) -> Direction | None:
    """The direction of the first character of a directional script (the rule of UAX #9 P2–P3 for a
    paragraph's level, on scripts rather than bidi classes); None when the text has no such character."""
    for ch in text:
        s = script_of(ch)
        if s not in COMMON:
            return "rtl" if s in RTL_SCRIPTS else "ltr"
    return None


def paragraph_direction(text: str, language_direction: Direction | None = None) -> Direction:
    """The direction to lay ``text`` out in: the language's when it is known (an Arabic line that opens with
    a Latin brand name is still an Arabic paragraph), else its first strong character's, else LTR."""
    return language_direction or first_strong_direction(text) or "ltr"


def foreign_scripts(text: str, readable: frozenset[str] = frozenset({LATIN})) -> dict[str, int]:
    """The scripts in ``text`` outside ``readable`` with their character counts, most frequent first: what
    a reader (an English text encoder, say) of ``readable`` scripts cannot read."""
    return {s: n for s, n in script_counts(text).most_common() if s not in readable}


__all__ = [
    "COMMON",
    "LATIN",
    "RTL_SCRIPTS",
    "UNSPACED_SCRIPTS",
    "Direction",
    "first_strong_direction",
    "foreign_scripts",
    "main_script",
    "paragraph_direction",
    "script_counts",
    "script_of",
    "unspaced",
]
