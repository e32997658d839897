"""The languages ragvid writes, speaks and sets in type: one record per language with its direction, the
fonts its text is set in, the espeak-ng voice that speaks it offline and how fast that voice talks.

A language is named by its BCP 47 primary subtag (``"zh"``, ``"ar"``); ``language_of`` also takes a full
tag (``"es-MX"``, ``"zh_Hant"``). The copy the rule policy writes in each language lives in
``prompts/copy/<code>.json``; this module holds only what the tools need.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from tools.errors import InputError
from tools.scripts import Direction


class Language(BaseModel):
    """One supported language. ``fonts``: the font families its text is set in, first choice first (the rest
    of a text's characters fall back per script, ``tools.fonts``); ``espeak_voice``: the espeak-ng voice that
    speaks it; ``chars_per_second``: the offline voice's speaking rate at length scale 1 (piper's joe for English,
    espeak-ng 1.51 for the rest), measured on selling-point lines of the coffee example: round 0's estimate of a
    line's length, before the speech itself is measured."""

    code: str
    name: str
    direction: Direction = "ltr"
    fonts: tuple[str, ...]
    espeak_voice: str
    chars_per_second: float = Field(gt=0)
    iso639_2: str = Field(pattern=r"^[a-z]{3}$", description="ISO 639-2/T code, for container metadata (MP4 tracks)")


LATIN_FONTS = ("DejaVu Sans",)

LANGUAGES: dict[str, Language] = {
    lang.code: lang
    for lang in (
        Language(code="en", name="English", iso639_2="eng",
                 fonts=LATIN_FONTS, espeak_voice="en-us", chars_per_second=15.0),
        Language(code="es", name="Spanish", iso639_2="spa",
                 fonts=LATIN_FONTS, espeak_voice="es", chars_per_second=17.0),
        Language(code="fr", name="French", iso639_2="fra",
                 fonts=LATIN_FONTS, espeak_voice="fr-fr", chars_per_second=20.0),
        Language(code="de", name="German", iso639_2="deu",
                 fonts=LATIN_FONTS, espeak_voice="de", chars_per_second=17.0),
        Language(code="it", name="Italian", iso639_2="ita",
                 fonts=LATIN_FONTS, espeak_voice="it", chars_per_second=17.0),
        Language(code="pt", name="Portuguese", iso639_2="por",
                 fonts=LATIN_FONTS, espeak_voice="pt-br", chars_per_second=16.0),
        Language(code="ru", name="Russian", iso639_2="rus",
                 fonts=LATIN_FONTS, espeak_voice="ru", chars_per_second=17.0),
        Language(code="zh", name="Chinese (Mandarin, simplified)", iso639_2="zho",
                 fonts=("Noto Sans CJK SC",), espeak_voice="cmn", chars_per_second=3.7),
        Language(code="ar", name="Arabic", iso639_2="ara", direction="rtl",
                 fonts=("Noto Sans Arabic",), espeak_voice="ar", chars_per_second=10.5),
        Language(code="hi", name="Hindi", iso639_2="hin",
                 fonts=("Noto Sans Devanagari",), espeak_voice="hi", chars_per_second=15.0),
    )
}  # fmt: skip
"""Every supported language by code (``ragvid languages`` lists them)."""

_TAG = re.compile(r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$")


def language_of(tag: str, field: str = "meta.language") -> Language:
    """The supported language of a BCP 47 tag (case and ``_``/``-`` ignored; only the primary subtag decides).
    Raises InputError naming `field` for a malformed tag or a language ragvid does not support."""
    if not _TAG.match(tag.strip()):
        raise InputError(field, f"{tag!r} is not a language tag (BCP 47, e.g. 'en', 'zh', 'es-MX')")
    code = re.split(r"[-_]", tag.strip().lower())[0]
    if code not in LANGUAGES:
        raise InputError(field, f"language {tag!r} is not supported; supported: {', '.join(LANGUAGES)} "
                                "(`ragvid languages` lists them)")  # fmt: skip
    return LANGUAGES[code]


__all__ = ["LANGUAGES", "LATIN_FONTS", "Language", "language_of"]
