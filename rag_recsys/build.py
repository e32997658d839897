"""Build the default D-SID tokenizer artifacts from the Google Product Taxonomy.

    python -m rag_recsys.build --taxonomy /work/shared/data/taxonomy/google_product_taxonomy.tsv

Content codebook sizes are [128, 32, 16] (16 bits per item) for 5,595 categories:
- layer 1 (128): ~44 categories per coarse cluster, an "aisle" a person can name; every code used;
- layer 2 (32): splits aisles into ~1,850 used prefixes of ~3 categories, each still a theme;
- layer 3 (16): disambiguates inside them: 4,217 distinct full paths; 40.6 % of categories share
  their path with another (`metrics.collision_rate`), 1.33 categories per path (`compression_ratio`).
Measured alternatives (leaf-first text), as 1 − paths/items (0.25 for the chosen sizes): [64, 16, 8]
0.50, [64, 32, 16] 0.35 and [128, 16, 8] 0.36; [256, 32, 16] 0.16 but layer 1 then has under 22 categories per code
(faiss warns it has too few points) and [128, 64, 32] buys 0.20 with 2 more bits and thinner
prefixes. All codes of all layers are used at [128, 32, 16].
Output is deterministic for a fixed seed: same taxonomy → byte-identical files → same version.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import numpy as np

from rag_recsys import metrics as m
from rag_recsys import rqkmeans
from rag_recsys.creative import CREATIVE_SIZES, LOOKS, RHYTHMS, all_styles
from rag_recsys.embedding import TextEncoder, get_text_encoder
from rag_recsys.lexicon import path_key, prefix_groups, prefix_meanings
from rag_recsys.product_queries import PRODUCT_QUERIES
from rag_recsys.taxonomy import PACKAGED_TAXONOMY, category_text, leaf, load_taxonomy, topic
from rag_recsys.tokenizer import (
    ARTIFACT_DIR,
    CODEBOOKS_FILE,
    LEXICON_FILE,
    MEMBERS_FILE,
    METRICS_FILE,
    DSIDTokenizer,
    artifact_version,
    save_members,
)

CONTENT_SIZES = [128, 32, 16]


def _unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def build_lexicon(
    paths: list[str], emb: np.ndarray, codes: np.ndarray, sizes: list[int], member_emb: np.ndarray
) -> tuple[dict[str, object], np.ndarray, np.ndarray]:
    """Lexicon JSON document, member vectors sorted by full path, and each member's full-path row."""
    groups = prefix_groups(codes)
    content = prefix_meanings(groups, emb, [leaf(p) for p in paths], [topic(p) for p in paths], paths)
    full = [p for p in sorted(groups) if len(p) == codes.shape[1]]
    order = [i for p in full for i in groups[p]]  # members grouped by path in lexicon order
    rows = np.array([j for j, p in enumerate(full) for _ in groups[p]], dtype=np.int32)
    doc: dict[str, object] = {
        "name": "Google Product Taxonomy (2021-09-21), leaf-first MiniLM text, RQ-KMeans",
        "content_sizes": [int(k) for k in sizes],
        "creative_sizes": CREATIVE_SIZES,
        "content": content,
        "creative": {path_key(s.path): s.model_dump() for s in all_styles()},
        "look_phrases": [look.phrase for look in LOOKS],
        "rhythm_phrases": [rhythm.phrase for rhythm in RHYTHMS],
        "members": [paths[i] for i in order],
    }
    return doc, member_emb[order].astype(np.float16), rows


def encoding_accuracy(queries: np.ndarray, codes: np.ndarray, targets: np.ndarray) -> float:
    """Share of queries whose nearest valid path (by cosine to ``targets``) is their own item's path."""
    full = sorted({tuple(r) for r in codes.tolist()})
    index = {p: j for j, p in enumerate(full)}
    own = np.array([index[tuple(r)] for r in codes.tolist()])
    picked = (queries @ _unit(targets).T).argmax(axis=1)
    return round(float((picked == own).mean()), 4)


def _in_branch(members: list[str], prefixes: list[str]) -> bool:
    return any(m == p or m.startswith(p + " > ") for m in members for p in prefixes)


def tokenizer_accuracy(tok: DSIDTokenizer, texts: list[str], wanted: list[list[str]]) -> float:
    """Share of texts encoded to a path that holds a category of their intended taxonomy branch."""
    by_path: dict[str, list[str]] = {}
    for row, name in zip(tok._member_paths.tolist(), tok.lexicon.members, strict=True):
        by_path.setdefault(path_key(tok.lexicon.content_paths()[row]), []).append(name)
    hits = [_in_branch(by_path[path_key(tok.encode_content(t)[0])], w) for t, w in zip(texts, wanted, strict=True)]
    return round(sum(hits) / len(hits), 4)


