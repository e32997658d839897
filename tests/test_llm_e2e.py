"""The LLM policy end to end on a real OpenAI-compatible server (the shipped SmolLM2-135M under
llama-cpp-python): one `auto` render whose every agent is asked, and one demanded endpoint that fails.

No fake LLM here: the policy's answers, repairs, fallbacks and token counts all come from the server. The
failure matrix (down, wrong model, schema violations, timeout, context full; under `auto` and demanded)
runs in seconds against a scripted endpoint: tests/test_agents.py and tests/test_policy_select.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ragvid.llm_server import SmolLM2Server
from tests.conftest import render
from tests.vga_run import short_copy
from tools.probe import probe

pytestmark = pytest.mark.slow

AGENTS = ("instructions", "visual", "audio", "effect")


def entries(record: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {"instructions": [record["instructions"]]}
    for agent in ("visual", "audio", "effect", "critique"):
        out[agent] = [rd[agent] for rd in record["rounds"] if rd.get(agent)]
    return out


def test_auto_asks_the_model_for_every_agent(run_cli, smollm2_server: SmolLM2Server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sid = tmp_path / "short.json"
    sid.write_text(json.dumps(short_copy()))
    env = {"RAGVID_LLM_URL": smollm2_server.base_url, "RAGVID_MAX_REFLECTIONS": "0"}
    # with no reflection round the Critic may reject what the 135M model planned (it samples: a "static"
    # camera on a photo is a frozen picture); this test is about who was asked, so a rejected draft is kept
    done = render(run_cli, sid, tmp_path / "llm.mp4", "--duration", "12", "--accept-rejected", env=env)
    assert done.record["inputs"]["policy"] == "llm"
    assert done.record["final"]["accepted"] == (done.record["final"]["open_findings"] == [])
    info = probe(done.video)
    assert info.video is not None and 11.5 <= info.duration <= 12.5
    by_agent = entries(done.record)
    notes: list[str] = []
    for agent in AGENTS:
        for entry in by_agent[agent]:
            assert entry["policy"] == "llm"
            assert set(entry["sources"].values()) <= {"llm", "rule"}
            notes += entry["notes"]
        first = by_agent[agent][0]["llm"]
        assert first["prompt_tokens"] > 0 and first["completion_tokens"] > 0
        assert any(s == "llm" for e in by_agent[agent] for s in e["sources"].values()), (agent, by_agent[agent])
    # the 135M model's weak output is rejected field by field, each rejection with its reason
    fallbacks = [n for n in notes if n.startswith("fallback to rule: ")]
    assert fallbacks and all(": " in n[len("fallback to rule: ") :] for n in fallbacks)
    # the conversation keeps each model answer as the server wrote it (JSON), so the next call extends it
    asked = [e for v in by_agent.values() for e in v if e.get("llm")]
    answers = [m for m in done.record["conversation"] if m["role"] == "assistant"]
    assert len(answers) == sum(len(v) for v in by_agent.values()) >= len(asked)
    parsed = [_json_or_none(m["content"]) for m in answers]
    # the 135M model samples: now and then a reply is cut at the token limit, and is kept as written too
    assert all(p is None or isinstance(p, dict) for p in parsed)
    assert sum(isinstance(p, dict) for p in parsed) * 2 >= len(parsed), [m["content"][-80:] for m in answers]


def _json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def test_demanded_endpoint_without_the_model_exits_2(run_cli, smollm2_server: SmolLM2Server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    res = run_cli("generate", str(tmp_path / "nope.json"), "-o", str(tmp_path / "x.mp4"), "-q", "--llm",
                  smollm2_server.base_url, "--llm-model", "no-such-model")  # fmt: skip
    # bad input is found first: the SID file, before any model server is asked
    assert res.code == 2 and "nope.json: file: not found" in res.stderr
    sid = tmp_path / "short.json"
    sid.write_text(json.dumps(short_copy()))
    res = run_cli("generate", str(sid), "-o", str(tmp_path / "x.mp4"), "-q", "--llm", smollm2_server.base_url,
                  "--llm-model", "no-such-model")  # fmt: skip
    lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert res.code == 2 and len(lines) == 1, res.stderr
    assert lines[0].startswith("error: --llm: ") and "'no-such-model' is not served" in lines[0]
    assert smollm2_server.model in lines[0]  # it says what is served
    assert not (tmp_path / "x.mp4").exists()
