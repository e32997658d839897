"""`ragvid sid build` / `ragvid sid eval`: a small learned D-SID tokenizer built from real draft renders.

Ten products × two drafts over four creative settings, read back and trained for a few epochs: the figures are
measured on this tiny set, so the assertions are about consistency (metrics.json against the folder's own codes,
the medoid settings among the sampled ones, a rebuild from the cache giving the same bytes) and about the
disentanglement the heads must show even here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from rag_recsys import metrics as m
from rag_recsys.dsid_model import CONFIG_FILE, LEXICON_FILE, METRICS_FILE, MODEL_CARD, VERSIONED_FILES, DSIDModel
from rag_recsys.learned_tokenizer import LearnedTokenizer, style_render_accuracy
from rag_recsys.lexicon import path_key
from ragvid.commands.sid import sid_app
from ragvid.drafts import DraftSettings

pytestmark = pytest.mark.slow
runner = CliRunner()
PRODUCTS = [
    ("Lumen Rechargeable Desk Lamp", "Lumen", "Home,Lighting,Lamps", "Three warm light settings. Charges over USB-C."),
    ("Aurora Single-Origin Coffee Beans", "Aurora", "Grocery,Coffee", "Roasted in small batches. Notes of cherry."),
    ("Trailblazer Two-Person Camping Tent", "Trailblazer", "Outdoors,Camping,Tents", "Sets up in five minutes."),
    ("Velvet Matte Lipstick in Rose", "Velvet", "Beauty,Makeup,Lips", "Stays on for twelve hours without drying."),
    ("Pawsome Reflective Dog Leash", "Pawsome", "Pets,Dogs,Leashes", "Reflective stitching for night walks."),
    ("Stride Running Shoes for Men", "Stride", "Sports,Running,Shoes", "Cushioned sole for long distances."),
    ("Pulse Portable Bluetooth Speaker", "Pulse", "Electronics,Audio,Speakers", "Twelve hours of battery life."),
    ("Sprout Organic Baby Formula", "Sprout", "Baby,Feeding,Formula", "Made with organic whole milk."),
    ("Atlas Leather Crossbody Bag", "Atlas", "Fashion,Bags", "Full-grain leather that ages well."),
    ("Copper Stainless Steel Saucepan", "Copper", "Kitchen,Cookware,Pans", "Even heat on every hob, induction too."),
]  # fmt: skip
ARGS = ("--settings", "4", "--per-item", "2", "--epochs", "20", "--style-products", "2")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, Any]]:
    d = tmp_path_factory.mktemp("dsid")
    catalogue = d / "shop.item.json"
    catalogue.write_text(json.dumps({f"p{i}": {"title": t, "brand": b, "categories": c, "description": s}
                                     for i, (t, b, c, s) in enumerate(PRODUCTS)}))  # fmt: skip
    result = runner.invoke(sid_app, ["build", str(catalogue), "-o", str(d / "tok"), *ARGS])
    assert result.exit_code == 0, result.output
    assert f"wrote {d / 'tok'}" in result.output
    return d / "tok", catalogue, json.loads((d / "tok" / METRICS_FILE).read_text())


def test_the_folder_holds_every_part_and_reads_back(built: tuple[Path, Path, dict[str, Any]]) -> None:
    folder, _, metrics = built
    for name in (*VERSIONED_FILES, CONFIG_FILE, METRICS_FILE, MODEL_CARD):
        assert (folder / name).is_file(), name
    model = DSIDModel.load(folder)
    assert model.version == metrics["version"] and model.version.startswith("ragvid-dsid-v1+")
    assert sorted(model.item_codes) == [f"p{i}" for i in range(10)]
    assert "shop.item.json" in (folder / MODEL_CARD).read_text()


def test_metrics_are_those_of_the_folders_own_codes(built: tuple[Path, Path, dict[str, Any]]) -> None:
    folder, _, metrics = built
    codes = np.array(list(DSIDModel.load(folder).item_codes.values()))
    assert metrics["collision_rate"] == m.collision_rate(codes)
    assert metrics["compression_ratio"] == m.compression_ratio(codes)
    assert metrics["content_sizes"] == [4, 4, 4]  # ten items: 10^(1/3) rounded up to a power of two
    assert metrics["renders"] == 20 and metrics["settings"] == 4


def test_the_heads_separate_what_from_how_on_the_renders(built: tuple[Path, Path, dict[str, Any]]) -> None:
    _, _, metrics = built
    # both drafts of a product share their content path; one setting's drafts their creative path
    assert metrics["train_content_agreement"] >= 0.8
    assert metrics["train_creative_agreement"] >= 0.8
    assert metrics["train_leakage_accuracy"] <= metrics["train_leakage_chance"] + 0.25
    assert metrics["item_recall_at_10"] == 1.0  # ten items: every reconstruction is among the ten


def test_every_creative_path_renders_the_settings_of_a_sampled_point(built: tuple[Path, Path, dict[str, Any]]) -> None:
    folder, _, _ = built
    model = DSIDModel.load(folder)
    sampled = [s.model_dump() for s in DraftSettings.space(4, seed=0)]
    for key, entry in model.creative.items():
        assert entry.settings == sampled[entry.setting_index], key
        assert model.settings_of([int(c) for c in key.split("-")]) == entry
    with pytest.raises(KeyError, match="not in this tokenizer's lexicon"):
        model.settings_of([9, 9])
    # two paths on one setting would render one video, which could not tell them apart
    indices = [entry.setting_index for entry in model.creative.values()]
    assert len(set(indices)) == len(indices)


def test_every_creative_path_is_rendered_by_the_agents_and_read_back(built: tuple[Path, Path, dict[str, Any]]) -> None:
    """The style renders: each creative path under two products by the VGA graph itself (a run record each), their
    measured creative vectors stored in the folder, against which `encode_creative_video` reads a video."""
    folder, _, metrics = built
    model = DSIDModel.load(folder)
    renders = model.style_renders
    assert renders is not None
    n = len(model.creative)
    assert renders.vectors.shape == (2 * n, model.config.creative_dim)
    assert sorted({path_key(p) for p in renders.paths.tolist()}) == sorted(model.creative)
    assert renders.products.tolist() == [0, 1] * n
    records = sorted(folder.with_name(folder.name + ".work").glob("style/style-*.run.json"))
    assert len(records) == 2 * n
    inputs = [json.loads(r.read_text())["inputs"] for r in records]
    assert {(doc["policy"], doc["profile"]) for doc in inputs} == {("rule", "fast")}
    assert metrics["style_renders"] == 2 * n and "style_render_accuracy" not in metrics  # no held-out fold
    card = (folder / MODEL_CARD).read_text()
    assert f"## Style renders (style_renders.npz)\n\n- each of the {n} creative paths" in card
    with pytest.raises(ValueError, match="three products or more"):
        style_render_accuracy(renders)
    # fit on these renders, the classifier gives each its own path back
    tok = LearnedTokenizer.load(folder)
    text = np.zeros((2 * n, model.config.text_dim), dtype=np.float32)
    assert tok.encode_creative_video(text, renders.vectors) == renders.paths.tolist()


def test_calibrate_names_a_folder_that_is_not_a_tokenizer(tmp_path: Path) -> None:
    result = runner.invoke(sid_app, ["calibrate", str(tmp_path)])
    assert result.exit_code == 2 and "DIR" in result.output and "not a D-SID tokenizer folder" in result.output


def test_a_rebuild_from_the_cache_renders_nothing_and_gives_the_same_bytes(
    built: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    folder, catalogue, metrics = built
    cache = folder.with_name(folder.name + ".work")
    drafts = {p: p.stat().st_mtime_ns for p in [*cache.glob("*.mp4"), *cache.glob("style/*.mp4")]}
    assert len(drafts) == 20 + metrics["style_renders"]
    again = tmp_path / "again"
    result = runner.invoke(sid_app, ["build", str(catalogue), "-o", str(again), "--work", str(cache), *ARGS])
    assert result.exit_code == 0, result.output
    assert {p: p.stat().st_mtime_ns for p in drafts} == drafts
    assert DSIDModel.load(again).version == metrics["version"]
    first, second = DSIDModel.load(folder).style_renders, DSIDModel.load(again).style_renders
    assert first is not None and second is not None
    np.testing.assert_array_equal(first.vectors, second.vectors)
    # calibrating again replaces the card's section instead of adding one
    result = runner.invoke(sid_app, ["calibrate", str(again), "--products", "2", "--work", str(cache / "style")])
    assert result.exit_code == 0, result.output
    assert (again / MODEL_CARD).read_text().count("## Style renders") == 1


def test_eval_prints_the_build_metrics_and_measures_a_catalogue(built: tuple[Path, Path, dict[str, Any]]) -> None:
    folder, catalogue, metrics = built
    result = runner.invoke(sid_app, ["eval", str(folder), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == metrics
    result = runner.invoke(sid_app, ["eval", str(folder), "--catalog", str(catalogue), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["items"] == doc["items_seen_in_build"] == 10
    assert 0.0 <= doc["collision_rate"] <= 1.0 and doc["recall_at_10"] == 1.0


def test_a_changed_or_foreign_folder_is_refused_by_name(
    built: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    folder, _, _ = built
    changed = tmp_path / "changed"
    changed.mkdir()
    for f in folder.iterdir():
        (changed / f.name).write_bytes(f.read_bytes())
    (changed / LEXICON_FILE).write_text((folder / LEXICON_FILE).read_text().replace("Lumen", "Lumin"))
    result = runner.invoke(sid_app, ["eval", str(changed)])
    assert result.exit_code == 2 and "DIR" in result.output and "do not match version" in result.output
    result = runner.invoke(sid_app, ["eval", str(tmp_path)])
    assert result.exit_code == 2 and "not a D-SID tokenizer folder" in result.output
    assert "ragvid sid build" in result.output


@pytest.mark.parametrize(("content", "says"), [
    (None, "file not found"), ("{not json", "cannot read as JSON"), ('["a"]', "expected an object"),
    ('{"a": {"title": "Only one"}}', "1 item(s) with a title"),
])  # fmt: skip
def test_a_bad_catalogue_is_named(tmp_path: Path, content: str | None, says: str) -> None:
    catalogue = tmp_path / "c.json"
    if content is not None:
        catalogue.write_text(content)
    result = runner.invoke(sid_app, ["build", str(catalogue), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2 and "CATALOG" in result.output and says in result.output, result.output
    assert not (tmp_path / "out").exists()


def test_an_output_that_is_a_file_or_a_foreign_folder_is_refused_before_any_render(
    built: tuple[Path, Path, dict[str, Any]], tmp_path: Path
) -> None:
    _, catalogue, _ = built
    (tmp_path / "afile").write_text("x")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "readme.txt").write_text("mine")
    for out, says in (("afile", "is a file"), ("notes", "holds other files")):
        result = runner.invoke(sid_app, ["build", str(catalogue), "-o", str(tmp_path / out), *ARGS])
        assert result.exit_code == 2 and "--output" in result.output and says in result.output, result.output
    assert not (tmp_path / "afile.work").exists() and sorted(p.name for p in (tmp_path / "notes").iterdir()) == [
        "readme.txt"
    ]


def test_eval_options_and_folders_are_named(built: tuple[Path, Path, dict[str, Any]], tmp_path: Path) -> None:
    folder, _, _ = built
    result = runner.invoke(sid_app, ["eval", str(folder), "--items", "3"])
    assert result.exit_code == 2 and "--items" in result.output and "--catalog" in result.output
    result = runner.invoke(sid_app, ["eval", str(tmp_path / "nowhere")])
    assert result.exit_code == 2 and "no such folder" in result.output


def test_the_model_names_the_width_it_reads_and_encodes_texts(built: tuple[Path, Path, dict[str, Any]]) -> None:
    folder, _, _ = built
    model = DSIDModel.load(folder)
    with pytest.raises(ValueError, match="width 10; this tokenizer's encoder"):
        model.item_features(np.zeros(10))
    with pytest.raises(ValueError, match=r"reads \(n, 434\)"):
        model.encode(np.zeros((1, 5)))
    paths = model.encode_texts([PRODUCTS[3][0]])
    assert paths.shape == (1, 3) and paths[0].tolist() in [list(p) for p in model.item_codes.values()]
