"""`ragvid recommend`: user files, the catalogue meta a recommendation carries, the printed ranking, and
`--generate` running the full RaG graph to a measured video."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from rag_recsys.catalogue import clip, product_meta, read_catalogue
from rag_recsys.grm.pipeline import load_model
from rag_recsys.grm.serving import PopularityRecommender, load_recommender
from rag_recsys.recommender import ScoredDSID, load_user_file
from rag_recsys.sidfile import sid_from_recommendation
from rag_recsys.tokenizers import Tokenizer, default_tokenizer
from tests.conftest import ROOT
from tools.errors import InputError
from tools.probe import probe

USERS = ROOT / "examples" / "users"


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return default_tokenizer()


# --- catalogue meta ------------------------------------------------------------------------------------


def test_clip_cuts_at_a_word_boundary() -> None:
    assert clip("  Digital   multimeter\nwith backlight ", 200) == "Digital multimeter with backlight"
    assert clip("Digital multimeter with backlight", 20) == "Digital multimeter"
    assert clip("x" * 50, 10) == "x" * 10


def test_product_meta_takes_narration_length_sentences() -> None:
    long = "A" * 200 + "."
    meta = product_meta({
        "title": "Stanley Staples, Steel (1000 Count).",
        "brand": "Stanley",
        "description": f"Heavy duty. {long} Ideal for insulation and roofing felt. Sturdy packaging reduces breakage. "
                       "Color coded for quick size selection. Fits the TR100 series.",
        "categories": "Industrial & Scientific,Fasteners,Staples",
    })
    assert meta["product"] == "Stanley Staples, Steel (1000 Count)"
    assert meta["brand"] == "Stanley"
    # too short ("Heavy duty.") and too long sentences are skipped; at most three are kept
    assert meta["selling_points"] == [
        "Ideal for insulation and roofing felt.", "Sturdy packaging reduces breakage.",
        "Color coded for quick size selection.",
    ]


def test_product_meta_falls_back_to_the_category_and_clips_titles() -> None:
    meta = product_meta({"title": "word " * 60, "categories": "Industrial & Scientific,Lab,Pipettes"})
    assert len(meta["product"]) <= 120 and not meta["product"].endswith(" ")
    assert meta["selling_points"] == ["Pipettes"]
    assert "brand" not in meta


def test_categories_may_be_a_list_and_unspaced_sentences_are_selling_points() -> None:
    from rag_recsys.grm.datasets import item_text

    raw = {"title": "有机绿茶 100克", "brand": "西湖龙井", "categories": ["食品", "茶叶, 绿茶"],
           "description": "来自杭州西湖的春季新茶，清香回甘。每盒二十包，独立包装。太短。"}  # fmt: skip
    # a list keeps each name whole (no "['食品'" on screen); "。" ends a sentence and 8 characters make one
    assert product_meta(raw)["selling_points"] == ["来自杭州西湖的春季新茶，清香回甘。", "每盒二十包，独立包装。"]
    assert item_text(raw).startswith("有机绿茶 100克. 西湖龙井. 食品, 茶叶, 绿茶. 来自")
    assert product_meta({"title": "Beaker", "categories": ["Lab", "Glassware"]})["selling_points"] == ["Glassware"]


# --- user files ----------------------------------------------------------------------------------------


def test_example_user_files_load_and_locate_their_sid_files() -> None:
    for path in sorted(USERS.glob("*.json")):
        ctx = load_user_file(path)
        assert ctx.history, path
    maker = load_user_file(USERS / "maker.json")
    sid = [h for h in maker.history if isinstance(h, str) and h.endswith(".json")]
    assert sid == [str((ROOT / "examples" / "sids" / "sneakers.json").resolve())]


@pytest.mark.parametrize(
    ("content", "field"),
    [
        ("{", "file"),
        ('["a"]', "(top level)"),
        ('{"history": ["a", 3.5]}', "history[1]"),
        ('{"history": [], "profile": {"age": [1]}}', "profile.age"),
        ('{"history": [], "mood": "x"}', "mood"),
    ],
)
def test_bad_user_files_name_the_file_and_field(tmp_path: Path, content: str, field: str) -> None:
    path = tmp_path / "u.json"
    path.write_text(content)
    with pytest.raises(InputError) as info:
        load_user_file(path)
    message = str(info.value)
    assert message.startswith(f"{path}: {field}"), message
    assert "\n" not in message


# --- the hand-over SID file ------------------------------------------------------------------------------


def test_recommendation_becomes_a_sid_file(tokenizer: Tokenizer) -> None:
    content, creative = tokenizer.lexicon.content_paths()[7], tokenizer.default_creative
    rec = ScoredDSID(content=content, creative=creative, score=-1.0, item="7", tokenizer=tokenizer.version,
                     meta={"product": "Aurora beans", "selling_points": ["Roasted weekly"]})
    sid = sid_from_recommendation(rec, tokenizer, {"style": "warm"})
    assert (sid.content, sid.creative, sid.user) == (content, creative, {"style": "warm"})
    assert sid.meta is not None and sid.meta.product == "Aurora beans"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"tokenizer": None}, "tokenizer"),  # a model trained on a foreign index (Beauty's published IDs)
        ({"content": [82, 10]}, "content"),
        ({"meta": {"product": "x" * 121}}, "meta.product"),
        ({"meta": {"cta": "buy", "script": "rm -rf /"}}, "meta.script"),
    ],
)
def test_unusable_recommendations_are_refused_by_field(tokenizer: Tokenizer, change: dict, field: str) -> None:
    base = {"content": tokenizer.lexicon.content_paths()[7], "creative": tokenizer.default_creative, "score": 0.0,
            "tokenizer": tokenizer.version}
    with pytest.raises(InputError) as info:
        sid_from_recommendation(ScoredDSID(**{**base, **change}), tokenizer, file="x.sid.json")
    assert info.value.field == field


# --- the command ----------------------------------------------------------------------------------------


def test_recommend_errors_are_one_line(run_cli, rec_model: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    user = str(USERS / "lab_tech.json")
    cases = [
        (("recommend", "-u", user, "--model", str(tmp_path / "none")), "--model: no trained model"),
        (("recommend", "-u", str(tmp_path / "missing.json"), "--model", str(rec_model)), "missing.json: file"),
        (("recommend", "-u", user, "--model", str(rec_model), "--kind", "magic"), "--kind"),
        (("recommend", "-u", user, "--model", str(rec_model), "--generate"), "-o/--out: required"),
        (("recommend", "-u", user, "--model", str(rec_model), "--generate", "-o", "x.mov"), "must end in .mp4"),
    ]
    for args, expected in cases:
        res = run_cli(*args)
        assert res.code == 2, (args, res.stderr)
        lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
        assert len(lines) == 1 and expected in lines[0], (args, res.stderr)


def test_recommend_lists_catalogue_items_with_their_meaning(  # type: ignore[no-untyped-def]
    run_cli, rec_model: Path, tokenizer: Tokenizer
) -> None:
    res = run_cli("recommend", "-u", str(USERS / "lab_tech.json"), "--model", str(rec_model), "-k", "8", "--json")
    assert res.code == 0, res.stderr
    rows = json.loads(res.stdout)
    loaded = load_model(rec_model)
    catalogue = read_catalogue(rec_model)
    paths = {i: loaded.items.codes[r, :3].tolist() for r, i in enumerate(loaded.items.item_ids)}
    assert [r["rank"] for r in rows] == list(range(1, 9))
    assert [r["score"] for r in rows] == sorted((r["score"] for r in rows), reverse=True)
    assert len({tuple(r["content"]) for r in rows}) == 8  # distinct D-SIDs
    style = tokenizer.encode_creative(load_user_file(USERS / "lab_tech.json").style or "")[0]
    for row in rows:
        assert row["content"] == paths[row["item"]]  # a real catalogue item's path, never an invented one
        assert row["creative"] == style  # the user's style wish
        assert row["content_meaning"] == ", ".join(tokenizer.decode_content(row["content"]).entities[:3])
        assert row["meta"]["product"] == product_meta(catalogue[row["item"]])["product"]


def test_recommendations_follow_the_history(run_cli, rec_model: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """Two users with different histories get different rankings from the GRM; popularity gives everyone
    the same list, less the D-SIDs the user already has."""
    def top(user: Path, kind: str) -> list[str]:
        res = run_cli("recommend", "-u", str(user), "--model", str(rec_model), "--kind", kind, "-k", "5", "--json")
        assert res.code == 0, res.stderr
        return [r["item"] for r in json.loads(res.stdout)]

    a, b = USERS / "lab_tech.json", USERS / "maker.json"
    assert top(a, "grm") != top(b, "grm")
    nobody = tmp_path / "nobody.json"
    nobody.write_text('{"history": []}')
    everyone = top(nobody, "popularity")
    loaded = load_model(rec_model)
    assert everyone[0] == loaded.items.item_ids[int(torch.as_tensor(loaded.counts).argmax())]
    popularity = load_recommender(rec_model, kind="popularity")
    assert isinstance(popularity, PopularityRecommender)
    path_of = {item: tuple(loaded.items.codes[row, :3].tolist()) for row, item in enumerate(loaded.items.item_ids)}
    for user in (a, b):
        had = {tuple(h.content) for h in popularity.resolve(load_user_file(user))}
        kept = [i for i in everyone if path_of[i] not in had]
        assert top(user, "popularity")[: len(kept)] == kept


@pytest.mark.slow
def test_recommend_generate_makes_the_top_dsid_video(  # type: ignore[no-untyped-def]
    run_cli, rec_model: Path, tmp_path: Path
) -> None:
    out = tmp_path / "rec.mp4"
    res = run_cli("recommend", "-u", str(USERS / "maker.json"), "--model", str(rec_model), "-k", "5", "--json",
                  "--generate", "-o", str(out), "--duration", "12", "-q")
    assert res.code == 0, res.stderr[-2000:]
    printed = json.loads(res.stdout)
    info = probe(out)
    assert info.video is not None and (info.video.width, info.video.height) == (360, 640)  # the fast profile
    assert info.audio is not None and 10.5 <= info.duration <= 13.5
    record = json.loads(out.with_suffix(".run.json").read_text())
    inputs = record["inputs"]
    handed = inputs["recommendations"]
    assert inputs["graph"] == "rag" and handed["chosen"] == 0
    assert [r["item"] for r in handed["ranked"]] == [r["item"] for r in printed]  # the printed ranking
    top = printed[0]
    assert (inputs["sid"]["content"], inputs["sid"]["creative"]) == (top["content"], top["creative"])
    assert inputs["sid"]["meta"]["product"] == top["meta"]["product"]
    assert record["decoded"]["product_text"].startswith(top["meta"]["product"])
    assert Path(inputs["sid_file"]).name == "recommended.sid.json" and Path(inputs["sid_file"]).is_file()
