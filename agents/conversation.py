"""The run's single conversation, laid out as the paper's Eq. 14: [D_inst; D_tool; O_<t; PROMPT_role].

The system message (instructions + the one shared tool description) is identical for every agent;
each agent appends its role prompt and its output, and a reflection round appends the Critic's
findings as the next turn. Every call's prompt is therefore the previous prompt plus its answer plus
one short turn — the shape a prefix-caching server reuses. The rule policy records the same turns,
so a run's conversation looks the same whichever policy produced it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from prompts import role_prompt, system_prompt

Message = dict[str, Any]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _rounded(value: Any) -> Any:
    """Floats to 10 ms / 0.01 precision: measured times carry six decimals that no agent needs and
    that would make every reflection turn longer than the shared prefix it extends."""
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: _rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_rounded(v) for v in value]
    return value


def user_turn(role: str, *, context: Any = None, findings: Sequence[BaseModel] = (), round_: int = 0) -> Message:
    """The user turn that opens `role`'s call: its role prompt for round `round_`, then ``INPUT:`` with
    `context` and ``CRITIC FINDINGS FOR YOU:`` with `findings`, as compact JSON with floats rounded to 0.01.
    Its ``agent`` key is not sent (`agents.llm_client.clean_messages`)."""
    parts = [role_prompt(role, round=str(round_))]
    if context is not None:
        parts.append("INPUT: " + _json(_rounded(context)))
    if findings:
        parts.append("CRITIC FINDINGS FOR YOU: " + _json(_rounded([f.model_dump(mode="json") for f in findings])))
    return {"role": "user", "content": "\n".join(parts), "agent": role}


def opening(
    messages: Sequence[Message],
    role: str,
    *,
    context: Any = None,
    findings: Sequence[BaseModel] = (),
    round_: int = 0,
) -> list[Message]:
    """The messages that open one agent's turn: the shared system prefix if the conversation is
    new, then the role prompt (with its input and any Critic findings for it)."""
    new: list[Message] = []
    if not messages:
        new.append({"role": "system", "content": system_prompt(), "agent": "system"})
    new.append(user_turn(role, context=context, findings=findings, round_=round_))
    return new


def answer(role: str, output: Any, raw: str | None = None, corrections: dict[str, Any] | None = None) -> list[Message]:
    """The turns that close an agent's call. A model's answer is kept exactly as the server wrote it
    (`raw`), so the next call's prompt extends the server's cached prompt + output; where the checks
    replaced some of its fields, one short user turn says which values were used instead. Without a
    model the decided output is the answer."""
    if raw is None:
        return [{"role": "assistant", "content": _json(output), "agent": role}]
    turns: list[Message] = [{"role": "assistant", "content": raw, "agent": role}]
    if corrections:
        turns.append({"role": "user", "content": "USED INSTEAD (checks): " + _json(corrections), "agent": role})
    return turns
