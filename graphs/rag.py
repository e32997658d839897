"""The full RaG graph (ARCHITECTURE §1): recommender → instruction model → VGA subgraph.

    START → recommend → vga (load_sid → instruction → visual → audio → effect → draft → critic ⟲ → final) → END

`recommend` asks a `Recommender` (rag_recsys/recommender.py: the GRM, the popularity baseline, or any
object with ``recommend(user_context, k) -> list[ScoredDSID]``) for the user's top-k D-SIDs and writes
the chosen one as a SID file in the run folder: the VGA subgraph then reads the same contract as any
`ragvid generate` run (its first agent is the instruction model), and the handed-over file reproduces
the video on its own. The VGA graph is a compiled subgraph, so Studio shows it as one expandable node,
its steps checkpoint under the parent's thread, and a resumed run picks up inside it.

The recommender is bound when the graph is built (`build_rag_graph(recommender)`), not taken from the
run context: it is the one part of a RaG graph that defines what the graph is, while the context holds
interchangeable back-ends.
"""

from __future__ import annotations

import asyncio
import operator
from collections.abc import Callable, Sequence
from typing import Annotated, Any

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from graphs.context import RunContext
from graphs.nodes import progress_event
from graphs.state import Entry, GenerateRequest, VGAState
from graphs.vga import build_vga_graph
from rag_recsys.recommender import Recommender, ScoredDSID, UserContext
from rag_recsys.sidfile import sid_from_recommendation, write_sid_file

HANDOFF_FILE = "recommended.sid.json"


class RagState(VGAState, total=False):
    user: Entry  # the UserContext as JSON
    recommendations: Annotated[list[Entry], operator.add]  # {"k", "ranked": [ScoredDSID], "chosen", "sid_file"}


class NoRecommendation(RuntimeError):
    """The recommender returned nothing for this user."""


Chooser = Callable[[Sequence[ScoredDSID]], int]


def first(ranked: Sequence[ScoredDSID]) -> int:
    return 0


def build_rag_graph(
    recommender: Recommender, *, k: int = 10, choose: Chooser = first, vga: StateGraph[Any, Any, Any, Any] | None = None
) -> StateGraph[RagState, RunContext, RagState, RagState]:
    """Uncompiled RaG graph around ``recommender``. ``choose`` picks which of the top ``k`` goes to
    generation (default: the best); ``vga`` replaces the VGA graph (e.g. one built with extra nodes)."""

    async def recommend(state: RagState, runtime: Runtime[RunContext]) -> dict[str, Any]:
        if state.get("recommendations"):  # a resumed run keeps what it was handed
            return {}
        ctx = runtime.context
        request = GenerateRequest.model_validate(state["request"])
        user = UserContext.model_validate(state.get("user") or {})
        progress_event("recommend", f"ranking D-SIDs for a history of {len(user.history)} items")
        # the model and the history's text encoder are CPU-bound and synchronous
        ranked = await asyncio.to_thread(recommender.recommend, user, k)
        if not ranked:
            raise NoRecommendation(f"{type(recommender).__name__} returned no D-SID for this user")
        chosen = choose(ranked)
        pick = ranked[chosen]
        wishes = {key: value for key, value in (("profile", user.profile), ("style", user.style)) if value}
        path = ctx.run_dir(request.run_id) / HANDOFF_FILE
        write_sid_file(sid_from_recommendation(pick, ctx.tokenizer, wishes, path), path)
        what = (pick.meta or {}).get("product") or pick.item or "?"
        progress_event("recommend", f"#{chosen + 1} of {len(ranked)}: {pick.content}+{pick.creative} ({what})")
        entry = {"k": k, "ranked": [r.model_dump(mode="json") for r in ranked], "chosen": chosen,
                 "sid_file": str(path)}
        # only the request is shared with the subgraph before it runs: a list channel written here would
        # come back inside the subgraph's output and be appended twice
        return {"request": {**state["request"], "sid_file": str(path)}, "recommendations": [entry]}

    g: StateGraph[RagState, RunContext, RagState, RagState] = StateGraph(RagState, context_schema=RunContext)
    g.add_node("recommend", recommend)
    g.add_node("vga", (vga or build_vga_graph()).compile())
    g.add_edge(START, "recommend")
    g.add_edge("recommend", "vga")
    g.add_edge("vga", END)
    return g
