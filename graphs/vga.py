"""The VGA graph: load SIDs → instruction model → Visual → Audio → Effect → draft → Critic, with
bounded reflection routed to the agent at fault, then the final render of the best round.

`build_vga_graph()` returns the uncompiled `StateGraph`, so callers compile it with their own
checkpointer; `before_draft` chains extra nodes (checks, rewrites) between the Effect agent and the
draft render — see examples/custom_node.py.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from langgraph.graph import END, START, StateGraph

from graphs import nodes
from graphs.context import RunContext
from graphs.state import VGAInput, VGAState

NODE_ORDER = ("load_sid", "instruction", "visual", "audio", "effect", "draft_render", "critic", "final_render")


Node = Callable[..., Any]


def build_vga_graph(
    *, before_draft: Sequence[tuple[str, Node]] = ()
) -> StateGraph[VGAState, RunContext, VGAInput, VGAState]:
    """The uncompiled VGA graph (input: `VGAInput`, state: `VGAState`, context: `RunContext`).

    ``before_draft``: (name, node) pairs chained between the Effect agent and the draft render; a node is
    ``async def node(state: VGAState) -> dict`` returning entries to append (graphs/state.py channels).
    Raises ValueError for a name the graph already uses."""
    g: StateGraph[VGAState, RunContext, VGAInput, VGAState] = StateGraph(
        VGAState, context_schema=RunContext, input_schema=VGAInput
    )
    g.add_node("load_sid", nodes.load_sid)
    g.add_node("instruction", nodes.instruction)
    g.add_node("visual", nodes.visual)
    g.add_node("audio", nodes.audio)
    g.add_node("effect", nodes.effect)
    g.add_node("draft_render", nodes.draft_render)
    g.add_node("critic", nodes.critic)
    g.add_node("final_render", nodes.final_render)
    g.add_edge(START, "load_sid")
    g.add_edge("load_sid", "instruction")
    g.add_edge("instruction", "visual")
    g.add_edge("visual", "audio")
    g.add_edge("audio", "effect")
    previous = "effect"
    for name, node in before_draft:
        if name in NODE_ORDER:
            raise ValueError(f"node name '{name}' is taken by the VGA graph ({', '.join(NODE_ORDER)})")
        g.add_node(name, node)
        g.add_edge(previous, name)
        previous = name
    g.add_edge(previous, "draft_render")
    g.add_edge("draft_render", "critic")
    g.add_conditional_edges(
        "critic",
        nodes.after_critic,
        {"visual": "visual", "audio": "audio", "effect": "effect", "final_render": "final_render"},
    )
    g.add_edge("final_render", END)
    return g
