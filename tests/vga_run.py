"""Running the VGA graph in-process for tests: the fast render profile, tools swapped for doubles, stopped
before the final render (what reflection and capability tests measure is in the drafts)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver

from graphs.context import RunContext
from graphs.state import GenerateRequest, VGAState
from graphs.vga import build_vga_graph
from ragvid.settings import Settings
from tests.conftest import EXAMPLES

Tweak = Callable[[RunContext], None]


async def run_rounds(home: Path, out: Path, sid: Path | dict[str, Any], *, tweak: Tweak | None = None,
                     duration: float = 12.0) -> VGAState:  # fmt: skip
    """Round 0 and one reflection round of the VGA graph; the final render is not made."""
    ctx = Settings(home=home, profile="fast", max_reflections=1).run_context()
    if tweak is not None:
        tweak(ctx)
    app = build_vga_graph().compile(checkpointer=InMemorySaver(), interrupt_before=["final_render"])
    source = {"sid_file": str(sid)} if isinstance(sid, Path) else {"sid": sid}
    request = GenerateRequest.model_validate({**source, "out": str(out), "duration": duration})
    config = {"configurable": {"thread_id": "t"}}
    await app.ainvoke({"request": request.model_dump(mode="json")}, config, context=ctx)
    state: VGAState = (await app.aget_state(config)).values
    return state


def short_copy(**meta: Any) -> dict[str, Any]:
    """coffee.json with copy short enough for 12 s (no speech overrun to confound other checks)."""
    sid = json.loads((EXAMPLES / "coffee.json").read_text())
    sid["meta"].update({"images": [str((EXAMPLES / i).resolve()) for i in sid["meta"]["images"]],
                        "selling_points": ["Slow roasted", "Single origin"], **meta})  # fmt: skip
    return sid


class Wrapper:
    """A tool double: the real tool, changed in one way."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = f"{inner.name}-double"
        self.offline = True

    def __getattr__(self, item: str) -> Any:
        return getattr(self.inner, item)


def swap(**tools: Callable[[Any], Any]) -> Callable[[RunContext], None]:
    def tweak(ctx: RunContext) -> None:
        for name, make in tools.items():
            setattr(ctx.toolbox, name, make(getattr(ctx.toolbox, name)))

    return tweak


