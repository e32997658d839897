"""Item metadata a model folder keeps, so a recommended item can be turned into a video brief.

A data set's ``<Name>.item.json`` (``{item: {title, brand, categories, description}}``) is copied into the
model folder as ``catalogue.json`` at training time: the folder then serves without the data set.
Catalogue text is untrusted (scraped product pages): ``product_meta`` clips it to the SID file's limits
at word boundaries, and everything downstream treats it as literal text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tools.scripts import unspaced

CATALOGUE = "catalogue.json"
MAX_SELLING_POINTS = 3
# narration lines: long description sentences overrun the shot they are spoken over; a sentence written
# without spaces (Chinese, Japanese) says as much in fewer characters
SELLING_POINT_CHARS = (20, 140)
SELLING_POINT_MIN_UNSPACED = 8
# sentence ends: Latin punctuation before a space; the CJK, Arabic and Devanagari full stops, marks and danda
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？؟।])\s*")


def categories_of(raw: Mapping[str, Any]) -> list[str]:
    """An entry's categories, broadest first: the Amazon files' one comma-separated string, or a JSON list of
    names (each name kept whole)."""
    value = raw.get("categories")
    names = value if isinstance(value, list) else str(value or "").split(",")
    return [" ".join(str(c).split()) for c in names if str(c).strip()]


def clip(text: str, limit: int) -> str:
    """``text`` on one line, cut at the last word boundary that fits ``limit`` characters."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    cut = text[: limit + 1].rsplit(" ", 1)[0] if " " in text[: limit + 1] else text[:limit]
    return cut[:limit].rstrip(" ,;:-")


def product_meta(raw: Mapping[str, Any]) -> dict[str, Any]:
    """SID-file ``meta`` (see ``rag_recsys.sidfile.ProductMeta``) from a catalogue entry: the title as the
    product, the brand, up to three description sentences of narration length as selling points (the most
    specific category other than the title when the description has none)."""
    title = clip(str(raw.get("title") or "").rstrip(". "), 120)
    brand = clip(str(raw.get("brand") or ""), 120)
    points: list[str] = []
    for sentence in _SENTENCE.split(" ".join(str(raw.get("description") or "").split())):
        sentence = sentence.strip()
        lo, hi = SELLING_POINT_CHARS
        if any(unspaced(ch) for ch in sentence):
            lo = SELLING_POINT_MIN_UNSPACED
        if lo <= len(sentence) <= hi and sentence.lower() not in {p.lower() for p in points}:
            points.append(sentence)
        if len(points) == MAX_SELLING_POINTS:
            break
    if not points:
        # the most specific category that is not the title itself (a taxonomy category is titled by its leaf)
        named = [c for c in categories_of(raw) if c.lower() != title.lower()]
        points = [clip(named[-1], 200)] if named else []
    meta: dict[str, Any] = {"selling_points": points}
    if title:
        meta["product"] = title
    if brand:
        meta["brand"] = brand
    return meta


def write_catalogue(items: Mapping[str, Mapping[str, Any]], folder: Path) -> Path:
    path = folder / CATALOGUE
    path.write_text(json.dumps(items, ensure_ascii=False), encoding="utf-8")
    return path


def read_catalogue(folder: Path) -> dict[str, dict[str, Any]]:
    """The model folder's catalogue; empty when it has none (a data set without item texts): its
    recommendations then carry codes only and videos are made from the codes' meaning."""
    path = folder / CATALOGUE
    if not path.exists():
        return {}
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict):
        raise ValueError(f"{path}: expected an object of item → metadata")
    return {str(k): v for k, v in raw.items() if isinstance(v, dict)}
