"""D-SID tokenizer: shipped artifacts, content/creative encoding, deterministic (re)building."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from rag_recsys import rqkmeans
from rag_recsys.build import build
from rag_recsys.creative import DEFAULT_CREATIVE, all_styles
from rag_recsys.embedding import get_text_encoder
from rag_recsys.product_queries import PRODUCT_QUERIES
from rag_recsys.taxonomy import PACKAGED_TAXONOMY, category_text, load_taxonomy
from rag_recsys.tokenizer import (
    ARTIFACT_DIR,
    VERSIONED_FILES,
    DSIDTokenizer,
    artifact_version,
    head_nouns,
    named_words,
)
from tools.errors import InputError
from tools.vocabulary import CAMERA_MOTIONS, MUSIC_MOODS, TRANSITIONS


@pytest.fixture(scope="module")
def tok() -> DSIDTokenizer:
    return DSIDTokenizer.load_default()


def test_default_artifacts_are_small_versioned_and_measured(tok: DSIDTokenizer) -> None:
    assert re.fullmatch(r"ragvid-gpt-v2\+[0-9a-f]{8}", tok.version)
    assert tok.version == artifact_version(ARTIFACT_DIR)
    assert tok.lexicon.content_sizes == [128, 32, 16] and tok.lexicon.content_depth == 3
    assert tok.lexicon.creative_sizes == [10, 5] and tok.lexicon.creative_depth == 2
    assert sum(p.stat().st_size for p in ARTIFACT_DIR.iterdir()) < 10 * 2**20
    metrics = json.loads((ARTIFACT_DIR / "metrics.json").read_text())
    assert metrics["version"] == tok.version
    for key in ("recall@1", "recall@5", "recall@10", "collision_rate", "compression_ratio", "code_compression_bits"):
        assert key in metrics
    assert metrics["recall@1"] <= metrics["recall@5"] <= metrics["recall@10"]
    # The shipped nearest-member encoding must beat v1's path centroids on the held-out products.
    assert metrics["product_query_accuracy_nearest_member"] > metrics["product_query_accuracy_centroid"]
    assert metrics["leaf_query_accuracy_nearest_member"] >= metrics["leaf_query_accuracy_centroid"]


def test_espresso_lands_in_a_coffee_path(tok: DSIDTokenizer) -> None:
    codes, cosine = tok.encode_content("espresso coffee beans")
    meaning = tok.decode_content(codes)
    assert len(codes) == 3 and cosine > 0.4
    assert any("coffee" in text.lower() for text in meaning.entities + meaning.titles)
    assert tok.content_similarity("espresso coffee beans", codes) == pytest.approx(cosine, abs=0.02)


# v2 still files these elsewhere (sneakers without "shoe" → the closest sports gear; toothbrush →
# toothbrush accessories; candle → candle warmers): strict, so a tokenizer that fixes one must say so.
KNOWN_MISS = pytest.mark.xfail(strict=True, reason="known v2 miss (metrics.json: product_query_accuracy)")


def _category(tok: DSIDTokenizer, text: str) -> str:
    codes, cosine = tok.encode_content(text)
    name, nearest = tok.nearest_category(text, codes)
    assert nearest == pytest.approx(cosine, abs=1e-5)  # the reported cosine is to that category
    return name


@pytest.mark.parametrize(
    ("text", "branch"),
    [
        ("running shoes", "Apparel & Accessories > Shoes"),
        ("athletic shoes", "Apparel & Accessories > Shoes"),
        ("sneakers", "Apparel & Accessories > Shoes"),
        pytest.param("Trail running sneakers with breathable mesh", "Apparel & Accessories > Shoes", marks=KNOWN_MISS),
        ("espresso coffee beans", "Food, Beverages & Tobacco > Beverages > Coffee"),
        ("Single-origin coffee beans", "Food, Beverages & Tobacco > Beverages > Coffee"),
        ("Hydrating face serum with hyaluronic acid", "Health & Beauty > Personal Care > Cosmetics"),
        pytest.param(
            "Electric toothbrush with pressure sensor",
            "Health & Beauty > Personal Care > Oral Care > Toothbrushes",
            marks=KNOWN_MISS,
        ),
        pytest.param(
            "Scented soy candle with lavender", "Home & Garden > Decor > Home Fragrances > Candles", marks=KNOWN_MISS
        ),
    ],
)
def test_products_land_in_the_path_of_their_category(tok: DSIDTokenizer, text: str, branch: str) -> None:
    """Known v1 misses: running shoes → Shoe Bags, athletic shoes → Ski Boots, espresso → Espresso Machines."""
    assert _category(tok, text).startswith(branch)


def test_hand_written_products_mostly_find_their_branch(tok: DSIDTokenizer) -> None:
    by_path: dict[tuple[int, ...], list[str]] = {}
    for row, name in zip(tok._member_paths.tolist(), tok.lexicon.members, strict=True):
        by_path.setdefault(tuple(tok.lexicon.content_paths()[row]), []).append(name)
    encoded = tok.encode_contents([text for text, _ in PRODUCT_QUERIES])
    hits = [
        any(m == p or m.startswith(p + " > ") for m in by_path[tuple(codes)] for p in branches)
        for (codes, _), (_, branches) in zip(encoded, PRODUCT_QUERIES, strict=True)
    ]
    # v1 (path centroids) found 16 of these 48; the figure shipped in metrics.json must be what runs.
    assert sum(hits) >= 30
    metrics = json.loads((ARTIFACT_DIR / "metrics.json").read_text())
    assert metrics["product_query_accuracy_nearest_member"] == round(sum(hits) / len(hits), 4)


def test_head_nouns_and_product_name_words() -> None:
    assert head_nouns("Coffee Makers & Espresso Machines") == {"maker", "machine"}
    assert head_nouns("Shoes") == {"shoe"} and head_nouns("Batteries") == {"battery"}
    assert "fragrance" not in named_words("Face Serum. Fragrance-free and gentle")
    assert named_words("Stride Running Shoes. Breathable knit") == {"stride", "running", "shoe"}


def test_every_prefix_of_an_encoded_path_has_a_meaning(tok: DSIDTokenizer) -> None:
    codes, _ = tok.encode_content("noise cancelling headphones")
    sizes = [tok.lexicon.content(codes[:d]).size for d in (1, 2, 3)]
    assert sizes[0] >= sizes[1] >= sizes[2] >= 1
    assert all(tok.lexicon.content(codes[:d]).entities for d in (1, 2, 3))


def test_in_range_path_missing_from_lexicon_is_unknown(tok: DSIDTokenizer) -> None:
    valid = {tuple(p) for p in tok.lexicon.content_paths()}
    missing = next([a, b, c] for a in range(128) for b in range(32) for c in range(16) if (a, b, c) not in valid)
    assert not tok.lexicon.has_content(missing)
    with pytest.raises(InputError, match=re.escape(str(missing))):
        tok.lexicon.content(missing)
    with pytest.raises(InputError):
        tok.lexicon.creative([10, 0])


def test_creative_encoding_and_default(tok: DSIDTokenizer) -> None:
    codes, cosine = tok.encode_creative("warm cozy steady")
    style = tok.decode_creative(codes)
    assert (style.look, style.rhythm) == ("warm-cozy", "steady") and cosine > 0.5
    energetic, _ = tok.encode_creative("energetic pop, fast punchy cuts")
    assert tok.decode_creative(energetic).look == "energetic-pop"
    default = tok.decode_creative(DEFAULT_CREATIVE)
    assert (default.look, default.rhythm) == ("clean-minimal", "steady")


@pytest.mark.parametrize(
    ("text", "look"),
    [
        ("minimal", "clean-minimal"),
        ("luxury cinematic", "luxury-cinematic"),
        ("tech neon", "tech-neon"),
        ("calm pastel", "calm-pastel"),
        ("retro film", "retro-film"),
    ],
)
def test_style_naming_only_a_look_gets_the_steady_rhythm(tok: DSIDTokenizer, text: str, look: str) -> None:
    style = tok.decode_creative(tok.encode_creative(text)[0])
    assert (style.look, style.rhythm) == (look, "steady")


def test_style_naming_a_pace_keeps_it(tok: DSIDTokenizer) -> None:
    assert tok.decode_creative(tok.encode_creative("minimal, slow lingering shots")[0]).rhythm == "slow-calm"
    assert tok.decode_creative(tok.encode_creative("tech neon hype")[0]).rhythm == "hype"


def test_every_creative_path_maps_to_renderable_settings() -> None:
    styles = all_styles()
    assert len(styles) == 50 and len({s.description for s in styles}) == 50
    for s in styles:
        assert set(s.transitions) <= set(TRANSITIONS)
        assert set(s.camera_motions) <= set(CAMERA_MOTIONS)
        assert s.music_mood in MUSIC_MOODS
        assert 70 <= s.music_bpm <= 140 and 0.85 <= s.voice_rate <= 1.15


def test_rqkmeans_is_deterministic_and_refines_per_layer(tmp_path: Path) -> None:
    paths = load_taxonomy(PACKAGED_TAXONOMY)[::14]  # ~400 categories keep this test fast
    emb = get_text_encoder().encode([category_text(p) for p in paths])
    first, second = rqkmeans.fit(emb, [16, 8, 4]), rqkmeans.fit(emb, [16, 8, 4])
    first.save(tmp_path / "a.npz")
    second.save(tmp_path / "b.npz")
    assert (tmp_path / "a.npz").read_bytes() == (tmp_path / "b.npz").read_bytes()
    loaded = rqkmeans.RQCodebooks.load(tmp_path / "a.npz")
    codes = loaded.encode(emb)
    assert codes.shape == (len(paths), 3) and loaded.sizes == [16, 8, 4]
    errors = [np.linalg.norm(emb - loaded.decode(codes[:, :d]), axis=1).mean() for d in (1, 2, 3)]
    assert errors[0] > errors[1] > errors[2]


def test_build_on_a_subsample_is_byte_identical(tmp_path: Path) -> None:
    rows = PACKAGED_TAXONOMY.read_text(encoding="utf-8").splitlines()
    tsv = tmp_path / "small.tsv"
    tsv.write_text("\n".join([rows[0], *rows[1::20]]) + "\n", encoding="utf-8")
    reports = [build(tsv, tmp_path / name, sizes=[8, 4, 4]) for name in ("a", "b")]
    for name in VERSIONED_FILES:
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    assert reports[0]["version"] == reports[1]["version"]
    small = DSIDTokenizer.load(tmp_path / "a")
    assert small.lexicon.content_sizes == [8, 4, 4]
    codes, _ = small.encode_content("dog food")
    assert small.lexicon.has_content(codes)
