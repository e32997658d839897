"""One structured-output client for any OpenAI-compatible chat endpoint (vLLM serving Qwen in
production, llama-cpp-python's server with the shipped SmolLM2 in tests).

`StructuredClient.complete(messages, Schema)` sends the conversation exactly as given (only the
OpenAI message keys are kept), asks for JSON in the shape the back-end accepts, validates the answer
with pydantic and, when it does not validate, repeats the call with the bad answer and the
validation error appended — up to `max_repairs` times. Those repair turns live only inside the call:
the caller's list is never touched, so its conversation (and the server's prefix cache) stays the
caller's. Invalid output is never an exception (`LLMReply.valid` is False, `data` holds the parsed
object, if any); only "no JSON object at all in any attempt" and endpoint failures raise, all as
`LLMError` subclasses whose message is one line naming the URL and model.

Response formats:
- `json_schema`: `{"type": "json_schema", "json_schema": {"name", "schema", "strict": true}}`
  (OpenAI, vLLM — vLLM compiles it to a grammar with its structured-outputs backend);
- `json_object_schema`: `{"type": "json_object", "schema": ...}` (llama-cpp-python's server, which
  turns the schema into a GBNF grammar but ignores numeric bounds — pydantic still checks them);
- `json_object`: plain JSON mode, no schema (the schema is then only in the prompt, if anywhere);
- `auto` (default): `json_schema`, switching to `json_object_schema` for the rest of the client's
  life the first time the server rejects `json_schema` with an error naming `response_format` and
  `json_schema` (HTTP 400/422 on most servers; llama-cpp-python answers it with a 500).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Sequence
from typing import Any, Literal, cast

import httpx
import openai
from openai import AsyncOpenAI
from pydantic import BaseModel, Field, ValidationError

from tools.errors import RagvidError, describe_all, one_line

ResponseFormat = Literal["auto", "json_schema", "json_object_schema", "json_object"]
ServerKind = Literal["vllm", "llama.cpp", "llama-cpp-python", "unknown"]

# keys an OpenAI chat message may carry; anything else (e.g. the conversation's "agent") is dropped
_MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")
_CHECK_TIMEOUT = httpx.Timeout(10.0, connect=3.0)


# --------------------------------------------------------------------------------------------- errors


class LLMError(RagvidError):
    """Any failure of the LLM endpoint; `str()` is one line naming the URL and the model."""

    def __init__(self, message: str, *, url: str = "", model: str = "") -> None:
        self.url = url
        self.model = model
        super().__init__(message)


class LLMUnavailable(LLMError):
    """Nothing answers at the URL (connection refused, DNS, reset)."""


class LLMModelMissing(LLMError):
    """The server answers but does not serve the model (see `GET /v1/models`)."""


class LLMContextFull(LLMError):
    """The conversation no longer fits the model's context window (the server said so)."""


class LLMTimeout(LLMError):
    """The server did not answer within the client's timeout."""


class LLMSchemaError(LLMError):
    """The model's answers do not meet the schema: no attempt held a JSON object at all (`complete`), or,
    where the caller demands valid answers (`LLMPolicy(require_valid=True)`), the last one still broke it.
    Carries the last validation error."""

    def __init__(self, message: str, *, url: str = "", model: str = "", last_error: str = "") -> None:
        self.last_error = last_error
        super().__init__(message, url=url, model=model)


# --------------------------------------------------------------------------------------------- replies


