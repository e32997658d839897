"""The shell half of a D-SID build: catalogue → draft renders → views read back → `rag_recsys.dsid_build`.

``ragvid sid build CATALOG -o DIR`` runs `build_from_catalogue`; ``bench/dsid.py`` uses the same pieces on
held-out items. A view of a render is what the tokenizer sees of a video: the words it carries (its soft
subtitle track, or OCR of its frames when the track is stripped: `tools.video.words`) and its measured creative
vector (`tools.video.measures`). Views are cached beside each draft (``<draft>.<source>.views.json``), so an
interrupted build resumes where it stopped.
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Literal

import numpy as np

from rag_recsys.catalogue import categories_of, product_meta
from rag_recsys.dsid_build import BuildSettings, RenderViews, build_dsid
from rag_recsys.dsid_model import CONFIG_FILE, DSIDModel
from rag_recsys.embedding import ENCODERS, E5Encoder, TextEncoder, get_encoder
from rag_recsys.grm.datasets import item_text
from rag_recsys.taxonomy import PACKAGED_TAXONOMY, SEPARATOR, category_text, load_taxonomy, taxonomy_catalogue
from ragvid.drafts import DRAFT_VERSION, DraftSettings, render_drafts
from tools.cache import temp_beside
from tools.errors import InputError
from tools.video.measures import CREATIVE_VECTOR_NAMES, creative_vector, measure_video
from tools.video.measures import VERSION as MEASURES_VERSION
from tools.video.words import cue_text, ocr_text, subtitle_track

Source = Literal["track", "ocr"]
DEFAULT_SETTINGS = 24
DEFAULT_PER_ITEM = 2


EMBED_BATCH = 256


def embed_texts(encoder: TextEncoder, texts: Sequence[str], progress: Callable[[str], None]) -> np.ndarray:
    """(n, dim) float32 embeddings of `texts`, `EMBED_BATCH` at a time with a progress line each (e5 reads a long
    item text in a few tenths of a second on one core)."""
    start, out = time.perf_counter(), []
    for i in range(0, len(texts), EMBED_BATCH):
        out.append(encoder.encode(list(texts[i : i + EMBED_BATCH])).astype(np.float32))
        done = min(i + EMBED_BATCH, len(texts))
        progress(f"embedded {done}/{len(texts)} texts with {encoder.name} ({time.perf_counter() - start:.0f} s)")
    return np.concatenate(out) if out else np.zeros((0, 0), dtype=np.float32)


def load_catalogue(path: Path, field: str = "CATALOG") -> dict[str, dict[str, Any]]:
    """A catalogue file: ``{item id: {title, brand, categories, description}}`` (a data set's
    ``<Name>.item.json``, or a model folder's ``catalogue.json``). Raises InputError naming `field` when it is
    missing, not JSON, not such an object, or holds fewer than two items with a title."""
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(field, f"file not found: {path}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(field, f"{path}: cannot read as JSON: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict):
        raise InputError(field, f"{path}: expected an object of item id → {{title, brand, categories, description}}")
    items = {str(k): v for k, v in raw.items() if isinstance(v, dict) and str(v.get("title") or "").strip()}
    if len(items) < 2:
        raise InputError(field, f"{path}: {len(items)} item(s) with a title; a tokenizer needs two or more")
    return items


def settings_plan(n_items: int, settings: int, per_item: int, seed: int = 0) -> np.ndarray:
    """(n_items, per_item) setting rows: each item gets `per_item` distinct settings, drawn so every setting is used
    about equally often (a shuffled round robin). Raises ValueError when `per_item` > `settings`."""
    if per_item > settings:
        raise ValueError(f"{per_item} renders per item need as many settings, got {settings}")
    rng = np.random.default_rng(seed)
    slots = np.concatenate([rng.permutation(settings) for _ in range(-(-n_items * per_item // settings) + 1)])
    plan = np.zeros((n_items, per_item), dtype=np.int64)
    used = 0
    for i in range(n_items):
        row: list[int] = []
        while len(row) < per_item:
            if int(slots[used]) not in row:
                row.append(int(slots[used]))
            used += 1
        plan[i] = row
    return plan


def _cache_of(video: Path, source: Source) -> Path:
    return video.with_name(f"{video.stem}.{source}.views.json")


def _read(video: Path, source: Source, language: str) -> tuple[str, list[float]]:
    cache = _cache_of(video, source)
    if cache.exists():
        doc = json.loads(cache.read_text(encoding="utf-8"))
        return str(doc["text"]), [float(v) for v in doc["creative"]]
    text = cue_text(subtitle_track(video) or []) if source == "track" else ocr_text(video, language).text
    vector = [round(float(v), 6) for v in creative_vector(measure_video(video))]
    partial = temp_beside(cache)
    partial.write_text(json.dumps({"text": text, "creative": vector}, ensure_ascii=False), encoding="utf-8")
    os.replace(partial, cache)
    return text, vector


def read_views(
    videos: Sequence[Path],
    source: Source,
    *,
    languages: Sequence[str] | None = None,
    workers: int = 2,
    progress: Callable[[str], None] | None = None,
) -> tuple[list[str], np.ndarray]:
    """The words (from the soft subtitle track, or OCR of the frames as if the track were stripped) and the
    (n, creative_dim) creative vectors of `videos`, cached per video."""
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    langs = list(languages or ["en"] * len(videos))
    start, done, every = time.perf_counter(), 0, max(1, len(videos) // 20)
    cached = sum(_cache_of(video, source).exists() for video in videos)
    if cached:
        say(f"read {source}: {cached} of {len(videos)} already read, {len(videos) - cached} to read")

    def one(i: int) -> tuple[str, list[float]]:
        nonlocal done
        out = _read(videos[i], source, langs[i])
        done += 1
        if done % every == 0 or done == len(videos):
            say(f"read {source} {done}/{len(videos)} ({time.perf_counter() - start:.0f} s)")
        return out

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        read = list(pool.map(one, range(len(videos))))
    return [t for t, _ in read], np.asarray([v for _, v in read], dtype=np.float32)


def render_views(
    metas: Sequence[Mapping[str, Any]],
    plan: np.ndarray,
    settings: Sequence[DraftSettings],
    work: Path,
    encoder: TextEncoder,
    source: Source = "track",
    *,
    workers: int = 2,
    progress: Callable[[str], None] | None = None,
) -> tuple[RenderViews, list[Path]]:
    """Render every (item, setting) of `plan` ((n_items, per_item) setting rows) as a draft into `work`, read its
    views from `source` and embed the words with `encoder`."""
    jobs = [(metas[i], settings[int(s)]) for i in range(len(plan)) for s in plan[i]]
    videos = render_drafts(jobs, work, workers=workers, progress=progress)
    languages = [str(meta.get("language") or "en") for meta, _ in jobs]
    texts, creative = read_views(videos, source, languages=languages, workers=workers, progress=progress)
    # a render whose words were not read still has a look: an empty text embeds as the encoder's "nothing"
    views = RenderViews(
        text=encoder.encode(texts).astype(np.float32),
        creative=creative,
        item=np.repeat(np.arange(len(plan)), plan.shape[1]),
        setting=plan.reshape(-1),
    )
    return views, videos


def rendered_rows(n_items: int, renders: int | None, per_item: int) -> np.ndarray:
    """Which of `n_items` catalogue rows get drafts when a build may afford `renders` drafts of `per_item` each
    (None: every row): ⌊renders / per_item⌋ rows evenly spaced, so a catalogue sorted by category (the taxonomy)
    is rendered across its branches. Raises ValueError when that is fewer than two rows."""
    count = n_items if renders is None else min(n_items, renders // per_item)
    if count < 2:
        raise ValueError(f"{renders} drafts of {per_item} per item render {count} item(s); a build needs two or more")
    return np.unique(np.linspace(0, n_items - 1, count).round().astype(np.int64))


def build_from_catalogue(
    catalogue: Path | None,
    out_dir: Path,
    *,
    work: Path,
    items: int | None = None,
    drafts: int | None = None,
    settings: int = DEFAULT_SETTINGS,
    per_item: int = DEFAULT_PER_ITEM,
    encoder: str = E5Encoder.name,
    build: BuildSettings | None = None,
    workers: int = 2,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> tuple[DSIDModel, dict[str, Any]]:
    """`rag_recsys.dsid_build.build_dsid` on a catalogue file (None: the packaged Google Product Taxonomy, one item
    per category, as the shipped tokenizer is built): its first `items` items (all by default), of which
    `rendered_rows` get `per_item` drafts each over `settings` points of `DraftSettings.space` (every item when
    `drafts` is None). Every item's text is embedded and coded; the heads learn from the rendered ones. Raises
    InputError for a bad catalogue or option."""
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError("--output", f"{out_dir} is a file: give a folder for the tokenizer")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / CONFIG_FILE).is_file():
        raise InputError("--output", f"{out_dir} holds other files: give a new or empty folder, or a tokenizer "
                                     "folder to replace")  # fmt: skip
    raw = load_catalogue(catalogue) if catalogue is not None else taxonomy_catalogue(load_taxonomy(PACKAGED_TAXONOMY))
    if encoder not in ENCODERS:
        raise InputError("--encoder", f"unknown text encoder {encoder!r} (known: {', '.join(ENCODERS)})")
    ids = list(raw)[: items or None]
    if len(ids) < 2:
        raise InputError("--items", "a tokenizer needs two or more items")
    if settings < 2 or not 1 <= per_item <= settings:
        raise InputError("--per-item", f"{per_item} renders per item need 1 ≤ per-item ≤ settings ({settings})")
    try:
        rows = rendered_rows(len(ids), drafts, per_item)
    except ValueError as exc:
        raise InputError("--drafts", str(exc)) from None
    space = DraftSettings.space(settings, seed=seed)
    metas = [product_meta(raw[ids[int(r)]]) for r in rows]
    plan = settings_plan(len(rows), settings, per_item, seed)
    text_encoder = get_encoder(encoder)
    say(f"{len(rows)} of {len(ids)} items × {per_item} drafts over {settings} creative settings into {work}")
    views, _ = render_views(metas, plan, space, work, text_encoder, workers=workers, progress=say)
    views = dataclasses.replace(views, item=rows[views.item])
    if catalogue is None:
        # leaf first, then the path (`taxonomy.category_text`): 34 of the 52 product queries find their branch by
        # the nearest category's e5 cosine, against 29 with the title and two categories (`item_text`)
        texts = [category_text(SEPARATOR.join(categories_of(raw[i]))) for i in ids]
        how = "the category's leaf name, then its path (rag_recsys.taxonomy.category_text)"
    else:
        texts = [item_text(raw[i]) for i in ids]
        how = "title, brand, the two most specific categories, the first 300 characters of the description"
    item_vectors = embed_texts(text_encoder, texts, say)
    name = catalogue.name if catalogue is not None else f"Google Product Taxonomy ({PACKAGED_TAXONOMY.name})"
    card = {
        "catalogue": f"{name} ({len(raw)} items; the first {len(ids)} used, {len(rows)} of them rendered)",
        "item text": how,
        "renders": f"ragvid.drafts v{DRAFT_VERSION} at 270×480, words read from the soft subtitle track",
    }
    return build_dsid(
        out_dir, item_ids=ids, item_titles=[str(raw[i]["title"]) for i in ids], item_text=item_vectors,
        item_categories=[categories_of(raw[i]) for i in ids],
        views=views, settings=[s.model_dump() for s in space], encoder=encoder,
        creative_features=list(CREATIVE_VECTOR_NAMES), measures_version=MEASURES_VERSION, card=card,
        build=build, progress=say,
    )  # fmt: skip


__all__ = [
    "build_from_catalogue", "embed_texts", "load_catalogue", "read_views", "render_views", "rendered_rows",
    "settings_plan",
]  # fmt: skip
