"""SID file contract (ARCHITECTURE §3): round trip, and one-line errors that name the field."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Any

import pytest

from rag_recsys.sidfile import (
    ProductMeta,
    encode_sid,
    load_sid_file,
    write_sid_file,
)
from rag_recsys.tokenizers import Tokenizer, default_tokenizer
from tools.errors import InputError

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return default_tokenizer()


@pytest.fixture()
def coffee(tok: Tokenizer, tmp_path: Path) -> dict[str, Any]:
    image = tmp_path / "img" / "coffee.png"
    image.parent.mkdir()
    image.write_bytes(b"\x89PNG\r\n\x1a\n")
    meta = ProductMeta(
        product="Aurora Single-Origin Coffee Beans", brand="Aurora Roasters", price="$18.99",
        selling_points=["Notes of dark chocolate and cherry"], images=["img/coffee.png"],
    )
    sid = encode_sid(tok, meta.product or "", "warm cozy steady", meta)
    return json.loads(sid.model_dump_json(exclude_none=True))


def _write(tmp_path: Path, doc: Any, name: str = "coffee.json") -> Path:
    path = tmp_path / name
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc, indent=2))
    return path


def test_round_trip(tok: Tokenizer, tmp_path: Path) -> None:
    meta = ProductMeta(product="Espresso coffee beans, dark roast", selling_points=["Rich crema"])
    sid = encode_sid(tok, "Espresso coffee beans, dark roast", "luxury cinematic slow", meta)
    path = write_sid_file(sid, tmp_path / "sub" / "espresso.json")
    loaded = load_sid_file(path, tok)
    assert loaded.sid == sid
    assert loaded.content.path == sid.content and loaded.creative.path == sid.creative
    assert loaded.creative.look == "luxury-cinematic"
    assert loaded.similarity is not None and loaded.similarity > 0.3
    assert "Espresso" in loaded.product_text and loaded.base_dir == path.parent.resolve()


def test_without_meta_product_text_comes_from_the_lexicon(tok: Tokenizer, tmp_path: Path) -> None:
    codes, _ = tok.encode_content("espresso coffee beans")
    path = _write(tmp_path, {"tokenizer": tok.version, "content": codes, "creative": [1, 1]})
    loaded = load_sid_file(path, tok)
    assert loaded.similarity is None and loaded.image_paths == []
    assert loaded.product_text.startswith(loaded.content.entities[0])


def test_images_resolve_relative_to_the_sid_file(tok: Tokenizer, coffee: dict, tmp_path: Path) -> None:
    loaded = load_sid_file(_write(tmp_path, coffee), tok)
    assert loaded.image_paths == [(tmp_path / "img" / "coffee.png").resolve()]


def _bad(doc: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    doc = json.loads(json.dumps(doc))
    target = doc["meta"] if key.startswith("meta.") else doc
    target[key.removeprefix("meta.")] = value
    return doc


@pytest.mark.parametrize(
    ("key", "value", "field", "message"),
    [
        ("tokenizer", "ragvid-gpt-v1+00000000", "tokenizer",
             "made with ragvid-gpt-v1+00000000 (an older tokenizer), this ragvid uses ragvid-dsid-v1+"),
        ("content", [3, 1], "content", "expected 3 codes, got 2"),
        ("creative", [0, 1, 2], "creative", "expected 2 codes, got 3"),
        ("content", [1, -1, 0], "content[1]", "non-negative integers, got -1"),
        ("content", [1, 1.5, 0], "content[1]", "non-negative integers, got 1.5"),
        ("content", [1, True, 0], "content[1]", "non-negative integers, got true"),
        ("creative", [10, 0], "creative", "unknown code path [10, 0]"),
        ("meta.product", "x" * 121, "meta.product", "text too long: 121 characters (max 120)"),
        ("meta.price", "9" * 41, "meta.price", "max 40"),
        ("meta.selling_points", ["ok", "y" * 201], "meta.selling_points[1]", "max 200"),
        ("meta.selling_points", ["p"] * 9, "meta.selling_points", "too many items: 9 (max 8)"),
        ("meta.images", ["img/coffee.png", "img/missing.png"], "meta.images[1]", "file not found:"),
        ("meta.colour", "red", "meta.colour", "unknown key"),
        ("extra", 1, "extra", "unknown key"),
    ],
)
def test_errors_name_the_field(
    tok: Tokenizer, coffee: dict, tmp_path: Path, key: str, value: Any, field: str, message: str
) -> None:
    path = _write(tmp_path, _bad(coffee, key, value))
    with pytest.raises(InputError) as info:
        load_sid_file(path, tok)
    text = str(info.value)
    assert info.value.field == field
    assert text.startswith(f"{path}: {field}: ") and message in text and "\n" not in text


def test_unknown_content_path_with_in_range_codes(tok: Tokenizer, coffee: dict, tmp_path: Path) -> None:
    valid = {tuple(p) for p in tok.lexicon.content_paths()}
    sizes = tok.lexicon.content_sizes
    missing = next(
        [a, b, c] for a in range(sizes[0]) for b in range(sizes[1]) for c in range(sizes[2]) if (a, b, c) not in valid
    )
    path = _write(tmp_path, _bad(coffee, "content", missing))
    pattern = r"content: unknown code path \[.*\] \(not in lexicon ragvid-dsid-v1\+"
    with pytest.raises(InputError, match=pattern):
        load_sid_file(path, tok)


def test_malformed_json_and_missing_file(tok: Tokenizer, tmp_path: Path) -> None:
    path = _write(tmp_path, '{\n  "tokenizer": "x",\n  "content": [1, 2,\n}')
    with pytest.raises(InputError, match=r"coffee\.json: json: malformed JSON at line 4 column 1") as info:
        load_sid_file(path, tok)
    assert info.value.field == "json"
    with pytest.raises(InputError, match=r"nope\.json: file: not found"):
        load_sid_file(tmp_path / "nope.json", tok)
    with pytest.raises(InputError, match="json: expected a JSON object, got list"):
        load_sid_file(_write(tmp_path, "[1, 2]"), tok)
    with pytest.raises(InputError, match="content: required but missing"):
        load_sid_file(_write(tmp_path, {"tokenizer": tok.version, "creative": [1, 1]}), tok)


def test_meta_disagreeing_with_codes_logs_that_meta_wins(
    tok: Tokenizer, coffee: dict, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    doc = _bad(coffee, "meta.product", "Hydraulic excavator bucket teeth")
    doc["meta"]["brand"] = "Caterpillar"
    doc["meta"]["selling_points"] = ["Hardened steel for quarry work"]
    with caplog.at_level(logging.WARNING, logger="ragvid.sid"):
        loaded = load_sid_file(_write(tmp_path, doc), tok)
    assert loaded.similarity is not None and loaded.similarity < tok.disagreement_threshold
    assert "the meta wins" in caplog.text


@pytest.mark.parametrize("name", [
    "coffee.json", "sneakers.json",
    pytest.param("skincare.json", marks=pytest.mark.xfail(strict=True, reason=(
        "the learned tokenizer files 'Lumière Hydrating Face Serum' under Face Makeup > Highlighters & Luminizers: "
        "e5 matches the brand Lumière to Luminizers (v2's head-noun bonus found Skin Care)"))),
])  # fmt: skip
def test_shipped_examples_load(tok: Tokenizer, name: str, tmp_path: Path) -> None:
    loaded = load_sid_file(EXAMPLES / "sids" / name, tok)
    assert loaded.sid.meta is not None and loaded.similarity is not None
    assert loaded.similarity > tok.disagreement_threshold
    if name == "coffee.json":
        assert loaded.image_paths and loaded.image_paths[0].name == "coffee.png"
        assert loaded.creative.look == "warm-cozy"
    # Each example sits in the path of the category a person would file the product under.
    nearest, cosine = tok.nearest_category(loaded.product_text, loaded.sid.content)
    assert cosine == pytest.approx(loaded.similarity, abs=1e-5)
    expected = {
        "coffee.json": "Food, Beverages & Tobacco > Beverages > Coffee",
        "sneakers.json": "Apparel & Accessories > Shoes",
        "skincare.json": "Health & Beauty > Personal Care > Cosmetics > Skin Care",
    }[name]
    assert nearest.startswith(expected)
    assert (loaded.sid.content, loaded.sid.tokenizer) == (tok.encode_content(loaded.product_text)[0], tok.version)
    # A copy without its image next to it fails on that image, not later at render time.
    copy = tmp_path / name
    shutil.copy(EXAMPLES / "sids" / name, copy)
    if loaded.image_paths:
        with pytest.raises(InputError, match=r"meta\.images\[0\]: file not found"):
            load_sid_file(copy, tok)
