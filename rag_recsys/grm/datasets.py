"""Where the interaction data lives, and how a data set folder becomes items with codes.

A data set folder holds ``<Name>.inter.json`` (user → chronological item ids) and either an index file
(item → code path, TIGER/LETTER format) or ``<Name>.item.json`` (item → title/brand/categories/…), whose
texts the shipped D-SID tokenizer encodes to content paths; an optional ``<Name>.user.json`` (user → flat
profile object) gives profile features. The Amazon sets are read from a data root (the shell's
``RAGVID_DATA`` setting, by default ``../shared/data`` beside the repository); they are never shipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rag_recsys.catalogue import categories_of
from rag_recsys.grm.data import (
    ItemCodes,
    item_codes,
    load_interactions,
    load_profiles,
    parse_token_index,
    read_json_object,
)
from tools.errors import InputError


@dataclass(frozen=True)
class Preset:
    folder: str  # under the data root
    default_index: str | None  # None: encode the item texts with the shipped tokenizer


PRESETS: dict[str, Preset] = {
    "beauty": Preset("amazon/beauty", "Beauty.index.json"),
    "scientific": Preset("amazon/scientific", None),
}


def dataset_dir(name_or_dir: str, root: Path) -> Path:
    """A preset name ("beauty", "scientific": a folder under ``root``) or a folder."""
    preset = PRESETS.get(name_or_dir.lower())
    return root / preset.folder if preset else Path(name_or_dir)


def default_index(folder: Path) -> Path | None:
    """A preset folder's own choice (None: the tokenizer's codes); elsewhere the folder's single
    ``*.index.json``, or None when it has none."""
    for preset in PRESETS.values():
        if folder.resolve().as_posix().endswith("/" + preset.folder):
            return folder / preset.default_index if preset.default_index else None
    return _one(folder, ".index.json", required=False)


def _one(folder: Path, suffix: str, required: bool) -> Path | None:
    found = sorted(folder.glob(f"*{suffix}"))
    if len(found) > 1:
        raise InputError(suffix, f"{len(found)} files match, expected one: {', '.join(p.name for p in found)}", folder)
    if not found and required:
        raise InputError(suffix, "no such file in the data set folder", folder)
    return found[0] if found else None


def interactions_file(folder: Path) -> Path:
    if not folder.is_dir():
        raise InputError("dataset", "not a folder (nor a preset: " + ", ".join(PRESETS) + ")", folder)
    path = _one(folder, ".inter.json", required=True)
    assert path is not None
    return path


def item_text(meta: dict[str, Any]) -> str:
    """Product name first (the tokenizer reads the head noun from the first sentence), then the brand,
    the most specific categories and the start of the description."""
    title = str(meta.get("title") or "").strip().rstrip(".")
    categories = categories_of(meta)
    parts = [title, str(meta.get("brand") or "").strip(), ", ".join(categories[-2:]),
             str(meta.get("description") or "").strip()[:300]]
    return ". ".join(p for p in parts if p)


@dataclass(frozen=True)
class SidIndex:
    content: dict[str, list[int]]
    content_sizes: list[int]
    tokenizer: str
    creative: dict[str, list[int]] | None  # a data set with a creative channel
    creative_sizes: list[int]


def read_sid_index(path: Path) -> SidIndex | None:
    """A SID index — ``{"tokenizer", "content_sizes", "content": {item: path}}``, as ``encode_item_texts``
    writes it, plus optional ``"creative_sizes"`` and ``"creative": {item: path}`` for data with a creative
    channel; None when the file is another kind of index."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if not (isinstance(raw, dict) and {"tokenizer", "content_sizes", "content"} <= raw.keys()):
        return None
    for key in ("content", "creative"):
        if not isinstance(raw.get(key, {}), dict):
            raise InputError(key, f"expected an object of item → {key} path", path)
    for key in ("content_sizes", "creative_sizes"):
        if not isinstance(raw.get(key, []), list):
            raise InputError(key, "expected a list of level sizes", path)
    return SidIndex(raw["content"], raw["content_sizes"], str(raw["tokenizer"]), raw.get("creative"),
                    raw.get("creative_sizes", []))


ENCODE_BATCH = 1024  # item texts per encoder call: one progress report each


def sid_index_cache(cache_dir: Path, items_file: Path, source_sha256: str, tokenizer: str) -> Path:
    """Where the SID index of ``items_file`` encoded by ``tokenizer`` is kept: one file per data set (its
    items file's name and content hash) and tokenizer version, shared by every model trained on it."""
    name = items_file.name.removesuffix(".item.json")
    return cache_dir / f"{name}.{source_sha256[:16]}.{tokenizer}.sid.json"


