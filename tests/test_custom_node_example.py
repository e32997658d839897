"""examples/custom_node.py: the VGA graph composed in Python with a brand-safety node before the draft
render runs to a finished video, and the node's verdicts are in the final state (one per round)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from graphs.state import AUDIO, DRAFTS, EFFECT, EVENTS, FINAL
from ragvid.settings import Settings
from tests.conftest import EXAMPLES, load_example
from tools.probe import probe

pytestmark = pytest.mark.slow


async def test_custom_node_runs_in_the_graph(ragvid_home: Path, tmp_path: Path) -> None:
    example = load_example("custom_node")
    out = tmp_path / "custom.mp4"
    state = await example.run(EXAMPLES / "skincare.json", out, Settings(home=ragvid_home, profile="fast"))
    verdicts = [e.model_dump() for e in EVENTS.all(state) if e.node == "brand_safety"]
    assert verdicts and len(verdicts) == len(DRAFTS.all(state))  # it ran before every draft render
    audio, effect = AUDIO.require(state).output, EFFECT.require(state).output
    texts = [ln.text for ln in audio.lines] + [o.text for o in effect.overlays] + [effect.cta.text]
    assert verdicts[-1]["checked"] == len(texts)
    assert verdicts[-1]["message"] == "clean" and verdicts[-1]["flagged"] == []
    info = probe(Path(FINAL.require(state).path))
    assert info.video is not None and info.duration == pytest.approx(12.0, abs=0.1)
    # and the same node on that state with one line rewritten flags exactly that line
    bad = copy.deepcopy(dict(state))
    bad["audio"][-1]["output"]["lines"][1]["text"] = "Guaranteed miracle results overnight."
    verdict = (await example.brand_safety(bad))["events"][0]
    assert verdict["message"] == "flagged" and verdict["flagged"] == ["Guaranteed miracle results overnight."]
