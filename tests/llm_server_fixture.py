"""The shipped SmolLM2-135M under llama-cpp-python's OpenAI server, once per test session.

Import the fixture into tests/conftest.py (`from tests.llm_server_fixture import smollm2_server`).
Skips only when llama-cpp-python's server is not installed; any other start failure is an error."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator

import pytest

from ragvid.llm_server import SmolLM2Server


@pytest.fixture(scope="session")
def smollm2_server() -> Iterator[SmolLM2Server]:
    if importlib.util.find_spec("llama_cpp") is None:
        pytest.skip("llama-cpp-python is not installed: pip install 'llama-cpp-python[server]'")
    server = SmolLM2Server(startup_timeout=120)
    server.start()
    try:
        yield server
    finally:
        server.stop()
