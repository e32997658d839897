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

from agents.brief import Brief
from agents.models import AudioPlan, EffectPlan
from graphs.context import default_context
from graphs.state import GenerateRequest, VGAState, require
from graphs.vga import build_vga_graph
from rag_recsys.sidfile import load_sid_file

BLOCKLIST = ("guaranteed", "miracle", "cure", "risk-free")


async def brand_safety(state: VGAState) -> dict[str, Any]:
    audio = require(state, "audio", AudioPlan)
    effect = require(state, "effect", EffectPlan)
    texts = [ln.text for ln in audio.lines] + [o.text for o in effect.overlays] + [effect.cta.text]
    flagged = [t for t in texts if any(word in t.lower() for word in BLOCKLIST)]
    verdict = {
        "node": "brand_safety",
        "message": "flagged" if flagged else "clean",
        "flagged": flagged,
        "checked": len(texts),
    }
    return {"events": [verdict]}


async def run(sid_file: Path, out: Path) -> VGAState:
    """Build the VGA graph with `brand_safety` before the draft render, run it, return the final state."""
    ctx = default_context()
    graph = build_vga_graph(before_draft=[("brand_safety", brand_safety)]).compile()
    brief = Brief.from_loaded(load_sid_file(sid_file, ctx.tokenizer), aspect="9:16", duration=None)
    request = GenerateRequest(sid_file=str(sid_file.resolve()), out=str(out.resolve()), run_id="custom")
    state = await graph.ainvoke(
        {"request": request.model_dump(), "brief": [brief.model_dump(mode="json")]}, context=ctx
    )
    return cast(VGAState, state)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sid_file", type=Path)
    parser.add_argument("-o", "--out", type=Path, default=Path("custom.mp4"))
    args = parser.parse_args()
    state = await run(args.sid_file, args.out)
    safety = [e for e in state["events"] if e.get("node") == "brand_safety"]
    print(
        f"wrote {state['final'][-1]['path']}; brand safety: {safety[-1]['message']} "
        f"({safety[-1]['checked']} texts checked, {len(safety)} rounds)"
    )


if __name__ == "__main__":
    asyncio.run(main())
