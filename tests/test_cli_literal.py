"""User strings print literally: paths and text with ``[…]`` (rich markup), ``:name:`` (emoji codes) reach the
terminal exactly as given, in progress lines, the ``wrote`` line and errors alike."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ragvid.progress import ProgressView, literal_console
from tests.conftest import EXAMPLES

HOSTILE = "out[dir]/a[b].mp4 [bold]x[/] :coffee:"


def test_the_console_prints_markup_and_emoji_codes_literally(capsys: pytest.CaptureFixture[str]) -> None:
    literal_console().print(HOSTILE)
    with ProgressView(enabled=True) as view:
        view.update({"node": "final_render", "message": f"wrote {HOSTILE}", "round": 0})
    err = capsys.readouterr().err.splitlines()
    assert err[0] == HOSTILE
    assert err[1].endswith(f"final_render r0: wrote {HOSTILE}")


def test_a_bracketed_sid_path_in_an_error_is_literal(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sid = tmp_path / "sids[v1]" / "nope[1].json"
    res = run_cli("generate", str(sid), "-o", str(tmp_path / "o.mp4"), "-q")
    assert res.code == 2 and f"{sid}" in res.stderr, res.stderr


@pytest.mark.slow
def test_bracketed_paths_print_literally(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    doc = json.loads((EXAMPLES / "coffee.json").read_text())
    doc["meta"]["images"] = [str((EXAMPLES / i).resolve()) for i in doc["meta"]["images"]]
    sid = tmp_path / "sids[v1]" / "coffee[a].json"
    sid.parent.mkdir()
    sid.write_text(json.dumps(doc))
    out = tmp_path / "out[dir]" / "a[b].mp4"
    # --accept-rejected: what is measured here is the printing, whatever the Critic says of the video
    res = run_cli("generate", str(sid), "-o", str(out), "--accept-rejected")
    assert res.code == 0, res.stderr[-3000:]
    assert out.is_file()
    lines = res.stderr.splitlines()
    assert any(ln.startswith(f"wrote {out} (") for ln in lines), res.stderr
    assert any("final_render r" in ln and f": wrote {out} (" in ln for ln in lines), res.stderr
    assert f"{out.with_suffix('.run.json')}" in res.stderr
