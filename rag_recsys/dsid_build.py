"""Build a learned D-SID tokenizer folder (`rag_recsys.dsid_model`) from item texts and render views.

`rag_recsys` stays a library: the shell renders the drafts and reads them (``ragvid sid build``,
`ragvid.dsid_views`) and hands this module feature rows (`RenderViews`). The build (RaG section 2.2):

1. train the disentangled heads (`rag_recsys.dsid_heads`, Eqs. 6-8) on the render rows and one text-only row
   per item: rows of one item are content positives, renders of one setting creative positives, and text rows
   join no creative group;
2. content codebooks: balanced RQ-KMeans (`rqkmeans.fit_balanced`) on every item's content embedding of its
   text, sized by `content_sizes_for`;
3. creative codebooks: RQ-KMeans on the renders' creative embeddings, sized by `creative_sizes_for`; each full
   creative path keeps the settings of its medoid render, so every path renders reproducibly;
4. measure (`rag_recsys.metrics`) and write the folder, ``metrics.json`` and a model card.

Sizes. Balanced assignment gives the items under one layer-2 prefix distinct last codes while there are codes
left, so a catalogue of n items spread evenly needs k³ ≥ n with three layers of k codes: k is n^(1/3) rounded up
to a power of two (the slack absorbs uneven prefixes; Scientific's 4,344 items → [32, 32, 32], 15 bits). The
creative channel needs a path per distinct setting: two layers of ⌈√settings⌉ codes (24 settings → [5, 5]).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field

from rag_recsys import metrics as m
from rag_recsys import rqkmeans
from rag_recsys.dsid_heads import HeadsConfig, TrainedHeads, train_heads
from rag_recsys.dsid_model import METRICS_FILE, MODEL_CARD, CreativeEntry, DSIDConfig, DSIDModel
from rag_recsys.lexicon import path_key, prefix_groups, prefix_meanings

CONTENT_DEPTH = 3


@dataclass(frozen=True)
class RenderViews:
    """Feature rows of rendered videos: ``text`` (n, text_dim) embeddings of the words read from each, ``creative``
    (n, creative_dim) measured creative vectors, ``item`` (n,) the catalogue row rendered, ``setting`` (n,) the
    settings row it was rendered with."""

    text: np.ndarray
    creative: np.ndarray
    item: np.ndarray
    setting: np.ndarray

    def features(self) -> np.ndarray:
        return np.concatenate([self.text, self.creative], axis=1).astype(np.float32)

    def __len__(self) -> int:
        return len(self.item)


class BuildSettings(BaseModel):
    """Sizes (None: chosen for the data, see the module doc), heads settings and the seed of a build."""

    content_sizes: list[int] | None = None
    creative_sizes: list[int] | None = None
    heads: HeadsConfig = Field(default_factory=HeadsConfig)
    seed: int = rqkmeans.DEFAULT_SEED


def content_sizes_for(items: int, depth: int = CONTENT_DEPTH) -> list[int]:
    """`depth` layers of k codes, k = n^(1/depth) rounded up to a power of two (at least 2)."""
    k = max(2, 2 ** math.ceil(math.log2(max(2.0, items ** (1 / depth)))))
    return [k] * depth


def creative_sizes_for(settings: int) -> list[int]:
    """Two layers of ⌈√settings⌉ codes (at least 2 each)."""
    k = max(2, math.ceil(math.sqrt(settings)))
    return [k, k]


def train_rows(
    views: RenderViews, item_text: np.ndarray, heads: HeadsConfig, *, disentangled: bool = True,
    progress: Callable[[str], None] | None = None,
) -> TrainedHeads:  # fmt: skip
    """Train the heads on the render rows plus a text row for each rendered item ((n_items, text_dim)
    ``item_text``, the creative half at the renders' mean): the text row is its renders' content positive, so an
    item's text and its videos meet. ``disentangled=False`` trains the single-channel baseline: one head on the
    same rows, the content loss alone (the QARM set-up)."""
    rendered = np.unique(views.item)
    creative_mean = views.creative.mean(axis=0)
    text = item_text[rendered]
    text_rows = np.concatenate([text, np.broadcast_to(creative_mean, (len(text), len(creative_mean)))], 1)
    features = np.concatenate([views.features(), text_rows]).astype(np.float32)
    content = np.concatenate([views.item, rendered])
    creative = np.concatenate([views.setting, np.full(len(text), -1)]) if disentangled else None
    return train_heads(features, content, creative, heads, progress)


def _medoids(zk: np.ndarray, codes: np.ndarray, settings_of_row: np.ndarray,
             settings: Sequence[Mapping[str, Any]]) -> dict[str, CreativeEntry]:  # fmt: skip
    """Each creative path's medoid: of its renders, the one nearest its centre whose setting no other path took.
    Two paths with one setting would render the same video, and a video could not tell them apart (the shipped
    build of ragvid-dsid-v1+6cdeb87a gave [4, 0] and [4, 5] one medoid), so paths choose in order of size and a
    path left with only taken settings is not in the lexicon (`RQCodebooks.encode_valid` moves its renders to
    the nearest listed path)."""
    out: dict[str, CreativeEntry] = {}
    taken: set[int] = set()
    paths = sorted({tuple(r) for r in codes.tolist()})
    rows_of = {path: np.flatnonzero((codes == np.array(path)).all(axis=1)) for path in paths}
    for path in sorted(paths, key=lambda p: (-len(rows_of[p]), p)):
        rows = rows_of[path]
        centre = zk[rows].mean(axis=0)
        for row in rows[np.argsort(((zk[rows] - centre) ** 2).sum(axis=1), kind="stable")].tolist():
            index = int(settings_of_row[row])
            if index not in taken:
                taken.add(index)
                out[path_key(path)] = CreativeEntry(settings=dict(settings[index]), setting_index=index,
                                                    renders=len(rows))  # fmt: skip
                break
    return dict(sorted(out.items()))


def view_figures(
    heads: TrainedHeads,
    content_codebooks: rqkmeans.RQCodebooks,
    valid: np.ndarray,
    views: RenderViews,
    gallery: np.ndarray,
) -> dict[str, float]:
    """Table-2 figures of render views against a gallery of (n_items, dim) unit content embeddings: Recall@1/5/10
    of the RQ reconstruction of each render's content code (its nearest `valid` path; target: its item's row),
    content-code agreement across one item's renders, and the leakage probe (settings from the content
    embedding)."""
    zc, _ = heads.embed(views.features())
    codes = content_codebooks.encode_valid(zc, valid)
    figures = m.flat_keys(m.retrieval_recall(content_codebooks.decode(codes), gallery, views.item))
    figures["content_agreement"] = m.code_agreement(codes, views.item)
    figures["leakage_accuracy"], figures["leakage_chance"] = m.leakage_probe(zc, views.setting)
    return figures


def build_dsid(
    out_dir: Path,
    *,
    item_ids: Sequence[str],
    item_titles: Sequence[str],
    item_text: np.ndarray,
    views: RenderViews,
    settings: Sequence[Mapping[str, Any]],
    encoder: str,
    item_categories: Sequence[Sequence[str]] | None = None,
    creative_features: Sequence[str] = (),
    measures_version: str = "",
    card: Mapping[str, Any] | None = None,
    build: BuildSettings | None = None,
    progress: Callable[[str], None] | None = None,
) -> tuple[DSIDModel, dict[str, Any]]:
    """Train, quantise, measure and write a tokenizer folder to `out_dir`; returns the model and its metrics.

    Args:
        item_ids, item_titles: one per catalogue item (the titles go into the lexicon as the paths' meaning).
        item_categories: each item's categories, broadest first (`rag_recsys.catalogue.categories_of`): a prefix's
            entities are its items' most specific categories, its topics their first two, and an item's name
            is its categories joined by " > " (its title when it has none).
        item_text: (n_items, text_dim) frozen text embeddings of the items' texts.
        views: the renders (every ``views.item`` indexes the items, every ``views.setting`` the settings).
        settings: JSON-able creative settings of each setting row (the lexicon keeps the medoids').
        encoder: the text encoder's name (`rag_recsys.embedding.ENCODERS`), recorded for reading back.
        card: what the model card says about the data (``data``, ``renders``, ``licence`` …).

    Raises ValueError when the rows disagree (lengths, an item or setting index out of range) or there are
    fewer renders than creative codes.
    """
    start = time.perf_counter()
    build = build or BuildSettings()
    say = progress or (lambda _line: None)
    n_items = len(item_ids)
    if not (len(item_titles) == len(item_text) == n_items) or n_items < 2:
        raise ValueError(f"{n_items} item ids, {len(item_titles)} titles, {len(item_text)} text rows (need ≥ 2 each)")
    if len({len(views.text), len(views.creative), len(views.item), len(views.setting)}) != 1:
        raise ValueError("render views: text, creative, item and setting rows differ in number")
    if views.item.min() < 0 or views.item.max() >= n_items or views.setting.max() >= len(settings):
        raise ValueError("render views: an item or setting index is out of range")
    content_sizes = build.content_sizes or content_sizes_for(n_items)
    creative_sizes = build.creative_sizes or creative_sizes_for(len(np.unique(views.setting)))
    say(f"training the heads on {len(views)} renders and {n_items} item texts")
    heads = train_rows(views, item_text, build.heads, progress=say)
    config = DSIDConfig(
        encoder=encoder, text_dim=item_text.shape[1], creative_dim=views.creative.shape[1],
        creative_features=list(creative_features), measures_version=measures_version,
        content_sizes=content_sizes, creative_sizes=creative_sizes, heads=build.heads,
    )  # fmt: skip
    model = DSIDModel(config, heads, rqkmeans.RQCodebooks(()), rqkmeans.RQCodebooks(()), {}, {}, item_text, {})
    zc_items, _ = model.embed(model.item_features(item_text))
    say(f"content codebooks {content_sizes} on {n_items} items (balanced)")
    model.content_codebooks, item_codes = rqkmeans.fit_balanced(zc_items, content_sizes, seed=build.seed)
    model.item_codes = {str(i): [int(c) for c in row] for i, row in zip(item_ids, item_codes.tolist(), strict=True)}
    _, zk = model.embed(views.features())
    say(f"creative codebooks {creative_sizes} on {len(views)} renders")
    model.creative_codebooks = rqkmeans.fit(zk, creative_sizes, seed=build.seed)
    creative_codes = model.creative_codebooks.encode(zk)
    model.creative = _medoids(zk, creative_codes, views.setting, settings)
    categories = [list(c) for c in item_categories] if item_categories is not None else [[] for _ in item_ids]
    titles = [str(t) for t in item_titles]
    model.lexicon_extra = {
        "names": [" > ".join(c) if c else t for c, t in zip(categories, titles, strict=True)],
        "meanings": prefix_meanings(
            prefix_groups(item_codes), zc_items, [c[-1] if c else t for c, t in zip(categories, titles, strict=True)],
            [" > ".join(c[:2]) if c else "" for c in categories], titles,
        ),
    }  # fmt: skip
    version = model.save(out_dir)
    report: dict[str, Any] = {
        "version": version,
        "items": n_items,
        "renders": len(views),
        "settings": len(settings),
        "content_sizes": content_sizes,
        "creative_sizes": creative_sizes,
        "encoder": encoder,
        # catalogue text → its own path (the paper's Table 2 on the items themselves)
        **{
            f"item_{k}": v
            for k, v in m.flat_keys(
                m.reconstruction_recall(zc_items, model.content_codebooks.decode(item_codes))
            ).items()
        },
        "collision_rate": m.collision_rate(item_codes),
        "compression_ratio": m.compression_ratio(item_codes),
        "code_bits": m.code_bits(content_sizes),
        "codebook_usage": m.codebook_usage(item_codes, content_sizes),
        # on the training renders: how well the heads separate what from how on what they saw
        **{
            f"train_{k}": v
            for k, v in view_figures(heads, model.content_codebooks, model.content_paths(), views, zc_items).items()
        },
        # the creative half of `DSIDModel.encode`, on the embeddings already at hand
        "train_creative_agreement": m.code_agreement(
            model.creative_codebooks.encode_valid(zk, model.creative_paths()), views.setting
        ),
        "creative_paths": len(model.creative),
        "heads_seconds": heads.seconds,
        "heads_final_loss": heads.history[-1] if heads.history else {},
    }
    report["build_seconds"] = round(time.perf_counter() - start, 1)
    (out_dir / METRICS_FILE).write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    (out_dir / MODEL_CARD).write_text(model_card(report, card or {}), encoding="utf-8")
    return model, report


def model_card(report: Mapping[str, Any], card: Mapping[str, Any]) -> str:
    """The folder's ``MODEL_CARD.md``: what it is, the data it saw, how it was built, what it measured."""
    lines = [
        f"# D-SID tokenizer {report['version']}",
        "",
        "Disentangled semantic IDs after RaG section 2.2: a content path (what the item is) and a creative path",
        "(how its video is made), learned by two heads on frozen features (Eqs. 6-8) and quantised by RQ-KMeans.",
        "",
        "## Data",
        "",
        *[f"- {k}: {v}" for k, v in card.items()],
        f"- items: {report['items']}; renders: {report['renders']} over {report['settings']} creative settings",
        "",
        "## Build",
        "",
        f"- text encoder: {report['encoder']}; content codebooks {report['content_sizes']} (balanced), "
        f"creative codebooks {report['creative_sizes']}",
        f"- built in {report['build_seconds']} s",
        "",
        "## Measured (metrics.json)",
        "",
        "| figure | value |",
        "|---|---|",
        *[f"| {k} | {v} |" for k, v in report.items() if isinstance(v, int | float) and not isinstance(v, bool)],
        "",
        "Train-set figures (`train_*`) are on the renders the heads saw; held-out figures come from",
        "`ragvid sid eval DIR --catalog C` and `bench/dsid.py`.",
        "",
    ]
    return "\n".join(lines)


__all__ = [
    "BuildSettings", "RenderViews", "build_dsid", "content_sizes_for", "creative_sizes_for", "model_card",
    "train_rows", "view_figures",
]  # fmt: skip