def encode_item_texts(
    items_file: Path, cache_dir: Path | None = None, on_progress: Callable[[int, int], None] | None = None
) -> tuple[dict[str, list[int]], list[int], str]:
    """Content paths of every item text under the shipped tokenizer, the level sizes and the tokenizer
    version. With ``cache_dir`` the result is kept there (`sid_index_cache`) and reused while the items
    file and the tokenizer version are unchanged. ``on_progress(done, total)`` is called after each batch
    of ``ENCODE_BATCH`` texts (item counts). Raises `InputError` for an item that is not an object."""
    from rag_recsys.tokenizers import default_tokenizer

    tokenizer = default_tokenizer()
    raw, raw_bytes = read_json_object(items_file, "item → metadata")
    digest = hashlib.sha256(raw_bytes).hexdigest()
    sizes = list(tokenizer.lexicon.content_sizes)
    cache = sid_index_cache(cache_dir, items_file, digest, tokenizer.version) if cache_dir is not None else None
    if cache is not None and cache.is_file():
        cached = json.loads(cache.read_text(encoding="utf-8"))
        return cached["content"], sizes, tokenizer.version
    ids = list(raw)
    for item in ids:
        if not isinstance(raw[item], dict):
            raise InputError(f"[{item!r}]", "expected an object with title/brand/categories/description", items_file)
    texts = [item_text(raw[i]) or f"item {i}" for i in ids]
    paths: dict[str, list[int]] = {}
    for start in range(0, len(ids), ENCODE_BATCH):
        chunk = ids[start : start + ENCODE_BATCH]
        encoded = tokenizer.encode_contents(texts[start : start + ENCODE_BATCH])
        paths.update({i: codes for i, (codes, _) in zip(chunk, encoded, strict=True)})
        if on_progress is not None:
            on_progress(len(paths), len(ids))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        doc = {"tokenizer": tokenizer.version, "content_sizes": sizes, "source": items_file.name,
               "source_sha256": digest, "content": paths}  # fmt: skip
        partial = cache.with_suffix(".part")
        partial.write_text(json.dumps(doc), encoding="utf-8")
        partial.replace(cache)  # a reader never sees half a file
    return paths, sizes, tokenizer.version


@dataclass(frozen=True)
class Dataset:
    name: str
    interactions: dict[str, list[str]]
    inter_file: Path
    items: ItemCodes
    index_source: str  # the index file, or "tokenizer <version> on <items file>"
    index_file: Path | None  # None: encoded from the item texts here
    tokenizer: str | None  # version whose content paths the codes are (None: a foreign index)
    profiles: dict[str, dict[str, object]]  # from an optional <Name>.user.json; empty for the Amazon sets
    items_file: Path | None = None  # <Name>.item.json (item texts), whatever index gave the codes


def load_dataset(
    folder: Path, index: Path | None = None, cache_dir: Path | None = None,
    on_progress: Callable[[int, int], None] | None = None,
) -> Dataset:
    """Interactions and item codes of a data set folder: ``index`` if given (a TIGER/LETTER index or a SID
    index written here), else the folder's default index file, else the item texts encoded by the shipped
    tokenizer (cached in ``cache_dir``, progress to ``on_progress``: see `encode_item_texts`)."""
    inter = interactions_file(folder)
    name = inter.name.removesuffix(".inter.json")
    index = index or default_index(folder)
    texts = _one(folder, ".item.json", required=False)
    sid_index = read_sid_index(index) if index is not None else None
    if sid_index is not None:
        assert index is not None
        tokenizer: str | None = sid_index.tokenizer
        items = item_codes(sid_index.content, sid_index.content_sizes, sid_index.creative, sid_index.creative_sizes,
                           file=index)
        source = f"{index} (tokenizer {tokenizer})"
    elif index is not None:
        items = item_codes(parse_token_index(index), file=index)
        source, tokenizer = str(index), None
    elif texts is not None:
        paths, sizes, tokenizer = encode_item_texts(texts, cache_dir, on_progress)
        items = item_codes(paths, content_sizes=sizes, file=texts)
        source = f"tokenizer {tokenizer} on {texts}"
    else:
        raise InputError("--index", "no index file given and no *.item.json to encode", folder)
    users = _one(folder, ".user.json", required=False)
    profiles = load_profiles(users) if users is not None else {}
    return Dataset(name, load_interactions(inter), inter, items, source, index, tokenizer, profiles, texts)