class LLMUsage(BaseModel):
    """Token counts of one call or, added up with ``+``, of several; ``cached_prompt_tokens`` stays None while
    no server reported it."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    # prompt tokens served from the server's prefix cache (vLLM: usage.prompt_tokens_details.cached_tokens)
    cached_prompt_tokens: int | None = None

    def __add__(self, other: LLMUsage) -> LLMUsage:
        cached = (
            None
            if self.cached_prompt_tokens is None and other.cached_prompt_tokens is None
            else (self.cached_prompt_tokens or 0) + (other.cached_prompt_tokens or 0)
        )
        return LLMUsage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            cached_prompt_tokens=cached,
        )


class LLMReply(BaseModel):
    """What `StructuredClient.complete` returns: the last answer's text, the JSON object of the latest answer
    that held one (valid or not), whether it validated, why each failed attempt failed, token usage per
    attempt and in total, and the call's wall time in seconds."""

    raw: str = Field(description="the last answer's text")
    data: dict[str, Any] | None = Field(
        default=None, description="the JSON object of the latest answer that held one, valid or not"
    )
    valid: bool = False
    errors: list[str] = Field(default_factory=list, description="why each failed attempt failed, in order")
    attempts: int = 0
    usage: LLMUsage = Field(default_factory=LLMUsage, description="summed over all attempts")
    first_usage: LLMUsage = Field(
        default_factory=LLMUsage, description="the first attempt only: the call on the caller's own conversation"
    )
    last_usage: LLMUsage = Field(default_factory=LLMUsage, description="the attempt whose answer is `raw`")
    seconds: float = 0.0


# --------------------------------------------------------------------------------------------- helpers


