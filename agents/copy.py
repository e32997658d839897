"""Ad-copy helpers of the rule policy: the copy templates of each language, speech-length estimates and
condensing a line to a budget.

The templates live in ``prompts/copy/<language>.json`` (one file per language of ``tools.languages``), so the
rule policy writes Chinese copy for a Chinese product rather than wrapping it in English words. Pure text
functions; the estimates are only a first guess that the Critic later replaces with measured speech durations.
"""

from __future__ import annotations

import functools
import json
import re

from pydantic import BaseModel
from uniseg.linebreak import line_break_units

from prompts import load
from tools.languages import LANGUAGES

# Piper's en_US voices at length_scale 1.0 speak about 15 characters a second (measured on the
# shipped joe voice); only round 0 relies on it. Other languages: tools.languages.
CHARS_PER_SECOND = LANGUAGES["en"].chars_per_second
SENTENCE_ENDS = ".!?…。！？।؟"
CLAUSE_MARKS = ",;:，、；：،؛"

_SPACE = re.compile(r"\s+")
DANGLING = frozenset(
    {
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "so",
        "of",
        "to",
        "in",
        "on",
        "at",
        "by",
        "for",
        "from",
        "with",
        "into",
        "onto",
        "every",
        "each",
        "our",
        "your",
        "their",
        "its",
        "this",
        "that",
        "very",
        "more",
        "most",
        "than",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        # numerals, quantifiers and other words that promise a noun or a clause
        "one", "two", "some", "any", "all", "no", "both", "few", "many", "much", "such", "which", "who", "whose",
        "when", "where", "while", "if", "not", "without", "about", "over", "under", "after", "before", "through",
        "between", "across", "via", "per", "up", "out", "just", "only", "also", "even", "has", "have", "had",
        "will", "can", "could", "would", "should", "may", "might", "must", "do", "does", "did", "my", "his", "her",
    }
)


def clean(text: str) -> str:
    """One line of plain text: control characters and runs of whitespace become single spaces."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return _SPACE.sub(" ", text).strip()


class CopyBook(BaseModel):
    """One language's copy templates; ``{product}``, ``{brand}``, ``{price}`` and ``{topic}`` are filled in with
    the product meta (never parsed: the values are inserted as they are)."""

    language: str
    hook: str
    hook_brand: str
    hook_category: str
    proof: str
    proof_brand: str
    proof_price: str
    badge_price: str
    cta: str
    explore: str
    discover: str
    our_pick: str
    full_stop: str

    def say(self, template: str, **values: str) -> str:
        """The template named ``template`` with ``values`` filled in."""
        return str(getattr(self, template)).format(**values)


@functools.cache
def copy_book(language: str) -> CopyBook:
    """The copy templates of a supported language (a ``tools.languages.LANGUAGES`` code)."""
    return CopyBook.model_validate(json.loads(load(f"copy/{language}.json")))


def sentence(text: str, full_stop: str = ".") -> str:
    """`text` cleaned (`clean`), its first letter capitalised and `full_stop` added unless it already ends a
    sentence (``. ! ? 。 ！ ？ । ؟ …``); empty text stays empty."""
    text = clean(text)
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in SENTENCE_ENDS else text + full_stop


def estimate_speech_seconds(text: str, rate: float = 1.0, chars_per_second: float = CHARS_PER_SECOND) -> float:
    """Round 0's guess (s) of how long `text` takes to speak: characters / `chars_per_second` × `rate` (a
    length scale, > 1 slower) + 0.15 s. Later rounds use the measured speech instead."""
    return len(clean(text)) / chars_per_second * rate + 0.15


def condense(text: str, max_seconds: float, rate: float, chars_per_second: float, full_stop: str = ".") -> str:
    """Shorten a line to fit `max_seconds` of speech: drop trailing clauses first (they carry the
    least), then trailing words (or, in a language without spaces, the units a line may break at: UAX #14),
    keeping at least four so the line still says something."""
    text = clean(text).rstrip(SENTENCE_ENDS)
    budget = int(max(0.0, max_seconds - 0.15) * chars_per_second / rate)
    if len(text) <= budget:
        return sentence(text, full_stop)
    marks = re.escape(CLAUSE_MARKS)
    clauses = [c for c in re.split(rf"(?<=[{marks}])\s*|\s+(?:and|with|while|so|because)\s+", text) if c]
    out = clauses[0]
    for clause in clauses[1:]:
        candidate = out + clause if out[-1] in CLAUSE_MARKS else f"{out}, {clause}"
        if len(candidate.rstrip(CLAUSE_MARKS)) > budget:
            break
        out = candidate
    units = list(line_break_units(out.rstrip(CLAUSE_MARKS)))
    while len("".join(units).strip()) > budget and len(units) > 4:
        units.pop()
    # a line cut mid-phrase must not end on a word that promises more ("every", "from", "of")
    while len(units) > 2 and units[-1].strip().lower().strip(CLAUSE_MARKS) in DANGLING:
        units.pop()
    return sentence("".join(units).strip().rstrip(CLAUSE_MARKS), full_stop)
