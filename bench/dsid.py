#!/usr/bin/env python3
"""D-SID benchmark: a Table-2-style comparison of text-only, single-channel and disentangled tokenizers on
rendered Amazon Scientific items, read back from the videos, plus a Table-1-style GRM analogue.

One run, on this machine (bench only: the Amazon data never ships):

1. split Scientific's items: ``--held-out`` items (default 500) whose videos are only ever queries, and
   ``--train`` items (default 600) rendered for the heads; every catalogue item's text is embedded by the frozen
   encoder (multilingual-e5-small) and gets content codes;
2. render each training item as 2 drafts (`ragvid.drafts`, 6 s at 270×480) over ``--settings`` creative settings
   and read them back (soft subtitle track + measured creative vector); build (c) the D-SID tokenizer
   (`rag_recsys.dsid_build`: heads with Eqs. 6-8, balanced RQ-KMeans per channel) and (b) the single-channel
   baseline (the same features concatenated, one head, the content loss alone, the same codebook sizes: QARM);
3. render each held-out item under 2 settings and read every video twice: from its soft subtitle track, and
   with the track stripped (OCR of the frames, the path a video from elsewhere takes); the goals apply to that;
4. per tokenizer and read path: product-level Recall@1/5/10 (query: the RQ reconstruction of the video's content
   embedding; gallery: every held-out product's continuous text embedding in the same space; (a) the frozen
   encoder alone, continuous); collision rate and compression ratio of the catalogue's codes (before any dedup
   level); content-code agreement across one product's two renders; creative-code agreement across products
   rendered with one setting; a leakage probe (logistic regression predicting the setting from the content
   embedding, 5-fold; chance = the majority setting's share);
5. (``--grm``, default on) the GRM (small preset, 8 epochs, seed 0, as the CI test trains it) on Scientific's
   interactions with (c)'s content codes against (b)'s: Recall/NDCG@10 side by side.

Renders and reads are cached under ``--work`` (default ``bench/.dsid``): a second run re-measures in minutes.
Every figure is computed here; nothing is read from a previous run but the caches of renders and reads.

    python bench/dsid.py [--json] [--train 600] [--held-out 500] [--settings 24] [--jobs 2] [--no-grm]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from rag_recsys import metrics as m  # noqa: E402
from rag_recsys import rqkmeans  # noqa: E402
from rag_recsys.catalogue import product_meta  # noqa: E402
from rag_recsys.dsid_build import BuildSettings, RenderViews, build_dsid, train_rows, view_figures  # noqa: E402
from rag_recsys.dsid_heads import HeadsConfig  # noqa: E402
from rag_recsys.dsid_model import item_features  # noqa: E402
from rag_recsys.embedding import E5Encoder, get_encoder  # noqa: E402
from rag_recsys.grm.datasets import dataset_dir, item_text  # noqa: E402
from rag_recsys.learned_tokenizer import SHIPPED_DIR  # noqa: E402
from ragvid.drafts import DraftSettings  # noqa: E402
from ragvid.dsid_views import embed_texts, load_catalogue, read_views, render_views, settings_plan  # noqa: E402
from ragvid.settings import Settings  # noqa: E402
from tools.video.measures import CREATIVE_VECTOR_NAMES  # noqa: E402
from tools.video.measures import VERSION as MEASURES_VERSION  # noqa: E402

GOALS = {"recall_at_10": 0.95, "collision_rate": 0.03, "compression_ratio": 1.05, "agreement": 0.9, "leakage_pts": 5}


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def _item_vectors(texts: list[str], work: Path) -> np.ndarray:
    """The items' e5 text embeddings, cached under a hash of the texts (embedding 4,344 item texts takes tens of
    minutes on two cores)."""
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:12]
    cache = work / f"items-{E5Encoder.name}-{digest}.npy"
    if cache.exists():
        return np.load(cache)
    vectors = embed_texts(get_encoder(E5Encoder.name), texts, _log)
    np.save(cache, vectors)
    return vectors


def _grm(codes: dict[str, np.ndarray], version: dict[str, str], sizes: list[int], work: Path,
         seed: int) -> dict[str, dict[str, float]]:  # fmt: skip
    import torch

    from rag_recsys.grm.config import TrainConfig
    from rag_recsys.grm.datasets import load_dataset
    from rag_recsys.grm.pipeline import evaluate_on, load_model, popularity_metrics, split_dataset, train_on

    folder = dataset_dir("scientific", Settings().data)
    ids = list(load_catalogue(next(folder.glob("*.item.json"))))
    out: dict[str, dict[str, float]] = {}
    torch.set_num_threads(1)  # as the CI test: a second OpenMP thread spin-waits on two busy cores
    for name, rows in codes.items():
        index = work / f"grm-{name}.index.json"
        index.write_text(
            json.dumps(
                {
                    "tokenizer": version[name],
                    "content_sizes": sizes,
                    "content": {i: [int(c) for c in r] for i, r in zip(ids, rows.tolist(), strict=True)},
                }
            )
        )
        data = load_dataset(folder, index)
        model_dir = work / f"grm-{name}-s{seed}"
        cfg = TrainConfig(epochs=8, lr=2e-3, batch_size=256, eval_every=4, warmup_steps=100, seed=seed)
        _log(f"GRM on {name} codes: training (small preset, 8 epochs, seed {seed})")
        train_on(data, model_dir, "grm", "small", cfg, "bench/dsid.py", resume=True)
        split = split_dataset(data)
        got = evaluate_on(load_model(model_dir), split.test, beam=20)
        out[name] = {"recall_at_10": got["recall_at_10"], "ndcg_at_10": got["ndcg_at_10"]}
        out["popularity"] = {k: popularity_metrics(split, len(ids))[k] for k in ("recall_at_10", "ndcg_at_10")}
    return out


def run(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    work: Path = args.work
    work.mkdir(parents=True, exist_ok=True)
    folder = dataset_dir("scientific", Settings().data)
    raw = load_catalogue(next(folder.glob("*.item.json")), "scientific")
    ids = list(raw)
    order = np.random.default_rng(args.seed).permutation(len(ids))
    held, train = order[: args.held_out], order[args.held_out : args.held_out + args.train]
    vectors = _item_vectors([item_text(raw[i]) for i in ids], work)
    space = DraftSettings.space(args.settings, seed=args.seed)
    encoder = get_encoder(E5Encoder.name)
    metas = [product_meta(raw[ids[i]]) for i in range(len(ids))]

    # (c) and (b) on the training renders; build_s counts renders, reads, training and quantising
    t0 = time.perf_counter()
    train_plan = settings_plan(len(train), args.settings, 2, args.seed)
    local, _ = render_views([metas[i] for i in train], train_plan, space, work / "drafts", encoder,
                            workers=args.jobs, progress=_log)  # fmt: skip
    views = RenderViews(local.text, local.creative, train[local.item], local.setting)
    heads = HeadsConfig(epochs=args.epochs, seed=args.seed)
    model, report = build_dsid(
        work / "dsid", item_ids=ids, item_titles=[str(raw[i]["title"]) for i in ids], item_text=vectors, views=views,
        settings=[s.model_dump() for s in space], encoder=E5Encoder.name, creative_features=list(CREATIVE_VECTOR_NAMES),
        measures_version=MEASURES_VERSION, card={"catalogue": "Amazon Scientific (bench only, never shipped)"},
        build=BuildSettings(heads=heads, seed=rqkmeans.DEFAULT_SEED), progress=_log,
    )  # fmt: skip
    build_s = time.perf_counter() - t0
    sizes = model.config.content_sizes
    _log("training the single-channel baseline (b)")
    base_heads = train_rows(views, vectors, heads, disentangled=False)
    zb_items, _ = base_heads.embed(item_features(base_heads, vectors))
    base_books, base_codes = rqkmeans.fit_balanced(zb_items, sizes, seed=rqkmeans.DEFAULT_SEED)
    base_valid = np.unique(base_codes, axis=0)
    zc_items, _ = model.embed(model.item_features(vectors))
    dsid_codes = np.array([model.item_codes[i] for i in ids])

    # held-out renders: two settings each, read from the track and from the pixels
    held_plan = settings_plan(len(held), args.settings, 2, args.seed + 1)
    held_local, videos = render_views([metas[i] for i in held], held_plan, space, work / "drafts", encoder,
                                      workers=args.jobs, progress=_log)  # fmt: skip
    targets = held_local.item  # row of `held`: the gallery is the held-out items
    rows: dict[str, dict[str, Any]] = {}
    for source in ("track", "ocr"):
        if source == "track":
            texts_views = held_local
        else:
            texts, creative = read_views(videos, "ocr", workers=args.jobs, progress=_log)
            texts_views = RenderViews(encoder.encode(texts).astype(np.float32), creative, targets, held_local.setting)
        text_only = m.retrieval_recall(texts_views.text, _unit(vectors[held]), targets)
        rows[f"a_{source}"] = m.flat_keys(text_only)
        rows[f"b_{source}"] = view_figures(base_heads, base_books, base_valid, texts_views, zb_items[held])
        rows[f"c_{source}"] = view_figures(model.heads, model.content_codebooks, model.content_paths(), texts_views,
                                           zc_items[held])  # fmt: skip
        _, zk = model.embed(texts_views.features())
        creative_codes = model.creative_codebooks.encode_valid(zk, model.creative_paths())
        rows[f"c_{source}"]["creative_agreement"] = m.code_agreement(creative_codes, texts_views.setting)
    for name, codes in (("b", base_codes), ("c", dsid_codes)):
        for source in ("track", "ocr"):
            rows[f"{name}_{source}"] |= {"collision_rate": m.collision_rate(codes),
                                         "compression_ratio": m.compression_ratio(codes)}  # fmt: skip
    # the shipped learned tokenizer's own build figures (ragvid sid build --taxonomy --drafts 600 --settings 40; its
    # build_seconds cover training and quantising, the renders and readings cost ~5 min more cold)
    shipped = json.loads((SHIPPED_DIR / "metrics.json").read_text())
    figures: dict[str, Any] = {
        "items": len(ids), "train_items": len(train), "held_out_items": len(held),
        "renders": 2 * (len(train) + len(held)),
        "settings": args.settings, "content_sizes": sizes, "creative_sizes": model.config.creative_sizes,
        "build_s": round(build_s, 1), "heads_s": report["heads_seconds"],
        "shipped_build_s": shipped.get("build_seconds"), "shipped_collision_rate": shipped.get("collision_rate"),
        "shipped_compression_ratio": shipped.get("compression_ratio"),
        "shipped_recall_at_1": shipped.get("item_recall_at_1"),
    }  # fmt: skip
    for key, row in rows.items():
        figures |= {f"{key}_{k}": v for k, v in row.items()}
    ocr_c, ocr_b = rows["c_ocr"], rows["b_ocr"]
    figures |= {
        **{f"dsid_{k}": ocr_c[k] for k in ("recall_at_1", "recall_at_5", "recall_at_10", "collision_rate",
                                            "compression_ratio")},
        **{f"baseline_{k}": ocr_b[k] for k in ("recall_at_1", "recall_at_5", "recall_at_10", "collision_rate",
                                                "compression_ratio")},
        "text_only_recall_at_10": rows["a_ocr"]["recall_at_10"],
        "content_agreement": ocr_c["content_agreement"], "creative_agreement": ocr_c["creative_agreement"],
        "leakage_accuracy": ocr_c["leakage_accuracy"], "leakage_chance": ocr_c["leakage_chance"],
    }  # fmt: skip
    if args.grm:
        grm = _grm({"dsid": dsid_codes, "baseline": base_codes}, {"dsid": model.version, "baseline": "qarm-baseline"},
                   sizes, work, args.seed)  # fmt: skip
        for name, got in grm.items():
            figures |= {f"grm_{name}_{k}": v for k, v in got.items()}
    figures["bench_s"] = round(time.perf_counter() - started, 1)
    return figures


def table(f: dict[str, Any]) -> str:
    cols = ("recall_at_1", "recall_at_5", "recall_at_10", "collision_rate", "compression_ratio", "content_agreement",
            "creative_agreement", "leakage_accuracy")  # fmt: skip
    head = f"{'tokenizer (read path)':34}" + "".join(
        f"{c.replace('_at_', '@').replace('_', ' ')[:12]:>13}" for c in cols
    )
    lines = [head, "-" * len(head)]
    names = {"a": "(a) frozen e5, continuous", "b": "(b) single channel (QARM)", "c": "(c) D-SIDs"}
    for source in ("track", "ocr"):
        for key, label in names.items():
            cells = [f.get(f"{key}_{source}_{c}") for c in cols]
            where = "soft track" if source == "track" else "stripped, OCR"
            lines.append(f"{label + ' (' + where + ')':34}" + "".join(f"{'' if v is None else v:>13}" for v in cells))
    lines.append(f"leakage chance (majority setting share): {f['leakage_chance']}; goals on the stripped path: "
                 f"R@10 ≥ {GOALS['recall_at_10']}, collisions < {GOALS['collision_rate']}, compression ≤ "
                 f"{GOALS['compression_ratio']}, agreements ≥ {GOALS['agreement']}, leakage ≤ chance + "
                 f"{GOALS['leakage_pts']} pts")  # fmt: skip
    lines.append(f"shipped tokenizer (learned, taxonomy + 600 drafts): collision rate {f['shipped_collision_rate']}, "
                 f"compression "
                 f"{f['shipped_compression_ratio']}, recall@1 {f['shipped_recall_at_1']}, built in "
                 f"{f['shipped_build_s']} s")  # fmt: skip
    if "grm_dsid_recall_at_10" in f:
        lines.append("GRM (small, 8 epochs, seed 0) on Scientific   recall@10   ndcg@10")
        for name in ("baseline", "dsid", "popularity"):
            lines.append(f"  {name:44}{f[f'grm_{name}_recall_at_10']:>9.4f}{f[f'grm_{name}_ndcg_at_10']:>10.4f}")
    lines.append(f"{f['items']} items ({f['train_items']} rendered for training, {f['held_out_items']} held out), "
                 f"{f['renders']} drafts over {f['settings']} settings; content {f['content_sizes']}, creative "
                 f"{f['creative_sizes']}; build {f['build_s']} s, bench {f['bench_s']} s")  # fmt: skip
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object of all figures last")
    parser.add_argument("--train", type=int, default=600, help="items rendered for training the heads")
    parser.add_argument("--held-out", type=int, default=500, help="items rendered only as queries")
    parser.add_argument("--settings", type=int, default=24, help="creative settings sampled from the draft space")
    parser.add_argument("--epochs", type=int, default=60, help="training epochs of the heads")
    parser.add_argument("--jobs", type=int, default=2, help="renders and reads at a time")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".dsid", help="render and read cache")
    parser.add_argument("--no-grm", dest="grm", action="store_false", help="skip the GRM comparison")
    args = parser.parse_args()
    figures = run(args)
    print(table(figures))
    if args.json:
        print(json.dumps(figures))


if __name__ == "__main__":
    main()
