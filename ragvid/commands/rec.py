"""`ragvid rec …`: train and evaluate the generative recommender (GRM) on a leave-one-out data set.

Bad input (a missing data set, a malformed interaction or index file, an unknown preset) prints one line
naming the file and field on stderr and exits 2.
"""

from __future__ import annotations

import json
import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer
from rich.table import Table

from ragvid.exits import command, fail
from ragvid.progress import literal_console
from ragvid.settings import Settings
from tools.errors import InputError

if TYPE_CHECKING:
    from rag_recsys.grm.pipeline import ModelKind

rec_app = typer.Typer(
    help="Train and evaluate the generative recommender (GRM) on interaction data.",
    no_args_is_help=True,
)

MODEL_KINDS = ("grm", "sasrec")
SID_CACHE = "sid-index"  # under HOME/cache: item texts encoded per data set and tokenizer version




def _load(dataset: str, index: Path | None, quiet: bool = False) -> tuple[Any, Any]:
    """The data set and its leave-one-out split; an `InputError` naming the file and field for bad data."""
    from rag_recsys.grm.datasets import dataset_dir, load_dataset
    from rag_recsys.grm.pipeline import split_dataset

    if index is not None and not index.is_file():
        raise InputError("--index", f"file not found: {index}")
    settings = Settings.load()
    console = literal_console()

    def encoding(done: int, total: int) -> None:
        if not quiet:
            console.print(f"encoding item texts with the shipped tokenizer: {done}/{total} items")

    data = load_dataset(dataset_dir(dataset, settings.data), index, settings.home / "cache" / SID_CACHE, encoding)
    return data, split_dataset(data)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def epoch_line(event: dict[str, Any], time_limit: float | None = None) -> str:
    """One line per training event (``rag_recsys.grm.trainer.train``'s ``on_event``): the epoch, its mean
    loss, the validation NDCG@10 when it was validated, the training time so far and the time left at the
    mean epoch time so far (capped by ``time_limit`` seconds; early stopping may end the run sooner)."""
    if event["event"] == "resumed":
        return f"resumed after epoch {event['epoch']}"
    if event["event"] == "item_weight_sweep":
        return f"choosing the dense item head's weight on validation ({len(event['weights'])} weights)"
    epoch, epochs, elapsed = event["epoch"], event["epochs"], event["elapsed_s"]
    line = f"epoch {epoch}/{epochs}  loss {event['loss']:.4f}"
    if "valid" in event:
        line += f"  valid NDCG@10 {event['valid']['ndcg_at_10']:.4f} (best: epoch {event['best_epoch']})"
    left = elapsed / epoch * (epochs - epoch)
    if time_limit is not None:
        left = max(0.0, min(left, time_limit - elapsed))
    return f"{line}  elapsed {_duration(elapsed)}  ETA {_duration(left)}"


@rec_app.command()
@command
def train(
    dataset: Annotated[str, typer.Argument(help="Data set folder, or a preset: beauty, scientific.")],
    out: Annotated[Path, typer.Option("--out", "-o", help="Model folder to write (best.pt, last.pt, train.json).")],
    index: Annotated[
        Path | None,
        typer.Option(help="Item → code path index (TIGER/LETTER JSON or a SID index); default: the data set's "
                     "own index, else its item texts encoded by the shipped D-SID tokenizer."),
    ] = None,
    preset: Annotated[str, typer.Option(help="Model shape: tiny, small, base, paper.")] = "small",
    model: Annotated[str, typer.Option(help="grm, or sasrec (the item-ID baseline).")] = "grm",
    item_ids: Annotated[
        bool, typer.Option("--item-ids", help="GRM: also embed each history item's catalogue row (the paper's "
                           "sparse ID table) beside its codes; helps when items have many interactions each.")
    ] = False,
    item_head: Annotated[
        bool, typer.Option("--item-head/--no-item-head", help="GRM: a dense item head over that table (implies "
                           "--item-ids). SIDs are still generated through the trie, ranked by SID log-probability "
                           "+ w × the log of the head's probability mass below each prefix, w chosen on validation.")
    ] = True,
    seed: Annotated[int, typer.Option()] = 0,
    epochs: Annotated[int, typer.Option(min=1)] = 30,
    lr: Annotated[float, typer.Option(min=0.0)] = 2e-3,
    batch_size: Annotated[int, typer.Option(min=1)] = 256,
    eval_every: Annotated[int, typer.Option(min=1, help="Epochs between validation runs.")] = 3,
    patience: Annotated[int, typer.Option(min=1, help="Validation runs without improvement before stopping.")] = 3,
    time_limit: Annotated[float | None, typer.Option(help="Stop after this many seconds of training.")] = None,
    device: Annotated[str, typer.Option(help="cpu, cuda, …")] = "cpu",
    resume: Annotated[bool, typer.Option(help="Continue the run in --out from its last checkpoint.")] = False,
    quiet: Annotated[bool, typer.Option("-q", "--quiet")] = False,
) -> None:
    """Train on DATASET's leave-one-out training part, keeping the weights with the best validation NDCG@10."""
    import torch

    from rag_recsys.grm.config import PRESETS, TrainConfig
    from rag_recsys.grm.pipeline import PROVENANCE, train_on

    if preset not in PRESETS:
        fail(f"--preset: unknown preset {preset!r} (one of {', '.join(PRESETS)})")
    if model not in MODEL_KINDS:
        fail(f"--model: unknown model {model!r} (one of {', '.join(MODEL_KINDS)})")
    if out.exists() and not out.is_dir():
        fail(f"--out: not a folder: {out}")
    if (out / "last.pt").exists() and not resume:
        fail(f"--out: {out} already holds a run; pass --resume to continue it or choose another folder")
    try:
        torch.device(device)
    except RuntimeError:
        fail(f"--device: unknown device {device!r}")
    data, _ = _load(dataset, index, quiet)
    cfg = TrainConfig(epochs=epochs, lr=lr, batch_size=batch_size, eval_every=eval_every, patience=patience,
                      seed=seed, time_limit_s=time_limit, warmup_steps=100)
    command = " ".join(shlex.quote(a) for a in ["ragvid", *sys.argv[1:]])
    console = literal_console()
    console.print(f"{data.name}: {len(data.interactions)} users, {len(data.items.item_ids)} items, "
                  f"levels {data.items.sizes} ({data.index_source})")

    def on_event(event: dict[str, Any]) -> None:
        if not quiet:
            console.print(epoch_line(event, time_limit))

    kind = cast("ModelKind", model)
    result = train_on(data, out, kind, preset, cfg, command, resume, torch.device(device), on_event, item_ids,
                      item_head)
    console.print(f"best epoch {result.best_epoch}: " + ", ".join(f"{k} {v:.4f}" for k, v in result.best_valid.items())
                  + f"; stopped: {result.stopped}; {result.train_seconds:.0f}s; wrote {out}")
    provenance = json.loads((out / PROVENANCE).read_text(encoding="utf-8"))
    if "item_score_weight" in provenance:
        weight = provenance["item_score_weight"]
        ndcg = provenance["item_weight_valid"][str(weight)]["ndcg_at_10"]
        console.print(f"dense item head weight {weight:g} (valid NDCG@10 {ndcg:.4f}; "
                      f"SID likelihood alone {provenance['item_weight_valid']['0.0']['ndcg_at_10']:.4f})")


