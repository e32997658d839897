"""The LLM policy: the same decisions as the rule policy, asked of a model over an OpenAI-compatible
endpoint, kept per field only where the answer validates and passes the role's checks.

The prompt is the run's one conversation (Eq. 14) as the node laid it out, sent unchanged, so every
call extends the previous one and a prefix-caching server reuses it. A call that fails (timeout,
server gone) falls back to the rule for that decision — unless the run demanded the endpoint
(`strict`), in which case the error ends the run. A field whose coherence check was skipped (a text the
text encoder does not read) is kept with a ``check skipped:`` note, and the skip is logged as a warning.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from agents.llm_client import LLMContextFull, LLMError, LLMSchemaError, StructuredClient
from agents.llm_specs import MAX_LENGTH_RATIO, spec_for
from agents.merge import Merged, merge
from agents.models import Source
from agents.policy import AgentTask, Decision, LLMCall, T
from agents.response_schema import response_schema
from tools.errors import describe

log = logging.getLogger("ragvid.llm")

MAX_TOKENS: dict[str, int] = {"instruction": 1800, "visual": 1200, "audio": 900, "effect": 1600, "critic": 900}


class LLMPolicy:
    """Decides through a model behind `StructuredClient`, keeping per field what validates and passes the
    role's checks (`agents.llm_specs`), the rule everywhere else."""

    name = "llm"

    def __init__(self, client: StructuredClient, *, strict: bool = False, require_valid: bool = False) -> None:
        """`strict`: endpoint failures (down, timeout, no JSON at all) end the run instead of
        falling back; a conversation outgrowing the model's context never does (the rule takes over
        from there: every later turn would be longer still). `require_valid`: an answer that still
        violates the schema after the repairs ends the run too."""
        self.client = client
        self.strict = strict
        self.require_valid = require_valid
        self.down: str | None = None  # why the endpoint stopped answering, once it has

    async def decide(self, task: AgentTask[T]) -> Decision[T]:
        """Ask the model for `task` and keep, leaf by leaf, what validates and passes the role's checks (`merge`);
        the rest, and the whole answer when the call fails or the endpoint went down earlier in the run, is the
        rule's. Raises the call's LLMError when `strict` (never LLMContextFull), and LLMSchemaError when
        `require_valid` and the answer is still invalid after the repairs."""
        rule = task.rule()
        if self.down is not None:
            return self._all_rule(task, rule, [f"no LLM call: earlier in this run, {self.down}"])
        spec = spec_for(task.role, task.anchor, task.capabilities)
        narrowed = response_schema(task.schema, rule, spec, MAX_LENGTH_RATIO)
        try:
            reply = await self.client.complete(
                task.prompt, task.schema, max_tokens=MAX_TOKENS[task.role], json_schema=narrowed
            )
        except LLMContextFull as e:
            # a property of the model, not a broken endpoint: every later turn would be longer still
            self.down = str(e)
            log.warning("%s: the rule policy decides from here on: %s", task.role, e)
            return self._all_rule(task, rule, [f"LLM context full: {e}"])
        except LLMError as e:
            if self.strict:
                raise
            if not isinstance(e, LLMSchemaError):
                # down or too slow: asking again for every agent would only add one timeout per agent
                self.down = str(e)
            log.warning("%s: LLM call failed, the rule policy decides: %s", task.role, e)
            return self._all_rule(task, rule, [f"LLM call failed: {e}"])
        usage = LLMCall(
            prompt_tokens=reply.first_usage.prompt_tokens,
            completion_tokens=reply.first_usage.completion_tokens,
            cached_prompt_tokens=reply.first_usage.cached_prompt_tokens,
            # the answer kept in the conversation is the last attempt's
            answer_tokens=reply.last_usage.completion_tokens,
            attempts=reply.attempts,
            seconds=round(reply.seconds, 3),
            valid=reply.valid,
            errors=reply.errors[-3:],
        )
        if not reply.valid and self.require_valid:
            last = reply.errors[-1] if reply.errors else "invalid"
            raise LLMSchemaError(
                f"the model keeps violating the {task.role} schema after {reply.attempts} attempt(s): {last} "
                f"({self.client.base_url}, model '{self.client.model}')",
                url=self.client.base_url,
                model=self.client.model,
                last_error=last,
            )
        if not reply.valid:
            log.warning(
                "%s: the model keeps violating the %s schema after %d attempt(s) (%s); fields that validate "
                "are kept, the rest is the rule's",
                task.role,
                task.role,
                reply.attempts,
                reply.errors[-1] if reply.errors else "invalid",
            )
        if reply.data is None:
            return self._all_rule(task, rule, ["no JSON object in the LLM answer"], usage, reply.raw)
        merged = merge(rule, reply.data, spec)
        try:
            output = task.schema.model_validate(merged.data)
        except ValidationError as e:
            # fields valid one by one can still break a rule of the whole (e.g. a cue after the end)
            return self._all_rule(task, rule, [f"merged answer invalid: {describe(e.errors()[0])}"], usage, reply.raw)
        notes = [
            *task.notes,
            *(f"fallback to rule: {n}" for n in merged.notes),
            *(f"check skipped: {n}" for n in merged.unchecked),
        ]
        for note in notes:
            log.info("%s: %s", task.role, note)
        if merged.unchecked:
            # one warning per call, not per line: the reason is the same for every text of the answer
            log.warning(
                "%s: %d LLM text(s) kept without the coherence check; %s",
                task.role,
                len(merged.unchecked),
                merged.unchecked[0].split(": ", 1)[-1],
            )
        return Decision(
            output=output,
            sources=merged.sources,
            notes=notes,
            policy=self.name,
            usage=usage,
            raw=reply.raw,
            corrections=_corrections(merged, spec.is_locked),
        )

    def _all_rule(
        self, task: AgentTask[T], rule: T, notes: list[str], usage: LLMCall | None = None, raw: str | None = None
    ) -> Decision[T]:
        for note in notes:
            log.warning("%s: %s", task.role, note)
        return Decision(
            output=rule,
            sources={k: Source.rule for k in task.schema.model_fields},
            notes=[*task.notes, *notes],
            policy=self.name,
            usage=usage,
            raw=raw,
            # the model's answer stays in the conversation, so the next agent must read what was used
            corrections=rule.model_dump(mode="json") if raw is not None else {},
        )


def _corrections(merged: Merged, locked: Callable[[str], bool]) -> dict[str, Any]:
    """Each free field the checks replaced, with the rule's value (locked ones the schema forced)."""
    out: dict[str, Any] = {}
    for path, source in merged.sources.items():
        if source is Source.rule and not locked(path):
            out[path] = _at(merged.data, path)
    return out


def _at(data: Any, path: str) -> Any:
    for part in re.findall(r"[^.\[\]]+", path):
        data = data[int(part)] if isinstance(data, list) else data[part]
    return data
