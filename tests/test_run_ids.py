"""Runs started without a run id (from Python through the graph, as Studio starts them) get an id and a run
folder each — their drafts never overwrite each other — and a thread keeps its id when it is resumed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.memory import InMemorySaver

from graphs.state import DRAFTS, FINAL, VGAState
from graphs.vga import build_vga_graph
from ragvid.settings import Settings
from tests.vga_run import short_copy

pytestmark = pytest.mark.slow


async def test_runs_without_a_run_id_get_folders_of_their_own(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ctx = Settings(home=home, profile="fast", max_reflections=0).run_context()
    app = build_vga_graph().compile(checkpointer=InMemorySaver(), interrupt_before=["final_render"])
    sid = short_copy()
    # left out, and blank: both read as "none given"
    requests: list[dict[str, Any]] = [{"sid": sid, "out": str(tmp_path / "a.mp4")},
                                      {"sid": sid, "out": str(tmp_path / "b.mp4"), "run_id": ""}]  # fmt: skip
    states: list[VGAState] = []
    for thread, request in zip(("a", "b"), requests, strict=True):
        config: Any = {"configurable": {"thread_id": thread}}
        await app.ainvoke({"request": request}, config, context=ctx)
        states.append((await app.aget_state(config)).values)
    ids = [s["request"]["run_id"] for s in states]
    assert ids[0] and ids[1] and ids[0] != ids[1]
    drafts = [Path(DRAFTS.require(s).path) for s in states]
    assert [d.parent for d in drafts] == [home / "runs" / i for i in ids]
    assert all(d.is_file() and d.stat().st_size > 0 for d in drafts)  # both survive

    # the first thread, resumed to its final render, stays in its own folder
    config = {"configurable": {"thread_id": "a"}}
    await app.ainvoke(None, config, context=ctx)
    done = (await app.aget_state(config)).values
    assert done["request"]["run_id"] == ids[0]
    assert Path(FINAL.require(done).staged).parent == home / "runs" / ids[0]
    assert drafts[1].is_file()
