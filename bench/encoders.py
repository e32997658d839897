"""Text encoders on the product queries: MiniLM (the v2 tokenizer's) against multilingual e5, en / zh / es.

    python bench/encoders.py [--json]         # ~6 min on 2 cores (each encoder embeds 11,190 taxonomy texts)

The measure is the tokenizer's content task without its codebooks: each hand-written product query
(`rag_recsys.product_queries`, English and a person's Chinese and Spanish translations) is matched to its
nearest Google Product Taxonomy category (member vector = the normalised sum of the embeddings of the
category's leaf-first path text and of its leaf name, as `rag_recsys.build` ships them), and counts when that
category lies in the query's intended branch. MiniLM is the baseline measured in the same run. Also printed:
the mean cosine of each translation to its English original, against the mean cosine of the English
queries to one another (how far apart a translation and an unrelated product are).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag_recsys.embedding import E5Encoder, MiniLMEncoder, TextEncoder
from rag_recsys.product_queries import QUERY_LANGUAGES, product_queries
from rag_recsys.taxonomy import PACKAGED_TAXONOMY, category_text, leaf, load_taxonomy


def _in_branch(path: str, branches: list[str]) -> bool:
    return any(path == b or path.startswith(b + " > ") for b in branches)


def measure(encoder: TextEncoder, paths: list[str]) -> dict[str, float]:
    """Top-1 branch accuracy per language, translation cosines and the seconds spent embedding."""
    start = time.perf_counter()
    members = encoder.encode([category_text(p) for p in paths]) + encoder.encode([leaf(p) for p in paths])
    members /= np.linalg.norm(members, axis=1, keepdims=True)
    figures: dict[str, float] = {}
    english = encoder.encode([text for text, _ in product_queries("en")])
    for language in QUERY_LANGUAGES:
        queries = product_queries(language)
        embedded = english if language == "en" else encoder.encode([text for text, _ in queries])
        picked = (embedded @ members.T).argmax(axis=1)
        hits = [_in_branch(paths[j], branches) for j, (_, branches) in zip(picked.tolist(), queries, strict=True)]
        figures[f"top1_{language}"] = round(float(np.mean(hits)), 4)
        if language != "en":
            figures[f"cosine_to_english_{language}"] = round(float(np.mean((embedded * english).sum(axis=1))), 4)
    pairwise = english @ english.T
    figures["cosine_between_english"] = round(float(pairwise[~np.eye(len(english), dtype=bool)].mean()), 4)
    figures["seconds"] = round(time.perf_counter() - start, 1)
    return figures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="one JSON object of all figures as the last line")
    args = parser.parse_args(argv)
    paths = load_taxonomy(PACKAGED_TAXONOMY)
    rows = {"minilm": measure(MiniLMEncoder(), paths), "e5": measure(E5Encoder(), paths)}
    keys = [f"top1_{lang}" for lang in QUERY_LANGUAGES] + ["cosine_to_english_zh", "cosine_to_english_es",
                                                          "cosine_between_english", "seconds"]  # fmt: skip
    print(f"{'figure':<24}{'MiniLM (baseline)':>20}{'multilingual e5':>18}{'ratio':>8}")
    for key in keys:
        base, new = rows["minilm"][key], rows["e5"][key]
        ratio = f"{new / base:.2f}" if base else "-"
        print(f"{key:<24}{base:>20}{new:>18}{ratio:>8}")
    print(f"{len(product_queries())} queries per language, {len(paths)} categories")
    if args.json:
        flat = {f"{name}_{key}": value for name, figures in rows.items() for key, value in figures.items()}
        flat["queries"] = len(product_queries())
        print(json.dumps(flat))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
