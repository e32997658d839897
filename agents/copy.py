"""Ad-copy helpers of the rule policy: speech-length estimates and condensing a line to a budget.

Pure text functions; the estimates are only a first guess that the Critic later replaces with
measured speech durations.
"""

from __future__ import annotations

import re

# Piper's en_US voices at length_scale 1.0 speak about 15 characters a second (measured on the
# shipped joe voice); only round 0 relies on it.
CHARS_PER_SECOND = 15.0

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
    }
)


def clean(text: str) -> str:
    """One line of plain text: control characters and runs of whitespace become single spaces."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    return _SPACE.sub(" ", text).strip()


def sentence(text: str) -> str:
    """`text` cleaned (`clean`), its first letter capitalised and a full stop added unless it ends in . ! or ?;
    empty text stays empty."""
    text = clean(text)
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text[-1] in ".!?" else text + "."


def estimate_speech_seconds(text: str, rate: float = 1.0, chars_per_second: float = CHARS_PER_SECOND) -> float:
    """Round 0's guess (s) of how long `text` takes to speak: characters / `chars_per_second` × `rate` (a
    length scale, > 1 slower) + 0.15 s. Later rounds use the measured speech instead."""
    return len(clean(text)) / chars_per_second * rate + 0.15


def condense(text: str, max_seconds: float, rate: float, chars_per_second: float) -> str:
    """Shorten a line to fit `max_seconds` of speech: drop trailing clauses first (they carry the
    least), then trailing words, keeping at least four words so the line still says something."""
    text = clean(text).rstrip(".!?")
    budget = int(max(0.0, max_seconds - 0.15) * chars_per_second / rate)
    if len(text) <= budget:
        return sentence(text)
    clauses = re.split(r"(?<=[,;:])\s+|\s+(?:and|with|while|so|because)\s+", text)
    out = clauses[0].rstrip(",;:")
    for clause in clauses[1:]:
        candidate = f"{out}, {clause.rstrip(',;:')}"
        if len(candidate) > budget:
            break
        out = candidate
    words = out.split()
    while len(" ".join(words)) > budget and len(words) > 4:
        words.pop()
    # a line cut mid-phrase must not end on a word that promises more ("every", "from", "of")
    while len(words) > 2 and words[-1].lower().strip(",;:") in DANGLING:
        words.pop()
    return sentence(" ".join(words).rstrip(",;:"))
