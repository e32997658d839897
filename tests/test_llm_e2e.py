"""The LLM policy end to end on a real OpenAI-compatible server (the shipped SmolLM2-135M under
llama-cpp-python), and what each endpoint failure does under `auto` and when the endpoint is demanded.

No fake LLM here: the policy's answers, repairs, fallbacks and token counts all come from the server.
"""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from ragvid.llm_server import SmolLM2Server
from tests.conftest import EXAMPLES, render
from tools.probe import probe

pytestmark = pytest.mark.slow

AGENTS = ("instructions", "visual", "audio", "effect")


def entries(record: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"instructions": [record["instructions"]]}
    for agent in ("visual", "audio", "effect", "critique"):
        out[agent] = [rd[agent] for rd in record["rounds"] if rd.get(agent)]
    return out


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens once the socket is closed


def test_smollm2_decides_fields_of_every_agent(run_cli, tmp_path: Path) -> None:
    done = render(run_cli, EXAMPLES / "coffee.json", tmp_path / "llm.mp4", "--llm", "smollm2")
    info = probe(done.video)
    assert info.video is not None and (info.video.width, info.video.height) == (1080, 1920)
    assert 15.0 <= info.duration <= 30.0
    by_agent = entries(done.record)
    notes: list[str] = []
    for agent in AGENTS:
        for entry in by_agent[agent]:
            assert entry["policy"] == "llm"
            assert set(entry["sources"].values()) <= {"llm", "rule"}
            notes += entry["notes"]
        # round 0 always asks the model (a reflection round may find the small model's context full)
        first = by_agent[agent][0]["llm"]
        assert first["prompt_tokens"] > 0 and first["completion_tokens"] > 0
        assert any(s == "llm" for e in by_agent[agent] for s in e["sources"].values()), (agent, by_agent[agent])
    # the 135M model's weak output is rejected field by field, each rejection with its reason
    fallbacks = [n for n in notes if n.startswith("fallback to rule: ")]
    assert fallbacks and all(": " in n[len("fallback to rule: ") :] for n in fallbacks)
    assert any("cosine" in n or "not a #RRGGBB" in n or "expected" in n for n in fallbacks), notes
    # the conversation keeps each model answer as the server wrote it (JSON), so the next call extends it
    asked = [e for v in by_agent.values() for e in v if e.get("llm")]
    answers = [m for m in done.record["conversation"] if m["role"] == "assistant"]
    assert len(answers) == sum(len(v) for v in by_agent.values())
    assert sum(1 for m in answers if isinstance(json.loads(m["content"]), dict)) == len(answers) >= len(asked)


@pytest.fixture(scope="module")
def failures(smollm2_server: SmolLM2Server) -> dict[str, dict[str, str]]:
    """Each failure as settings: the endpoint, and environment that breaks it."""
    url = smollm2_server.base_url
    return {
        "down": {"RAGVID_LLM_URL": closed_port_url()},
        "wrong_model": {"RAGVID_LLM_URL": url, "RAGVID_LLM_MODEL": "no-such-model"},
        # plain JSON mode: the server no longer holds the model to the schema, and it never meets it
        "schema": {
            "RAGVID_LLM_URL": url,
            "RAGVID_LLM_MODEL": smollm2_server.model,
            "RAGVID_LLM_RESPONSE_FORMAT": "json_object",
        },
        "timeout": {"RAGVID_LLM_URL": url, "RAGVID_LLM_MODEL": smollm2_server.model, "RAGVID_LLM_TIMEOUT": "0.2"},
    }


EXPECTED = {
    "down": "unreachable",
    "wrong_model": "'no-such-model' is not served",
    "schema": "keeps violating the instruction schema",
    "timeout": "no answer within 0.2 s",
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_demanded_endpoint_failure_exits_2(run_cli, tmp_path: Path, failures, kind: str) -> None:
    env = dict(failures[kind])
    url = env.pop("RAGVID_LLM_URL")
    res = run_cli(
        "generate", str(EXAMPLES / "skincare.json"), "-o", str(tmp_path / "x.mp4"), "-q", "--llm", url, env=env
    )
    assert res.code == 2, res.stderr[-1500:]
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and EXPECTED[kind] in lines[0], res.stderr
    assert "Traceback" not in res.stderr
    assert not (tmp_path / "x.mp4").exists()


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_auto_falls_back_to_rule_with_a_message(run_cli, tmp_path: Path, failures, kind: str) -> None:
    out = tmp_path / f"{kind}.mp4"
    res = run_cli("generate", str(EXAMPLES / "skincare.json"), "-o", str(out), "--duration", "15", env=failures[kind])
    assert res.code == 0, res.stderr[-2000:]
    assert EXPECTED[kind] in res.stderr + res.stdout
    record = json.loads(out.with_suffix(".run.json").read_text())
    info = probe(out)
    assert info.video is not None and 13.0 <= info.duration <= 17.0
    warnings = " ".join(record["warnings"])
    assert EXPECTED[kind] in warnings, record["warnings"]
    if kind in ("down", "wrong_model"):  # the endpoint check fails before any agent: the rule decides all
        assert all(e["policy"] == "rule" for v in entries(record).values() for e in v)
    elif kind == "timeout":  # asked once, then the run stops asking a server that cannot keep up
        calls = [e for v in entries(record).values() for e in v if e.get("llm") is None and e["policy"] == "llm"]
        assert calls and all(s == "rule" for e in calls for s in e["sources"].values())
    else:  # the model's answer never met the schema: what validates is kept, the rest is the rule's
        assert any(not e["llm"]["valid"] for v in entries(record).values() for e in v if e.get("llm"))
