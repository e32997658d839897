#!/usr/bin/env python3
"""GRM benchmark: leave-one-out Recall/NDCG@5/10 on Amazon Beauty and Scientific against the published
TIGER figures, a SASRec baseline and popularity, plus constrained-decoding validity and CPU latency.

Runs (each a model folder under ``--checkpoints``, default ``bench/.checkpoints``):

  beauty_s0, beauty_s1          GRM on the published LETTER semantic IDs (Beauty.index.json), seeds 0, 1
  beauty_rkmeans_s0, _s1        GRM on the RQ-KMeans index (Beauty.rkmeans_native.index.collisiongenrec.json)
  beauty_sasrec_s0              SASRec (item IDs, full softmax)
  scientific_s0                 GRM on Scientific item texts encoded by the shipped D-SID tokenizer
  scientific_native_s0          GRM on Scientific.rkmeans_native.index.json
  scientific_sasrec_s0          SASRec on Scientific
  beauty_cpu_s0, beauty_cpu_s1  (name them with --runs) GRM on the LETTER IDs, small preset, dense item head,
                                24 epochs on one CPU thread: trains and evaluates here in under 45 minutes
                                and beats the published TIGER figures; how anyone re-checks the headline
  scientific_cpu_s0             (name it with --runs) the same CPU recipe on Scientific with the shipped D-SID
                                tokenizer's codes: the Scientific row a reader can re-check on two cores

A run whose folder already holds ``best.pt`` is loaded, not retrained (``--train all`` retrains); its
``train.json`` says how it was trained (command, seed, device, wall time) and the table repeats that.
Training the default runs takes about 4 minutes per run on one H100/H200, four or more at a time
(``--device cuda --parallel 8 --time-limit 240``), hours on two CPU cores (``--preset small`` cuts that to
about an hour). Test metrics, decoding validity and latency are
always measured here, on this machine's CPU (latency with one thread).

Metrics leave each user's own items out of the ranking (nobody in these sets interacts with an item twice);
the ``*_keep_seen_*`` keys count them in, as the published TIGER figures do.

Prints a table; with ``--json`` the last stdout line is one JSON object of all figures. Exits 0 whether or
not the targets are met (the pass_* keys say), 1 on an error. Progress goes to stderr.

    python bench/grm.py [--json] [--checkpoints DIR] [--train missing|all|none] [--device cpu|cuda]
                        [--parallel N] [--time-limit S] [--no-eval] [--runs NAME,...]
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from rag_recsys.grm.config import PRESETS, TrainConfig  # noqa: E402
from rag_recsys.grm.data import Split  # noqa: E402
from rag_recsys.grm.datasets import Dataset, dataset_dir, load_dataset  # noqa: E402
from rag_recsys.grm.decoding import beam_search  # noqa: E402
from rag_recsys.grm.evaluator import TOP_K, ranked_rows, ranking_metrics, target_ranks  # noqa: E402
from rag_recsys.grm.model import GRM  # noqa: E402
from rag_recsys.grm.pipeline import (  # noqa: E402
    PROVENANCE,
    LoadedModel,
    ModelKind,
    load_model,
    popularity_metrics,
    split_dataset,
    train_on,
)
from rag_recsys.grm.trainer import BEST  # noqa: E402
from rag_recsys.grm.trie import content_trie  # noqa: E402
from ragvid.commands.rec import epoch_line  # noqa: E402
from ragvid.settings import Settings  # noqa: E402

DEFAULT_CHECKPOINTS = ROOT / "bench" / ".checkpoints"
# TIGER (Rajput et al. 2023) on Amazon Beauty, as published
TIGER = {"recall_at_5": 0.0454, "ndcg_at_5": 0.0321, "recall_at_10": 0.0648, "ndcg_at_10": 0.0384}
METRICS = ("recall_at_5", "ndcg_at_5", "recall_at_10", "ndcg_at_10")
TEST_BEAM = 50
LATENCY_BEAMS = (10, 50, 512)
TARGET_BEAM50_P99_MS = 50.0
SID_CACHE = "sid-index"  # item texts encoded by the shipped tokenizer, per data set and tokenizer version


@dataclass(frozen=True)
class Run:
    name: str
    dataset: str  # preset
    index: str | None  # file in the data set folder; None: the shipped tokenizer's codes
    kind: ModelKind
    seed: int
    preset: str = "base"
    item_ids: bool = False  # the GRM also embeds history items' catalogue rows
    item_head: bool = False  # the GRM has the dense item head (guides the constrained search)
    # "gpu": batch 512, lr 2e-3, 70 epochs, no label smoothing (chosen on validation: with the dense head,
    # smoothing the SID tokens cost 5 % of validation NDCG@10): ~4 GPU minutes, four runs at a time.
    # "cpu": the same recipe cut to fit 45 minutes of one CPU thread, training and evaluation (CPU_EPOCHS).
    schedule: Literal["default", "gpu", "cpu"] = "default"


RUNS = (
    Run("beauty_s0", "beauty", "Beauty.index.json", "grm", 0, item_head=True, schedule="gpu"),
    Run("beauty_s1", "beauty", "Beauty.index.json", "grm", 1, item_head=True, schedule="gpu"),
    Run("beauty_rkmeans_s0", "beauty", "Beauty.rkmeans_native.index.collisiongenrec.json", "grm", 0,
        item_head=True, schedule="gpu"),
    Run("beauty_rkmeans_s1", "beauty", "Beauty.rkmeans_native.index.collisiongenrec.json", "grm", 1,
        item_head=True, schedule="gpu"),
    Run("beauty_sasrec_s0", "beauty", "Beauty.index.json", "sasrec", 0),
    Run("scientific_s0", "scientific", None, "grm", 0),
    Run("scientific_native_s0", "scientific", "Scientific.rkmeans_native.index.json", "grm", 0),
    Run("scientific_sasrec_s0", "scientific", "Scientific.rkmeans_native.index.json", "sasrec", 0),
)
# not in the default set (name them with --runs): the Scientific GRMs with the dense item head, and the
# Beauty recipe that trains and evaluates on one CPU thread in under 45 minutes (a reader can re-check it)
EXTRA_RUNS = (
    Run("scientific_dense_s0", "scientific", None, "grm", 0, item_head=True),
    Run("scientific_native_dense_s0", "scientific", "Scientific.rkmeans_native.index.json", "grm", 0, item_head=True),
    Run("beauty_cpu_s0", "beauty", "Beauty.index.json", "grm", 0, preset="small", item_head=True, schedule="cpu"),
    Run("beauty_cpu_s1", "beauty", "Beauty.index.json", "grm", 1, preset="small", item_head=True, schedule="cpu"),
    Run("scientific_cpu_s0", "scientific", None, "grm", 0, preset="small", item_head=True, schedule="cpu"),
)
CPU_EPOCHS = 24
LATENCY_RUNS = ("beauty_s0", "beauty_cpu_s0")  # the first of these evaluated gets the latency figures
RUN_BY_NAME = {r.name: r for r in (*RUNS, *EXTRA_RUNS)}


def train_config(run: Run, time_limit_s: float | None, device: str, epochs: int | None) -> TrainConfig:
    on_gpu = device.startswith("cuda")
    if run.kind == "sasrec":
        return TrainConfig(epochs=epochs or 200, lr=1e-3, weight_decay=0.0, label_smoothing=0.0, warmup_steps=100,
                           eval_every=5, patience=5, seed=run.seed, time_limit_s=time_limit_s,
                           eval_batch_size=2048 if on_gpu else 256)
    if run.schedule == "gpu":
        return TrainConfig(epochs=epochs or 70, batch_size=512, lr=2e-3, weight_decay=0.05, label_smoothing=0.0,
                           warmup_steps=200, eval_every=4, patience=6, seed=run.seed, time_limit_s=time_limit_s,
                           eval_batch_size=1024 if on_gpu else 256)
    if run.schedule == "cpu":  # 44 steps an epoch: a short warm-up, a higher peak, the cosine over 24 epochs
        return TrainConfig(epochs=epochs or CPU_EPOCHS, batch_size=512, lr=3e-3, weight_decay=0.05,
                           label_smoothing=0.0, warmup_steps=100, eval_every=4, patience=3, seed=run.seed,
                           time_limit_s=time_limit_s, eval_batch_size=256)
    return TrainConfig(epochs=epochs or 100, lr=1e-3, weight_decay=0.05, label_smoothing=0.1, warmup_steps=500,
                       eval_every=4, patience=5, seed=run.seed, time_limit_s=time_limit_s,
                       eval_batch_size=1024 if on_gpu else 256)


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def _dataset(run: Run, checkpoints: Path, cache: dict[tuple[str, str | None], Dataset]) -> Dataset:
    key = (run.dataset, run.index)
    if key not in cache:
        folder = dataset_dir(run.dataset, Settings().data)
        if run.index is not None:
            cache[key] = load_dataset(folder, folder / run.index)
        else:  # the shipped tokenizer's codes, encoded once into the checkpoints' cache
            cache[key] = load_dataset(folder, None, checkpoints / SID_CACHE,
                                      lambda done, total: _log(f"encoding {run.dataset} item texts: {done}/{total}"))
    return cache[key]


def train_run(run: Run, checkpoints: Path, args: argparse.Namespace) -> None:
    device, time_limit_s = args.device, args.time_limit
    out = checkpoints / run.name
    command = " ".join(shlex.quote(a) for a in [Path(sys.executable).name, *sys.argv])
    dataset = _dataset(run, checkpoints, {})
    torch.backends.cuda.matmul.allow_tf32 = True
    cfg = train_config(run, time_limit_s, device, args.epochs)
    if args.label_smoothing is not None and run.kind == "grm":
        cfg = cfg.model_copy(update={"label_smoothing": args.label_smoothing})
    t0 = time.perf_counter()

    def progress(event: dict[str, Any]) -> None:
        _log(f"{run.name} {epoch_line(event, time_limit_s)} (wall {time.perf_counter() - t0:.0f}s)")

    result = train_on(dataset, out, run.kind, args.preset or run.preset, cfg, command, resume=True, device=device,
                      on_event=progress, item_ids=run.item_ids or run.item_head,
                      item_head=run.item_head and not args.sid_only)
    _log(f"{run.name}: best epoch {result.best_epoch} {result.best_valid} stopped {result.stopped} "
         f"after {result.train_seconds:.0f}s")


def train_missing(runs: list[Run], checkpoints: Path, args: argparse.Namespace) -> None:
    todo = [r for r in runs if args.train == "all" or not (checkpoints / r.name / BEST).is_file()]
    if not todo:
        return
    if any(r.index is None for r in todo):
        _dataset(next(r for r in todo if r.index is None), checkpoints, {})  # encode once, before forking
    _log(f"training {', '.join(r.name for r in todo)} on {args.device}, {args.parallel} at a time")
    base = [sys.executable, str(Path(__file__).resolve()), "--checkpoints", str(checkpoints),
            "--device", args.device, "--threads", str(args.threads)]
    for flag, value in (("--time-limit", args.time_limit), ("--preset", args.preset), ("--epochs", args.epochs),
                        ("--label-smoothing", args.label_smoothing)):
        if value is not None:
            base += [flag, str(value)]
    if args.sid_only:
        base.append("--sid-only")
    pending = list(todo)
    running: list[tuple[Run, subprocess.Popen[bytes]]] = []
    failed: list[str] = []
    while pending or running:
        while pending and len(running) < args.parallel:
            run = pending.pop(0)
            running.append((run, subprocess.Popen([*base, "--train-job", run.name])))
        time.sleep(1)
        for item in list(running):
            if item[1].poll() is not None:
                running.remove(item)
                if item[1].returncode != 0:
                    failed.append(item[0].name)
    if failed:
        raise RuntimeError(f"training failed: {', '.join(failed)}")


def _percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def latency(loaded: LoadedModel, histories: list[np.ndarray], profiles: list[list[int]]) -> dict[str, float]:
    """Batch-1 decode latency per beam width, and users/s at batch 256 with beam 50 (CPU, 1 thread): a GRM's,
    ValueError for another model."""
    model = GRM.require(loaded.model)
    trie = content_trie(loaded.items)
    out: dict[str, float] = {}
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            for beam in LATENCY_BEAMS:
                n = 300 if beam <= 50 else 60
                times: list[float] = []
                for i in range(n + 5):
                    batch = model.batch(loaded.items, [histories[i]], [profiles[i]])
                    t0 = time.perf_counter()
                    beam_search(model, batch, trie, beam, creative=False, exclude=[histories[i]])
                    if i >= 5:  # warm-up
                        times.append((time.perf_counter() - t0) * 1e3)
                out[f"beam{beam}_p50_ms"] = round(_percentile(times, 50), 2)
                out[f"beam{beam}_p99_ms"] = round(_percentile(times, 99), 2)
            batches = [histories[i : i + 256] for i in range(0, 256 * 4, 256)]
            t0 = time.perf_counter()
            for i, hist in enumerate(batches):
                batch = model.batch(loaded.items, hist, profiles[i * 256 : (i + 1) * 256])
                beam_search(model, batch, trie, 50, creative=False, exclude=hist)
            out["beam50_users_per_s"] = round(sum(len(b) for b in batches) / (time.perf_counter() - t0), 1)
    finally:
        torch.set_num_threads(threads)
    out["latency_threads"] = 1
    return out


def rank_all(loaded: LoadedModel, split: Split, extra: bool) -> dict[str, np.ndarray]:
    """Top-10 item rows per user: ``left_out`` (the history's items left out, the default protocol) and,
    with ``extra``, ``kept`` (counted in, as the published TIGER figures are) and, for a GRM with the dense
    item head, ``sid_only`` (left out, decoded and ranked by SID likelihood alone); each is one more pass
    over the test users. Beam 50; left-out items are masked inside the search, so the beam fills with
    items the user does not have."""
    def top(exclude_seen: bool = True, item_weight: float | None = None) -> np.ndarray:
        with torch.no_grad():
            return ranked_rows(loaded.ranker(TEST_BEAM, TOP_K, exclude_seen=exclude_seen, item_weight=item_weight),
                               split)

    out = {"left_out": top()}
    if extra:
        out["kept"] = top(exclude_seen=False)
        if loaded.model.item_weight is not None:
            out["sid_only"] = top(item_weight=0.0)
    return out


def invalid_slots(loaded: LoadedModel, ranked: np.ndarray) -> int:
    """Top-10 slots that hold no catalogue item: checked against the item table, not the trie."""
    codes = loaded.items.codes[:, : loaded.items.n_content]
    catalogue = {tuple(row) for row in codes.tolist()}
    return int(sum(1 for row in ranked[:, :10].reshape(-1).tolist()
                   if not 0 <= row < len(codes) or tuple(codes[row].tolist()) not in catalogue))


def evaluate_all(runs: list[Run], checkpoints: Path, extra: set[str]) -> dict[str, Any]:
    figures: dict[str, Any] = {"loadavg_1m_start": round(os.getloadavg()[0], 2), "test_beam": TEST_BEAM}
    figures.update({f"tiger_{m}": v for m, v in TIGER.items()})
    datasets: dict[tuple[str, str | None], Dataset] = {}
    invalid = 0
    for run in runs:
        folder = checkpoints / run.name
        if not (folder / BEST).is_file():
            _log(f"{run.name}: no checkpoint, skipped")
            continue
        dataset = _dataset(run, checkpoints, datasets)
        split = split_dataset(dataset)
        prefix = run.name.removesuffix("_s0").replace("beauty_sasrec", "sasrec")
        if f"{run.dataset}_popularity_{METRICS[0]}" not in figures:
            for suffix, exclude in (("", True), ("_keep_seen", False)):
                pop = popularity_metrics(split, len(dataset.items.item_ids), exclude_seen=exclude)
                figures.update({f"{run.dataset}_popularity{suffix}_{m}": round(pop[m], 4) for m in METRICS})
        loaded = load_model(folder)
        t0 = time.perf_counter()
        ranked = rank_all(loaded, split.test, "all" in extra or run.name in extra)
        metrics = {k: ranking_metrics(target_ranks(split.test.targets, v)) for k, v in ranked.items()}
        _log(f"{run.name}: test {metrics} ({time.perf_counter() - t0:.0f}s)")
        for key, infix in (("left_out", ""), ("kept", "_keep_seen"), ("sid_only", "_sid_only")):
            if key in metrics:
                figures.update({f"{prefix}{infix}_{m}": round(metrics[key][m], 4) for m in METRICS})
        if "sid_only" in metrics:
            figures[f"{prefix}_item_score_weight"] = loaded.model.item_weight
        provenance = json.loads((folder / PROVENANCE).read_text())
        figures[f"{prefix}_train_command"] = provenance["command"]
        figures[f"{prefix}_train_seed"] = provenance["seed"]
        figures[f"{prefix}_train_device"] = provenance["device"]
        figures[f"{prefix}_train_s"] = provenance["train_s_total"]
        figures[f"{prefix}_best_epoch"] = provenance["best_epoch"]
        figures[f"{prefix}_valid_ndcg_at_10"] = round(provenance["best_valid"]["ndcg_at_10"], 4)
        if run.kind == "grm":
            invalid += invalid_slots(loaded, ranked["left_out"])
            if run.name in LATENCY_RUNS and "beam50_p99_ms" not in figures:
                figures.update(latency(loaded, split.test.histories, split.test.profiles))
    figures["invalid_in_top10"] = invalid
    for name in ("beauty", "beauty_rkmeans"):
        for m in METRICS:
            if f"{name}_{m}" in figures and f"{name}_s1_{m}" in figures:
                figures[f"{name}_{m}_seed_spread"] = round(abs(figures[f"{name}_{m}"] - figures[f"{name}_s1_{m}"]), 4)
    if all(f"beauty_{m}" in figures for m in METRICS):
        figures["pass_beauty_beats_tiger"] = all(figures[f"beauty_{m}"] > TIGER[m] for m in METRICS)
    if all(f"beauty_keep_seen_{m}" in figures for m in METRICS):
        figures["beauty_keep_seen_beats_tiger"] = all(figures[f"beauty_keep_seen_{m}"] > TIGER[m] for m in METRICS)
    for prefix in ("beauty_cpu", "beauty_cpu_s1"):
        if all(f"{prefix}_keep_seen_{m}" in figures for m in METRICS):
            figures[f"{prefix}_keep_seen_beats_tiger"] = all(figures[f"{prefix}_keep_seen_{m}"] > TIGER[m]
                                                             for m in METRICS)
    if "beauty_s1_ndcg_at_10" in figures:
        figures["beauty_s1_beats_tiger"] = all(figures[f"beauty_s1_{m}"] > TIGER[m] for m in METRICS)
    if "beam50_p99_ms" in figures:
        figures["pass_beam50_p99_le_50ms"] = figures["beam50_p99_ms"] <= TARGET_BEAM50_P99_MS
    figures["pass_no_invalid_in_top10"] = invalid == 0
    figures["loadavg_1m_end"] = round(os.getloadavg()[0], 2)
    return figures


def print_table(f: dict[str, Any]) -> None:
    rows = [("TIGER (published)", "tiger")]
    rows += [(label, key) for label, key in (
        ("Beauty popularity", "beauty_popularity"), ("Beauty SASRec", "sasrec"),
        ("Beauty GRM, LETTER IDs, seed 0", "beauty"), ("Beauty GRM, LETTER IDs, seed 1", "beauty_s1"),
        ("Beauty GRM, RQ-KMeans, seed 0", "beauty_rkmeans"), ("Beauty GRM, RQ-KMeans, seed 1", "beauty_rkmeans_s1"),
        ("Beauty GRM, CPU recipe, seed 0", "beauty_cpu"), ("Beauty GRM, CPU recipe, seed 1", "beauty_cpu_s1"),
        ("Scientific popularity", "scientific_popularity"), ("Scientific SASRec", "scientific_sasrec"),
        ("Scientific GRM, D-SID tokenizer", "scientific"), ("Scientific GRM, RQ-KMeans native", "scientific_native"),
        ("Scientific GRM, D-SID, CPU recipe", "scientific_cpu"),
    ) if f"{key}_recall_at_5" in f]
    print(f"{'model':36} {'R@5':>7} {'N@5':>7} {'R@10':>7} {'N@10':>7}   trained")
    for label, key in rows:
        how = ""
        if f"{key}_train_s" in f:
            how = f"seed {f[f'{key}_train_seed']}, {f[f'{key}_train_s']:.0f}s on {f[f'{key}_train_device']}"
        print(f"{label:36} " + " ".join(f"{f[f'{key}_{m}']:7.4f}" for m in METRICS) + f"   {how}")
        for infix, label in (("_keep_seen", "  history items counted in"), ("_sid_only", "  SID likelihood alone")):
            if f"{key}{infix}_{METRICS[0]}" in f:
                print(f"{label:36} " + " ".join(f"{f[f'{key}{infix}_{m}']:7.4f}" for m in METRICS))
    print("(TIGER's figures count history items in; ours leave them out unless marked)")
    print()
    for beam in LATENCY_BEAMS:
        if f"beam{beam}_p50_ms" in f:
            p50, p99 = f[f"beam{beam}_p50_ms"], f[f"beam{beam}_p99_ms"]
            print(f"beam {beam:>3}, batch 1: p50 {p50:.1f} ms, p99 {p99:.1f} ms")
    if "beam50_users_per_s" in f:
        print(f"beam  50, batch 256: {f['beam50_users_per_s']:.0f} users/s")
    print(f"invalid items in any top-10: {f['invalid_in_top10']}")
    print(f"bench wall time: {f['bench_wall_s']:.0f} s (training, when it trained, and evaluation)")
    for key, value in f.items():
        if key.startswith("pass_"):
            print(f"{key}: {value}")
    commands = sorted({v for k, v in f.items() if k.endswith("_train_command")})
    for command in commands:
        print(f"trained by: {command}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", action="store_true", help="print one JSON object as the last stdout line")
    parser.add_argument("--checkpoints", type=Path, default=DEFAULT_CHECKPOINTS)
    parser.add_argument("--train", choices=("missing", "all", "none"), default="missing")
    parser.add_argument("--device", default="cpu", help="training device (evaluation is always on the CPU)")
    parser.add_argument("--parallel", type=int, default=1, help="training processes at a time")
    parser.add_argument("--time-limit", type=float, default=None, help="seconds of training per run")
    parser.add_argument("--runs", default=",".join(r.name for r in RUNS),
                        help=f"comma-separated run names (more: {', '.join(r.name for r in EXTRA_RUNS)})")
    parser.add_argument("--no-eval", action="store_true", help="train only")
    parser.add_argument("--extra-figures", default="beauty_s0,beauty_cpu_s0,beauty_cpu_s1", metavar="RUNS",
                        help="runs that also get the counted-in and SID-alone figures, a test pass each ('all')")
    parser.add_argument("--train-job", help=argparse.SUPPRESS)
    parser.add_argument("--preset", choices=tuple(PRESETS), help="GRM shape for every run (default: base)")
    parser.add_argument("--epochs", type=int, help="epochs for every run (default: 100 GRM, 200 SASRec)")
    parser.add_argument("--label-smoothing", type=float,
                        help="on the GRM's SID tokens (default 0 for the Beauty runs, 0.1 for the others)")
    parser.add_argument("--sid-only", action="store_true",
                        help="train GRM runs without the dense item head (ranking by SID likelihood alone)")
    # one thread: on a shared 2-core machine a second OpenMP thread spin-waits and runs ~5x slower
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    try:
        if args.train_job:
            train_run(RUN_BY_NAME[args.train_job], args.checkpoints, args)
            return 0
        runs = [RUN_BY_NAME[name] for name in args.runs.split(",") if name]
        if args.train != "none":
            train_missing(runs, args.checkpoints, args)
        if args.no_eval:
            return 0
        figures = evaluate_all(runs, args.checkpoints, set(args.extra_figures.split(",")))
    except Exception as exc:  # a broken run, a missing file: say which, exit 1
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    figures["bench_wall_s"] = round(time.perf_counter() - started, 1)
    print_table(figures)
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
