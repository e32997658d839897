"""CI training check: the small GRM preset on Amazon Scientific beats popularity by 1.5× in Recall@10.

Reads the data from $RAGVID_DATA or ../shared/data (it is never shipped). Uses the data set's RQ-KMeans
index: encoding the item texts with the D-SID tokenizer takes minutes of MiniLM on two cores, and that
path is covered by the bench (``scientific_*``).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from rag_recsys.grm.config import TrainConfig
from rag_recsys.grm.datasets import dataset_dir, load_dataset
from rag_recsys.grm.pipeline import evaluate_on, load_model, popularity_metrics, split_dataset, train_on
from ragvid.settings import Settings

BUDGET_S = 600


@pytest.fixture
def one_thread() -> Iterator[None]:
    # a second OpenMP thread spin-waits on a loaded 2-core machine and makes training several times slower
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.mark.slow
@pytest.mark.timeout(BUDGET_S + 120)
def test_small_preset_beats_popularity_on_scientific(tmp_path: Path, one_thread: None) -> None:
    folder = dataset_dir("scientific", Settings().data)
    data = load_dataset(folder, folder / "Scientific.rkmeans_native.index.json")
    started = time.perf_counter()
    cfg = TrainConfig(epochs=8, lr=2e-3, batch_size=256, eval_every=4, warmup_steps=100, seed=0,
                      time_limit_s=BUDGET_S - 120)
    result = train_on(data, tmp_path, "grm", "small", cfg, "pytest")
    split = split_dataset(data)
    metrics = evaluate_on(load_model(tmp_path), split.test, beam=20)
    elapsed = time.perf_counter() - started
    popularity = popularity_metrics(split, len(data.items.item_ids))
    assert elapsed <= BUDGET_S, f"training + evaluation took {elapsed:.0f}s"
    assert result.best_epoch > 0
    assert metrics["recall_at_10"] >= 1.5 * popularity["recall_at_10"], (metrics, popularity)
