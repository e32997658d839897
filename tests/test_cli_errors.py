"""Bad input: exit 2, one clear line naming the field or file, no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES


def _sid(tmp: Path, **changes: object) -> Path:
    sid = json.loads((EXAMPLES / "coffee.json").read_text())
    sid["meta"]["images"] = [str((EXAMPLES / i).resolve()) for i in sid["meta"]["images"]]
    sid.update(changes)
    path = tmp / "bad.json"
    path.write_text(json.dumps(sid))
    return path


def _write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def _unknown_in_range_path() -> list[int]:
    """A path whose every code is inside its codebook but which no taxonomy category has."""
    from rag_recsys.tokenizers import default_tokenizer

    lex = default_tokenizer().lexicon
    sizes = lex.content_sizes
    for a in range(sizes[0]):
        for c in range(sizes[2]):
            if lex.has_content([a, 0]) and not lex.has_content([a, 0, c]):
                return [a, 0, c]
    raise AssertionError("every in-range path is known")


CASES = {
    "malformed": (lambda t: _write(t / "bad.json", '{"tokenizer": "x", "content": [1,'), "bad.json"),
    "unknown_path": (lambda t: _sid(t, content=_unknown_in_range_path()), "content"),
    "wrong_depth": (lambda t: _sid(t, content=[1, 2]), "content"),
    "tokenizer_mismatch": (lambda t: _sid(t, tokenizer="ragvid-gpt-v0+deadbeef"), "tokenizer"),
    "missing_image": (
        lambda t: _sid(
            t, meta={**json.loads((EXAMPLES / "coffee.json").read_text())["meta"], "images": [str(t / "nope.png")]}
        ),
        "meta.images[0]",
    ),
    "missing_file": (lambda t: t / "does-not-exist.json", "does-not-exist.json"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_sid_file_exits_2_with_one_line(run_cli, tmp_path: Path, case: str) -> None:  # type: ignore[no-untyped-def]
    make, needle = CASES[case]
    sid = make(tmp_path)
    res = run_cli("generate", str(sid), "-o", str(tmp_path / "o.mp4"), "-q")
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.code == 2, res.stderr
    assert len(lines) == 1, res.stderr
    assert needle in lines[0]
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "o.mp4").exists()


@pytest.mark.parametrize(
    "args,needle", [(["--aspect", "4:3"], "--aspect"), (["--duration", "2"], "--duration"), (["-o", "x.avi"], "--out")]
)
def test_bad_options_exit_2(run_cli, tmp_path: Path, args: list[str], needle: str) -> None:  # type: ignore[no-untyped-def]
    out = ["-o", str(tmp_path / "o.mp4")] if "-o" not in args else []
    res = run_cli("generate", str(EXAMPLES / "coffee.json"), *out, *args, "-q")
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.code == 2 and len(lines) == 1 and needle in lines[0], res.stderr


def test_resume_unknown_run_exits_2(run_cli) -> None:  # type: ignore[no-untyped-def]
    res = run_cli("generate", "--resume", "no-such-run", "-q")
    assert res.code == 2 and "--resume" in res.stderr


@pytest.mark.parametrize("args", [["sid", "decode", str(EXAMPLES / "coffee.json"), "--json"], ["schema", "sid-file"]])
def test_a_reader_that_stops_early_ends_the_command_quietly(args: list[str]) -> None:
    """`ragvid … | head`: the reader's end is closed before the command writes, so every write is EPIPE."""
    proc = subprocess.Popen([sys.executable, "-m", "ragvid.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=EXAMPLES.parents[1])  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 1  # click's code for a closed pipe, and ragvid's
    assert "Error" not in err and "error:" not in err, err
