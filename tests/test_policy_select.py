"""Choosing the agents' policy (`--llm auto|rule|URL`): under `auto` a failing endpoint means the rule
policy and a message saying why; a demanded endpoint that fails is an input error naming --llm. Against
scripted endpoints on 127.0.0.1 (agents/testing.py), so each case takes milliseconds."""

from __future__ import annotations

import socket
from contextlib import AsyncExitStack

import pytest

from agents.llm_policy import LLMPolicy
from agents.policy import RulePolicy
from agents.testing import Reply, ScriptedEndpoint
from ragvid.policy_select import open_policy
from ragvid.settings import Settings
from tools.errors import InputError


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"  # nothing listens once the socket is closed


async def _open(**settings: object) -> tuple[object, list[str]]:
    said: list[str] = []
    async with AsyncExitStack() as stack:
        policy = await open_policy(Settings.load(**settings), stack, said.append)
    return policy, said


async def test_auto_without_an_endpoint_is_the_rule() -> None:
    policy, said = await _open(llm="auto")
    assert isinstance(policy, RulePolicy) and "no LLM endpoint configured" in said[0]


@pytest.mark.parametrize(("kind", "message"), [("down", "unreachable"), ("wrong_model", "'missing' is not served")])
async def test_auto_falls_back_to_the_rule_and_says_why(kind: str, message: str) -> None:
    with ScriptedEndpoint([Reply.json({})], models=["served"]) as endpoint:
        url = closed_port_url() if kind == "down" else endpoint.base_url
        policy, said = await _open(llm="auto", llm_url=url, llm_model="missing" if kind == "wrong_model" else None)
    assert isinstance(policy, RulePolicy) and message in said[0] and said[0].startswith("policy: rule (")


@pytest.mark.parametrize(("kind", "message"), [("down", "unreachable"), ("wrong_model", "'missing' is not served")])
async def test_a_demanded_endpoint_that_fails_is_an_input_error(kind: str, message: str) -> None:
    with ScriptedEndpoint([Reply.json({})], models=["served"]) as endpoint:
        url = closed_port_url() if kind == "down" else endpoint.base_url
        with pytest.raises(InputError, match=f"--llm: .*{message}") as info:
            await _open(llm=url, llm_model="missing" if kind == "wrong_model" else None)
    assert "\n" not in str(info.value)


async def test_a_demanded_endpoint_that_answers_is_an_llm_policy() -> None:
    with ScriptedEndpoint([Reply.json({})], models=["served"]) as endpoint:
        policy, said = await _open(llm=endpoint.base_url)
    assert isinstance(policy, LLMPolicy) and policy.strict and policy.client.model == "served"
    assert said == [f"policy: llm served at {endpoint.base_url} (rule fallback per field)"]


async def test_an_unknown_choice_is_an_input_error() -> None:
    with pytest.raises(InputError, match="--llm: 'gpt' is not auto, rule, smollm2 or an http"):
        await _open(llm="gpt")
