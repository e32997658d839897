"""Compose the VGA graph in Python with a custom node: a brand-safety check between the Effect agent
and the draft render. It reads the plans from state and appends its verdict to `events`, so the
verdict shows in Studio, in the checkpoint and in the run record.

    python examples/custom_node.py examples/sids/coffee.json -o /tmp/custom.mp4
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import Any, cast

from graphs.state import AUDIO, EFFECT, EVENTS, FINAL, GenerateRequest, ProgressEvent, VGAState
from graphs.vga import build_vga_graph
from ragvid.settings import Settings

BLOCKLIST = ("guaranteed", "miracle", "cure", "risk-free")


async def brand_safety(state: VGAState) -> dict[str, Any]:
    """A node: reads the latest plans (typed, validated), returns entries to append."""
    audio = AUDIO.require(state).output
    effect = EFFECT.require(state).output
    texts = [ln.text for ln in audio.lines] + [o.text for o in effect.overlays] + [effect.cta.text]
    flagged = [t for t in texts if any(word in t.lower() for word in BLOCKLIST)]
    verdict = ProgressEvent(node="brand_safety", message="flagged" if flagged else "clean", flagged=flagged,
                            checked=len(texts))  # fmt: skip
    return EVENTS.update(verdict)


async def run(sid_file: Path, out: Path, settings: Settings | None = None) -> VGAState:
    """Build the VGA graph with `brand_safety` before the draft render, run it, return the final state."""
    ctx = (settings or Settings()).run_context()  # offline tools, rule policy, RAGVID_* settings
    graph = build_vga_graph(before_draft=[("brand_safety", brand_safety)]).compile()
    request = GenerateRequest(sid_file=str(sid_file.resolve()), out=str(out.resolve()))
    state = await graph.ainvoke({"request": request.model_dump(mode="json")}, context=ctx)
    return cast(VGAState, state)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sid_file", type=Path)
    parser.add_argument("-o", "--out", type=Path, default=Path("custom.mp4"))
    args = parser.parse_args()
    state = await run(args.sid_file, args.out)
    safety = [e for e in EVENTS.all(state) if e.node == "brand_safety"]
    verdict = safety[-1].model_dump()
    print(f"wrote {FINAL.require(state).path}; brand safety: {verdict['message']} "
          f"({verdict['checked']} texts checked, {len(safety)} rounds)")  # fmt: skip


if __name__ == "__main__":
    asyncio.run(main())
