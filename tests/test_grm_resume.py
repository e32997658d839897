"""A run stopped after an epoch and resumed from last.pt continues exactly as if it had never stopped."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np
import torch

from rag_recsys.grm.config import GRMConfig, TrainConfig
from rag_recsys.grm.data import ItemCodes, add_dedup_level, leave_one_out
from rag_recsys.grm.model import GRM
from rag_recsys.grm.trainer import BEST, LAST, TrainData, train


def _data() -> tuple[TrainData, list[int]]:
    rng = np.random.default_rng(0)
    paths = np.stack([rng.integers(0, 6, 40), rng.integers(0, 4, 40)], axis=1)
    codes, dedup = add_dedup_level(paths)
    items = ItemCodes([str(i) for i in range(40)], codes, [6, 4, dedup], [])
    users = {str(u): [str(i) for i in rng.integers(0, 40, int(rng.integers(3, 12)))] for u in range(60)}
    split = leave_one_out(users, items, "synthetic")
    return TrainData(split.train, split.train_profiles, split.valid, items), items.content_sizes


class _Crash(Exception):
    pass


def _run(out: Path, crash_after: int | None = None, resume: bool = False) -> GRM:
    data, sizes = _data()
    torch.manual_seed(123)  # model init; training seeds itself from the config
    model = GRM(GRMConfig(content_sizes=sizes, d_model=16, n_layers=1, n_heads=2, d_ff=32, dropout=0.3,
                          max_recent=8, max_summary=10))
    if resume:
        # a fresh process would build a differently initialised model: resume must not depend on it
        torch.manual_seed(999)
        model = GRM(model.cfg)
    cfg = TrainConfig(epochs=4, batch_size=16, eval_every=2, patience=5, warmup_steps=3, val_beam=10, seed=7)

    def on_event(event: dict[str, Any]) -> None:
        if crash_after is not None and event["event"] == "epoch" and event["epoch"] == crash_after:
            raise _Crash

    with contextlib.suppress(_Crash):
        train(model, data, cfg, out, {"kind": "grm"}, resume=resume, on_event=on_event)
    return model


def test_resume_gives_identical_continuation(tmp_path: Path) -> None:
    straight = _run(tmp_path / "straight")
    _run(tmp_path / "crashed", crash_after=3)
    assert torch.load(tmp_path / "crashed" / LAST, weights_only=True)["epoch"] == 3
    resumed = _run(tmp_path / "crashed", resume=True)
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name
    last_a = torch.load(tmp_path / "straight" / LAST, weights_only=True)
    last_b = torch.load(tmp_path / "crashed" / LAST, weights_only=True)
    def timeless(history: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [{k: v for k, v in h.items() if k != "elapsed_s"} for h in history]

    assert timeless(last_a["history"]) == timeless(last_b["history"])
    best_a = torch.load(tmp_path / "straight" / BEST, weights_only=True)
    best_b = torch.load(tmp_path / "crashed" / BEST, weights_only=True)
    assert best_a["epoch"] == best_b["epoch"] and best_a["valid"] == best_b["valid"]


def test_resume_of_a_finished_run_trains_no_more(tmp_path: Path) -> None:
    first = _run(tmp_path / "run")
    again = _run(tmp_path / "run", resume=True)
    history = torch.load(tmp_path / "run" / LAST, weights_only=True)["history"]
    assert [h["epoch"] for h in history] == [1, 2, 3, 4]
    for a, b in zip(first.state_dict().values(), again.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_same_seed_same_model(tmp_path: Path) -> None:
    a = _run(tmp_path / "a")
    b = _run(tmp_path / "b")
    for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True):
        assert torch.equal(x, y)
