"""The response schema one LLM call is held to: the role's output schema narrowed to this task.

The role's pydantic schema says what an answer may look like; the task narrows it with what is
already decided. Every locked leaf (timings from measurements, codes' palette and tempo, the
advertiser's meta) becomes a `const` of the rule's value, every list of models gets exactly the
rule's items (`prefixItems`), every property is required and no other is allowed, a field with
listed choices is an `enum` of them, and each free text is a bounded run of plain characters. A
grammar-constrained server (vLLM's structured outputs, llama.cpp's GBNF) then writes the locked
values itself, so its answer already is the decided output wherever the model had no say — the
answer goes into the conversation unchanged and the next call extends it (Eq. 14).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from agents.merge import RoleSpec

# no quote, backslash or control character: the text needs no JSON escape at all
PLAIN_TEXT = '^[^"\\\\\\x00-\\x1f]{{0,{cap}}}$'


def _resolve(schema: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local `$ref` inlined (pydantic puts nested models under `$defs`)."""
    if isinstance(schema, dict):
        if "$ref" in schema:
            target = defs[schema["$ref"].rsplit("/", 1)[-1]]
            merged = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
            return _resolve(merged, defs)
        return {k: _resolve(v, defs) for k, v in schema.items() if k != "$defs"}
    if isinstance(schema, list):
        return [_resolve(v, defs) for v in schema]
    return schema


def _object_branch(schema: dict[str, Any]) -> dict[str, Any] | None:
    """The object schema inside an optional (`anyOf: [object, null]`), or the schema itself."""
    if "properties" in schema:
        return schema
    for branch in schema.get("anyOf", []):
        if isinstance(branch, dict) and "properties" in branch:
            return branch
    return None


def _narrow(schema: dict[str, Any], value: Any, path: str, spec: RoleSpec, text_cap: float) -> dict[str, Any]:
    if spec.is_locked(path):
        return {"const": value}
    choices = spec.choices_for(path)
    if choices is not None:
        return {"enum": choices}
    obj = _object_branch(schema)
    if obj is not None and isinstance(value, dict):
        properties = {
            name: _narrow(sub, value.get(name), f"{path}.{name}" if path else name, spec, text_cap)
            for name, sub in obj["properties"].items()
        }
        return {"type": "object", "properties": properties, "required": list(properties), "additionalProperties": False}
    items = schema.get("items")
    if isinstance(items, dict) and isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        prefix = [_narrow(items, v, f"{path}[{i}]", spec, text_cap) for i, v in enumerate(value)]
        return {"type": "array", "prefixItems": prefix, "minItems": len(prefix), "maxItems": len(prefix)}
    item_choices = spec.choices_for(f"{path}[0]")
    if isinstance(value, list) and item_choices is not None:
        return {"type": "array", "items": {"enum": item_choices}, "minItems": len(value), "maxItems": len(value)}
    if isinstance(value, str):
        return _capped_text(schema, int(text_cap * len(value)) + 20)
    return schema


def _capped_text(schema: dict[str, Any], cap: int) -> dict[str, Any]:
    r"""A free text (or optional text) as a bounded run of plain characters. Without the bound a small
    model loops in one string until max_tokens; without excluding escapes it fills it with `\uXXXX`."""
    if schema.get("type") == "string" and "enum" not in schema and "const" not in schema:
        return {"type": "string", "pattern": PLAIN_TEXT.format(cap=cap)}
    if "anyOf" in schema:
        return {**schema, "anyOf": [_capped_text(b, cap) if isinstance(b, dict) else b for b in schema["anyOf"]]}
    return schema


def response_schema(schema: type[BaseModel], rule: BaseModel, spec: RoleSpec, text_cap: float) -> dict[str, Any]:
    """`schema`'s JSON schema narrowed to the task whose rule answer is `rule` (see the module doc)."""
    full = schema.model_json_schema()
    resolved = _resolve(full, full.get("$defs", {}))
    narrowed = _narrow(resolved, rule.model_dump(mode="json"), "", spec, text_cap)
    narrowed["title"] = full.get("title", schema.__name__)
    return narrowed
