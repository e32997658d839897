"""A run killed mid-render resumes from its SQLite checkpoint without redoing finished tool work."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, ROOT
from tools.probe import probe

pytestmark = pytest.mark.slow


def test_killed_run_resumes_from_checkpoint(tmp_path: Path) -> None:
    home = tmp_path / "home"  # a cold cache of its own, so "cached" below means cached by this run
    env = {**os.environ, "RAGVID_HOME": str(home)}
    out = tmp_path / "resumed.mp4"
    proc = subprocess.Popen(
        [sys.executable, "-m", "ragvid.cli", "generate", str(EXAMPLES / "coffee.json"), "-o", str(out)],
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert proc.stderr is not None
    run_id = None
    for line in proc.stderr:
        if m := re.search(r"run (\d{8}-\d{6}-[0-9a-f]+)", line):
            run_id = m.group(1)
        if "draft_render r0: draft" in line and "rendered" not in line:
            proc.send_signal(signal.SIGKILL)  # a crash in the middle of the first draft render
            break
    proc.wait(timeout=60)
    assert run_id is not None and proc.returncode == -signal.SIGKILL
    assert not out.exists()

    res = subprocess.run(
        [sys.executable, "-m", "ragvid.cli", "generate", "--resume", run_id, "-q"],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    assert probe(out).duration > 10
    record = json.loads(out.with_suffix(".run.json").read_text())
    calls = record["tool_calls"]
    # the voice lines were synthesized once, before the crash, and not again after it
    speech = Counter((c["round"], c["what"]) for c in calls if c["tool"] == "speech")
    assert speech and max(speech.values()) == 1
    # the pre-crash nodes' outputs are in the resumed record: the run did not start over
    assert record["instructions"]["output"]["shots"]
    assert record["run_id"] == run_id
