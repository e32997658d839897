"""StructuredClient against a real server: the shipped SmolLM2-135M under llama-cpp-python."""

from __future__ import annotations

import time
from typing import Any

import pytest
from pydantic import BaseModel, Field, field_validator

from agents.llm_client import (
    LLMModelMissing,
    LLMReply,
    LLMTimeout,
    LLMUnavailable,
    StructuredClient,
    clean_messages,
    parse_json_object,
)
from ragvid.llm_server import SmolLM2Server, free_port, vllm_command
from tests import conftest as _conftest

if not hasattr(_conftest, "smollm2_server"):  # until tests/conftest.py imports the fixture itself
    from tests.llm_server_fixture import smollm2_server  # noqa: F401


class Product(BaseModel):
    name: str = Field(description="the product's name")
    colour: str


class Impossible(BaseModel):
    name: str

    @field_validator("name")
    @classmethod
    def never(cls, value: str) -> str:
        raise ValueError("this field never validates")


MESSAGES: list[dict[str, Any]] = [
    {"role": "system", "content": "You answer with one JSON object.", "agent": "system"},
    {"role": "user", "content": "A red bicycle called Swift. Give its name and colour.", "agent": "instruction"},
]


async def test_complete_returns_a_parsed_object(smollm2_server: SmolLM2Server) -> None:
    sent = [dict(m) for m in MESSAGES]
    async with StructuredClient(smollm2_server.base_url, smollm2_server.model, max_repairs=1) as client:
        reply = await client.complete(sent, Product, max_tokens=80)
        assert client.mode == "json_object_schema"  # llama-cpp-python rejects json_schema; auto switched
        assert client.server_kind == "llama-cpp-python"
    assert isinstance(reply, LLMReply)
    assert isinstance(reply.data, dict)
    assert reply.attempts >= 1 and reply.raw
    assert reply.usage.prompt_tokens > 0 and reply.usage.completion_tokens > 0
    assert 0 < reply.first_usage.prompt_tokens <= reply.usage.prompt_tokens
    assert reply.seconds > 0
    assert sent == MESSAGES  # the caller's conversation is untouched (no repair turns, "agent" kept)


async def test_invalid_answers_are_repaired_then_reported(smollm2_server: SmolLM2Server) -> None:
    client = StructuredClient(smollm2_server.base_url, smollm2_server.model, max_repairs=2)
    sent = [dict(m) for m in MESSAGES]
    reply = await client.complete(sent, Impossible, max_tokens=40)
    await client.aclose()
    assert reply.valid is False
    assert reply.attempts == 3
    assert len(reply.errors) == 3 and all(reply.errors)
    assert reply.data is not None  # the object was parsed even though it never validated
    assert reply.usage.prompt_tokens > reply.first_usage.prompt_tokens  # repairs re-sent a longer prompt
    assert sent == MESSAGES


async def test_tokenize_uses_the_servers_tokenizer(smollm2_server: SmolLM2Server) -> None:
    async with StructuredClient(smollm2_server.base_url, smollm2_server.model) as client:
        tokens = await client.tokenize("hello world, hello ragvid")
        assert tokens and all(isinstance(t, int) for t in tokens)
        assert await client.tokenize("hello world, hello ragvid") == tokens
        # llama-cpp-python's server cannot apply the chat template on request
        assert await client.chat_template_tokens(MESSAGES) is None


async def test_closed_port_is_unavailable_fast() -> None:
    url = f"http://127.0.0.1:{free_port()}/v1"
    client = StructuredClient(url, "anything")
    started = time.perf_counter()
    with pytest.raises(LLMUnavailable) as caught:
        await client.check()
    assert time.perf_counter() - started < 3.5
    assert "\n" not in str(caught.value) and url in str(caught.value)
    with pytest.raises(LLMUnavailable):
        await client.complete(MESSAGES, Product)
    await client.aclose()


async def test_wrong_model_is_missing(smollm2_server: SmolLM2Server) -> None:
    async with StructuredClient(smollm2_server.base_url, "qwen-that-is-not-here") as client:
        with pytest.raises(LLMModelMissing) as caught:
            await client.complete(MESSAGES, Product)
    message = str(caught.value)
    assert "\n" not in message and "qwen-that-is-not-here" in message and "smollm2" in message


async def test_tiny_timeout_times_out(smollm2_server: SmolLM2Server) -> None:
    async with StructuredClient(smollm2_server.base_url, smollm2_server.model, timeout=0.01) as client:
        await client.check()  # listing models has its own limit; the completion does not get 10 ms
        with pytest.raises(LLMTimeout) as caught:
            await client.complete(MESSAGES, Product, max_tokens=16)
    assert "\n" not in str(caught.value) and smollm2_server.base_url in str(caught.value)


def test_parse_and_clean_helpers() -> None:
    assert parse_json_object('Sure! ```json\n{"a": 1}\n``` done') == {"a": 1}
    assert parse_json_object('prefix {"a": {"b": [1, 2]}} suffix') == {"a": {"b": [1, 2]}}
    assert parse_json_object("[1, 2]") is None and parse_json_object("no json") is None
    assert clean_messages(MESSAGES)[1] == {"role": "user", "content": MESSAGES[1]["content"]}


def test_vllm_command_flags() -> None:
    qwen3 = vllm_command("Qwen/Qwen3-8B", 8001)
    for flag in ("--enable-prefix-caching", "--structured-outputs-config.backend", "--enable-auto-tool-choice"):
        assert flag in qwen3
    assert qwen3[:3] == ["vllm", "serve", "Qwen/Qwen3-8B"]
    assert qwen3[qwen3.index("--reasoning-parser") + 1] == "qwen3"
    assert qwen3[qwen3.index("--tool-call-parser") + 1] == "hermes"
    assert qwen3[qwen3.index("--generation-config") + 1] == "vllm"
    qwen25 = vllm_command("Qwen/Qwen2.5-7B-Instruct")
    assert "--reasoning-parser" not in qwen25 and qwen25[qwen25.index("--tool-call-parser") + 1] == "hermes"
