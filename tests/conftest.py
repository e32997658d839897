"""Shared fixtures: one ragvid home per test session (its tool cache is shared, as a user's is),
a CLI runner in a subprocess (the real entry point, exit codes and stderr), and the demo render."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from ragvid.settings import Settings
from tests.llm_server_fixture import smollm2_server  # noqa: F401  (a session fixture for every test)
from tools.protocols import Capabilities
from tools.vocabulary import CAMERA_MOTIONS, MUSIC_MOODS, TRANSITIONS

ROOT = Path(__file__).resolve().parents[1]
EXAMPLES = ROOT / "examples" / "sids"
# what the default offline tools support: every transition, camera motion and mood
ALL_CAPABILITIES = Capabilities(transitions=frozenset(TRANSITIONS), camera_motions=frozenset(CAMERA_MOTIONS),
                                moods=frozenset(MUSIC_MOODS), composer="ffmpeg", video="offline", music="procedural")

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
    """``ragvid ARGS`` in a subprocess with the session's home and the fast render profile (``env`` adds or
    overrides variables; ``--profile full`` where full resolution is what a test measures)."""

    def run(*args: str, timeout: float = 600, env: dict[str, str] | None = None) -> CliResult:
        full_env = {**os.environ, "RAGVID_HOME": str(ragvid_home), "RAGVID_PROFILE": "fast", **(env or {})}
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


def render(run_cli, sid: Path, out: Path, *extra: str, env: dict[str, str] | None = None,  # type: ignore[no-untyped-def]
           quiet: bool = True) -> Rendered:  # fmt: skip
    """``ragvid generate SID -o OUT`` (``-q`` unless ``quiet`` is False: then stderr has the progress lines),
    asserted to exit 0, with the run record it wrote."""
    res = run_cli("generate", str(sid), "-o", str(out), *(["-q"] if quiet else []), *extra, env=env)
    assert res.code == 0, f"generate failed ({res.code}): {res.stderr[-2000:]}"
    record = json.loads(out.with_suffix(".run.json").read_text())
    return Rendered(out, record, res)


@pytest.fixture(scope="session")
def demo(run_cli, tmp_path_factory: pytest.TempPathFactory) -> Rendered:  # type: ignore[no-untyped-def]
    """The README's demo: examples/sids/coffee.json on the embedded defaults, at full resolution."""
    out = tmp_path_factory.mktemp("demo") / "demo.mp4"
    return render(run_cli, EXAMPLES / "coffee.json", out, "--profile", "full")


@pytest.fixture(scope="session")
def fast_example(run_cli, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """``fast_example("coffee")``: examples/sids/coffee.json rendered once per session at the fast profile with
    the rule policy (accepted or not), shared by the tests that measure a finished render."""
    done: dict[str, Rendered] = {}

    def get(name: str) -> Rendered:
        if name not in done:
            out = tmp_path_factory.mktemp(f"fast-{name}") / f"{name}.mp4"
            done[name] = render(run_cli, EXAMPLES / f"{name}.json", out, "--llm", "rule", "--accept-rejected")
        return done[name]

    return get


def load_example(name: str) -> ModuleType:
    """``examples/<name>.py`` as a module (the examples are scripts, not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "examples" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


CATALOGUE_ITEMS = 300


def write_sci300(folder: Path) -> Path:
    """Amazon Scientific cut to its `CATALOGUE_ITEMS` most-seen items and the users with 3+ interactions among
    them, written to `folder` as the data set ``Sci300`` (`ragvid rec train FOLDER`); returns `folder`."""
    from rag_recsys.grm.datasets import dataset_dir

    source = dataset_dir("scientific", Settings().data)
    interactions = json.loads((source / "Scientific.inter.json").read_text())
    texts = json.loads((source / "Scientific.item.json").read_text())
    counts = Counter(str(i) for seq in interactions.values() for i in seq)
    kept = {item for item, _ in counts.most_common(CATALOGUE_ITEMS)}
    users = {u: [str(i) for i in seq if str(i) in kept] for u, seq in interactions.items()}
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "Sci300.inter.json").write_text(json.dumps({u: s for u, s in users.items() if len(s) >= 3}))
    (folder / "Sci300.item.json").write_text(json.dumps({i: texts[i] for i in sorted(kept, key=int)}))
    return folder


@pytest.fixture(scope="session")
def rec_model(run_cli, tmp_path_factory: pytest.TempPathFactory) -> Path:  # type: ignore[no-untyped-def]
    """A GRM trained with `ragvid rec train` on items encoded by the shipped tokenizer: Amazon Scientific cut
    to its 300 most-seen items (all of its 4,344 texts take MiniLM ~7 min to encode on two cores; these
    take seconds) and the users with 3+ interactions among them. Trained for seconds: good enough to rank
    real items by history, not a benchmark (that is bench/grm.py)."""
    folder = write_sci300(tmp_path_factory.mktemp("sci300"))
    model = folder / "model"
    res = run_cli("rec", "train", str(folder), "--out", str(model), "--preset", "tiny", "--epochs", "6",
                  "--eval-every", "3", "-q")
    assert res.code == 0, res.stderr[-2000:]
    return model


RUN_ID_LINE = r"run (\d{8}-\d{6}-[0-9a-f]+)"


def kill_during_first_draft(args: list[str], env: dict[str, str], run_pattern: str = RUN_ID_LINE) -> str:
    """Run ``ragvid ARGS``, SIGKILL it in the middle of its first draft render (a crash), return its run id (the
    first group of `run_pattern` on a progress line: a worker's runs are named by their job ids)."""
    proc = subprocess.Popen([sys.executable, "-m", "ragvid.cli", *args], stderr=subprocess.PIPE, text=True, env=env,
                            cwd=ROOT)
    assert proc.stderr is not None
    run_id = None
    for line in proc.stderr:
        if m := re.search(run_pattern, line):
            run_id = m.group(1)
        if "draft_render r0: draft" in line and "rendered" not in line:
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=60)
    assert run_id is not None and proc.returncode == -signal.SIGKILL, proc.returncode
    return run_id


def resume_run(run_id: str, env: dict[str, str]) -> None:
    res = subprocess.run([sys.executable, "-m", "ragvid.cli", "generate", "--resume", run_id, "-q"],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=600, check=False)
    assert res.returncode == 0, res.stderr


def audio_takes(home: Path) -> dict[str, int]:
    """Each WAV in a home's tool cache (voice takes and music) and its modification time."""
    return {p.name: p.stat().st_mtime_ns for p in (home / "cache").rglob("*.wav")}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_serve(port: int, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    """`ragvid serve --port PORT ARGS` in a subprocess, returned once ``/healthz`` answers."""
    import httpx

    proc = subprocess.Popen([sys.executable, "-m", "ragvid.cli", "serve", "--port", str(port), *args], cwd=ROOT,
                            env=env, text=True)  # fmt: skip
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return proc
        except httpx.TransportError:
            assert proc.poll() is None and time.monotonic() < deadline, "ragvid serve did not start"
            time.sleep(0.3)
