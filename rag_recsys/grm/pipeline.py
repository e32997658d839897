"""Train, save, load and evaluate a recommender on a data set: what ``ragvid rec`` and the bench share.

A model folder holds ``best.pt`` (weights with the best validation NDCG@10, the model config and the item
table, so it is self-contained), ``last.pt`` (resume state), ``train.json`` (provenance: command, seed,
device, wall time, stopping reason, validation history) and, when the data set has item texts,
``catalogue.json`` (what a recommended item is, for the video brief).
"""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from rag_recsys.catalogue import write_catalogue
from rag_recsys.grm.config import TrainConfig
from rag_recsys.grm.data import ItemCodes, LeaveOneOut, Split, leave_one_out, read_json_object
from rag_recsys.grm.datasets import Dataset
from rag_recsys.grm.evaluator import TOP_K, Ranker, evaluate
from rag_recsys.grm.interface import SequentialRecommender
from rag_recsys.grm.model import GRM
from rag_recsys.grm.popularity import item_counts, popularity_ranker
from rag_recsys.grm.sasrec import SASRec
from rag_recsys.grm.trainer import BEST, SELECT_METRIC, TrainData, TrainResult, seed_everything, train

ModelKind = Literal["grm", "sasrec"]
# kind → model class: how a model is built for training and rebuilt from a checkpoint's meta["kind"]
MODELS: dict[str, type[SequentialRecommender]] = {model.kind: model for model in (GRM, SASRec)}
PROVENANCE = "train.json"


def split_dataset(dataset: Dataset, profile_buckets: int = 4096) -> LeaveOneOut:
    return leave_one_out(dataset.interactions, dataset.items, dataset.inter_file, dataset.profiles, profile_buckets)


@dataclass
class LoadedModel:
    model: SequentialRecommender
    items: ItemCodes
    counts: np.ndarray  # training interactions per item row (the popularity baseline)
    meta: dict[str, Any]

    @property
    def kind(self) -> str:
        return self.model.kind

    def ranker(
        self, beam: int, k: int = TOP_K, device: torch.device | str = "cpu", exclude_seen: bool = True,
        item_weight: float | None = None,
    ) -> Ranker:
        """The model's ranker over the catalogue it was trained on (see ``SequentialRecommender.ranker``)."""
        return self.model.ranker(self.items, beam, k, device, exclude_seen, item_weight)


def train_on(
    dataset: Dataset,
    out_dir: Path,
    kind: ModelKind,
    preset: str,
    cfg: TrainConfig,
    command: str,
    resume: bool = False,
    device: torch.device | str = "cpu",
    on_event: Callable[[dict[str, Any]], None] | None = None,
    item_ids: bool = False,
    item_head: bool = False,
) -> TrainResult:
    """Train on the leave-one-out training part, select on validation, write the model folder.
    ``item_ids``: the GRM also embeds the catalogue row of history items; ``item_head``: it also has the
    dense item head (implies ``item_ids``), whose ranking weight is then chosen on validation."""
    split = split_dataset(dataset)
    items = dataset.items
    seed_everything(cfg.seed)  # the initial weights too: a fixed seed trains the same model every time
    model = MODELS[kind].build(preset, items, item_ids, item_head)
    config = model.cfg
    meta = {
        "kind": kind,
        "preset": preset,
        "config": config.model_dump(),
        "train_config": cfg.model_dump(),
        "dataset": dataset.name,
        "index_source": dataset.index_source,
        "tokenizer": dataset.tokenizer,
        "item_ids": items.item_ids,
        "codes": torch.from_numpy(items.codes),
        "content_sizes": items.content_sizes,
        "creative_sizes": items.creative_sizes,
        "counts": torch.from_numpy(item_counts(split.train, len(items.item_ids))),
    }
    data = TrainData(split.train, split.train_profiles, split.valid, items)
    if dataset.items_file is not None:
        out_dir.mkdir(parents=True, exist_ok=True)
        texts, _ = read_json_object(dataset.items_file, "item → metadata")
        write_catalogue({i: texts[i] for i in items.item_ids if isinstance(texts.get(i), dict)}, out_dir)
    started = time.perf_counter()
    result = train(model, data, cfg, out_dir, meta, resume, device, on_event)
    sweep: dict[str, Any] = {}
    if model.item_weight is not None and (out_dir / BEST).is_file():
        if on_event is not None:
            on_event({"event": "item_weight_sweep", "weights": ITEM_WEIGHTS})
        sweep = choose_item_weight(out_dir, split.valid, cfg.val_beam, device, cfg.eval_batch_size)
    provenance = {
        "command": command,
        "kind": kind,
        "preset": preset,
        "dataset": dataset.name,
        "inter_file": str(dataset.inter_file),
        "index_file": str(dataset.index_file) if dataset.index_file else None,
        "index_source": dataset.index_source,
        "seed": cfg.seed,
        "device": _device_name(torch.device(device)),
        "torch": torch.__version__,
        "wall_s_this_run": round(time.perf_counter() - started, 1),
        "train_s_total": round(result.train_seconds, 1),
        "epochs_run": result.epochs_run,
        "stopped": result.stopped,
        "best_epoch": result.best_epoch,
        "best_valid": result.best_valid,
        **sweep,
        "train_config": cfg.model_dump(),
        "model_config": {**config.model_dump(), **({"item_score_weight": sweep["item_score_weight"]} if sweep else {})},
        "history": result.history,
    }
    (out_dir / PROVENANCE).write_text(json.dumps(provenance, indent=2) + "\n", encoding="utf-8")
    return result


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {torch.get_num_threads()} threads)"


