"""`ragvid rec train|eval`: a tiny end-to-end run, and one-line errors with exit 2 for bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragvid.commands.rec import rec_app
from tests.conftest import ROOT

runner = CliRunner()


def _toy(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    index = {str(i): [f"<a_{i // 6}>", f"<b_{i % 3}>"] for i in range(30)}
    (folder / "Toy.index.json").write_text(json.dumps(index))
    users = {str(u): [str((u + k) % 30) for k in range(5)] for u in range(60)}
    (folder / "Toy.inter.json").write_text(json.dumps(users))
    return folder


def _one_line_error(result: object, exit_code: int = 2) -> str:
    assert result.exit_code == exit_code, result.output
    stderr = str(result.stderr.strip())
    assert stderr.startswith("error: ") and "\n" not in stderr and "Traceback" not in result.output
    return stderr.removeprefix("error: ")


def test_train_then_eval(tmp_path: Path) -> None:
    data = _toy(tmp_path / "toy")
    out = tmp_path / "model"
    args = ["train", str(data), "--out", str(out), "--preset", "tiny", "--epochs", "2", "--eval-every", "1", "-q"]
    result = runner.invoke(rec_app, args)
    assert result.exit_code == 0, result.output
    provenance = json.loads((out / "train.json").read_text())
    assert provenance["seed"] == 0 and provenance["epochs_run"] == 2 and provenance["command"].startswith("ragvid")
    assert "best epoch" in result.stderr
    # a second train into the same folder must be asked for explicitly
    assert "--resume" in _one_line_error(runner.invoke(rec_app, args))
    resumed = runner.invoke(rec_app, [*args[:7], "4", *args[8:], "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert json.loads((out / "train.json").read_text())["epochs_run"] == 4

    evaluated = runner.invoke(rec_app, ["eval", str(out), "--beam", "10"])
    assert evaluated.exit_code == 0, evaluated.output
    doc = json.loads((out / "metrics.json").read_text())
    assert set(doc["metrics"]) == {f"{m}_at_{k}" for m in ("recall", "ndcg", "hit", "mrr") for k in (5, 10)}
    assert doc["users"] == 60 and doc["split"] == "test" and doc["trained"]["seed"] == 0
    assert doc["exclude_seen"] is True
    assert "NDCG@10" in evaluated.stdout and "MRR@10" in evaluated.stdout
    kept = runner.invoke(rec_app, ["eval", str(out), "--beam", "10", "--keep-seen", "-o", str(tmp_path / "k.json")])
    assert kept.exit_code == 0, kept.output
    assert json.loads((tmp_path / "k.json").read_text())["exclude_seen"] is False


def test_train_with_item_ids(tmp_path: Path) -> None:
    out = tmp_path / "model"
    args = ["train", str(_toy(tmp_path / "toy")), "--out", str(out), "--preset", "tiny", "--epochs", "1", "-q",
            "--item-ids"]
    result = runner.invoke(rec_app, args)
    assert result.exit_code == 0, result.output
    assert json.loads((out / "train.json").read_text())["model_config"]["n_items"] == 30  # the toy catalogue


def test_train_without_item_head(tmp_path: Path) -> None:
    out = tmp_path / "model"
    args = ["train", str(_toy(tmp_path / "toy")), "--out", str(out), "--preset", "tiny", "--epochs", "1", "-q",
            "--no-item-head"]
    result = runner.invoke(rec_app, args)
    assert result.exit_code == 0, result.output
    provenance = json.loads((out / "train.json").read_text())
    assert provenance["model_config"]["item_head"] is False and provenance["model_config"]["n_items"] == 0
    assert "item_weight_valid" not in provenance and "dense item head" not in result.stderr


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (["--preset", "huge"], "--preset: unknown preset 'huge'"),
        (["--model", "bert"], "--model: unknown model 'bert'"),
        (["--index", "missing.json"], "--index: file not found: missing.json"),
    ],
)
def test_train_option_errors(tmp_path: Path, extra: list[str], expected: str) -> None:
    data = _toy(tmp_path / "toy")
    result = runner.invoke(rec_app, ["train", str(data), "--out", str(tmp_path / "m"), *extra])
    assert _one_line_error(result).startswith(expected)


def test_train_data_errors_name_file_and_field(tmp_path: Path) -> None:
    missing = runner.invoke(rec_app, ["train", str(tmp_path / "nope"), "--out", str(tmp_path / "m")])
    assert "nope: dataset: not a folder" in _one_line_error(missing)

    data = _toy(tmp_path / "toy")
    (data / "Toy.index.json").write_text(json.dumps({"0": ["<a_1>", "<x_2>"]}))
    bad_index = runner.invoke(rec_app, ["train", str(data), "--out", str(tmp_path / "m")])
    assert _one_line_error(bad_index) == f"{data / 'Toy.index.json'}: ['0'][1]: not a level-1 code: '<x_2>'"

    _toy(data)
    (data / "Toy.inter.json").write_text(json.dumps({"u": ["0", "1", "99"]}))
    unknown = runner.invoke(rec_app, ["train", str(data), "--out", str(tmp_path / "m")])
    assert _one_line_error(unknown) == f"{data / 'Toy.inter.json'}: ['u']: item '99' is not in the item index"


def test_eval_errors(tmp_path: Path) -> None:
    assert "best.pt: not found" in _one_line_error(runner.invoke(rec_app, ["eval", str(tmp_path)]))
    (tmp_path / "best.pt").write_text("not a checkpoint")
    assert "not a model checkpoint" in _one_line_error(runner.invoke(rec_app, ["eval", str(tmp_path)]))
    assert "--split" in _one_line_error(runner.invoke(rec_app, ["eval", str(tmp_path), "--split", "train"]))


def test_train_writes_a_line_per_epoch_to_a_file_while_it_trains(tmp_path: Path) -> None:
    """Output to a file (no terminal) still gets one line per epoch as each ends, not all at the end."""
    log = tmp_path / "train.log"
    args = [sys.executable, "-m", "ragvid.cli", "rec", "train", str(_toy(tmp_path / "toy")), "--out",
            str(tmp_path / "model"), "--preset", "tiny", "--epochs", "2000", "--eval-every", "1", "--patience", "2000"]
    env = {**os.environ, "RAGVID_HOME": str(tmp_path / "home")}
    with log.open("w") as sink:
        proc = subprocess.Popen(args, stdout=sink, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None and "epoch 3/2000" not in log.read_text():
            time.sleep(0.2)
        assert proc.poll() is None, f"training ended before its epoch lines were seen: {log.read_text()}"
        lines = [ln for ln in log.read_text().splitlines() if ln.startswith("epoch ")]
    finally:
        proc.kill()
        proc.wait()
    assert len(lines) >= 3, log.read_text()
    pattern = r"epoch (\d+)/2000  loss \d+\.\d{4}  valid NDCG@10 \d\.\d{4} \(best: epoch \d+\)  elapsed \S+  ETA \S+"
    assert all(re.fullmatch(pattern, ln) for ln in lines[:3]), lines[:3]
    assert [int(re.match(pattern, ln).group(1)) for ln in lines[:3]] == [1, 2, 3]  # type: ignore[union-attr]


def _toy_texts(folder: Path) -> Path:
    """A data set with item texts and no index: its codes come from the shipped tokenizer."""
    folder.mkdir(parents=True, exist_ok=True)
    kinds = ["coffee beans", "running shoes", "face cream", "desk lamp", "yoga mat", "green tea"]
    items = {str(i): {"title": f"{kinds[i % 6]} model {i}", "categories": kinds[i % 6]} for i in range(30)}
    (folder / "Texts.item.json").write_text(json.dumps(items))
    users = {str(u): [str((u + k) % 30) for k in range(5)] for u in range(60)}
    (folder / "Texts.inter.json").write_text(json.dumps(users))
    return folder


def test_item_texts_are_encoded_once_per_data_set_not_per_model_folder(tmp_path: Path, run_cli) -> None:  # type: ignore[no-untyped-def]
    data = _toy_texts(tmp_path / "texts")
    env = {"RAGVID_HOME": str(tmp_path / "home")}
    base = ["rec", "train", str(data), "--preset", "tiny", "--epochs", "1", "--no-item-head"]
    first = run_cli(*base, "--out", str(tmp_path / "m1"), env=env)
    assert first.code == 0, first.stderr
    assert "encoding item texts with the shipped tokenizer: 30/30 items" in first.stderr
    second = run_cli(*base, "--out", str(tmp_path / "m2"), env=env)
    assert second.code == 0, second.stderr
    assert "encoding item texts" not in second.stderr  # read from HOME/cache/sid-index
    cached = list((tmp_path / "home" / "cache" / "sid-index").glob("Texts.*.sid.json"))
    assert len(cached) == 1
    # both models got the same codes
    codes = [json.loads((tmp_path / m / "train.json").read_text())["index_source"] for m in ("m1", "m2")]
    assert codes[0] == codes[1]
    # a changed items file is encoded anew, beside the old entry
    items = json.loads((data / "Texts.item.json").read_text())
    items["0"]["title"] = "espresso machine"
    (data / "Texts.item.json").write_text(json.dumps(items))
    third = run_cli(*base, "--out", str(tmp_path / "m3"), env=env)
    assert third.code == 0 and "30/30 items" in third.stderr
    assert len(list((tmp_path / "home" / "cache" / "sid-index").glob("Texts.*.sid.json"))) == 2
