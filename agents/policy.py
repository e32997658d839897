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

from pydantic import BaseModel, Field

from agents.models import Role, Source
from tools.protocols import Capabilities

T = TypeVar("T", bound=BaseModel)


class LLMCall(BaseModel):
    """One LLM call of an agent: token counts, repair attempts, time."""

    prompt_tokens: int
    completion_tokens: int
    cached_prompt_tokens: int | None = Field(description="prompt tokens the server's prefix cache served")
    answer_tokens: int = Field(description="tokens of the answer kept in the conversation (the last attempt)")
    attempts: int
    seconds: float
    valid: bool = Field(description="whether the last answer validated against the role's schema")
    errors: list[str] = Field(default_factory=list, description="the last validation errors, if any")


@dataclass
class AgentTask(Generic[T]):
    """One decision an agent asks of the run's policy.

    ``rule`` always has an answer (the rule policy's); ``inputs`` is what an LLM is shown; ``notes`` are
    decided before any policy runs (e.g. a creative setting the active tool lacks) and end up in the
    decision's notes whichever policy answers. ``capabilities`` bound what an LLM may choose.
    """

    role: Role
    inputs: dict[str, Any]
    schema: type[T]
    rule: Callable[[], T]
    round: int = 0
    notes: list[str] = field(default_factory=list)
    capabilities: Capabilities | None = None
    # the whole conversation of this call, laid out as Eq. 14 (see agents/conversation.py); the rule
    # policy ignores it, the LLM policy sends it as is so a prefix-caching server can reuse it
    prompt: list[dict[str, Any]] = field(default_factory=list)
    # what every text the agent writes must stay about (the product); LLM output drifting away from
    # it falls back to the rule
    anchor: str = ""


@dataclass
class Decision(Generic[T]):
    """A policy's answer: the output, where each field came from, and what happened on the way."""

    output: T
    sources: dict[str, Source]
    notes: list[str] = field(default_factory=list)
    policy: str = "rule"
    usage: LLMCall | None = None  # when an LLM call was made
    # the model's answer exactly as the server wrote it (it goes into the conversation, so the next call
    # extends what the server has cached), and the fields the checks replaced, with the values kept
    raw: str | None = None
    corrections: dict[str, Any] = field(default_factory=dict)


class Policy(Protocol):
    """How agents decide: answer an `AgentTask` with a `Decision` of the task's schema."""

    name: str

    async def decide(self, task: AgentTask[T]) -> Decision[T]:
        """Answer `task` with an output of ``task.schema`` and the source of each of its fields."""


class RulePolicy:
    """Deterministic planning from the instructions, lexicon settings and product meta; offline."""

    name = "rule"

    async def decide(self, task: AgentTask[T]) -> Decision[T]:
        """The rule's answer, every field sourced ``rule``; calls nothing."""
        output = task.rule()
        return Decision(
            output=output,
            sources={name: Source.rule for name in task.schema.model_fields},
            notes=list(task.notes),
            policy=self.name,
        )
