"""`ragvid languages`: every supported language with the voice that speaks it and the fonts that set it, as they
stand on this machine (a missing font or voice program is named with the package that installs it)."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from pydantic import BaseModel
from rich.table import Table
from rich.text import Text

from ragvid.exits import command
from ragvid.progress import literal_console
from ragvid.settings import Settings
from tools.errors import InputError


class LanguageRow(BaseModel):
    """One language as `ragvid languages --json` prints it; ``voice`` is None (and ``voice_problem`` says why)
    when no voice of the speech back-end speaks it here."""

    code: str
    name: str
    direction: str
    voice_engine: str | None
    voice: str | None
    voice_reason: str
    fonts: list[str]
    font_files: list[str]
    missing_packages: list[str]


def language_rows(settings: Settings) -> list[LanguageRow]:
    """A row per supported language for the settings' speech back-end (``tts``)."""
    from tools.cache import ToolCache
    from tools.fonts import FONT_FAMILY, SYMBOL_FAMILY, installed_face, spec_of
    from tools.languages import LANGUAGES
    from tools.speech import make_speech

    speech = make_speech(settings.tts, ToolCache(settings.home.expanduser() / "cache"))
    rows: list[LanguageRow] = []
    for lang in LANGUAGES.values():
        try:
            choice = speech.voice_for(lang.code)
            engine, voice, reason = choice.engine, choice.voice, choice.reason
        except InputError as e:
            engine, voice, reason = None, None, e.message
        families = list(dict.fromkeys([*lang.fonts, FONT_FAMILY, SYMBOL_FAMILY]))
        faces = {f: installed_face(f) for f in families}
        rows.append(LanguageRow(
            code=lang.code, name=lang.name, direction=lang.direction, voice_engine=engine, voice=voice,
            voice_reason=reason, fonts=families, font_files=[str(f.path) for f in faces.values() if f is not None],
            missing_packages=sorted({spec_of(f).package for f, face in faces.items() if face is None}),
        ))  # fmt: skip
    return rows


@command
def languages(
    tts: Annotated[str | None, typer.Option(help="speech back-end: auto (default), piper, espeak, edge, none")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="one JSON list on stdout")] = False,
) -> None:
    """List the supported languages (set a SID file's meta.language to one), each with the voice that speaks it
    and the fonts that set it on this machine."""
    settings = Settings.load(tts=tts)
    rows = language_rows(settings)
    if as_json:
        sys.stdout.write(json.dumps([r.model_dump() for r in rows], indent=2, ensure_ascii=False) + "\n")
        return
    table = Table(title=f"supported languages (speech: {settings.tts})")
    for col in ("code", "language", "direction", "voice", "fonts"):
        table.add_column(col)
    for r in rows:
        voice = Text(f"{r.voice_engine} '{r.voice}'") if r.voice else Text(f"none: {r.voice_reason}", style="red")
        fonts = ", ".join(r.fonts) + (f" (missing: apt-get install {' '.join(r.missing_packages)})"
                                      if r.missing_packages else "")  # fmt: skip
        table.add_row(Text(r.code), Text(r.name), Text(r.direction), voice, Text(fonts))
    literal_console(stderr=False).print(table)
