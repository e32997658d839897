"""Shared fixtures: one ragvid home per test session (its tool cache is shared, as a user's is),
a CLI runner in a subprocess (the real entry point, exit codes and stderr), and the demo render."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.llm_server_fixture import smollm2_server  # noqa: F401  (a session fixture for every test)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "sids"

os.environ.setdefault("HF_HUB_OFFLINE", "1")


@dataclass
class CliResult:
    code: int
    stdout: str
    stderr: str


@pytest.fixture(scope="session")
def ragvid_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ragvid-home")


@pytest.fixture(scope="session")
def run_cli(ragvid_home: Path):  # type: ignore[no-untyped-def]
    def run(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> CliResult:
        full_env = {**os.environ, "RAGVID_HOME": str(ragvid_home), **(env or {})}
        proc = subprocess.run(
            [sys.executable, "-m", "ragvid.cli", *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
            cwd=ROOT,
            check=False,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    return run


@dataclass
class Rendered:
    video: Path
    record: dict[str, Any]
    cli: CliResult


def render(run_cli, sid: Path, out: Path, *extra: str) -> Rendered:  # type: ignore[no-untyped-def]
    res = run_cli("generate", str(sid), "-o", str(out), "-q", *extra)
    assert res.code == 0, f"generate failed ({res.code}): {res.stderr[-2000:]}"
    record = json.loads(out.with_suffix(".run.json").read_text())
    return Rendered(out, record, res)


@pytest.fixture(scope="session")
def demo(run_cli, tmp_path_factory: pytest.TempPathFactory) -> Rendered:  # type: ignore[no-untyped-def]
    """The README's demo: examples/sids/coffee.json on the embedded defaults."""
    out = tmp_path_factory.mktemp("demo") / "demo.mp4"
    return render(run_cli, EXAMPLES / "coffee.json", out)
