"""Graph state: entries are JSON in the state and their models on read — a malformed entry is an error
naming its channel and field, never a node working on half a plan — and a checkpoint written by another
state version is refused on resume with a clear line, not resumed wrongly."""

from __future__ import annotations

from pathlib import Path

import pytest

from agents.models import Critique, Finding
from agents.policy import LLMCall
from graphs.checkpoint import sqlite_checkpointer
from graphs.state import (
    CHANNELS,
    CRITIQUES,
    EVENTS,
    STATE_VERSION,
    AgentEntry,
    GenerateRequest,
    ProgressEvent,
    StateError,
    updates,
)
from ragvid.generate import resume_run, run_config
from ragvid.settings import Settings
from tests.conftest import EXAMPLES
from tools.errors import InputError


def test_entries_are_json_in_the_state_and_models_on_read() -> None:
    event = ProgressEvent(node="visual", message="storyboard", round=0)
    update = EVENTS.update(event)
    assert update == {"events": [event.model_dump(mode="json")]} and isinstance(update["events"][0], dict)
    (read,) = EVENTS.all(update)  # type: ignore[arg-type]
    assert read == event and EVENTS.require(update) == event  # type: ignore[arg-type]
    merged = updates(EVENTS.update(event), EVENTS.update(event))
    assert len(merged["events"]) == 2


def test_a_malformed_entry_names_its_channel_and_field() -> None:
    critique = Critique(round=0, findings=[Finding(check="loudness", severity="major", agent="audio", message="m",
                                                   measured=-16.0, expected="-14")], measurements={})  # fmt: skip
    entry = AgentEntry[Critique](round=0, policy="rule", sources={}, output=critique,
                                 llm=LLMCall(prompt_tokens=1, completion_tokens=1, cached_prompt_tokens=None,
                                             answer_tokens=1, attempts=1, seconds=0.1, valid=True))  # fmt: skip
    raw = entry.model_dump(mode="json")
    raw["output"]["findings"][0]["severity"] = "fatal"  # what a custom node (or an old checkpoint) might hold
    with pytest.raises(StateError) as info:
        CRITIQUES.all({"critiques": [raw]})  # type: ignore[typeddict-item]
    message = str(info.value)
    assert "critiques[0]" in message and "output.findings[0].severity" in message and "\n" not in message


def test_every_channel_is_a_list_of_one_model() -> None:
    from graphs.state import VGAState

    names = {c.name for c in CHANNELS}
    assert names == set(VGAState.__annotations__) - {"request"}
    assert all(c.latest({}) is None for c in CHANNELS)  # type: ignore[arg-type]
    with pytest.raises(StateError, match="has no 'final' yet"):
        next(c for c in CHANNELS if c.name == "final").require({})  # type: ignore[arg-type]


def test_a_request_is_checked_field_by_field() -> None:
    with pytest.raises(InputError, match=r"^request: give exactly one of sid_file .* and sid"):
        GenerateRequest.parse({"out": "x.mp4"})
    with pytest.raises(InputError, match=r"^request\.aspect: Input should be '9:16', '16:9' or '1:1'"):
        GenerateRequest.parse({"sid_file": "a.json", "out": "x.mp4", "aspect": "4:3"})
    with pytest.raises(InputError, match=r"^request\.out: 'x\.avi' must end in \.mp4"):
        GenerateRequest.parse({"sid_file": "a.json", "out": "x.avi"})
    request = GenerateRequest.parse({"sid_file": str(EXAMPLES / "coffee.json"), "out": "x.mp4"})
    assert request.run_id and request.graph == "vga" and request.aspect == "9:16"


async def test_a_checkpoint_of_another_state_version_is_refused(tmp_path: Path) -> None:
    from langgraph.checkpoint.base import empty_checkpoint

    request = GenerateRequest(sid_file=str(EXAMPLES / "coffee.json"), out=str(tmp_path / "x.mp4"), run_id="old")
    async with sqlite_checkpointer(tmp_path) as saver:
        checkpoint = empty_checkpoint()
        checkpoint["channel_values"] = {"request": request.model_dump(mode="json")}
        # what a ragvid before the typed state wrote: no state version in the metadata
        await saver.aput({"configurable": {"thread_id": "old", "checkpoint_ns": ""}}, checkpoint,
                         {"source": "loop", "step": 3}, {})  # fmt: skip
        with pytest.raises(InputError, match=rf"--resume: run 'old' was checkpointed by another ragvid version "
                                             rf"\(state version 1, this is {STATE_VERSION}\)"):  # fmt: skip
            await resume_run(saver, "old", tmp_path / "checkpoints.sqlite")
        with pytest.raises(InputError, match="--resume: no run 'nope'"):
            await resume_run(saver, "nope", tmp_path / "checkpoints.sqlite")
        current = run_config("new", Settings(profile="fast", max_reflections=1))
        checkpoint["channel_values"] = {"request": request.model_copy(update={"run_id": "new"}).model_dump(mode="json")}
        await saver.aput({"configurable": {**current["configurable"], "checkpoint_ns": ""}}, checkpoint,
                         {"source": "loop", "step": 3, **current["metadata"]}, {})  # fmt: skip
        resumed = await resume_run(saver, "new", tmp_path / "checkpoints.sqlite")
        assert resumed.request.run_id == "new"
        assert resumed.settings["profile"] == "fast" and resumed.settings["max_reflections"] == 1  # as it started
        checkpoint["channel_values"]["final"] = [{"path": "x.mp4"}]
        await saver.aput({"configurable": {**current["configurable"], "checkpoint_ns": ""}}, checkpoint,
                         {"source": "loop", "step": 4, **current["metadata"]}, {})  # fmt: skip
        with pytest.raises(InputError, match="--resume: run 'new' already finished: "):
            await resume_run(saver, "new", tmp_path / "checkpoints.sqlite")
