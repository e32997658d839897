"""Text the shipped tokenizer's encoder (multilingual e5) does not read (issue 11, item 8): refused where it would
become codes, left out (with the reason) where it would be compared by embedding, and still fine as meta to render;
and text in the languages it reads (issue 13) coded like English."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from agents.brief import Brief
from agents.instruction import instruction_task
from agents.llm_client import StructuredClient
from agents.llm_policy import LLMPolicy
from agents.llm_specs import spec_for
from agents.merge import merge
from agents.models import ShotInstructions, Source
from agents.testing import Reply, ScriptedEndpoint
from rag_recsys.reads import ENGLISH, Reads, legibility
from rag_recsys.recommender import UserContext, resolve_history
from rag_recsys.sidfile import ProductMeta, encode_sid, load_sid_file
from rag_recsys.tokenizers import Tokenizer, default_tokenizer
from ragvid.commands.sid import sid_app
from tests.conftest import ALL_CAPABILITIES, EXAMPLES
from tools.errors import InputError

runner = CliRunner()

CHINESE = "深烘意式咖啡豆"  # dark-roast espresso coffee beans
ARABIC = "بن عربي محمص داكن للقهوة"  # dark-roasted Arabic coffee beans
SPANISH = "Granos de café espresso tostado oscuro"
# scripts the multilingual encoder does not claim to read (`rag_recsys.reads.MULTILINGUAL`)
THAI = "เมล็ดกาแฟคั่วเข้ม"  # dark-roasted coffee beans
GREEK = "Καβουρδισμένοι κόκκοι καφέ"  # roasted coffee beans
REFUSED = "Hindi only"


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return default_tokenizer()


# ------------------------------------------------------------------------------------------- the rule


def test_the_rule_counts_letters_and_refuses_from_half() -> None:
    assert legibility(CHINESE, ENGLISH).share == 1.0 and not legibility(CHINESE, ENGLISH).readable
    # digits, punctuation and emoji are no script's letters: they neither dilute nor count
    assert not legibility(f"{CHINESE} 2024!!! ☕", ENGLISH).readable
    half = legibility("ab 咖啡", ENGLISH)  # 2 of 4 letters unread: the bar is inclusive
    assert half.share == 0.5 and not half.readable
    less = legibility("abc 咖啡", ENGLISH)
    assert less.readable and less.partial and less.found() == "Han script (2 of 5 letters)"
    assert legibility("Café crème, 100 %", ENGLISH).unread_letters == 0  # accents are Latin
    # the check follows what the encoder declares: one that reads Han reads the Chinese text
    multilingual = Reads(encoder="m", label="many languages", scripts=frozenset({"Latn", "Hani"}),
                         languages=frozenset({"en", "zh"}))  # fmt: skip
    assert legibility(CHINESE, multilingual).readable and multilingual.reads_language("zh-Hans")
    assert ENGLISH.reads_language("en-GB") and not ENGLISH.reads_language("es")


# ------------------------------------------------------------------------------------------- sid encode


@pytest.mark.parametrize("text", [CHINESE, ARABIC, "Café en grano tostado oscuro"])
def test_text_in_a_language_the_encoder_reads_is_coded_like_english(tok: Tokenizer, text: str) -> None:
    """The content path of coffee beans in Chinese, Arabic or Spanish holds coffee, as the English one does. (Not
    every phrasing: "Granos de café espresso tostado oscuro" lands on Coffee Grinders.)"""
    path, _ = tok.encode_content(text)
    assert tok.nearest_category(text, path)[0].startswith("Food, Beverages & Tobacco > Beverages > Coffee")


@pytest.mark.parametrize("text, script", [(THAI, "Thai script (17 of 17 letters)"), (GREEK, "Greek script")])
def test_sid_encode_refuses_text_mostly_in_a_script_the_encoder_does_not_read(
    tmp_path: Path, text: str, script: str
) -> None:
    out = tmp_path / "x.json"
    result = runner.invoke(sid_app, ["encode", text, "-o", str(out)])
    assert result.exit_code == 2, result.output
    line = result.stderr.strip()
    assert "\n" not in line and line.startswith("error: TEXT: the product text is ")
    assert script in line and REFUSED in line and "in one of those languages" in line  # what to do
    assert not out.exists()


def test_sid_encode_refuses_a_style_the_encoder_does_not_read(tmp_path: Path) -> None:
    result = runner.invoke(
        sid_app, ["encode", "Aurora coffee beans", "--style", "อบอุ่นสบาย", "-o", str(tmp_path / "x.json")]
    )
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert line.startswith("error: --style: the style text is Thai script") and REFUSED in line


def test_mostly_english_text_with_a_thai_word_encodes_with_a_warning(tok: Tokenizer, tmp_path: Path) -> None:
    out = tmp_path / "x.json"
    result = runner.invoke(sid_app, ["encode", "Aurora espresso coffee beans, dark roast คั่ว", "-o", str(out)])
    assert result.exit_code == 0, result.output
    warning = next(line for line in result.stderr.splitlines() if line.startswith("warning: "))
    assert warning.startswith("warning: TEXT: Thai script (") and "approximate" in warning
    assert "Coffee" in tok.decode_content(json.loads(out.read_text())["content"]).entities  # the English part
    assert "approximate" in result.stderr.splitlines()[-1]  # the cosine it prints says so too


def test_a_selling_point_in_another_script_is_named_by_its_flag(tmp_path: Path) -> None:
    args = ["encode", "Coffee", "--selling-point", "Rich crema", "--selling-point",
            "เมล็ดกาแฟคั่วเข้มหอมกรุ่นจากแหล่งปลูก", "-o", str(tmp_path / "x.json")]  # fmt: skip
    result = runner.invoke(sid_app, args)
    # the selling point outweighs the English (Thai letters outnumber the 15 Latin): mostly Thai as embedded
    assert result.exit_code == 2 and result.stderr.startswith("error: --selling-point[1]: the product text is Thai")


def test_a_language_the_encoder_does_not_read_encodes_with_a_warning(tmp_path: Path) -> None:
    out = tmp_path / "tr.json"
    result = runner.invoke(sid_app, ["encode", "Koyu kavrulmuş espresso kahve çekirdekleri", "--language", "tr",
                                     "-o", str(out)])  # fmt: skip
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warnings) == 1 and warnings[0].startswith("warning: --language: language 'tr' is not one")
    assert "approximate" in warnings[0] and json.loads(out.read_text())["meta"]["language"] == "tr"
    spanish = runner.invoke(sid_app, ["encode", SPANISH, "--language", "es", "-o", str(tmp_path / "es.json")])
    assert spanish.exit_code == 0 and "warning" not in spanish.stderr


def test_encode_sid_in_python_raises_and_logs_the_same(tok: Tokenizer, caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(InputError) as info:
        encode_sid(tok, THAI, meta=ProductMeta(product=THAI, language="th"))
    assert info.value.field == "meta.product" and "Thai script" in info.value.message
    with pytest.raises(InputError) as info:
        encode_sid(tok, GREEK, field_names={"product": "--product"})  # no meta: the argument itself
    assert info.value.field == "--product"
    with caplog.at_level(logging.WARNING, logger="ragvid.sid"):
        sid = encode_sid(tok, "Aurora coffee beans", meta=ProductMeta(product="Aurora coffee beans", brand="กาแฟ"))
    assert len(sid.content) == 3
    logged = [r.getMessage() for r in caplog.records if r.name == "ragvid.sid"]
    assert logged == [m for m in logged if m.startswith("meta.brand: Thai script (4 of ")] and len(logged) == 1


def test_item_texts_of_a_user_history_follow_the_same_rule(tok: Tokenizer) -> None:
    sizes = tok.lexicon.content_sizes, tok.lexicon.creative_sizes
    with pytest.raises(InputError) as info:
        resolve_history(UserContext(history=["Espresso coffee beans", THAI]), *sizes, tok)
    assert info.value.field == "history[1]" and REFUSED in info.value.message


# ------------------------------------------------------------------------------------------- loading


def _thai_sid(tmp_path: Path) -> Path:
    doc = json.loads((EXAMPLES / "coffee.json").read_text())
    doc["meta"] = {"product": THAI, "brand": "ออโรรา", "selling_points": ["รสช็อกโกแลตและเชอร์รี่"], "language": "th"}
    path = tmp_path / "th.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return path


def test_thai_meta_loads_without_a_cosine_and_says_why(
    tok: Tokenizer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="ragvid.sid"):
        loaded = load_sid_file(_thai_sid(tmp_path), tok)
    assert loaded.similarity is None and loaded.sid.meta is not None and loaded.sid.meta.product == THAI
    assert loaded.similarity_note is not None and loaded.similarity_note.startswith("skipped: ")
    assert "Thai script" in loaded.similarity_note and REFUSED in loaded.similarity_note
    assert any("cosine skipped" in r.getMessage() for r in caplog.records)
    english = load_sid_file(EXAMPLES / "coffee.json", tok)
    assert english.similarity is not None and english.similarity_note is None


def test_sid_decode_of_thai_meta_still_works(tmp_path: Path) -> None:
    result = runner.invoke(sid_app, ["decode", str(_thai_sid(tmp_path)), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["similarity"] is None and doc["similarity_note"].startswith("skipped: ")
    assert doc["meta"]["product"] == THAI and doc["product_text"].startswith(THAI)
    assert "warning: " in result.stderr and "cosine skipped" in result.stderr


# ------------------------------------------------------------------------------------------- LLM checks


@pytest.fixture(scope="module")
def plan() -> ShotInstructions:
    loaded = load_sid_file(EXAMPLES / "coffee.json", default_tokenizer())
    return instruction_task(Brief.from_loaded(loaded, aspect="9:16", duration=12.0), ALL_CAPABILITIES).rule()


def _with_scene(plan: ShotInstructions, scene: str) -> dict[str, Any]:
    answer = plan.model_dump(mode="json")
    answer["shots"][1]["scene"] = scene
    return answer


def test_coherence_check_is_skipped_for_chinese_copy_with_a_note(plan: ShotInstructions) -> None:
    # Chinese copy for an English product, and any copy for a Chinese product: a cosine would be noise
    for anchor, scene, unread in (("coffee beans", "深烘咖啡豆特写镜头", "the LLM text"),
                                  (CHINESE, "A cat sleeping on a sofa", "the product")):  # fmt: skip
        merged = merge(plan, _with_scene(plan, scene), spec_for("instruction", anchor))
        assert merged.sources["shots[1].scene"] is Source.llm and merged.data["shots"][1]["scene"] == scene
        assert len(merged.unchecked) == 1 and merged.unchecked[0].startswith("shots[1].scene: coherence check skipped")
        assert f"{unread} is Han script" in merged.unchecked[0] and not merged.notes
    # the check still runs for text the encoder reads: English off-topic copy falls back to the rule
    merged = merge(plan, _with_scene(plan, "A cat sleeping on a sofa"), spec_for("instruction", "coffee beans"))
    assert merged.sources["shots[1].scene"] is Source.rule and not merged.unchecked
    assert any("off-topic: cosine" in n for n in merged.notes)


async def test_the_llm_policy_records_and_logs_the_skipped_check(
    plan: ShotInstructions, caplog: pytest.LogCaptureFixture
) -> None:
    loaded = load_sid_file(EXAMPLES / "coffee.json", default_tokenizer())
    task = instruction_task(Brief.from_loaded(loaded, aspect="9:16", duration=12.0), ALL_CAPABILITIES)
    task.prompt = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    task.anchor = CHINESE
    with ScriptedEndpoint([Reply.json(_with_scene(plan, "深烘咖啡豆特写镜头"))]) as endpoint:
        client = StructuredClient(endpoint.base_url, "scripted", timeout=5.0, response_format="json_object")
        try:
            with caplog.at_level(logging.WARNING, logger="ragvid.llm"):
                decision = await LLMPolicy(client).decide(task)
        finally:
            await client.aclose()
    assert decision.output.shots[1].scene == "深烘咖啡豆特写镜头" and decision.sources["shots[1].scene"] is Source.llm
    skipped = [n for n in decision.notes if n.startswith("check skipped: shots[1].scene: coherence check skipped")]
    assert len(skipped) == 1 and "Han script" in skipped[0]
    assert any("kept without the coherence check" in r.getMessage() for r in caplog.records)
