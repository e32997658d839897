"""From text to video in one command: `ragvid generate --product TEXT … -o OUT.mp4` writes the SID file
beside the video (``OUT.sid.json``, as `ragvid sid encode` would), says where, and renders it; SID_FILE and
--product are one or the other."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag_recsys.sidfile import load_sid_file
from rag_recsys.tokenizers import default_tokenizer
from tests.conftest import EXAMPLES
from tools.probe import probe


@pytest.mark.slow
def test_product_text_renders_and_keeps_its_sid_file(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "out[dir]" / "X.mp4"  # brackets: the paths print literally, not as rich markup
    res = run_cli("generate", "--product", "Aurora single-origin coffee beans", "--selling-point", "Roasted this week",
                  "--price", "$18", "-o", str(out), "-q")  # fmt: skip
    assert res.code == 0, res.stderr[-3000:]
    sid_path = out.parent / "X.sid.json"
    assert out.is_file() and probe(out).duration == pytest.approx(12.0, abs=0.1)
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines[0].startswith(f"wrote {sid_path}: content "), res.stderr  # where the SID file went
    assert lines[-1].startswith(f"wrote {out} "), res.stderr
    loaded = load_sid_file(sid_path, default_tokenizer())  # a valid SID file of this tokenizer
    meta = loaded.sid.meta
    assert meta is not None and meta.product == "Aurora single-origin coffee beans"
    assert (meta.selling_points, meta.price, meta.language) == (["Roasted this week"], "$18", "en")
    assert "Coffee" in loaded.content.entities
    record = json.loads(out.with_suffix(".run.json").read_text())
    assert record["inputs"]["sid_file"] == str(sid_path) and record["accepted"] is True


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ([str(EXAMPLES / "coffee.json"), "--product", "coffee"], "error: SID_FILE and --product: give one, not both"),
        ([], "error: SID_FILE or --product: give one (or --resume RUN_ID)"),
        ([str(EXAMPLES / "coffee.json"), "--brand", "Aurora"], "error: --brand: only with --product"),
        (["--selling-point", "Fresh"], "error: --selling-point: only with --product"),
        (["--resume", "some-run", "--product", "coffee"], "error: --product: a resumed run continues"),
        (["--product", "   "], "error: --product: product text is empty"),
        (["--product", "coffee", "--image", "nope.png"], "error: --image[0]: file not found: nope.png"),
        (["--product", "coffee", "--price", "9" * 41], "error: meta.price: text too long"),
        (["--product", "coffee", "--duration", "2"], "error: --duration: "),
        (["--product", "coffee", "--language", "ja"], "error: --language: language 'ja' is not supported"),
        (["--product", "coffee", "--language", "e n"], "error: --language: 'e n' is not a language tag"),
    ],
)
def test_product_usage_errors_exit_2(run_cli, tmp_path: Path, args: list[str], expected: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "o.mp4"
    res = run_cli("generate", *args, *([] if "--resume" in args else ["-o", str(out)]), "-q")
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.code == 2, res.stderr
    assert len(lines) == 1 and lines[0].startswith(expected), res.stderr
    assert not out.exists() and not out.with_suffix(".sid.json").exists()  # nothing written on bad input


def test_product_needs_an_output(run_cli) -> None:  # type: ignore[no-untyped-def]
    res = run_cli("generate", "--product", "coffee", "-q")
    assert res.code == 2 and res.stderr.strip() == "error: -o/--out: required (the MP4 to write)", res.stderr
