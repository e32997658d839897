"""The policy seam: how an agent decides.

An agent builds an `AgentTask` (its role, its inputs as JSON, its output schema and the deterministic
rule that can always answer) and hands it to the run's `Policy`. The rule policy answers with the
rule; the LLM policy (same schema) asks a model and falls back to the rule per field. The graph never
knows which policy it runs, so swapping one for the other touches no node.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel

from agents.models import Role, Source

T = TypeVar("T", bound=BaseModel)


@dataclass
class AgentTask(Generic[T]):
    role: Role
    inputs: dict[str, Any]
    schema: type[T]
    rule: Callable[[], T]
    round: int = 0
    # the whole conversation of this call, laid out as Eq. 14 (see agents/conversation.py); the rule
    # policy ignores it, the LLM policy sends it as is so a prefix-caching server can reuse it
    prompt: list[dict[str, Any]] = field(default_factory=list)
    # what every text the agent writes must stay about (the product); LLM output drifting away from
    # it falls back to the rule
    anchor: str = ""


@dataclass
class Decision(Generic[T]):
    output: T
    sources: dict[str, Source]
    notes: list[str] = field(default_factory=list)
    policy: str = "rule"
    usage: dict[str, Any] | None = None  # the LLM call's token counts and timing, when one was made
    # the model's answer exactly as the server wrote it (it goes into the conversation, so the next call
    # extends what the server has cached), and the fields the checks replaced, with the values kept
    raw: str | None = None
    corrections: dict[str, Any] = field(default_factory=dict)


class Policy(Protocol):
    name: str

    async def decide(self, task: AgentTask[T]) -> Decision[T]: ...


class RulePolicy:
    """Deterministic planning from the instructions, lexicon settings and product meta; offline."""

    name = "rule"

    async def decide(self, task: AgentTask[T]) -> Decision[T]:
        output = task.rule()
        return Decision(
            output=output,
            sources={name: Source.rule for name in task.schema.model_fields},
            policy=self.name,
        )
