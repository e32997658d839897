"""The recommender interface: both models implement it (batches, loss, ranking without the user's items,
capabilities), the registry builds and rebuilds each kind, and no code outside the two model modules
branches on their classes."""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import get_args

import numpy as np
import pytest
import torch

from rag_recsys.grm.config import GRMConfig
from rag_recsys.grm.data import ItemCodes, add_dedup_level
from rag_recsys.grm.interface import SequentialRecommender
from rag_recsys.grm.model import GRM
from rag_recsys.grm.pipeline import MODELS, ModelKind
from rag_recsys.grm.sasrec import SASRec, SASRecConfig

ROOT = Path(__file__).resolve().parent.parent
MODEL_MODULES = {ROOT / "rag_recsys" / "grm" / "model.py", ROOT / "rag_recsys" / "grm" / "sasrec.py"}
MODEL_CLASSES = {"GRM", "SASRec"}
N_ITEMS = 12


def _items() -> ItemCodes:
    """12 items on 6 content paths of sizes (3, 2), two items per path (dedup level of size 2)."""
    rows = np.arange(N_ITEMS)
    codes, dedup = add_dedup_level(np.stack([rows % 3, rows % 2], axis=1))
    return ItemCodes([f"i{r}" for r in rows], codes, [3, 2, dedup], [])


def _grm(head: bool = False) -> GRM:
    items = _items()
    return GRM(GRMConfig(content_sizes=items.content_sizes, d_model=16, n_layers=1, n_heads=2, d_ff=32,
                         max_recent=5, max_summary=3, n_items=N_ITEMS if head else 0, item_head=head)).eval()


def _sasrec() -> SASRec:
    return SASRec(SASRecConfig(n_items=N_ITEMS, d_model=16, n_layers=1, n_heads=2, d_ff=32, max_recent=5)).eval()


MAKERS: dict[str, Callable[[], SequentialRecommender]] = {
    "grm": _grm, "grm_item_head": lambda: _grm(head=True), "sasrec": _sasrec}
# the loss when every output weight is zero: each prediction is uniform, so each cross-entropy term is log V
# (with or without label smoothing); the GRM averages its levels (sizes 3, 2, 2) and adds the item head's
SID_LOG_V = (math.log(3) + math.log(2) + math.log(2)) / 3
UNIFORM_LOSS = {"grm": SID_LOG_V, "grm_item_head": SID_LOG_V + math.log(N_ITEMS), "sasrec": math.log(N_ITEMS)}


def test_registry_builds_and_rebuilds_every_kind() -> None:
    assert set(MODELS) == set(get_args(ModelKind))
    items = _items()
    for kind, cls in MODELS.items():
        assert issubclass(cls, SequentialRecommender) and cls.kind == kind
        model = cls.build("tiny", items, item_ids=True, item_head=True)
        rebuilt = MODELS[model.kind].from_config(model.cfg.model_dump())
        assert type(rebuilt) is cls and rebuilt.cfg == model.cfg
        assert {k: v.shape for k, v in rebuilt.state_dict().items()} == {
            k: v.shape for k, v in model.state_dict().items()}
    grm = GRM.build("tiny", items, item_head=True)
    assert grm.cfg.n_items == N_ITEMS and grm.cfg.item_head and grm.cfg.d_model == 32
    assert SASRec.build("tiny", items, item_head=True).cfg == SASRecConfig(n_items=N_ITEMS)  # one shape


def test_batches_hold_each_models_own_codes() -> None:
    items = _items()
    history = np.array([0, 1, 2, 3, 4, 5, 6, 7])
    grm = _grm().batch(items, [history])
    assert grm.recent[0].tolist() == items.codes[[3, 4, 5, 6, 7]].tolist()  # the last 5 items, code by code
    assert grm.summary[0].tolist() == items.codes[[0, 1, 2]].tolist()  # the 3 before, summarised
    sasrec = _sasrec().batch(items, [history])
    assert sasrec.recent[0, :, 0].tolist() == [3, 4, 5, 6, 7]  # item rows are SASRec's one-level codes
    assert not sasrec.summary_mask.any()  # older items are dropped


@pytest.mark.parametrize("name", MAKERS)
def test_zero_output_weights_give_the_log_of_the_vocabulary(name: str) -> None:
    model = MAKERS[name]()
    with torch.no_grad():
        for parameter_name, parameter in model.named_parameters():
            if parameter_name.startswith(("heads.", "item_ids.", "items.")):  # the output (and tied) weights
                parameter.zero_()
    batch = model.batch(_items(), [np.array([0, 1, 2, 3]), np.array([5, 7])], with_targets=True)
    assert model.loss(batch, label_smoothing=0.1).item() == pytest.approx(UNIFORM_LOSS[name], rel=1e-5)


@pytest.mark.parametrize("name", MAKERS)
def test_loss_and_its_gradients_are_finite(name: str) -> None:
    torch.manual_seed(0)
    model = MAKERS[name]().train()
    loss = model.loss(model.batch(_items(), [np.array([0, 1, 2, 3]), np.array([5, 7])], with_targets=True))
    loss.backward()
    assert loss.ndim == 0 and math.isfinite(loss.item())
    assert all(torch.isfinite(p.grad).all() for p in model.parameters() if p.grad is not None)


