"""examples/custom_node.py: the VGA graph composed in Python with a brand-safety node before the draft
render runs to a finished video, and the node's verdicts are in the final state (one per round)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, load_example
from tools.probe import probe

pytestmark = pytest.mark.slow


async def test_custom_node_runs_in_the_graph(
    ragvid_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RAGVID_HOME", str(ragvid_home))
    example = load_example("custom_node")
    out = tmp_path / "custom.mp4"
    state = await example.run(EXAMPLES / "skincare.json", out)
    verdicts = [e for e in state["events"] if e.get("node") == "brand_safety"]
    drafts = state["drafts"]
    assert verdicts and len(verdicts) == len(drafts)  # it ran before every draft render
    audio, effect = state["audio"][-1]["output"], state["effect"][-1]["output"]
    texts = [ln["text"] for ln in audio["lines"]] + [o["text"] for o in effect["overlays"]] + [effect["cta"]["text"]]
    assert verdicts[-1]["checked"] == len(texts)
    assert verdicts[-1]["message"] == "clean" and verdicts[-1]["flagged"] == []
    info = probe(Path(state["final"][-1]["path"]))
    assert info.video is not None and info.duration > 10
    # and the same node on that state with one line rewritten flags exactly that line
    bad = copy.deepcopy(dict(state))
    bad["audio"][-1]["output"]["lines"][1]["text"] = "Guaranteed miracle results overnight."
    verdict = (await example.brand_safety(bad))["events"][0]
    assert verdict["message"] == "flagged" and verdict["flagged"] == ["Guaranteed miracle results overnight."]
