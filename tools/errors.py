"""The error family of every ragvid package, and the one place pydantic errors become messages.

``tools`` is the bottom layer (``tools`` ← ``rag_recsys`` ← ``agents`` ← ``graphs`` ← ``ragvid``), so every
package may import this module. Every ragvid exception derives from ``RagvidError`` and prints as one
line, so the shell can show it as is:

- ``InputError`` — input a user can fix (a SID file, a user file, a data set, a flag, a setting, a graph
  input). It names the field (``meta.images[0]``) and, when there is one, the file. The CLI prints it
  and exits 2; a graph node raising it fails the run with the same line.
- ``ToolError`` — a tool failed at run time (bad media, a crashed encoder); ``BackendMissing`` names the
  extra that installs an optional back-end.
- ``LLMError`` (``agents.llm_client``) — an LLM endpoint failed; its subclasses say how.

After pydantic-ai's ``exceptions.py``: one module of exceptions, each with one job, instead of errors
defined beside every function that raises them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails


def one_line(text: object, limit: int = 400) -> str:
    """``text`` with every run of whitespace (newlines included) as one space, cut to ``limit`` chars."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


class RagvidError(Exception):
    """Root of ragvid's exceptions; ``str()`` is always one line."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message))


class InputError(RagvidError, ValueError):
    """Bad input a user can fix: ``str()`` is ``"<file>: <field>: <message>"`` (without the file when
    there is none). ``field`` is a path such as ``meta.selling_points[2]`` or a flag such as ``--aspect``."""

    def __init__(self, field: str, message: str, file: str | Path | None = None) -> None:
        self.field = field
        self.message = one_line(message)
        self.file = str(file) if file is not None else None
        super().__init__(f"{self.file}: {field}: {self.message}" if self.file else f"{field}: {self.message}")

    @classmethod
    def from_validation(
        cls,
        exc: ValidationError,
        file: str | Path | None = None,
        prefix: Sequence[str | int] = (),
        hints: Mapping[str, str] | None = None,
    ) -> InputError:
        """The first error of ``exc`` as an ``InputError``. ``prefix`` is prepended to the field path
        (``("meta",)`` when a nested object was validated alone); ``hints`` maps a top-level field whose
        entries are unions to what an entry may be (a union's per-member errors say less)."""
        err = exc.errors()[0]
        loc = (*prefix, *err["loc"])
        hint = (hints or {}).get(str(loc[0])) if loc else None
        if hint is not None and len(loc) >= 2 and err["type"] != "too_long":
            return cls(field_name(loc[:2]), hint, file)
        return cls(field_name(_without_union_tags(loc)), describe(err), file)


class ToolError(RagvidError, RuntimeError):
    """A tool failed at run time (bad media, a crashed encoder, an engine that produced nothing)."""


class BackendMissing(ToolError):
    """An optional back-end is not installed; the message names the extra that provides it."""

    def __init__(self, backend: str, extra: str, detail: str = "") -> None:
        self.backend = backend
        self.extra = extra
        msg = f"back-end '{backend}' is not installed: pip install 'ragvid[{extra}]'"
        super().__init__(f"{msg} ({detail})" if detail else msg)


def field_name(loc: Sequence[int | str]) -> str:
    """A pydantic error location as a path: ``("meta", "images", 0)`` → ``meta.images[0]``."""
    name = ""
    for part in loc:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(top level)"


def _without_union_tags(loc: Sequence[int | str]) -> tuple[int | str, ...]:
    # pydantic puts the union member's type name in the location (``history.0.list[int]``)
    return tuple(p for p in loc if not (isinstance(p, str) and ("[" in p or p in ("str", "int", "float", "bool"))))


def describe(err: ErrorDetails) -> str:
    """One pydantic error as a message a person (or a model asked to repair its answer) can act on."""
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    if kind == "extra_forbidden":
        return "unknown key (not part of the format)"
    if kind == "string_too_long":
        return f"text too long: {len(value)} characters (max {ctx.get('max_length')})"
    if kind == "too_long":
        return f"too many items: {len(value)} (max {ctx.get('max_length')})"
    if kind == "missing":
        return "required but missing"
    if kind == "value_error":  # a model's own validator: its message says it all
        return str(ctx.get("error", err["msg"]))
    return f"{err['msg']}, got {_shown(value)}"


def _shown(value: Any) -> str:
    try:
        return one_line(json.dumps(value, ensure_ascii=False), 80)
    except (TypeError, ValueError):
        return type(value).__name__


def describe_all(exc: ValidationError, limit: int = 6) -> str:
    """``field: message`` for the first ``limit`` errors of ``exc``, ``; ``-joined on one line."""
    parts = [f"{field_name(e['loc'])}: {describe(e)}" for e in exc.errors()[:limit]]
    more = exc.error_count() - limit
    if more > 0:
        parts.append(f"(+{more} more)")
    return one_line("; ".join(parts), 600)
