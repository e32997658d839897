"""A run the Critic rejected is not reported as a success: `ragvid generate` still writes the best round,
ends on a ``rejected:`` line naming each open finding's shot and measured value, marks the run record
``accepted: false`` with the open findings, and exits 3 — 0 with ``--accept-rejected``.

The Critic is made to reject every round with one extra check that always fails (a fault no reflection round
can fix), added in the CLI's own process by a small launcher; no reflection rounds keep the run short.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT, CliResult

pytestmark = pytest.mark.slow

# the `ragvid` entry point, with a check appended to the Critic's list that fails on every draft
LAUNCHER = """
import agents.critic as critic
from agents.models import Finding


def check_always(d):
    yield Finding(check="always", severity="major", agent="effect", message="a fault no round fixes",
                  measured=1.25, expected="<= 1.0", shot_id=d.visual.segments[0].shot_id)


critic.CHECKS = (*critic.CHECKS, critic.Check("always", check_always))

from ragvid.cli import main

main()
"""
OPEN = "always (shot s0): measured 1.25, expected <= 1.0"


def generate_rejected(home: Path, out: Path, *extra: str) -> CliResult:
    env = {**os.environ, "RAGVID_HOME": str(home), "RAGVID_PROFILE": "fast", "RAGVID_MAX_REFLECTIONS": "0"}
    args = ["generate", str(EXAMPLES / "coffee.json"), "-o", str(out), *extra]
    proc = subprocess.run([sys.executable, "-c", LAUNCHER, *args], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=600, check=False)  # fmt: skip
    return CliResult(proc.returncode, proc.stdout, proc.stderr)


def test_a_rejected_run_writes_the_video_and_exits_3(ragvid_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "rejected.mp4"
    res = generate_rejected(ragvid_home, out)
    assert res.code == 3, res.stderr[-3000:]
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("rejected: ") and OPEN in lines[-1], lines[-1]
    assert lines[-2].startswith(f"wrote {out} "), lines[-2]  # the best round is delivered all the same
    assert out.is_file() and out.stat().st_size > 0
    # the progress line of the Critic names the finding's shot and measured value, not just the check
    assert any(ln.startswith("[") and "critic r0:" in ln and OPEN in ln for ln in lines), res.stderr
    record = json.loads(out.with_suffix(".run.json").read_text())
    assert record["accepted"] is False and record["final"]["accepted"] is False
    opened = [(f["check"], f["shot_id"], f["measured"]) for f in record["open_findings"]]
    assert ("always", "s0", 1.25) in opened
    assert record["final"]["open_findings"] == record["open_findings"]
    assert all(f["severity"] in ("major", "critical") for f in record["open_findings"])


def test_accept_rejected_exits_0_and_keeps_the_warning(ragvid_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "taken.mp4"
    res = generate_rejected(ragvid_home, out, "--accept-rejected", "-q")
    assert res.code == 0, res.stderr[-3000:]
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert lines[-1].startswith("rejected: ") and OPEN in lines[-1], res.stderr
    assert out.is_file()
    assert json.loads(out.with_suffix(".run.json").read_text())["accepted"] is False
