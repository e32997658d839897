"""The Recommender protocol: schema, the GRM and popularity implementations, the creative chooser."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from rag_recsys.grm.config import TrainConfig
from rag_recsys.grm.data import ItemCodes
from rag_recsys.grm.datasets import load_dataset
from rag_recsys.grm.pipeline import train_on
from rag_recsys.grm.popularity import item_counts, popular_items
from rag_recsys.grm.serving import GRMRecommender, PopularityRecommender, load_recommender
from rag_recsys.recommender import (
    Recommender,
    ResolvedItem,
    StyleOrHabitChooser,
    UserContext,
    resolve_history,
)
from rag_recsys.tokenizers import default_tokenizer
from tools.errors import InputError


def _synthetic_dataset(folder: Path, sid_index: bool = False) -> Path:
    """40 items on 4-level paths (pairs of items share a path), 80 users walking runs of neighbouring items."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    if sid_index:
        tokenizer = default_tokenizer()
        paths = tokenizer.lexicon.content_paths()[:20]
        content = {str(i): paths[i // 2] for i in range(40)}
        doc: object = {"tokenizer": tokenizer.version, "content_sizes": tokenizer.lexicon.content_sizes,
                       "content": content}
    else:
        doc = {str(i): [f"<a_{i // 10}>", f"<b_{(i // 5) % 2}>", f"<c_{(i // 2) % 3}>"] for i in range(40)}
    (folder / "Toy.index.json").write_text(json.dumps(doc))
    users = {}
    for u in range(80):
        start = int(rng.integers(0, 34))
        users[str(u)] = [str(start + k) for k in range(int(rng.integers(4, 7)))]
    (folder / "Toy.inter.json").write_text(json.dumps(users))
    return folder


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = _synthetic_dataset(tmp_path_factory.mktemp("toy"))
    out = tmp_path_factory.mktemp("model")
    data = load_dataset(folder)
    cfg = TrainConfig(epochs=3, batch_size=16, eval_every=1, warmup_steps=5, lr=3e-3)
    train_on(data, out, "grm", "tiny", cfg, "pytest")
    return out


def test_user_context_schema() -> None:
    ctx = UserContext.model_validate({
        "history": ["a text", [1, 2, 3], {"content": [1, 2, 3], "creative": [0, 1]}],
        "profile": {"age": "25-34", "vip": True}, "style": "warm cozy",
    })
    assert ctx.history[1] == [1, 2, 3]
    with pytest.raises(ValidationError):
        UserContext.model_validate({"history": [], "favourite": "x"})  # unknown key
    with pytest.raises(ValidationError):
        UserContext.model_validate({"history": [[1, -2]]})  # codes are non-negative
    assert UserContext().history == [] and UserContext().style is None


def test_history_errors_name_the_entry() -> None:
    ctx = UserContext(history=[[0, 1, 2], [0, 9, 2]])
    with pytest.raises(InputError, match=r"history\[1\]: content code 9 at level 1 is out of range"):
        resolve_history(ctx, [4, 2, 3], [], None)
    with pytest.raises(InputError, match=r"history\[0\]: texts and SID files need"):
        resolve_history(UserContext(history=["coffee"]), [4, 2, 3], [], None)
    with pytest.raises(InputError, match=r"history\[0\]: content path of 2 codes"):
        resolve_history(UserContext(history=[[0, 1]]), [4, 2, 3], [], None)


def test_code_path_with_creative_suffix_is_split() -> None:
    resolved = resolve_history(UserContext(history=[[3, 1, 2, 4, 0]]), [4, 2, 3], [], None)
    assert resolved == [ResolvedItem(content=[3, 1, 2], creative=[4, 0])]


def test_creative_chooser_prefers_habit_then_default() -> None:
    chooser = StyleOrHabitChooser()
    ctx = UserContext()
    history = [ResolvedItem(content=[0], creative=[2, 1]), ResolvedItem(content=[1], creative=[5, 3]),
               ResolvedItem(content=[1], creative=[2, 1]), ResolvedItem(content=[2])]
    assert chooser.choose(ctx, history, [0]) == [2, 1]
    assert chooser.choose(ctx, history[:2], [0]) == [5, 3]  # a tie goes to the most recent
    assert chooser.choose(ctx, [ResolvedItem(content=[0])], [0]) == default_tokenizer().default_creative


def test_creative_chooser_encodes_a_style_once_for_every_candidate(monkeypatch: pytest.MonkeyPatch) -> None:
    """A ranking asks the chooser once per candidate: the style text is encoded once (it was 32 e5 encodings a
    request, 2.3 s of `POST /recommend`), and each candidate still gets the style's path."""
    tokenizer = default_tokenizer()
    calls: list[str] = []
    encode = tokenizer.encode_creative
    monkeypatch.setattr(tokenizer, "encode_creative", lambda text: calls.append(text) or encode(text))
    chooser = StyleOrHabitChooser(tokenizer)
    ctx = UserContext(style="warm cozy steady")
    paths = [chooser.choose(ctx, [], [c]) for c in range(32)]
    assert calls == ["warm cozy steady"] and paths == [encode("warm cozy steady")[0]] * 32
    chooser.choose(UserContext(style="energetic pop fast punchy"), [], [0])
    assert calls == ["warm cozy steady", "energetic pop fast punchy"]


def test_popular_items_break_ties_by_row() -> None:
    counts = item_counts([np.array([3, 1, 3]), np.array([1, 2])], 5)
    assert counts.tolist() == [0, 2, 1, 2, 0]
    assert popular_items(counts, 4).tolist() == [1, 3, 2, 0]


def test_grm_recommender_returns_distinct_valid_dsids(model_dir: Path) -> None:
    rec: Recommender = load_recommender(model_dir)
    assert isinstance(rec, GRMRecommender)
    catalogue = {tuple(r) for r in rec.items.codes[:, :3].tolist()}
    out = rec.recommend(UserContext(history=[[1, 0, 0], [1, 0, 1], [1, 1, 2]], profile={"age": "30"}), k=8)
    assert len(out) == 8
    assert len({tuple(r.content) for r in out}) == 8  # items sharing a path collapse into one D-SID
    assert all(tuple(r.content) in catalogue for r in out)
    default = default_tokenizer().default_creative
    assert all(r.creative == default for r in out)  # no creative channel, no habit: the default
    assert [r.score for r in out] == sorted((r.score for r in out), reverse=True)
    assert all(r.item is not None and r.tokenizer is None for r in out)
    habit = rec.recommend(UserContext(history=[{"content": [1, 0, 0], "creative": [4, 2]}]), k=3)
    assert all(r.creative == [4, 2] for r in habit)


def test_grm_recommender_follows_the_history(model_dir: Path) -> None:
    rec = load_recommender(model_dir)
    # users walk runs of neighbouring items: after items 20..23 the model should stay near a_2
    out = rec.recommend(UserContext(history=[[2, 0, 0], [2, 0, 0], [2, 0, 1], [2, 0, 1]]), k=5)
    assert sum(r.content[0] == 2 for r in out) >= 3


def test_popularity_recommender(model_dir: Path) -> None:
    rec = load_recommender(model_dir, kind="popularity")
    assert isinstance(rec, PopularityRecommender)
    out = rec.recommend(UserContext(), k=5)
    assert len(out) == 5 and len({tuple(r.content) for r in out}) == 5
    assert [r.score for r in out] == sorted((r.score for r in out), reverse=True)
    assert out == rec.recommend(UserContext(history=[[0, 0, 0]]), k=5)  # the same for everyone


def test_recommender_on_tokenizer_codes_reads_texts(tmp_path: Path) -> None:
    folder = _synthetic_dataset(tmp_path / "toy", sid_index=True)
    data = load_dataset(folder, folder / "Toy.index.json")
    assert data.tokenizer == default_tokenizer().version
    train_on(data, tmp_path / "m", "grm", "tiny", TrainConfig(epochs=1, batch_size=32, warmup_steps=1), "pytest")
    rec = load_recommender(tmp_path / "m")
    lexicon = default_tokenizer().lexicon
    out = rec.recommend(UserContext(history=["espresso coffee beans", "running shoes"], style="luxury cinematic"),
                        k=3)
    assert len(out) == 3
    assert all(lexicon.has_content(r.content) and lexicon.has_creative(r.creative) for r in out)
    assert all(r.tokenizer == data.tokenizer for r in out)


def test_model_with_a_creative_channel_generates_creative_codes(tmp_path: Path) -> None:
    folder = tmp_path / "toy"
    folder.mkdir()
    content = {str(i): [i // 10, (i // 5) % 2, (i // 2) % 3] for i in range(40)}
    creative = {str(i): [i % 10, i % 5] for i in range(40)}
    doc = {"tokenizer": "toy", "content_sizes": [4, 2, 3], "content": content,
           "creative_sizes": [10, 5], "creative": creative}
    (folder / "Toy.index.json").write_text(json.dumps(doc))
    (folder / "Toy.inter.json").write_text(json.dumps({str(u): [str((u + k) % 40) for k in range(5)]
                                                       for u in range(40)}))
    data = load_dataset(folder)
    assert data.items.sizes == [4, 2, 3, 2, 10, 5]
    train_on(data, tmp_path / "m", "grm", "tiny", TrainConfig(epochs=1, batch_size=16, warmup_steps=1), "pytest")
    rec = load_recommender(tmp_path / "m")
    assert isinstance(rec, GRMRecommender) and rec.model.cfg.creative_sizes == [10, 5]
    out = rec.recommend(UserContext(history=[[1, 0, 0, 3, 3], {"content": [1, 0, 1], "creative": [4, 4]}]), k=20)
    assert len(out) == 20
    assert len({(tuple(r.content), tuple(r.creative)) for r in out}) == 20
    assert all(0 <= r.creative[0] < 10 and 0 <= r.creative[1] < 5 for r in out)
    # the model, not the chooser, picks creative paths: they vary (the chooser would give one habit path)
    assert len({tuple(r.creative) for r in out}) > 1


def test_recommenders_leave_out_what_the_user_has(model_dir: Path) -> None:
    grm = load_recommender(model_dir)
    assert isinstance(grm, GRMRecommender)
    history = [[2, 0, 0], [2, 0, 1], [2, 1, 2]]
    out = grm.recommend(UserContext(history=history), k=10)
    assert len(out) == 10 and not {tuple(p) for p in history} & {tuple(r.content) for r in out}
    pop = load_recommender(model_dir, kind="popularity")
    assert isinstance(pop, PopularityRecommender)
    everyone = pop.recommend(UserContext(), k=5)
    top_path = everyone[0].content
    without = pop.recommend(UserContext(history=[top_path]), k=5)
    assert top_path not in [r.content for r in without]
    assert [r.item for r in without[:4]] == [r.item for r in everyone[1:]]  # the rest move up


def test_train_on_seeds_the_initial_weights_too(tmp_path: Path) -> None:
    """The same seed trains the same model whatever the process's torch state was before."""
    data = load_dataset(_synthetic_dataset(tmp_path / "toy"))
    cfg = TrainConfig(epochs=1, batch_size=16, eval_every=1, warmup_steps=5, seed=3)
    weights = []
    for run, noise in (("a", 1), ("b", 2)):
        torch.manual_seed(noise)  # what a fresh process, or earlier work in this one, left behind
        train_on(data, tmp_path / run, "grm", "tiny", cfg, "pytest")
        weights.append(torch.load(tmp_path / run / "best.pt", weights_only=True)["model"])
    assert weights[0].keys() == weights[1].keys()
    assert all(torch.equal(weights[0][k], weights[1][k]) for k in weights[0])


def test_text_history_on_a_model_of_another_tokenizer_says_how_to_retrain() -> None:
    items = ItemCodes([str(i) for i in range(4)], np.array([[0, 0, 0], [0, 1, 0], [1, 0, 0], [1, 1, 0]]), [2, 2, 1], [])
    rec = PopularityRecommender(items, np.ones(4), tokenizer_version="ragvid-dsid-v1+00000000")
    assert len(rec.recommend(UserContext(history=[[0, 1]]), 2)) == 2  # code paths need no tokenizer
    with pytest.raises(ValueError, match=r"trained on tokenizer ragvid-dsid-v1\+00000000, .*`ragvid rec train "):
        rec.recommend(UserContext(history=["espresso coffee beans"]), 2)