def clean_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages with only OpenAI keys, order and content unchanged (new dicts: the caller's stay)."""
    return [{k: m[k] for k in _MESSAGE_KEYS if k in m} for m in messages]


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_json_object(text: str) -> dict[str, Any] | None:
    """The JSON object in a model's answer: the whole text, a fenced block, or the first object that
    decodes from a `{` on (models sometimes wrap JSON in prose or fences)."""
    text = text.strip()
    candidates = [text, *(m.group(1).strip() for m in _FENCE.finditer(text))]
    for candidate in candidates:
        try:
            value = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            value, _ = decoder.raw_decode(text, match.start())
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _usage_of(response: Any) -> LLMUsage:
    usage = getattr(response, "usage", None)
    if usage is None:
        return LLMUsage()
    details = getattr(usage, "prompt_tokens_details", None)
    cached = getattr(details, "cached_tokens", None) if details is not None else None
    return LLMUsage(
        prompt_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
        completion_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
        cached_prompt_tokens=int(cached) if cached is not None else None,
    )


def _schema_name(schema: type[BaseModel]) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", schema.__name__)[:64] or "answer"


def _repair_prompt(error: str) -> str:
    return (
        "Your previous answer does not match the required JSON schema: "
        f"{error}. Answer again with only the corrected JSON object."
    )


# --------------------------------------------------------------------------------------------- client


class StructuredClient:
    """Structured (JSON-schema) chat completions against one OpenAI-compatible endpoint and model.

    Args:
        base_url: the endpoint, ending in ``/v1``.
        model: the served model's id; "" takes the endpoint's first (see `check`).
        timeout: seconds per request (a completion, the model listing, a tokenize call).
        max_repairs: extra attempts with the validation error after an answer that does not validate.
        response_format: how JSON is asked for (module doc).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str = "none",
        timeout: float = 60,
        max_repairs: int = 2,
        response_format: ResponseFormat = "auto",
        temperature: float = 0.2,
        extra_body: dict[str, Any] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = float(timeout)
        self.max_repairs = max(0, int(max_repairs))
        self.response_format: ResponseFormat = response_format
        self.temperature = temperature
        # e.g. {"chat_template_kwargs": {"enable_thinking": False}} for Qwen3 on vLLM
        self.extra_body = dict(extra_body or {})
        # the format in use: `auto` resolves to json_schema until the server rejects it
        self._mode: ResponseFormat = "json_schema" if response_format == "auto" else response_format
        self._checked = False
        self._kind: ServerKind = "unknown"
        self._tokenize_route: str | None = None
        self._openai = AsyncOpenAI(
            base_url=self.base_url,
            api_key=api_key,
            timeout=openai.Timeout(self.timeout, connect=min(3.0, self.timeout)),
            max_retries=0,
        )

    # ------------------------------------------------------------------ lifecycle

    async def aclose(self) -> None:
        """Close the client's HTTP connections (leaving ``async with`` does it too)."""
        await self._openai.close()

    async def __aenter__(self) -> StructuredClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    @property
    def server_root(self) -> str:
        """The server's root URL: base_url without its trailing `/v1`."""
        return re.sub(r"/v1$", "", self.base_url)

    @property
    def mode(self) -> ResponseFormat:
        """The response format currently sent (what `auto` resolved to so far)."""
        return self._mode

    @property
    def server_kind(self) -> ServerKind:
        """What `check` found serving, from ``owned_by`` in ``/v1/models``: "vllm", "llama.cpp",
        "llama-cpp-python", or "unknown" before `check` and for any other server."""
        return self._kind

    def _where(self) -> str:
        return f"{self.base_url} (model '{self.model}')" if self.model else self.base_url

    def _err(self, cls: type[LLMError], what: str) -> LLMError:
        return cls(f"{what} at {self._where()}", url=self.base_url, model=self.model)

    def _status_error(self, status: int, body: str, what: str) -> LLMError:
        """An HTTP error status of the endpoint as the `LLMError` that says what it means."""
        body = one_line(body, 240)
        if status == 400 and re.search(r"context (length|window)|too many tokens", body, re.I):
            sizes = re.findall(r"(\d+) tokens", body)
            detail = f" ({sizes[1]} tokens asked of {sizes[0]})" if len(sizes) >= 2 else ""
            return self._err(LLMContextFull, f"the conversation exceeds the model's context{detail}")
        if status == 404:
            return self._err(LLMModelMissing, f"model not found (HTTP 404: {body})")
        if status in (401, 403):
            return self._err(LLMError, f"LLM endpoint refused the API key (HTTP {status})")
        return self._err(LLMError, f"{what} failed (HTTP {status}: {body})")

    def _map_error(self, e: BaseException, what: str) -> LLMError:
        """The one mapping of HTTP/SDK exceptions (httpx, openai, asyncio) onto `LLMError`s, after
        pydantic-ai's `_map_api_errors`."""
        if isinstance(e, httpx.ConnectTimeout):
            return self._err(LLMUnavailable, "LLM endpoint unreachable (connect timeout)")
        if isinstance(e, TimeoutError | openai.APITimeoutError | httpx.TimeoutException):
            return self._err(LLMTimeout, f"{what}: no answer within {self.timeout:g} s")
        if isinstance(e, openai.APIConnectionError):
            return self._err(LLMUnavailable, f"LLM endpoint unreachable ({e.__cause__ or e})")
        if isinstance(e, httpx.HTTPError):
            return self._err(LLMUnavailable, f"LLM endpoint unreachable ({type(e).__name__}: {e})")
        if isinstance(e, openai.APIStatusError):
            return self._status_error(e.status_code, str(getattr(e, "body", None) or e.message), what)
        return self._err(LLMError, f"{what} failed ({type(e).__name__}: {e})")

    # ------------------------------------------------------------------ check

    async def check(self) -> list[str]:
        """`GET /v1/models`: the served model ids (a client without a model takes the first).
        Raises LLMUnavailable (nothing listens; connect timeout 3 s), LLMTimeout, LLMModelMissing
        (the model is not among them) or LLMError."""
        url = f"{self.base_url}/models"
        headers = {"Authorization": f"Bearer {self.api_key}"}
        try:
            async with httpx.AsyncClient(timeout=_CHECK_TIMEOUT) as http:
                response = await http.get(url, headers=headers)
        except httpx.HTTPError as e:
            raise self._map_error(e, "GET /v1/models") from None
        if response.status_code == 404:
            raise self._err(LLMError, "no OpenAI-compatible API (GET /v1/models: 404)")
        if response.status_code >= 400:
            raise self._status_error(response.status_code, response.text, "GET /v1/models")
        try:
            entries = response.json().get("data", [])
            ids = [str(e.get("id")) for e in entries]
        except (ValueError, AttributeError):
            raise self._err(LLMError, "GET /v1/models did not return an OpenAI model list") from None
        owners = {str(e.get("owned_by", "")) for e in entries if isinstance(e, dict)}
        if "vllm" in owners:
            self._kind = "vllm"
        elif "llamacpp" in owners:
            self._kind = "llama.cpp"
        elif "me" in owners:  # llama-cpp-python's server
            self._kind = "llama-cpp-python"
        if not self.model and ids:  # none named: a vLLM server usually serves exactly one
            self.model = ids[0]
        if self.model not in ids:
            served = ", ".join(ids) or "none"
            raise LLMModelMissing(
                f"model '{self.model}' is not served at {self.base_url} (served: {served})",
                url=self.base_url,
                model=self.model,
            )
        self._checked = True
        return ids

    # ------------------------------------------------------------------ completion

    def _response_format(self, schema: type[BaseModel], narrowed: dict[str, Any] | None) -> dict[str, Any]:
        json_schema = narrowed if narrowed is not None else schema.model_json_schema()
        if self._mode == "json_schema":
            return {
                "type": "json_schema",
                "json_schema": {"name": _schema_name(schema), "schema": json_schema, "strict": True},
            }
        if self._mode == "json_object_schema":
            return {"type": "json_object", "schema": json_schema}
        return {"type": "json_object"}

    async def _chat(
        self, messages: list[dict[str, Any]], schema: type[BaseModel], narrowed: dict[str, Any] | None, max_tokens: int
    ) -> Any:
        while True:
            try:
                async with asyncio.timeout(self.timeout):
                    # typed loosely: llama.cpp's {"type": "json_object", "schema": ...} is not in the SDK's types
                    completions = cast(Any, self._openai.chat.completions)
                    return await completions.create(
                        model=self.model,
                        messages=messages,
                        response_format=self._response_format(schema, narrowed),
                        max_tokens=max_tokens,
                        temperature=self.temperature,
                        extra_body=self.extra_body or None,
                    )
            except openai.APIStatusError as e:
                # a server that does not know json_schema says so naming both; llama-cpp-python answers
                # that with HTTP 500 (its request validation error), others with 400/422
                body = str(getattr(e, "body", None) or e.message)
                rejects_schema = "json_schema" in body and "response_format" in body
                if self.response_format == "auto" and self._mode == "json_schema" and rejects_schema:
                    self._mode = "json_object_schema"  # for the rest of this client's life
                    continue
                raise self._map_error(e, "LLM request") from None
            except (TimeoutError, openai.OpenAIError) as e:
                raise self._map_error(e, "LLM request") from None

    async def complete(
        self,
        messages: Sequence[dict[str, Any]],
        schema: type[BaseModel],
        *,
        max_tokens: int = 1024,
        json_schema: dict[str, Any] | None = None,
    ) -> LLMReply:
        """Ask for one JSON object matching `schema`; repair up to `max_repairs` times. Never raises
        on invalid output (`valid=False`), except LLMSchemaError when no attempt held a JSON object.
        `json_schema`, when given, is sent to the server instead of `schema`'s own (a narrower one,
        see agents/response_schema.py); answers are still validated against `schema`."""
        if not self._checked:
            await self.check()
        started = time.perf_counter()
        conversation = clean_messages(messages)
        reply = LLMReply(raw="")
        total = LLMUsage()
        for attempt in range(1 + self.max_repairs):
            response = await self._chat(conversation, schema, json_schema, max_tokens)
            usage = _usage_of(response)
            total = total + usage
            if attempt == 0:
                reply.first_usage = usage
            reply.last_usage = usage
            reply.attempts = attempt + 1
            choice = response.choices[0] if response.choices else None
            text = (choice.message.content if choice is not None else None) or ""
            reply.raw = text
            data = parse_json_object(text)
            if data is None:
                finish = getattr(choice, "finish_reason", None)
                error = "no JSON object in the answer" + (" (cut off at max_tokens)" if finish == "length" else "")
            else:
                reply.data = data
                try:
                    schema.model_validate(data)
                except ValidationError as e:
                    error = describe_all(e)
                else:
                    reply.valid = True
                    break
            reply.errors.append(error)
            if attempt < self.max_repairs:
                # local to this call: a new list, never the caller's conversation
                conversation = [
                    *conversation,
                    {"role": "assistant", "content": text},
                    {"role": "user", "content": _repair_prompt(error)},
                ]
        reply.usage = total
        reply.seconds = time.perf_counter() - started
        if reply.data is None:
            last = reply.errors[-1] if reply.errors else "no answer"
            raise LLMSchemaError(
                f"no JSON object in {reply.attempts} attempt(s) from {self._where()}: {last}",
                url=self.base_url,
                model=self.model,
                last_error=last,
            )
        return reply

    # ------------------------------------------------------------------ tokenizer

    async def _post_root(self, path: str, payload: dict[str, Any]) -> Any | None:
        """POST to the server root; the JSON answer, or None when the route is missing/unsupported."""
        try:
            async with httpx.AsyncClient(timeout=httpx.Timeout(self.timeout, connect=3.0)) as http:
                response = await http.post(
                    f"{self.server_root}{path}", json=payload, headers={"Authorization": f"Bearer {self.api_key}"}
                )
        except httpx.HTTPError as e:
            raise self._map_error(e, f"POST {path}") from None
        if response.status_code >= 400:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def _tokenize_routes(self) -> list[str]:
        order: dict[ServerKind, list[str]] = {
            "vllm": ["vllm"],
            "llama.cpp": ["llama.cpp"],
            "llama-cpp-python": ["llama-cpp-python"],
            "unknown": ["vllm", "llama.cpp", "llama-cpp-python"],
        }
        return [self._tokenize_route] if self._tokenize_route else order[self._kind]

    async def tokenize(self, text: str) -> list[int] | None:
        """Token ids of `text` by the server's own tokenizer, or None when the server has no
        tokenize route. vLLM: `POST /tokenize {model, prompt}`; llama.cpp: `POST /tokenize
        {content}`; llama-cpp-python: `POST /extras/tokenize {input, model}` (adds BOS if the model does)."""
        if not self._checked:
            await self.check()
        payloads: dict[str, tuple[str, dict[str, Any]]] = {
            "vllm": ("/tokenize", {"model": self.model, "prompt": text, "add_special_tokens": False}),
            "llama.cpp": ("/tokenize", {"content": text, "add_special": False, "parse_special": True}),
            "llama-cpp-python": ("/extras/tokenize", {"input": text, "model": self.model}),
        }
        for route in self._tokenize_routes():
            path, payload = payloads[route]
            answer = await self._post_root(path, payload)
            tokens = answer.get("tokens") if isinstance(answer, dict) else None
            # a non-empty text gives tokens; an empty list means the route ignored our payload's keys
            if isinstance(tokens, list) and all(isinstance(t, int) for t in tokens) and (tokens or not text):
                self._tokenize_route = route
                return tokens
        return None

    async def chat_template_tokens(self, messages: Sequence[dict[str, Any]]) -> list[int] | None:
        """Token ids of the prompt the server builds from `messages` with its chat template (plus the
        generation prompt) — the figure a prefix-reuse benchmark compares call to call. vLLM:
        `POST /tokenize {model, messages}`; llama.cpp: `POST /apply-template` then `/tokenize`.
        None where the server cannot apply its template (llama-cpp-python's server)."""
        if not self._checked:
            await self.check()
        cleaned = clean_messages(messages)
        if self._kind in ("vllm", "unknown"):
            answer = await self._post_root(
                "/tokenize", {"model": self.model, "messages": cleaned, "add_generation_prompt": True}
            )
            tokens = answer.get("tokens") if isinstance(answer, dict) else None
            if isinstance(tokens, list) and tokens:
                return [int(t) for t in tokens]
        if self._kind in ("llama.cpp", "unknown"):
            applied = await self._post_root("/apply-template", {"messages": cleaned})
            prompt = applied.get("prompt") if isinstance(applied, dict) else None
            if isinstance(prompt, str):
                answer = await self._post_root("/tokenize", {"content": prompt, "parse_special": True})
                tokens = answer.get("tokens") if isinstance(answer, dict) else None
                if isinstance(tokens, list):
                    return [int(t) for t in tokens]
        return None