@rec_app.command("eval")
@command
def eval_(
    model_dir: Annotated[Path, typer.Argument(help="Model folder written by `ragvid rec train`.")],
    dataset: Annotated[
        str | None, typer.Option(help="Data set folder or preset (default: the one the model was trained on).")
    ] = None,
    index: Annotated[Path | None, typer.Option(help="Index the model was trained with (default: as trained).")] = None,
    split: Annotated[str, typer.Option(help="test or valid.")] = "test",
    beam: Annotated[int, typer.Option(min=10, help="Beam width of the GRM's constrained beam search.")] = 50,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Metrics JSON (default: MODEL_DIR/metrics.json).")
    ] = None,
    device: Annotated[str, typer.Option()] = "cpu",
    keep_seen: Annotated[
        bool, typer.Option("--keep-seen", help="let the user's own items count in the ranking (default: left out)")
    ] = False,
) -> None:
    """Recall, NDCG, Hit and MRR at 5 and 10 of a trained model (full ranking over all items) beside
    popularity; the table shows the @10 Hit and MRR, the JSON all of them."""
    from rag_recsys.grm.pipeline import PROVENANCE, evaluate_on, load_model, popularity_metrics
    from rag_recsys.grm.trainer import BEST

    if split not in ("test", "valid"):
        fail(f"--split: expected test or valid, got {split!r}")
    if not (model_dir / BEST).is_file():
        fail(f"MODEL_DIR: {model_dir / BEST}: not found (train with `ragvid rec train --out {model_dir}`)")
    provenance = json.loads((model_dir / PROVENANCE).read_text()) if (model_dir / PROVENANCE).is_file() else {}
    import pickle

    try:
        loaded = load_model(model_dir, device)
    except (RuntimeError, KeyError, ValueError, EOFError, pickle.UnpicklingError) as exc:
        fail(f"{model_dir / BEST}: not a model checkpoint ({type(exc).__name__})")
    if index is None and dataset is None and provenance.get("index_file"):
        index = Path(provenance["index_file"])
    data, parts = _load(dataset or _trained_on(provenance, model_dir), index)
    if data.items.item_ids != loaded.items.item_ids or not (data.items.codes == loaded.items.codes).all():
        fail(f"--index: the items or codes of {data.index_source} differ from those the model was trained on")
    chosen = parts.test if split == "test" else parts.valid
    metrics = evaluate_on(loaded, chosen, beam, device, exclude_seen=not keep_seen)
    popularity = popularity_metrics(parts, len(data.items.item_ids), test=split == "test", exclude_seen=not keep_seen)
    table = Table(title=f"{data.name} {split}: {len(chosen.targets)} users, {len(data.items.item_ids)} items")
    for column in ("model", "Recall@5", "NDCG@5", "Recall@10", "NDCG@10", "Hit@10", "MRR@10"):
        table.add_column(column)
    keys = ("recall_at_5", "ndcg_at_5", "recall_at_10", "ndcg_at_10", "hit_at_10", "mrr_at_10")
    for name, values in ((loaded.kind, metrics), ("popularity", popularity)):
        table.add_row(name, *(f"{values[k]:.4f}" for k in keys))
    literal_console(stderr=False).print(table)
    doc = {"model_dir": str(model_dir), "dataset": data.name, "index_source": data.index_source, "split": split,
           "beam": beam, "exclude_seen": not keep_seen, "users": len(chosen.targets), "metrics": metrics,
           "popularity": popularity,
           "trained": {k: provenance.get(k) for k in ("command", "seed", "device", "train_s_total", "best_epoch")}}
    target = output or model_dir / "metrics.json"
    target.write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    literal_console().print(f"wrote {target}")


def _trained_on(provenance: dict[str, Any], model_dir: Path) -> str:
    """The data set folder a model was trained on, from its provenance (the interaction file's folder)."""
    inter = provenance.get("inter_file")
    if not inter:
        fail(f"--dataset: {model_dir / 'train.json'} does not say which data set the model was trained on")
    return str(Path(inter).parent)
