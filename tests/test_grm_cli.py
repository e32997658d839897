"""`ragvid rec train|eval`: a tiny end-to-end run, and one-line errors with exit 2 for bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ragvid.commands.rec import rec_app

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
    assert set(doc["metrics"]) == {"recall_at_5", "ndcg_at_5", "recall_at_10", "ndcg_at_10"}
    assert doc["users"] == 60 and doc["split"] == "test" and doc["trained"]["seed"] == 0
    assert doc["exclude_seen"] is True
    assert "NDCG@10" in evaluated.stdout
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
