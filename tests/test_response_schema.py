"""The response schema an LLM call is held to (agents/response_schema.py) and the per-field merge that
decides what of an answer is kept (agents/merge.py): built from the demo's real rule plans."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from agents.brief import Brief
from agents.conversation import answer
from agents.instruction import instruction_task
from agents.llm_policy import _corrections
from agents.llm_specs import MAX_LENGTH_RATIO, spec_for
from agents.merge import merge
from agents.models import ShotInstructions, Source
from agents.response_schema import PLAIN_TEXT, response_schema
from rag_recsys.sidfile import load_sid_file
from rag_recsys.tokenizers import default_tokenizer
from tests.conftest import ALL_CAPABILITIES, EXAMPLES


@pytest.fixture(scope="module")
def rule() -> tuple[ShotInstructions, str]:
    loaded = load_sid_file(EXAMPLES / "coffee.json", default_tokenizer())
    brief = Brief.from_loaded(loaded, aspect="9:16", duration=None)
    return instruction_task(brief, ALL_CAPABILITIES).rule(), brief.product_text


def conforms(schema: dict[str, Any], value: Any) -> bool:
    """Just enough JSON Schema for the narrowed schemas: const, enum, objects, tuples, types, patterns."""
    if "const" in schema:
        return bool(schema["const"] == value)
    if "enum" in schema:
        return value in schema["enum"]
    if "anyOf" in schema:
        return any(conforms(s, value) for s in schema["anyOf"])
    kind = schema.get("type")
    if kind == "object":
        props = schema["properties"]
        return isinstance(value, dict) and set(value) == set(props) and all(conforms(props[k], value[k]) for k in props)
    if "prefixItems" in schema:
        items = schema["prefixItems"]
        return isinstance(value, list) and len(value) == len(items) and all(map(conforms, items, value))
    if kind == "string" and "pattern" in schema:
        return isinstance(value, str) and re.match(schema["pattern"], value) is not None
    return True


def test_the_rule_answer_conforms_and_locked_leaves_are_constants(rule: tuple[ShotInstructions, str]) -> None:
    plan, anchor = rule
    schema = response_schema(ShotInstructions, plan, spec_for("instruction", anchor), MAX_LENGTH_RATIO)
    dumped = plan.model_dump(mode="json")
    assert conforms(schema, dumped)
    shots = schema["properties"]["shots"]
    assert shots["minItems"] == shots["maxItems"] == len(plan.shots) == len(shots["prefixItems"])
    first = shots["prefixItems"][0]["properties"]
    assert first["index"] == {"const": 0} and first["narration_intent"] == {"const": plan.shots[0].narration_intent}
    assert schema["properties"]["palette"] == {"const": dumped["palette"]}
    assert "enum" in schema["properties"]["music_mood"]
    assert "enum" in first["camera"]  # a free choice, but only among the renderer's moves
    # a free text is a bounded run of plain characters: no quote, backslash or control character
    cap = int(MAX_LENGTH_RATIO * len(plan.shots[0].scene)) + 20
    assert first["scene"] == {"type": "string", "pattern": PLAIN_TEXT.format(cap=cap)}
    mutated = json.loads(json.dumps(dumped))
    mutated["shots"][0]["scene"] = 'a "quoted" scene'
    assert not conforms(schema, mutated)
    mutated = json.loads(json.dumps(dumped))
    mutated["shots"][1]["index"] = 7
    assert not conforms(schema, mutated)


def test_merge_keeps_good_fields_and_names_what_it_replaced(rule: tuple[ShotInstructions, str]) -> None:
    plan, anchor = rule
    spec = spec_for("instruction", anchor)
    llm = plan.model_dump(mode="json")
    llm["shots"][0]["camera"] = "pan_left" if plan.shots[0].camera != "pan_left" else "push_in"
    llm["shots"][1]["scene"] = "SHOCK: SHOW-UP! SHOCHES!"  # what the 135M model writes
    llm["tone"] = "bold"
    merged = merge(plan, llm, spec)
    assert (
        merged.sources["shots[0].camera"] is Source.llm
        and merged.data["shots"][0]["camera"] == llm["shots"][0]["camera"]
    )
    assert merged.sources["shots[1].scene"] is Source.rule and merged.data["shots"][1]["scene"] == plan.shots[1].scene
    assert any(n.startswith("shots[1].scene: ") and "cosine" in n for n in merged.notes)
    assert merged.sources["palette"] is Source.rule  # locked: no note, the schema forced it
    corrections = _corrections(merged, spec.is_locked)
    assert corrections == {"shots[1].scene": plan.shots[1].scene}
    turns = answer("instruction", merged.data, raw=json.dumps(llm), corrections=corrections)
    assert [t["role"] for t in turns] == ["assistant", "user"]
    assert turns[0]["content"] == json.dumps(llm)  # the server's answer, unchanged
    assert plan.shots[1].scene in turns[1]["content"]
    assert answer("instruction", merged.data) == [
        {
            "role": "assistant",
            "content": json.dumps(merged.data, ensure_ascii=False, separators=(",", ":"), sort_keys=True),
            "agent": "instruction",
        }
    ]