def load_model(model_dir: Path, device: torch.device | str = "cpu") -> LoadedModel:
    """The best checkpoint of a model folder, ready for evaluation or serving."""
    state = torch.load(model_dir / BEST, map_location=device, weights_only=True)
    meta = state["meta"]
    items = ItemCodes(list(meta["item_ids"]), meta["codes"].cpu().numpy(), list(meta["content_sizes"]),
                      list(meta["creative_sizes"]))
    model = MODELS[meta["kind"]].from_config(meta["config"])
    model.load_state_dict(state["model"])
    model.to(device).eval()
    return LoadedModel(model, items, meta["counts"].cpu().numpy(), meta)


ITEM_WEIGHTS = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)


def weight_sweep(
    loaded: LoadedModel, split: Split, beam: int, weights: tuple[float, ...] = ITEM_WEIGHTS,
    device: torch.device | str = "cpu", batch_size: int = 256,
) -> dict[float, dict[str, float]]:
    """Metrics on ``split`` (the user's own items left out) for each weight of the dense item head."""
    return {w: evaluate(loaded.ranker(beam, TOP_K, device, item_weight=w), split, batch_size) for w in weights}


def choose_item_weight(
    model_dir: Path, valid: Split, beam: int, device: torch.device | str = "cpu", batch_size: int = 256
) -> dict[str, Any]:
    """Set the best checkpoint's dense-head weight to the one with the best validation NDCG@10; returns the
    sweep for the provenance record."""
    loaded = load_model(model_dir, device)
    sweep = weight_sweep(loaded, valid, beam, device=device, batch_size=batch_size)
    best = max(sweep, key=lambda w: sweep[w][SELECT_METRIC])
    state = torch.load(model_dir / BEST, map_location="cpu", weights_only=True)
    state["meta"]["config"]["item_score_weight"] = best
    torch.save(state, model_dir / BEST)
    return {"item_score_weight": best, "item_weight_valid": {str(w): m for w, m in sweep.items()}}


def evaluate_on(
    loaded: LoadedModel, split: Split, beam: int, device: torch.device | str = "cpu", batch_size: int = 256,
    exclude_seen: bool = True,
) -> dict[str, float]:
    with torch.no_grad():
        return evaluate(loaded.ranker(beam, TOP_K, device, exclude_seen), split, batch_size)


def popularity_metrics(split: LeaveOneOut, n_items: int, test: bool = True, exclude_seen: bool = True
                       ) -> dict[str, float]:
    ranker = popularity_ranker(item_counts(split.train, n_items), TOP_K, exclude_seen)
    return evaluate(ranker, split.test if test else split.valid)
