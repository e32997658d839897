"""A run killed mid-render resumes from its SQLite checkpoint without redoing finished tool work."""

from __future__ import annotations

import json
import os
from collections import Counter
from pathlib import Path

import pytest

from tests.conftest import EXAMPLES, audio_takes, kill_during_first_draft, resume_run
from tools.probe import probe

pytestmark = pytest.mark.slow


def test_killed_run_resumes_from_checkpoint(tmp_path: Path) -> None:
    home = tmp_path / "home"  # a cold cache of its own, so "cached" below means cached by this run
    env = {**os.environ, "RAGVID_HOME": str(home)}
    out = tmp_path / "resumed.mp4"
    run_id = kill_during_first_draft(["generate", str(EXAMPLES / "coffee.json"), "-o", str(out), "--profile", "fast"],
                                     env)  # fmt: skip
    assert not out.exists()
    resume_run(run_id, env)  # no --profile: the run continues with the settings it started with
    info = probe(out)
    assert info.duration == pytest.approx(12.0, abs=0.1)
    assert info.video is not None and (info.video.width, info.video.height) == (360, 640)
    record = json.loads(out.with_suffix(".run.json").read_text())
    calls = record["tool_calls"]
    # the voice lines were synthesized once, before the crash, and not again after it
    speech = Counter((c["round"], c["what"]) for c in calls if c["tool"] == "speech")
    assert speech and max(speech.values()) == 1
    # the pre-crash nodes' outputs are in the resumed record: the run did not start over
    assert record["instructions"]["output"]["shots"]
    assert record["run_id"] == run_id


def test_killed_rag_run_resumes_inside_its_vga_subgraph(rec_model: Path, tmp_path: Path) -> None:
    """`ragvid recommend --generate` killed mid-draft: `ragvid generate --resume` continues inside the VGA
    subgraph with the recommendation it had, without asking the recommender again or redoing speech."""
    home = tmp_path / "home"
    env = {**os.environ, "RAGVID_HOME": str(home), "RAGVID_PROFILE": "fast"}
    out = tmp_path / "rag.mp4"
    user = EXAMPLES.parent / "users" / "lab_tech.json"
    run_id = kill_during_first_draft(
        ["recommend", "-u", str(user), "--model", str(rec_model), "--generate", "-o", str(out), "--duration", "10"],
        env,
    )
    handed = json.loads((home / "runs" / run_id / "recommended.sid.json").read_text())
    takes = audio_takes(home)
    assert takes  # the killed run had its voice lines and music before its first draft
    resume_run(run_id, env)
    assert 8.5 <= probe(out).duration <= 11.5
    record = json.loads(out.with_suffix(".run.json").read_text())
    assert record["inputs"]["graph"] == "rag" and record["inputs"]["sid"] == handed
    # nothing is synthesised again. Whether the resume replays the Audio agent from the tool cache or continues
    # after it from its checkpoint depends on whether that checkpoint's write beat the kill (under load it does, and
    # the record keeps the killed run's uncached takes); either way no take is made or rewritten
    assert audio_takes(home) == takes
    assert any(c["tool"] == "speech" and c["node"] == "audio" for c in record["tool_calls"])
    # a resume by id has no recommender (asking one would fail the run): the ranking is the checkpointed one
    assert record["inputs"]["recommendations"]["ranked"][0]["content"] == handed["content"]
