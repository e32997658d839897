"""Graph state: JSON only, append-only.

Every channel except the request is a list extended through `operator.add`, so each reflection round
stays visible in Studio, in the checkpoint and in the run record, and nothing a node wrote is ever
overwritten. Entries are plain JSON dicts (the models' `model_dump(mode="json")`) so the SQLite
checkpointer and the Studio API serialise them without custom types; `latest` reads them back typed.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict, TypeVar

from pydantic import BaseModel

Entry = dict[str, Any]
M = TypeVar("M", bound=BaseModel)


class GenerateRequest(BaseModel):
    sid_file: str
    out: str
    aspect: str = "9:16"
    duration: float | None = None
    run_id: str = ""
    graph: Literal["vga", "rag"] = "vga"  # "rag": the SID file is the recommender's pick (graphs/rag.py)


class VGAState(TypedDict, total=False):
    request: Entry
    brief: Annotated[list[Entry], operator.add]
    instructions: Annotated[list[Entry], operator.add]
    visual: Annotated[list[Entry], operator.add]
    audio: Annotated[list[Entry], operator.add]
    effect: Annotated[list[Entry], operator.add]
    drafts: Annotated[list[Entry], operator.add]
    critiques: Annotated[list[Entry], operator.add]
    final: Annotated[list[Entry], operator.add]
    tool_calls: Annotated[list[Entry], operator.add]
    messages: Annotated[list[Entry], operator.add]  # the Eq. 14 conversation: see agents/conversation.py
    events: Annotated[list[Entry], operator.add]


def latest(state: VGAState, channel: str, model: type[M], key: str = "output") -> M | None:
    entries: list[Entry] = state.get(channel, [])  # type: ignore[assignment]
    if not entries:
        return None
    return model.model_validate(entries[-1][key] if key else entries[-1])


def require(state: VGAState, channel: str, model: type[M], key: str = "output") -> M:
    value = latest(state, channel, model, key)
    if value is None:
        raise RuntimeError(f"graph state has no '{channel}' yet: the node that writes it has not run")
    return value


def current_round(state: VGAState) -> int:
    """Rounds are derived, not stored: round r starts after r critiques."""
    return len(state.get("critiques", []))
