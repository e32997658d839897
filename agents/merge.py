"""Per-field merge of an LLM answer into the rule policy's answer.

The LLM fills in the same schema as the rule. Each leaf it wrote is kept only if it validates against
the field's type and passes the role's checks; every other leaf — missing, malformed, off-topic, or
*locked* because it is derived from measurements or from the codes (timings, tempo, palette) — comes
from the rule. Nested models and equally long lists of models merge item by item, so a good camera
choice survives next to a bad line of copy. The result records, per leaf path, where it came from.

A check that cannot judge a value (its embedding comparison needs a text the encoder does not read)
answers `Unchecked`: the leaf is kept, and the result says which check was skipped and why.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from agents.models import Source
from tools.errors import describe


@dataclass(frozen=True)
class Unchecked:
    """A check's answer when it could not judge the value (``why``): the value is kept, the skip recorded."""

    why: str


# (path, llm value, rule value) -> why it is rejected, None when it passes, or `Unchecked`
Check = Callable[[str, Any, Any], str | Unchecked | None]


def _pattern(path: str, *, exact: bool = False) -> re.Pattern[str]:
    """`path` with `[*]` for any index; matching the path and everything under it unless `exact`."""
    return re.compile("^" + re.escape(path).replace(r"\[\*\]", r"\[\d+\]") + ("$" if exact else r"(\.|\[|$)"))


@dataclass
class RoleSpec:
    """What the LLM may decide for one role: everything but `locked`, subject to `check`."""

    locked: Iterable[str] = ()
    check: Check | None = None
    # the values a free field may take, where its type alone admits nonsense (a speech rate of 2.7)
    choices: dict[str, list[Any]] = field(default_factory=dict)
    _compiled: list[re.Pattern[str]] = field(default_factory=list, init=False)
    _choices: list[tuple[re.Pattern[str], list[Any]]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        self._compiled = [_pattern(p) for p in self.locked]
        self._choices = [(_pattern(p, exact=True), v) for p, v in self.choices.items()]

    def is_locked(self, path: str) -> bool:
        """Whether the leaf at `path` (e.g. ``shots[2].weight``) is locked, i.e. always the rule's."""
        return any(p.match(path) for p in self._compiled)

    def choices_for(self, path: str) -> list[Any] | None:
        """The values the free field at `path` may take; None where its type alone bounds it."""
        return next((values for pattern, values in self._choices if pattern.match(path)), None)


@dataclass
class Merged:
    """A merged answer: ``data`` as JSON (each leaf valid, the whole not yet validated), the `Source` of each
    leaf path, a note per leaf that fell back to the rule saying why, and one per kept leaf whose check was
    skipped (``"<path>: <why>"``)."""

    data: dict[str, Any]
    sources: dict[str, Source] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)


_MISSING = object()


def merge(rule: BaseModel, llm: Any, spec: RoleSpec) -> Merged:
    """The rule's answer `rule` with every free leaf of `llm` (the parsed JSON answer) that validates and
    passes ``spec.check``; locked, missing and rejected leaves are the rule's (see the module doc)."""
    out = Merged(data={})
    out.data = _model(rule, llm, "", spec, out)
    return out


def _model(rule: BaseModel, llm: Any, path: str, spec: RoleSpec, out: Merged) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, info in type(rule).model_fields.items():
        p = f"{path}.{name}" if path else name
        lv = llm.get(name, _MISSING) if isinstance(llm, dict) else _MISSING
        # the field's constraints (a pattern, a bound) live in its metadata, not its bare annotation
        annotation = Annotated[info.annotation, *info.metadata] if info.metadata else info.annotation
        result[name] = _value(annotation, getattr(rule, name), lv, p, spec, out)
    return result


def _dump(value: Any) -> Any:
    return TypeAdapter(type(value)).dump_python(value, mode="json") if value is not None else None


def _rule(value: Any, path: str, out: Merged, why: str | None) -> Any:
    out.sources[path] = Source.rule
    if why:
        out.notes.append(f"{path}: {why}")
    return _dump(value)


def _value(annotation: Any, rv: Any, lv: Any, path: str, spec: RoleSpec, out: Merged) -> Any:
    if spec.is_locked(path):
        return _rule(rv, path, out, None)
    if lv is _MISSING:
        return _rule(rv, path, out, "missing from the LLM answer")
    if isinstance(rv, BaseModel) and isinstance(lv, dict):
        return _model(rv, lv, path, spec, out)
    if isinstance(rv, list) and rv and all(isinstance(x, BaseModel) for x in rv):
        if not isinstance(lv, list) or len(lv) != len(rv):
            n = len(lv) if isinstance(lv, list) else "no list"
            return _rule(rv, path, out, f"expected {len(rv)} items, got {n}")
        return [_model(r, item, f"{path}[{i}]", spec, out) for i, (r, item) in enumerate(zip(rv, lv, strict=True))]
    try:
        value = TypeAdapter(annotation).validate_python(lv)
    except ValidationError as e:
        return _rule(rv, path, out, describe(e.errors()[0]))
    # the rule's own value needs no check (some rule texts, e.g. a bare selling point, sit below the bars)
    why = spec.check(path, value, rv) if spec.check and value != rv else None
    if isinstance(why, Unchecked):
        out.unchecked.append(f"{path}: {why.why}")
    elif why:
        return _rule(rv, path, out, why)
    out.sources[path] = Source.llm
    return TypeAdapter(annotation).dump_python(value, mode="json")
