"""What a text encoder reads, and whether it reads a given text: the guard in front of every embedding.

A sentence encoder trained on English maps text in a script it never saw (Han, Arabic…) to vectors
that still look like vectors: the nearest content path is then an arbitrary category and a cosine an
arbitrary number, with nothing to tell that apart from a real match. So each encoder declares what it
reads (`Reads`: its scripts and languages; `rag_recsys.embedding.TextEncoder.reads`) and every place
that embeds text asks `legibility` first.

The rule (one for encoding and for comparing), on the letters of a text — characters of any script
other than Common/Inherited (digits, punctuation, symbols and emoji count for nothing), per
`tools.scripts`:

- *unread*: at least ``UNREAD_SHARE`` (half) of its letters are in scripts the encoder does not read.
  Encoding it to codes is refused (`tools.errors.InputError` naming the field); comparing it by
  embedding is skipped, with the reason.
- *partly read*: some letters, fewer than half, are in such scripts (an English line with a Chinese
  brand name). It is encoded and compared, with a warning that the result rests on the part read.
- *read*: none are.

A Latin text in a language the encoder does not read (``meta.language`` "es") is read by this rule
but only approximately (shared words, names): `language_note` says so, as a warning.

Characters are counted, not words: a Han character carries about a word, so a mixed text counts as
more Latin than it reads; the bar of a half still refuses what is mostly Chinese.
"""

from __future__ import annotations

from dataclasses import dataclass

from fontTools import unicodedata as ucd

from tools.errors import InputError
from tools.scripts import LATIN, foreign_scripts, script_counts

UNREAD_SHARE = 0.5
"""Share of a text's letters in scripts the encoder does not read from which the text counts as unread."""


@dataclass(frozen=True)
class Reads:
    """What a text encoder reads: ``scripts`` (ISO 15924 codes, ``"Latn"``) and ``languages`` (BCP 47
    primary subtags, ``"en"``); ``encoder`` and ``label`` name both in messages."""

    encoder: str
    label: str
    scripts: frozenset[str]
    languages: frozenset[str]

    def reads_language(self, tag: str) -> bool:
        """Whether the encoder reads the language of BCP 47 ``tag`` (``"en-GB"`` → ``en``; case ignored)."""
        return tag.strip().replace("_", "-").split("-", 1)[0].lower() in self.languages

    def says(self) -> str:
        """``"the text encoder (all-MiniLM-L6-v2) reads English only"``, for messages."""
        return f"the text encoder ({self.encoder}) reads {self.label} only"


ENGLISH = Reads(encoder="all-MiniLM-L6-v2", label="English", scripts=frozenset({LATIN}), languages=frozenset({"en"}))
"""What the shipped MiniLM encoder reads."""

MULTILINGUAL = Reads(
    encoder="multilingual-e5-small",
    label="English, Spanish, French, German, Italian, Portuguese, Russian, Chinese, Arabic and Hindi",
    scripts=frozenset({LATIN, "Cyrl", "Hani", "Arab", "Deva"}),
    languages=frozenset({"en", "es", "fr", "de", "it", "pt", "ru", "zh", "ar", "hi"}),
)
"""What multilingual-e5-small reads among the languages ragvid writes (it was trained on ~100; the claim
is kept to those ragvid's own tests read it in)."""


def script_name(code: str) -> str:
    """The English name of an ISO 15924 script code (``"Hani"`` → ``"Han"``), per Unicode."""
    return str(ucd.script_name(code, default=code))


@dataclass(frozen=True)
class Legibility:
    """How much of a text an encoder reads: ``letters`` (characters of any script but Common/Inherited)
    and ``unread`` (script code → letters in scripts the encoder does not read, most first)."""

    letters: int
    unread: dict[str, int]

    @property
    def unread_letters(self) -> int:
        """Letters in scripts the encoder does not read."""
        return sum(self.unread.values())

    @property
    def share(self) -> float:
        """Share of the letters the encoder does not read, 0..1 (0 for a text without letters)."""
        return self.unread_letters / self.letters if self.letters else 0.0

    @property
    def readable(self) -> bool:
        """Whether the text may be embedded: fewer than ``UNREAD_SHARE`` of its letters are unread."""
        return self.share < UNREAD_SHARE

    @property
    def partial(self) -> bool:
        """Readable, but some letters are in scripts the encoder does not read."""
        return self.readable and self.unread_letters > 0

    def found(self) -> str:
        """What was found, for messages: ``"Han script (7 of 7 letters)"``, ``"Han and Arabic scripts (…)"``."""
        names = [script_name(s) for s in self.unread]
        scripts = names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"
        return f"{scripts} script{'s' * (len(names) > 1)} ({self.unread_letters} of {self.letters} letters)"


def legibility(text: str, reads: Reads) -> Legibility:
    """How much of ``text`` an encoder that reads ``reads`` reads (see the module doc for the rule)."""
    return Legibility(letters=sum(script_counts(text).values()), unread=foreign_scripts(text, reads.scripts))


def unread_reason(texts: dict[str, str], reads: Reads) -> str | None:
    """Why texts cannot be compared by embedding: the first of ``texts`` (what it is → the text, e.g.
    ``{"the product": …, "the LLM text": …}``) that is unread, as ``"the product is Han script (7 of 7
    letters); the text encoder (…) reads English only"``; None when the encoder reads them all."""
    for what, text in texts.items():
        seen = legibility(text, reads)
        if not seen.readable:
            return f"{what} is {seen.found()}; {reads.says()}"
    return None


def language_note(language: str | None, reads: Reads) -> str | None:
    """A warning when ``language`` (a BCP 47 tag, e.g. ``meta.language``) is not one the encoder reads:
    its codes and cosines of that text are approximate. None for a language it reads, or none given."""
    if not language or reads.reads_language(language):
        return None
    return (
        f"language '{language}' is not one the text encoder ({reads.encoder}) reads ({reads.label} only), so "
        f"codes and cosines of this text are approximate (they rest on the words it shares with {reads.label})"
    )


def require_readable(field: str, text: str, reads: Reads, what: str, remedy: str) -> str | None:
    """Check a text about to be encoded to codes: raise `InputError` (``field``, one line: what was found,
    what the encoder reads, then ``remedy``) when it is unread; return a warning (``"<field>: …"``) when it
    is partly read; None when it is read. ``what`` names the text in the message (``"the style text"``)."""
    seen = legibility(text, reads)
    if not seen.readable:
        raise InputError(field, f"{what} is {seen.found()}; {reads.says()}, so its codes would be noise; {remedy}")
    if seen.partial:
        return (
            f"{field}: {seen.found()} in {what}: {reads.says()}, so its codes rest on the {reads.label} part "
            f"(approximate)"
        )
    return None


__all__ = ["ENGLISH", "UNREAD_SHARE", "Legibility", "Reads", "language_note", "legibility", "require_readable",
           "script_name", "unread_reason"]  # fmt: skip
