"""LangGraph Studio: `langgraph dev` serves the VGA and RaG graphs offline, and runs started through its
API stream the nodes' progress (custom stream mode) and end with the final render in the state.

The server runs as a real subprocess (the same CLI a user starts) on 127.0.0.1 with a free port, its
own RAGVID_HOME, the CLI's analytics, the server's version check and LangSmith tracing switched off,
no browser and no reloader. It runs from a scratch folder with a copy of the repo's `langgraph.json`
whose relative paths are made absolute, so the dev server's `.langgraph_api/` store lands there and
not in the checkout.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import EXAMPLES, ROOT

pytestmark = pytest.mark.slow

langgraph_sdk = pytest.importorskip("langgraph_sdk")
pytest.importorskip("langgraph_api", reason="needs `pip install 'langgraph-cli[inmem]'`")

# every node that reports progress; load_sid included (it decodes the SID file in the run)
PROGRESS_NODES = {"load_sid", "instruction", "visual", "audio", "effect", "draft_render", "critic", "final_render"}
OFFLINE_ENV = {
    "LANGGRAPH_CLI_NO_ANALYTICS": "1",  # the CLI's usage ping (read before langgraph.json)
    "LANGSMITH_TRACING": "false",
    "LANGSMITH_TRACING_V2": "false",
    "LANGCHAIN_TRACING_V2": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
}
STARTUP_S = 90.0
RUN_S = 240.0


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _scratch_config(folder: Path) -> Path:
    """The repo's langgraph.json with its relative paths made absolute (`langgraph dev` resolves them
    against the working directory, not the config file)."""
    config = json.loads((ROOT / "langgraph.json").read_text())

    def absolute(p: str) -> str:
        return str((ROOT / p).resolve()) if p.startswith(".") else p

    config["dependencies"] = [absolute(d) for d in config.get("dependencies", [])]
    graphs = {}
    for graph_id, spec in config["graphs"].items():
        path, _, variable = spec.rpartition(":")
        graphs[graph_id] = f"{absolute(path)}:{variable}" if "/" in path else spec
    config["graphs"] = graphs
    out = folder / "langgraph.json"
    out.write_text(json.dumps(config, indent=2))
    return out


def test_langgraph_json_serves_vga_offline() -> None:
    config = json.loads((ROOT / "langgraph.json").read_text())
    assert config["graphs"] == {"vga": "./ragvid/studio.py:vga", "rag": "./ragvid/studio.py:rag"}
    # the server's PyPI version check; set in the config so a plain `langgraph dev` skips it too
    assert config["env"]["LANGGRAPH_NO_VERSION_CHECK"] == "true"


@dataclass
class DevServer:
    url: str
    home: Path
    log: Path

    def tail(self, n: int = 4000) -> str:
        return self.log.read_text(errors="replace")[-n:] if self.log.exists() else "(no log)"


@pytest.fixture(scope="module")
def dev_server(tmp_path_factory: pytest.TempPathFactory, rec_model: Path) -> Iterator[DevServer]:
    scratch = tmp_path_factory.mktemp("studio")
    home = scratch / "home"
    home.mkdir()
    config = _scratch_config(scratch)
    port = _free_port()
    log = scratch / "server.log"
    cli = Path(sys.executable).with_name("langgraph")
    cmd = [
        str(cli) if cli.exists() else "langgraph",
        "dev",
        "--config",
        str(config),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--no-browser",
        "--no-reload",
        # the nodes do file and subprocess I/O on the event loop; without this the dev server's
        # blockbuster aborts the run at the first call (docs/studio.md)
        "--allow-blocking",
    ]
    env = {**os.environ, **OFFLINE_ENV, "RAGVID_HOME": str(home), "RAGVID_MODEL": str(rec_model),
           "RAGVID_PROFILE": "fast"}  # fmt: skip
    for key in ("LANGSMITH_API_KEY", "LANGCHAIN_API_KEY", "LANGGRAPH_CLOUD_LICENSE_KEY"):
        env.pop(key, None)
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            cmd, cwd=scratch, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = DevServer(url=f"http://127.0.0.1:{port}", home=home, log=log)
    try:
        deadline = time.monotonic() + STARTUP_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"langgraph dev exited with {proc.returncode}:\n{server.tail()}")
            try:
                if httpx.get(f"{server.url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"langgraph dev not up after {STARTUP_S:.0f}s:\n{server.tail()}")
            time.sleep(0.5)
        yield server
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the server and any render it started (its own group)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def test_dev_server_lists_the_vga_graph(dev_server: DevServer) -> None:
    info = httpx.get(f"{dev_server.url}/info", timeout=10)
    assert info.status_code == 200, info.text
    client = langgraph_sdk.get_sync_client(url=dev_server.url)
    assistants = client.assistants.search(graph_id="vga")
    assert [a["graph_id"] for a in assistants] == ["vga"], dev_server.tail()
    graph = client.assistants.get_graph(assistants[0]["assistant_id"])
    nodes = {n["id"] for n in graph["nodes"]}
    assert nodes >= PROGRESS_NODES, nodes


@pytest.mark.timeout(RUN_S + STARTUP_S + 30)
def test_run_streams_progress_and_final_state(dev_server: DevServer, tmp_path: Path) -> None:
    client = langgraph_sdk.get_sync_client(url=dev_server.url, timeout=httpx.Timeout(RUN_S, connect=10))
    (assistant,) = client.assistants.search(graph_id="vga")
    # Studio's form: the request with its fields, the SID's JSON inline among them
    schema = client.assistants.get_schemas(assistant["assistant_id"])["input_schema"]
    request_schema = schema["$defs"]["GenerateRequest"]["properties"]
    assert {"sid", "sid_file", "out", "aspect", "duration", "run_id"} <= set(request_schema), request_schema
    assert request_schema["aspect"]["enum"] == ["9:16", "16:9", "1:1"]
    thread = client.threads.create()
    out = tmp_path / "studio.mp4"
    sid = json.loads((EXAMPLES / "coffee.json").read_text())
    sid["meta"]["images"] = [str((EXAMPLES / i).resolve()) for i in sid["meta"]["images"]]
    request = {"sid": sid, "out": str(out), "aspect": "9:16", "duration": 12, "run_id": "studio-test"}
    custom: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    other: list[tuple[str, Any]] = []
    t0 = time.monotonic()
    for part in client.runs.stream(
        thread["thread_id"],
        assistant["assistant_id"],
        input={"request": request},
        stream_mode=["custom", "values"],
    ):
        if part.event == "custom":
            custom.append(part.data)
        elif part.event == "values":
            values.append(part.data)
        else:
            other.append((part.event, part.data))
        assert time.monotonic() - t0 < RUN_S, "run took too long"
    errors = [data for event, data in other if event == "error"]
    assert not errors, f"run failed: {errors}\n{dev_server.tail()}"

    seen = {ev["node"] for ev in custom}
    assert seen >= PROGRESS_NODES, f"no progress from {sorted(PROGRESS_NODES - seen)}; got {custom}"
    assert all(isinstance(ev.get("message"), str) and ev["message"] for ev in custom)
    # progress arrives as the run goes, in node order: the first event is load_sid, the last final_render
    assert custom[0]["node"] == "load_sid" and custom[-1]["node"] == "final_render"

    assert values, "no state streamed"
    state = values[-1]
    assert state["final"], "final state has no final render"
    final = state["final"][-1]
    assert Path(final["path"]) == out and out.is_file() and out.stat().st_size > 0
    assert final["duration"] > 0
    assert state["critiques"] and state["drafts"]
    # the run wrote into the server's RAGVID_HOME (the offline default context), not the user's
    assert (dev_server.home / "runs" / "studio-test").is_dir()
    assert state["brief"][-1]["sid_file"] is None and state["brief"][-1]["content_path"] == sid["content"]

    # the thread keeps the final state (the dev server's checkpointer)
    kept = client.threads.get_state(thread["thread_id"])
    assert kept["values"]["final"][-1]["path"] == str(out)


def test_a_malformed_inline_sid_is_one_line_naming_the_field(dev_server: DevServer, tmp_path: Path) -> None:
    client = langgraph_sdk.get_sync_client(url=dev_server.url, timeout=httpx.Timeout(60, connect=10))
    (assistant,) = client.assistants.search(graph_id="vga")
    sid = json.loads((EXAMPLES / "coffee.json").read_text())
    sid["content"] = [82, -1, 7]
    errors = [part.data for part in client.runs.stream(
        client.threads.create()["thread_id"], assistant["assistant_id"],
        input={"request": {"sid": sid, "out": str(tmp_path / "x.mp4")}}, stream_mode=["values"],
    ) if part.event == "error"]  # fmt: skip
    assert errors, dev_server.tail()
    message = errors[0]["message"]
    assert "request.sid.content[1]: codes are non-negative integers, got -1" in message and "\n" not in message


def test_dev_server_lists_the_rag_graph(dev_server: DevServer) -> None:
    client = langgraph_sdk.get_sync_client(url=dev_server.url)
    (assistant,) = client.assistants.search(graph_id="rag")
    nodes = {n["id"] for n in client.assistants.get_graph(assistant["assistant_id"])["nodes"]}
    assert {"recommend", "vga"} <= nodes, nodes
    inner = {n["id"] for n in client.assistants.get_graph(assistant["assistant_id"], xray=True)["nodes"]}
    assert {f"vga:{n}" for n in PROGRESS_NODES} <= inner, inner  # the VGA subgraph expands in Studio


@pytest.mark.timeout(RUN_S + STARTUP_S + 30)
def test_rag_run_streams_from_inside_its_subgraph(dev_server: DevServer, tmp_path: Path) -> None:
    client = langgraph_sdk.get_sync_client(url=dev_server.url, timeout=httpx.Timeout(RUN_S, connect=10))
    (assistant,) = client.assistants.search(graph_id="rag")
    thread = client.threads.create()
    out = tmp_path / "rag.mp4"
    request = {"out": str(out), "duration": 8, "run_id": "studio-rag"}
    user = json.loads((EXAMPLES.parent / "users" / "lab_tech.json").read_text())
    custom: list[dict[str, Any]] = []
    values: list[dict[str, Any]] = []
    errors: list[Any] = []
    for part in client.runs.stream(thread["thread_id"], assistant["assistant_id"],
                                   input={"request": request, "user": user},
                                   stream_mode=["custom", "values"], stream_subgraphs=True):
        if part.event.startswith("custom"):  # "custom|vga:<task id>" from inside the subgraph
            custom.append(part.data)
        elif part.event == "values":
            values.append(part.data)
        elif part.event == "error":
            errors.append(part.data)
    assert not errors, f"run failed: {errors}\n{dev_server.tail()}"
    seen = [ev["node"] for ev in custom]
    assert seen[0] == "recommend" and set(seen) >= PROGRESS_NODES | {"recommend"}, seen
    state = values[-1]
    picked = state["recommendations"][-1]
    assert state["request"]["sid_file"] == picked["sid_file"]
    assert state["brief"][-1]["content_path"] == picked["ranked"][picked["chosen"]]["content"]
    assert Path(state["final"][-1]["path"]) == out and 6.5 <= state["final"][-1]["duration"] <= 9.5
