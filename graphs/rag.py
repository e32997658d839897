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
from pydantic import ValidationError
from typing_extensions import TypedDict  # pydantic builds schemas of TypedDicts from typing_extensions on 3.11

from graphs.context import RunContext
from graphs.nodes import Update, context_of, progress_event
from graphs.state import Channel, GenerateRequest, Json, RecommendationEntry, VGAState
from graphs.vga import build_vga_graph
from rag_recsys.recommender import Recommender, ScoredDSID, UserContext
from rag_recsys.sidfile import sid_from_recommendation, write_sid_file
from tools.errors import InputError

HANDOFF_FILE = "recommended.sid.json"


class RagInput(TypedDict):
    """Input of the RaG graph: what to write (``request``: out, aspect, duration, run id; no SID) and who
    for (``user``: `UserContext`, see `ragvid schema user-file`)."""

    request: GenerateRequest
    user: UserContext


class RagState(VGAState, total=False):
    """The VGA state plus the user and what the recommender answered."""

    user: Json
    """`UserContext`."""
    recommendations: Annotated[list[Json], operator.add]
    """`RecommendationEntry`."""


RECOMMENDATIONS = Channel("recommendations", RecommendationEntry)


class NoRecommendation(InputError):
    """The recommender returned nothing for this user."""

    def __init__(self, recommender: str) -> None:
        super().__init__("user", f"{recommender} returned no D-SID for this user")


Chooser = Callable[[Sequence[ScoredDSID]], int]


def first(ranked: Sequence[ScoredDSID]) -> int:
    """The default `Chooser`: index 0, the best-ranked D-SID."""
    return 0


def build_rag_graph(
    recommender: Recommender, *, k: int = 10, choose: Chooser = first, vga: StateGraph[Any, Any, Any, Any] | None = None
) -> StateGraph[RagState, RunContext, RagInput, RagState]:
    """Uncompiled RaG graph around ``recommender``. ``choose`` picks which of the top ``k`` goes to
    generation (default: the best); ``vga`` replaces the VGA graph (e.g. one built with extra nodes)."""

    async def recommend(state: RagState, runtime: Runtime[RunContext]) -> Update:
        if state.get("recommendations"):  # a resumed run keeps what it was handed
            return {}
        ctx = context_of(runtime)
        request = GenerateRequest.parse({**(state.get("request") or {}), "graph": "rag"})
        try:
            user = UserContext.model_validate(state.get("user") or {})
        except ValidationError as e:
            raise InputError.from_validation(e, prefix=("user",)) from None
        progress_event("recommend", f"ranking D-SIDs for a history of {len(user.history)} items")
        # the model and the history's text encoder are CPU-bound and synchronous
        ranked = await asyncio.to_thread(recommender.recommend, user, k)
        if not ranked:
            raise NoRecommendation(type(recommender).__name__)
        chosen = choose(ranked)
        pick = ranked[chosen]
        wishes = {key: value for key, value in (("profile", user.profile), ("style", user.style)) if value}
        path = ctx.run_dir(request.run_id) / HANDOFF_FILE
        write_sid_file(sid_from_recommendation(pick, ctx.tokenizer, wishes, path), path)
        what = (pick.meta or {}).get("product") or pick.item or "?"
        progress_event("recommend", f"#{chosen + 1} of {len(ranked)}: {pick.content}+{pick.creative} ({what})")
        entry = RecommendationEntry(k=k, ranked=list(ranked), chosen=chosen, sid_file=str(path))
        # only the request is shared with the subgraph before it runs: a list channel written here would
        # come back inside the subgraph's output and be appended twice
        request = request.model_copy(update={"sid_file": str(path)})
        return {"request": request.model_dump(mode="json"), **RECOMMENDATIONS.update(entry)}

    g: StateGraph[RagState, RunContext, RagInput, RagState] = StateGraph(
        RagState, context_schema=RunContext, input_schema=RagInput
    )
    g.add_node("recommend", recommend)
    g.add_node("vga", (vga or build_vga_graph()).compile())
    g.add_edge(START, "recommend")
    g.add_edge("recommend", "vga")
    g.add_edge("vga", END)
    return g
