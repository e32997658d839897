"""Every Python block of the README runs as pasted: from the repository's examples, with a fresh
RAGVID_HOME (the trained model of the session as its default model folder) and the fast render profile."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.slow

BLOCKS = re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(encoding="utf-8"), re.S)


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs_as_pasted(index: int, rec_model: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "models").mkdir(parents=True)
    (home / "models" / "default").symlink_to(rec_model, target_is_directory=True)
    (tmp_path / "examples").symlink_to(ROOT / "examples", target_is_directory=True)
    script = tmp_path / f"block{index}.py"
    script.write_text(BLOCKS[index], encoding="utf-8")
    env = {**os.environ, "RAGVID_HOME": str(home), "RAGVID_PROFILE": "fast", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600, check=False)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    written = sorted(p.name for p in (tmp_path / "out").glob("*.mp4") if p.stat().st_size > 0)
    printed = proc.stdout.strip().splitlines()
    assert written and len(printed) == len(written), proc.stdout
    assert all(any(name in line for line in printed) for name in written), proc.stdout
