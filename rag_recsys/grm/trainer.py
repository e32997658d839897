"""Training loop for any ``SequentialRecommender`` (the GRM, the SASRec baseline): AdamW, warmup + cosine
decay, validation every few epochs, early stopping on validation NDCG@10, and resumable checkpoints.

``last.pt`` holds everything a crashed or stopped run needs to continue exactly where it was (weights,
optimiser and schedule state, the dropout RNG, the epoch, the early-stopping state); batch order is a
function of (seed, epoch), so a resumed run sees the same batches it would have seen. ``best.pt`` holds
the weights with the best validation NDCG@10 plus the caller's metadata (config, item table, …).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from rag_recsys.grm.config import TrainConfig
from rag_recsys.grm.data import ItemCodes, Split, length_bucketed_batches
from rag_recsys.grm.evaluator import TOP_K, evaluate
from rag_recsys.grm.interface import SequentialRecommender

LAST = "last.pt"
BEST = "best.pt"
SELECT_METRIC = "ndcg_at_10"


@dataclass(frozen=True)
class TrainData:
    train: list[np.ndarray]  # training sequences (item rows)
    train_profiles: list[list[int]]
    valid: Split
    items: ItemCodes  # the catalogue the rows index


@dataclass(frozen=True)
class TrainResult:
    best_epoch: int
    best_valid: dict[str, float]
    epochs_run: int
    stopped: str  # "epochs", "early_stop" or "time_limit"
    train_seconds: float
    history: list[dict[str, Any]]


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed)


def _schedule(cfg: TrainConfig, total_steps: int) -> Callable[[int], float]:
    def factor(step: int) -> float:
        if step < cfg.warmup_steps:
            return (step + 1) / cfg.warmup_steps
        progress = min(1.0, (step - cfg.warmup_steps) / max(1, total_steps - cfg.warmup_steps))
        return cfg.min_lr_ratio + (1 - cfg.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def _optimizer(model: nn.Module, cfg: TrainConfig, device: torch.device) -> torch.optim.AdamW:
    # weight decay on the projection matrices only: decaying the code/item embeddings pulls rarely seen
    # codes towards zero, and norms and biases have no scale to regularise
    decay = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
    ids = {id(p) for p in decay}
    rest = [p for p in model.parameters() if id(p) not in ids]
    groups = [{"params": decay, "weight_decay": cfg.weight_decay}, {"params": rest, "weight_decay": 0.0}]
    return torch.optim.AdamW(groups, lr=cfg.lr, betas=(0.9, 0.98), fused=device.type == "cuda")


def _rng_state(device: torch.device) -> dict[str, Any]:
    state = {"cpu": torch.get_rng_state()}
    if device.type == "cuda":
        state["cuda"] = torch.cuda.get_rng_state(device)
    return state


def _set_rng_state(state: dict[str, Any], device: torch.device) -> None:
    torch.set_rng_state(state["cpu"])
    if device.type == "cuda" and "cuda" in state:
        torch.cuda.set_rng_state(state["cuda"], device)


def train(
    model: SequentialRecommender,
    data: TrainData,
    cfg: TrainConfig,
    out_dir: Path,
    meta: dict[str, Any],
    resume: bool = False,
    device: torch.device | str = "cpu",
    on_event: Callable[[dict[str, Any]], None] | None = None,
) -> TrainResult:
    """Train ``model`` and keep its best validation weights in ``out_dir``.

    Validation ranks the top ``TOP_K`` with the model's own ranker at beam ``cfg.val_beam``; ``meta`` is
    stored in ``best.pt``.
    """
    device = torch.device(device)
    out_dir.mkdir(parents=True, exist_ok=True)
    emit = on_event or (lambda _event: None)
    model.to(device)
    optimizer = _optimizer(model, cfg, device)
    steps_per_epoch = math.ceil(len(data.train) / cfg.batch_size)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, _schedule(cfg, steps_per_epoch * cfg.epochs))
    epoch, best, best_epoch, bad_evals, elapsed = 0, -1.0, 0, 0, 0.0
    best_valid: dict[str, float] = {}
    history: list[dict[str, Any]] = []
    seed_everything(cfg.seed)
    if resume and (out_dir / LAST).exists():
        state = torch.load(out_dir / LAST, map_location=device, weights_only=True)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        _set_rng_state(state["rng"], device)
        epoch, best, best_epoch, bad_evals = state["epoch"], state["best"], state["best_epoch"], state["bad_evals"]
        elapsed, history, best_valid = state["elapsed_s"], state["history"], state["best_valid"]
        emit({"event": "resumed", "epoch": epoch})
    lengths = np.asarray([len(s) for s in data.train])
    trainable = [i for i in range(len(data.train)) if lengths[i] >= 2]
    lengths_t = lengths[trainable]
    stopped = "epochs"
    if bad_evals >= cfg.patience:
        stopped = "early_stop"
    elif cfg.time_limit_s is not None and elapsed >= cfg.time_limit_s:
        stopped = "time_limit"
    while epoch < cfg.epochs and stopped == "epochs":
        started = time.perf_counter()
        model.train()
        rng = np.random.default_rng([cfg.seed, epoch])
        total, count = 0.0, 0
        for idx in length_bucketed_batches(lengths_t, cfg.batch_size, rng):
            users = [trainable[i] for i in idx]
            batch = model.batch(
                data.items, [data.train[u] for u in users], [data.train_profiles[u] for u in users],
                with_targets=True,
            ).to(device)
            loss = model.loss(batch, cfg.label_smoothing)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            scheduler.step()
            total += float(loss.detach())
            count += 1
        epoch += 1
        record: dict[str, Any] = {"epoch": epoch, "loss": total / max(count, 1)}
        elapsed += time.perf_counter() - started
        out_of_time = cfg.time_limit_s is not None and elapsed >= cfg.time_limit_s
        if epoch % cfg.eval_every == 0 or epoch == cfg.epochs or out_of_time:
            model.eval()
            started = time.perf_counter()
            ranker = model.ranker(data.items, cfg.val_beam, TOP_K, device)
            metrics = evaluate(ranker, data.valid, cfg.eval_batch_size)
            record["valid"] = metrics
            if metrics[SELECT_METRIC] > best:
                best, best_epoch, bad_evals, best_valid = metrics[SELECT_METRIC], epoch, 0, metrics
                torch.save({"model": model.state_dict(), "meta": meta, "epoch": epoch, "valid": metrics},
                           out_dir / BEST)
            else:
                bad_evals += 1
            elapsed += time.perf_counter() - started
        record["elapsed_s"] = elapsed
        history.append(record)
        if bad_evals >= cfg.patience:
            stopped = "early_stop"
        elif out_of_time:
            stopped = "time_limit"
        torch.save(
            {
                "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict(), "rng": _rng_state(device), "epoch": epoch, "best": best,
                "best_epoch": best_epoch, "bad_evals": bad_evals, "elapsed_s": elapsed, "history": history,
                "best_valid": best_valid,
            },
            out_dir / LAST,
        )
        emit({"event": "epoch", **record, "epochs": cfg.epochs, "best_epoch": best_epoch})
    return TrainResult(best_epoch, best_valid, epoch, stopped, elapsed, history)
