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


def user_turn(role: str, *, context: Any = None, findings: Sequence[BaseModel] = (), round_: int = 0) -> Message:
    parts = [role_prompt(role, round=str(round_))]
    if context is not None:
        parts.append("INPUT: " + _json(context))
    if findings:
        parts.append("CRITIC FINDINGS FOR YOU: " + _json([f.model_dump(mode="json") for f in findings]))
    return {"role": "user", "content": "\n".join(parts), "agent": role}


def turn(
    messages: Sequence[Message],
    role: str,
    output: Any,
    *,
    context: Any = None,
    findings: Sequence[BaseModel] = (),
    round_: int = 0,
) -> list[Message]:
    """Messages to append for one agent turn (with the shared system prefix if it is the first)."""
    new: list[Message] = []
    if not messages:
        new.append({"role": "system", "content": system_prompt(), "agent": "system"})
    new.append(user_turn(role, context=context, findings=findings, round_=round_))
    new.append({"role": "assistant", "content": _json(output), "agent": role})
    return new