@pytest.mark.parametrize("name", MAKERS)
def test_ranker_returns_k_rows_and_never_the_users_items(name: str) -> None:
    torch.manual_seed(0)
    model = MAKERS[name]()
    items = _items()
    # user 0 has all but items 2, 7 and 11: exactly those three are left to rank
    histories = [np.setdiff1d(np.arange(N_ITEMS), [2, 7, 11]), np.array([4])]
    ranked = model.ranker(items, N_ITEMS, 3)(histories, [[], []])
    assert ranked.shape == (2, 3)
    assert sorted(ranked[0].tolist()) == [2, 7, 11]
    assert len(set(ranked[1].tolist())) == 3 and 4 not in ranked[1].tolist() and (ranked[1] >= 0).all()
    kept = model.ranker(items, N_ITEMS, 3, exclude_seen=False)(histories, [[], []])
    assert kept.shape == (2, 3) and ((kept >= 0) & (kept < N_ITEMS)).all()


@pytest.mark.parametrize("name", MAKERS)
def test_full_sort_scores_rank_as_an_exhaustive_ranker(name: str) -> None:
    """A beam as wide as the catalogue searches exhaustively: its top k is the top k of the full-sort scores,
    and each score is the log-probability the model assigns the item (they sum to 1 over the catalogue)."""
    torch.manual_seed(1)
    model = MAKERS[name]()
    items = _items()
    histories = [np.array([0, 5, 9]), np.array([4]), np.array([1, 2, 3, 6, 8])]
    batch = model.batch(items, histories, [[], [], []])
    with torch.no_grad():
        scores = model.full_sort_scores(batch, items)
        state = model.user_state(batch)
    assert scores.shape == (3, N_ITEMS) and state.shape == (3, 16)
    ranked = model.ranker(items, N_ITEMS, 5, exclude_seen=False)(histories, [[], [], []])
    assert ranked.tolist() == scores.topk(5, dim=-1).indices.tolist()
    if name == "grm":  # SID likelihood alone: a distribution over the catalogue's paths
        assert torch.allclose(scores.exp().sum(-1), torch.ones(3), atol=1e-4)


def test_dense_item_head_is_a_declared_capability() -> None:
    assert _grm(head=True).item_weight == 1.0  # GRMConfig's default item_score_weight
    assert _grm().item_weight is None and _sasrec().item_weight is None


def test_require_narrows_to_the_model_class_or_names_the_kind() -> None:
    grm = _grm()
    assert GRM.require(grm) is grm
    with pytest.raises(ValueError, match="a sasrec model is not a GRM"):
        GRM.require(_sasrec())


def _class_dispatch(source: str) -> list[int]:
    """Lines that branch on a model class: isinstance/issubclass naming GRM or SASRec, ``type(x)`` compared
    with one, or a ``case GRM():`` pattern."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.expr | ast.pattern):
            continue
        named: Sequence[ast.AST] = []
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in {
                "isinstance", "issubclass"}:
            named = node.args[1:]
        elif isinstance(node, ast.Compare) and any(
                isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "type"
                for side in [node.left, *node.comparators] for n in ast.walk(side)):
            named = [node]
        elif isinstance(node, ast.MatchClass):
            named = [node.cls]
        found = {n.id if isinstance(n, ast.Name) else n.attr if isinstance(n, ast.Attribute) else n.value
                 for arg in named for n in ast.walk(arg) if isinstance(n, ast.Name | ast.Attribute | ast.Constant)}
        if found & MODEL_CLASSES:
            lines.append(node.lineno)
    return lines


def test_the_dispatch_finder_finds_dispatch() -> None:
    for source in ("isinstance(m, GRM | SASRec)", "isinstance(m, (model.GRM, int))", "type(m) is SASRec",
                   "type(m).__name__ == 'GRM'", "issubclass(c, GRM)",
                   "if x:\n    match m:\n        case SASRec(): pass"):
        assert _class_dispatch(source) == [source.count("\n") + 1], source
    for source in ("isinstance(m, nn.Linear)", "GRM.require(m)", "type(m) is int", "x = GRM(cfg)"):
        assert _class_dispatch(source) == [], source


def test_no_class_dispatch_outside_the_model_modules() -> None:
    files = [p for folder in ("rag_recsys", "bench", "ragvid") for p in sorted((ROOT / folder).rglob("*.py"))]
    assert ROOT / "rag_recsys" / "grm" / "pipeline.py" in files and ROOT / "bench" / "grm.py" in files
    offenders = [f"{p.relative_to(ROOT)}:{line}" for p in files if p not in MODEL_MODULES
                 for line in _class_dispatch(p.read_text(encoding="utf-8"))]
    assert not offenders, "branch on the SequentialRecommender interface instead: " + ", ".join(offenders)