def centroid_product_accuracy(
    encoder: TextEncoder, paths: list[str], codes: np.ndarray, means: np.ndarray
) -> float:
    """The v1 method (cosine to path centroids of the leaf-first embeddings) on the product queries."""
    full = sorted({tuple(r) for r in codes.tolist()})
    index = {p: j for j, p in enumerate(full)}
    members: list[list[str]] = [[] for _ in full]
    for i, row in enumerate(codes.tolist()):
        members[index[tuple(row)]].append(paths[i])
    picked = (encoder.encode([t for t, _ in PRODUCT_QUERIES]) @ _unit(means).T).argmax(axis=1)
    hits = [_in_branch(members[j], w) for j, (_, w) in zip(picked.tolist(), PRODUCT_QUERIES, strict=True)]
    return round(sum(hits) / len(hits), 4)


def build(
    taxonomy: Path,
    out_dir: Path = ARTIFACT_DIR,
    sizes: list[int] = CONTENT_SIZES,
    seed: int = rqkmeans.DEFAULT_SEED,
    encoder: TextEncoder | None = None,
) -> dict[str, object]:
    start = time.perf_counter()
    encoder = encoder or get_text_encoder()
    paths = load_taxonomy(taxonomy)
    emb = encoder.encode([category_text(p) for p in paths])
    codebooks = rqkmeans.fit(emb, sizes, seed=seed)
    codes = codebooks.encode(emb)
    leaf_queries = encoder.encode([leaf(p) for p in paths])
    # Member vector: leaf name and leaf-first path together; the leaf alone carries what a product
    # text says, the path tells same-named leaves ("Accessories") apart.
    doc, members, member_rows = build_lexicon(paths, emb, codes, codebooks.sizes, _unit(emb + leaf_queries))
    depth_of = [key.count("-") for key in doc["content"]]  # type: ignore[attr-defined]

    full = sorted({tuple(r) for r in codes.tolist()})
    means = np.stack([emb[(codes == np.array(p)).all(axis=1)].mean(axis=0) for p in full])
    out_dir.mkdir(parents=True, exist_ok=True)
    codebooks.save(out_dir / CODEBOOKS_FILE)
    (out_dir / LEXICON_FILE).write_text(
        json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8"
    )
    save_members(out_dir / MEMBERS_FILE, members, member_rows)
    tok = DSIDTokenizer.load(out_dir, encoder)
    texts, wanted = [t for t, _ in PRODUCT_QUERIES], [w for _, w in PRODUCT_QUERIES]
    report: dict[str, object] = {
        "version": artifact_version(out_dir),
        "items": len(paths),
        "content_sizes": sizes,
        "seed": seed,
        **m.reconstruction_recall(emb, codebooks.decode(codes)),
        "collision_rate": m.collision_rate(codes),
        "compression_ratio": m.compression_ratio(codes),
        "code_compression_bits": m.code_compression_bits(emb.shape[1], sizes),
        "code_bits": m.code_bits(sizes),
        "codebook_usage": m.codebook_usage(codes, sizes),
        "prefixes_per_depth": [depth_of.count(d) for d in range(len(sizes))],
        "max_items_per_path": max(Counter(tuple(r) for r in codes.tolist()).values()),
        # Leaf name alone ("Bird Treats") → its own category's path. The member vectors contain the
        # leaf embedding, so the nearest-member figure is close to 1 by construction; the product
        # queries below are the held-out measure.
        "leaf_query_accuracy_nearest_member": round(float(np.mean([
            got == own
            for (got, _), own in zip(tok.encode_contents([leaf(p) for p in paths]), codes.tolist(), strict=True)
        ])), 4),
        "leaf_query_accuracy_centroid": encoding_accuracy(leaf_queries, codes, means),
        "leaf_query_accuracy_reconstruction": encoding_accuracy(
            leaf_queries, codes, codebooks.decode(np.array(full))
        ),
        # Hand-written product descriptions (rag_recsys/product_queries.py) → a path holding a
        # category of the intended branch: the shipped encoding, and v1's path centroids.
        "product_query_accuracy_nearest_member": tokenizer_accuracy(tok, texts, wanted),
        "product_query_accuracy_centroid": centroid_product_accuracy(encoder, paths, codes, means),
        "product_queries": len(PRODUCT_QUERIES),
        "creative_sizes": CREATIVE_SIZES,
    }
    report["build_seconds"] = round(time.perf_counter() - start, 1)
    # build_seconds varies run to run; metrics.json is outside the version hash for that reason.
    (out_dir / METRICS_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--taxonomy", type=Path, default=PACKAGED_TAXONOMY)
    parser.add_argument("--out", type=Path, default=ARTIFACT_DIR)
    parser.add_argument("--seed", type=int, default=rqkmeans.DEFAULT_SEED)
    args = parser.parse_args(argv)
    report = build(args.taxonomy, args.out, seed=args.seed)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
