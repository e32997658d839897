"""The shipped learned D-SID tokenizer (issue 13): product queries before (the taxonomy tokenizer v2) and after, in
English and translated; distinct paths for distinct products; every creative path renders; old files refused."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from rag_recsys.learned_tokenizer import SHIPPED_DIR, LearnedTokenizer, shipped_tokenizer, style_render_accuracy
from rag_recsys.lexicon import path_key
from rag_recsys.product_queries import QUERY_LANGUAGES, product_queries
from rag_recsys.sidfile import load_sid_file
from rag_recsys.tokenizer import DSIDTokenizer
from rag_recsys.tokenizers import Tokenizer
from ragvid.commands.sid import sid_app
from tests.conftest import EXAMPLES
from tools.errors import InputError

runner = CliRunner()


@pytest.fixture(scope="module")
def tok() -> LearnedTokenizer:
    return shipped_tokenizer()


def _accuracy(tokenizer: Tokenizer, language: str) -> float:
    """Share of the product queries whose content path's nearest category lies in their intended branch."""
    queries = product_queries(language)
    coded = tokenizer.encode_contents([text for text, _ in queries])
    hits = [
        any(name == b or name.startswith(b + " > ") for b in branches)
        for (text, branches), (path, _) in zip(queries, coded, strict=True)
        for name in [tokenizer.nearest_category(text, path)[0]]
    ]
    return sum(hits) / len(hits)


def test_product_queries_before_and_after(tok: LearnedTokenizer) -> None:
    """Measured here (52 queries): en 0.615 → 0.654, zh 0.000 → 0.250, es 0.058 → 0.212 (v2 reads English only)."""
    before = DSIDTokenizer.load_default()
    figures = {lang: (_accuracy(before, lang), _accuracy(tok, lang)) for lang in QUERY_LANGUAGES}
    assert all(after >= old for old, after in figures.values()), figures
    assert figures["en"][1] >= 0.6 and min(figures["zh"][1], figures["es"][1]) >= 0.2, figures


def test_different_products_get_different_paths(tok: LearnedTokenizer) -> None:
    lipstick = tok.encode_content("Matte red lipstick, long lasting")[0]
    serum = tok.encode_content("Hydrating face serum with hyaluronic acid")[0]
    assert lipstick != serum
    assert tok.nearest_category("Matte red lipstick, long lasting", lipstick)[0].endswith("Lip Makeup > Lipstick")
    for text, branch in (("Two-person camping tent, waterproof", "Camping & Hiking > Tents"),
                         ("Reflective nylon dog leash, 2 m", "Pet Leashes"),
                         ("Infant formula powder, from birth", "Baby Formula")):  # fmt: skip
        assert branch in tok.nearest_category(text, tok.encode_content(text)[0])[0], text


def test_capitals_are_a_style_not_a_product(tok: LearnedTokenizer) -> None:
    """An uppercase title read back by OCR codes as the product name it shows (it read as Insoles before)."""
    name = "Stride Pro Lightweight Running Shoes"
    assert tok.encode_content(name.upper())[0] == tok.encode_content(name)[0]
    assert tok.nearest_category(name.upper(), tok.encode_content(name.upper())[0])[0].endswith("> Shoes")


def test_the_first_line_of_words_read_is_the_product(tok: LearnedTokenizer) -> None:
    """Lines read from a video: the first names the product, the selling points after it do not sway the code
    (the whole text, foam cushioning and all, read as Insoles & Inserts)."""
    name = "Stride Pro Lightweight Running Shoes"
    lines = f"{name.upper()}\nResponsive foam cushioning for long runs.\nBreathable knit upper."
    assert tok.encode_content(lines)[0] == tok.encode_content(name)[0]


def test_the_shipped_folder_is_measured_and_every_creative_path_renders(tok: LearnedTokenizer) -> None:
    metrics = json.loads((SHIPPED_DIR / "metrics.json").read_text())
    assert metrics["version"] == tok.version and metrics["collision_rate"] < 0.03
    assert metrics["renders"] <= 600 and metrics["compression_ratio"] <= 1.05
    assert "Google Product Taxonomy" in (SHIPPED_DIR / "MODEL_CARD.md").read_text()
    for key, style in tok.lexicon.creative_entries.items():
        entry = tok.model.creative[key]
        assert style.settings == entry.settings and style.path == [int(c) for c in key.split("-")]
        assert 2.0 <= style.shot_seconds <= 6.0 and style.music_bpm == round(min(max(entry.settings["tempo_bpm"],
                                                                                        70), 140))  # fmt: skip
    assert tok.lexicon.has_creative(tok.default_creative)


def test_the_shipped_style_renders_cover_every_path_and_their_accuracy_is_what_metrics_says(
    tok: LearnedTokenizer,
) -> None:
    renders = tok.model.style_renders
    assert renders is not None, "the shipped folder has no style renders: ragvid sid calibrate"
    metrics = json.loads((SHIPPED_DIR / "metrics.json").read_text())
    products = len(np.unique(renders.products))
    assert products >= 3 and metrics["style_renders"] == len(renders.paths) == products * len(tok.model.creative)
    for product in range(products):  # each product renders every path once
        assert sorted(path_key(p) for p in renders.paths[renders.products == product].tolist()) == sorted(
            tok.model.creative
        )
    recomputed = style_render_accuracy(renders)
    assert recomputed == {k: metrics[k] for k in recomputed}
    assert recomputed["style_render_accuracy"] > 0.5  # chance is 1/len(paths)


def test_style_text_finds_its_look(tok: LearnedTokenizer) -> None:
    for text, look in (("warm cozy steady", "warm-cozy"), ("calm pastel slow", "calm-pastel"),
                       ("energetic pop fast punchy", "energetic-pop")):  # fmt: skip
        assert tok.decode_creative(tok.encode_creative(text)[0]).look == look, text


def test_a_v2_sid_file_is_refused_with_the_command_that_re_encodes_it(tmp_path: Path) -> None:
    doc = json.loads((EXAMPLES / "coffee.json").read_text())
    doc.update(tokenizer="ragvid-gpt-v2+79e0cb93", content=[82, 10, 7], creative=[0, 1])
    old = tmp_path / "coffee.json"
    old.write_text(json.dumps(doc))
    with pytest.raises(InputError) as info:
        load_sid_file(old)
    assert info.value.field == "tokenizer" and "(an older tokenizer)" in info.value.message
    assert 'ragvid sid encode "Aurora Single-Origin Coffee Beans"' in info.value.message
    result = runner.invoke(sid_app, ["decode", str(old)])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


def test_decode_shows_the_medoid_settings(tok: LearnedTokenizer) -> None:
    result = runner.invoke(sid_app, ["decode", str(EXAMPLES / "coffee.json")])
    assert result.exit_code == 0, result.output
    assert "medoid draft (6 s)" in result.stdout and "tempo_bpm" in result.stdout
    # the taxonomy build titles members by their leaf names, which the entities column already lists
    assert "titles │" not in result.stdout.split("creative [")[0]
    # the cosine names the member it was measured against
    assert "nearest member of the content path" in result.stdout
    assert result.stdout.rstrip().endswith("> Beverages > Coffee")
