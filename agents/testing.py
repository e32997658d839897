"""Test doubles for the policy seam, shipped with the code (after pydantic-ai's ``TestModel``,
``FunctionModel`` and its ``mock_openai``), so tests and users' own test suites can drive agents
in-process instead of against a live model server:

- `FunctionPolicy` decides with a function of the task and the rule's answer: a test makes one agent
  answer what a model might (a static camera, a weak ducking) and lets the rule answer the rest.
- `ScriptedEndpoint` is an OpenAI-compatible endpoint on 127.0.0.1 answering from a script: the real
  `StructuredClient` talks to it over HTTP, so timeouts, context-full errors, invalid JSON and partial
  answers exercise the same code paths as a live server, in milliseconds instead of a model's minutes.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import BaseModel

from agents.models import Source
from agents.policy import AgentTask, Decision, T

Decide = Callable[[AgentTask[Any], BaseModel], BaseModel | None]


class FunctionPolicy:
    """Answers each task with ``decide(task, rule_answer)``; None keeps the rule's answer. Fields where the
    answer differs from the rule's are recorded as ``llm`` (the function stands in for a model)."""

    name = "function"

    def __init__(self, decide: Decide) -> None:
        self.decide_fn = decide
        self.tasks: list[AgentTask[Any]] = []

    async def decide(self, task: AgentTask[T]) -> Decision[T]:
        """Record `task`, then answer ``decide(task, rule)`` re-validated against the task's schema (raising
        pydantic's ValidationError when it does not fit), or the rule's answer when that is None."""
        self.tasks.append(task)
        rule = task.rule()
        answer = self.decide_fn(task, rule)
        output: T = task.schema.model_validate(answer.model_dump()) if answer is not None else rule
        sources = {
            name: Source.llm if getattr(output, name) != getattr(rule, name) else Source.rule
            for name in task.schema.model_fields
        }
        return Decision(output=output, sources=sources, notes=list(task.notes), policy=self.name)


@dataclass
class Reply:
    """One scripted answer of the endpoint to a chat completion: ``content`` as the model's text; or an
    HTTP ``status`` with ``body``; ``delay`` seconds before answering (longer than the client's timeout
    makes a timeout)."""

    content: str | None = None
    status: int = 200
    body: Any = None
    delay: float = 0.0
    finish_reason: str = "stop"

    @classmethod
    def json(cls, value: Any) -> Reply:
        """A reply whose content is `value` as JSON text."""
        return cls(content=json.dumps(value))


class ScriptedEndpoint:
    """An OpenAI-compatible endpoint on 127.0.0.1 (a stdlib HTTP server in a thread) that lists ``models``
    and answers chat completions from ``replies`` in order (the last one repeats). ``requests`` keeps every
    chat request's JSON body. Use as a context manager; ``base_url`` ends in ``/v1``."""

    def __init__(self, replies: Sequence[Reply], models: Sequence[str] = ("scripted",)) -> None:
        self.replies = list(replies)
        self.models = list(models)
        self.requests: list[dict[str, Any]] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:  # quiet: tests read their own output
                pass

            def _send(self, status: int, doc: Any) -> None:
                body = json.dumps(doc).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # a client that timed out
                    self.wfile.write(body)

            def do_GET(self) -> None:
                if self.path.endswith("/models"):
                    data = [{"id": m, "object": "model", "owned_by": "scripted"} for m in endpoint.models]
                    self._send(200, {"object": "list", "data": data})
                else:
                    self._send(404, {"error": "not found"})

            def do_POST(self) -> None:
                payload = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                if not self.path.endswith("/chat/completions"):
                    self._send(404, {"error": "not found"})
                    return
                endpoint.requests.append(payload)
                reply = endpoint.replies[min(len(endpoint.requests), len(endpoint.replies)) - 1]
                time.sleep(reply.delay)
                if reply.status != 200:
                    self._send(reply.status, reply.body if reply.body is not None else {"error": "failed"})
                    return
                self._send(200, {
                    "id": f"chatcmpl-{len(endpoint.requests)}", "object": "chat.completion", "created": 0,
                    "model": endpoint.models[0],
                    "choices": [{"index": 0, "finish_reason": reply.finish_reason,
                                 "message": {"role": "assistant", "content": reply.content}}],
                    "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
                })  # fmt: skip

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>/v1``, with the port the server bound."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/v1"

    def __enter__(self) -> ScriptedEndpoint:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
