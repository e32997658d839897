"""Style renders: every creative path of a tokenizer folder rendered by the agents themselves, so that a video's
creative path is read against what the agents make of each path (``ragvid sid encode VIDEO``).

The heads learn the creative channel from drafts (`ragvid.drafts`: 6 s of bands and tones, no voice, no product
photo). An agents' render lies outside what they saw: read through the creative head, every agents' render of
the three examples took one path ([5, 6]). The measured creative vectors of the agents' own renders of each path
are the reference instead (`rag_recsys.dsid_model.StyleRenders`, classified in
`rag_recsys.learned_tokenizer.LearnedTokenizer.encode_creative_video`).

Each path is rendered once per product of `STYLE_PRODUCTS`: the products differ in what shapes a render besides
its style (one, two or three selling points, a brand and price or none, a CTA or none), so what varies within a
path is the product and what varies between paths is the style. A render runs the VGA graph with the rule policy at the
fast profile (12 s at 360×640, about 10 s of CPU); the shipped folder's 36 paths × 4 products take about 20 min
on two cores (8-10 s a render at two jobs). Renders are cached in the work folder under a hash of their SID file,
so an interrupted run resumes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from rag_recsys.dsid_model import METRICS_FILE, MODEL_CARD, STYLE_RENDERS_FILE, StyleRenders
from rag_recsys.learned_tokenizer import LearnedTokenizer, style_render_accuracy
from rag_recsys.lexicon import key_path
from rag_recsys.sidfile import ProductMeta, SidFile, write_sid_file
from ragvid.dsid_views import read_views
from ragvid.settings import Settings
from tools.cache import temp_beside

STYLE_PRODUCTS = (
    ProductMeta(product="Everyday Canvas Tote Bag", selling_points=["Made to last for years",
                "Fits everything you carry"], cta="Shop now"),
    ProductMeta(product="Stainless Steel Insulated Water Bottle", brand="Hydra", price="$24",
                selling_points=["Keeps drinks cold for 24 hours", "Leak-proof lid you can trust",
                                "Fits every cup holder"], cta="Get yours at hydra.shop"),
    ProductMeta(product="Wireless Noise-Cancelling Headphones", selling_points=["Forty hours of battery life"],
                cta="Listen now"),
    # no CTA: the agents write one and hold the end card for as long as it is spoken
    ProductMeta(product="Bamboo Cutting Board Set", selling_points=["Three sizes for every task",
                "Gentle on knife edges"]),
)


async def _render(sids: list[tuple[SidFile, Path]], settings: Settings, tokenizer: LearnedTokenizer, workers: int,
                  say: Callable[[str], None]) -> None:  # fmt: skip
    from ragvid.generate import generate

    todo = [(sid, video) for sid, video in sids if not video.exists()]
    if len(todo) < len(sids):
        say(f"style renders: {len(sids) - len(todo)} of {len(sids)} already rendered, {len(todo)} to render")
    gate, start, done = asyncio.Semaphore(max(1, workers)), time.perf_counter(), 0

    async def one(sid: SidFile, video: Path) -> None:
        nonlocal done
        async with gate:
            source = video.with_suffix(".sid.json")
            write_sid_file(sid, source)
            partial = temp_beside(video)
            context = settings.run_context()
            context.tokenizer = tokenizer  # the folder's own, which the SID files were made with
            written = await generate(source, partial, settings=settings, context=context)
            os.replace(written.path, video.with_suffix(".run.json"))
            os.replace(partial, video)
        done += 1
        say(f"style renders {done}/{len(todo)} ({time.perf_counter() - start:.0f} s)")

    await asyncio.gather(*(one(sid, video) for sid, video in todo))


def render_style_renders(folder: Path, work: Path, *, products: int = len(STYLE_PRODUCTS), workers: int = 2,
                         progress: Callable[[str], None] | None = None) -> StyleRenders:  # fmt: skip
    """Render every creative path of the tokenizer `folder` under the first `products` of `STYLE_PRODUCTS` with the
    agents into `work`, and measure each render. Returns the (paths × products, creative_dim) measured vectors and
    their paths. Raises ValueError for a folder that is not a tokenizer; a failed render raises what the run
    raised, and what was rendered stays cached."""
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    tokenizer = LearnedTokenizer.load(folder)
    chosen = STYLE_PRODUCTS[: max(1, products)]
    contents = [tokenizer.encode_content(meta.product or "")[0] for meta in chosen]
    keys = sorted(tokenizer.lexicon.creative_entries)
    sids: list[tuple[SidFile, Path]] = []
    for key in keys:
        for meta, content in zip(chosen, contents, strict=True):
            sid = SidFile(tokenizer=tokenizer.version, content=content, creative=key_path(key),
                          meta=meta)  # fmt: skip
            digest = hashlib.sha256(sid.model_dump_json().encode()).hexdigest()[:16]
            sids.append((sid, work / f"style-{key}-{digest}.mp4"))
    work.mkdir(parents=True, exist_ok=True)
    say(f"style renders: {len(keys)} creative paths × {len(chosen)} products with the agents into {work}")
    # the rule policy at the fast profile: no model server, the same graph and renderer as any run
    settings = Settings.load(llm="rule", profile="fast", home=work / "home")
    asyncio.run(_render(sids, settings, tokenizer, workers, say))
    _, vectors = read_views([video for _, video in sids], "track", workers=workers, progress=say)
    return StyleRenders(vectors=vectors, paths=np.asarray([sid.creative for sid, _ in sids], dtype=np.int64),
                        products=np.tile(np.arange(len(chosen)), len(keys)))  # fmt: skip


def calibrate(folder: Path, work: Path, *, products: int = len(STYLE_PRODUCTS), workers: int = 2,
              progress: Callable[[str], None] | None = None) -> dict[str, float]:  # fmt: skip
    """`render_style_renders`, then store them in `folder` (``style_renders.npz``) and their leave-one-product-out
    accuracy in its ``metrics.json`` (`style_render_accuracy`); returns those figures."""
    return store_style_renders(folder, render_style_renders(folder, work, products=products, workers=workers,
                                                            progress=progress))  # fmt: skip


def store_style_renders(folder: Path, renders: StyleRenders) -> dict[str, float]:
    """Store `renders` in the tokenizer `folder`: ``style_renders.npz``, their figures in ``metrics.json`` and a
    section of ``MODEL_CARD.md`` (replaced when there is one); returns the figures."""
    # leave-one-product-out keeps two renders of each path in a fold from three products on
    figures = {"style_renders": len(renders.vectors)} | (style_render_accuracy(renders) if renders.product_count > 2
                                                         else {})  # fmt: skip
    renders.save(folder / STYLE_RENDERS_FILE)
    metrics = json.loads((folder / METRICS_FILE).read_text(encoding="utf-8"))
    metrics = {k: v for k, v in metrics.items() if not k.startswith("style_render")} | figures
    (folder / METRICS_FILE).write_text(json.dumps(metrics, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    card = folder / MODEL_CARD
    if card.is_file():  # a calibration again replaces its section
        text = card.read_text(encoding="utf-8").split(CARD_SECTION)[0].rstrip("\n")
        card.write_text(f"{text}\n\n{_card_section(renders, figures)}", encoding="utf-8")
    return figures


CARD_SECTION = "## Style renders"


def _card_section(renders: StyleRenders, figures: dict[str, float]) -> str:
    products = renders.product_count
    measured = (f"- leave-one-product-out accuracy {figures['style_render_accuracy']} (first layer "
                f"{figures['style_render_first_layer_accuracy']})\n" if "style_render_accuracy" in figures else "")
    return (f"{CARD_SECTION} ({STYLE_RENDERS_FILE})\n\n- each of the {len(renders.vectors) // products} creative "
            f"paths rendered by the agents (rule policy, fast profile) under {products} products "
            "(ragvid.style_renders.STYLE_PRODUCTS); `ragvid sid encode VIDEO` reads a video's creative path against "
            f"them\n{measured}")  # fmt: skip


__all__ = ["STYLE_PRODUCTS", "calibrate", "render_style_renders", "store_style_renders"]
