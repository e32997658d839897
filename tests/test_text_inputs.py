"""The inputs a new user's first runs bring: text no font can set, a language no voice speaks, a word wider than
the frame, too much copy for the length asked, and no meta at all. Each input is built here."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from agents.brief import Brief
from agents.effect import rule_effect
from agents.instruction import rule_instructions
from agents.models import VoiceTake
from agents.visual import rule_visual
from rag_recsys.sidfile import load_sid, parse_sid
from rag_recsys.tokenizers import Tokenizer, default_tokenizer
from tests.conftest import EXAMPLES, render
from tools import fonts
from tools.errors import InputError
from tools.escape import ffmpeg_path
from tools.ffmpeg import shipped
from tools.fonts import check_coverage
from tools.subtitles import AssSubtitles, safe_width

LONG_WORD = "Hyperthermoregulating"
assert len(LONG_WORD * 2) == 42


def sid_with(tmp: Path, **meta: Any) -> Path:
    sid = json.loads((EXAMPLES / "coffee.json").read_text())
    sid["meta"].update({"images": [str((EXAMPLES / i).resolve()) for i in sid["meta"]["images"]], **meta})
    path = tmp / "in.sid.json"
    path.write_text(json.dumps(sid, ensure_ascii=False))
    return path


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return default_tokenizer()


def brief_of(tokenizer: Tokenizer, duration: float | None = None, *, meta: bool = True, **changes: Any) -> Brief:
    sid = json.loads((EXAMPLES / "coffee.json").read_text())
    if meta:
        sid["meta"].update({"images": [], **changes})
    else:
        sid.pop("meta")
    return Brief.from_loaded(load_sid(parse_sid(sid), tokenizer), aspect="9:16", duration=duration)


# ------------------------------------------------------------------------------------ fonts (item 1)


def test_a_missing_font_names_its_package(monkeypatch: pytest.MonkeyPatch) -> None:
    real = fonts._installed()
    monkeypatch.setattr(fonts, "_installed", lambda: {k: v for k, v in real.items() if "CJK" not in k})
    with pytest.raises(InputError, match=r"meta\.product: .*'Noto Sans CJK SC'.*apt-get install fonts-noto-cjk"):
        check_coverage("深烘意式咖啡豆", "meta.product", ("Noto Sans CJK SC",))


def test_a_family_with_no_bold_file_is_emboldened_not_missing() -> None:
    """fonts-noto-core ships ~100 families in one weight (Egyptian Hieroglyphs, Math, Mongolian…); bold text in
    them is the regular face emboldened by libass, never a 'font not installed' error."""
    assert fonts.installed_face("Noto Sans Egyptian Hieroglyphs") is not None
    bold = fonts.face("Noto Sans Egyptian Hieroglyphs", bold=True)
    assert bold.synthetic_bold and bold.path.name == "NotoSansEgyptianHieroglyphs-Regular.ttf"
    check_coverage("Aurora \U00013000", "meta.brand")  # no error
    assert not fonts.face(fonts.FONT_FAMILY, bold=True).synthetic_bold  # a real bold file stays in use


def test_text_no_font_covers_is_exit_2_naming_the_field(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sid = sid_with(tmp_path, selling_points=["Roasted weekly", "Private \U000f0001 glyph"])
    res = run_cli("generate", str(sid), "-o", str(tmp_path / "x.mp4"))
    assert res.code == 2
    assert res.stderr.strip().splitlines()[-1] == (
        "error: meta.selling_points[1]: no installed font has a glyph for U+F0001 '\\U000f0001'")


# ------------------------------------------------------------------------------------ voices (item 2)


def test_a_language_without_a_voice_is_exit_2_unless_silent(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sid = sid_with(tmp_path, product="深烘意式咖啡豆", selling_points=["每周新鲜烘焙"], cta="立即下单", language="zh",
                   brand="Aurora", price="¥98")  # fmt: skip
    res = run_cli("generate", str(sid), "-o", str(tmp_path / "x.mp4"), "--tts", "piper")
    assert res.code == 2 and "error: meta.language: no voice speaks 'zh'" in res.stderr
    assert "--tts none" in res.stderr.strip().splitlines()[-1]
    done = render(run_cli, sid, tmp_path / "silent.mp4", "--tts", "none")
    audio = [r["audio"] for r in done.record["rounds"] if r.get("audio")][-1]
    assert audio["voice"]["engine"] == "none" and all(t["backend"] == "none" for t in audio["takes"])
    assert done.record["accepted"] is True  # no "speech missing" for a render asked to be silent


# ------------------------------------------------------------------------------ pixel fitting (item 5)


def test_a_long_word_at_1_1_stays_inside_the_frame(tokenizer: Tokenizer, tmp_path: Path) -> None:
    brief = brief_of(tokenizer, selling_points=[f"{LONG_WORD * 2} comfort", "Warm"])
    brief = brief.model_copy(update={"aspect": "1:1"})
    instructions = rule_instructions(brief)
    visual = rule_visual(instructions, [])
    texts = {f"l{s.index}": s.narration_intent for s in instructions.shots}
    takes = [VoiceTake(line_id=f"l{s.index}", shot_id=seg.shot_id, path="x.wav", start=seg.start + 0.24,
                       onset=0.06, duration=1.0, backend="test")
             for s, seg in zip(instructions.shots, visual.segments, strict=True)]  # fmt: skip
    effect = rule_effect(instructions, visual, texts, takes)
    w = h = 540
    subs = AssSubtitles().write(effect.cues, [*effect.overlays, effect.cta], effect.style, w, h, tmp_path / "s.ass")
    cue = next(c for c in effect.cues if LONG_WORD in c.text)
    out = tmp_path / "f.png"
    shipped().run(["-f", "lavfi", "-i", f"color=c=0x336699:s={w}x{h}:d=30", "-ss", str((cue.start + cue.end) / 2),
                   "-vf", f"ass=filename={ffmpeg_path(subs.path)}:fontsdir={ffmpeg_path(subs.fonts_dir)}",
                   "-frames:v", "1", str(out)], what="rendering the cue")  # fmt: skip
    from PIL import Image

    frame = np.asarray(Image.open(out).convert("RGB")).astype(int)
    ink = np.flatnonzero((frame.min(axis=2) > 220).any(axis=0))  # white glyph fill
    margin = (w - safe_width(w)) / 2
    assert ink.size and ink[0] >= margin - 2 and ink[-1] <= w - margin + 2, (ink[0], ink[-1], margin)


# ------------------------------------------------------------------------------- too much copy (item 6)


def test_too_much_copy_drops_shots_then_condenses_whole_words(tokenizer: Tokenizer) -> None:
    full = rule_instructions(brief_of(tokenizer))
    six = rule_instructions(brief_of(tokenizer, 6.0))
    assert [s.purpose for s in full.shots] == ["hook", "feature", "feature", "feature", "cta"]
    assert [s.purpose for s in six.shots] == ["hook", "cta"]  # whole shots dropped, not squeezed
    for short, whole in zip(six.shots, (full.shots[0], full.shots[-1]), strict=True):
        words = short.narration_intent.rstrip(".").split()
        assert words == whole.narration_intent.rstrip(".").split()[: len(words)]  # whole words, from the start
    with pytest.raises(InputError, match=r"duration: 6s is too short for the hook and the call to action; they "
                                         r"need at least \d+(\.\d)?s"):  # fmt: skip
        rule_instructions(brief_of(tokenizer, 6.0, product=" ".join([LONG_WORD] * 5)))


def test_six_seconds_of_coffee_never_overlaps_or_cuts_a_line(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    done = render(run_cli, EXAMPLES / "coffee.json", tmp_path / "six.mp4", "--duration", "6")
    chosen = next(r for r in done.record["rounds"] if r["round"] == done.record["final"]["round"])
    spans = sorted(chosen["critique"]["draft"]["line_spans"].values())
    assert len(spans) >= 2
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans)), spans  # never two voices at once
    assert spans[-1][1] <= done.record["final"]["duration"]  # the last line ends before the picture does
    lines = [r["audio"] for r in done.record["rounds"] if r.get("audio")][-1]["output"]["lines"]
    assert all(re.search(r"[.!?]$", ln["text"]) for ln in lines)  # every line a whole sentence
    # the selling points that did not fit are named, in the record and the progress output
    points = json.loads((EXAMPLES / "coffee.json").read_text())["meta"]["selling_points"]
    kept = {s["selling_point"] for s in done.record["instructions"]["output"]["shots"]}
    left_out = [p for i, p in enumerate(points) if i not in kept]
    assert left_out
    assert any(n.startswith("selling points left out") and all(p in n for p in left_out)
               for n in done.record["instructions"]["notes"])


def test_a_length_too_short_for_hook_and_cta_is_exit_2_with_the_minimum(run_cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sid = sid_with(tmp_path, product=" ".join([LONG_WORD] * 5))
    res = run_cli("generate", str(sid), "-o", str(tmp_path / "x.mp4"), "--duration", "6")
    assert res.code == 2
    assert re.search(r"^error: duration: 6s is too short .* at least \d+(\.\d)?s", res.stderr.strip().splitlines()[-1])


def test_a_default_length_grows_to_the_minimum_instead_of_failing(tokenizer: Tokenizer) -> None:
    """The fast profile's 12 s is a default, not a length the user asked for: copy that needs more gets the
    shortest length that fits instead of exit 2 (an asked-for length still fails with that minimum)."""
    asked = brief_of(tokenizer, 6.0, product=" ".join([LONG_WORD] * 5))
    with pytest.raises(InputError, match=r"at least (\d+(\.\d)?)s") as raised:
        rule_instructions(asked)
    minimum = float(re.search(r"at least (\d+(\.\d)?)s", str(raised.value)).group(1))  # type: ignore[union-attr]
    grown = rule_instructions(asked.model_copy(update={"duration_asked": False}))
    assert grown.target_duration == pytest.approx(minimum)
    roomy = rule_instructions(brief_of(tokenizer, 20.0).model_copy(update={"duration_asked": False}))
    assert roomy.target_duration == 20.0  # a default that fits stays as it is


# ------------------------------------------------------------------------------------ no meta (item 9)


def test_no_meta_speaks_natural_copy_never_a_taxonomy_path(tokenizer: Tokenizer) -> None:
    instructions = rule_instructions(brief_of(tokenizer, meta=False))
    said = [s.narration_intent for s in instructions.shots] + [s.onscreen_text or "" for s in instructions.shots]
    assert not any(">" in t or "&" in t or "tobacco" in t.lower() for t in said), said
    assert instructions.shots[0].narration_intent == "Meet our coffee."
    assert all(re.fullmatch(r"[A-Z][\w ,'-]*[.!?]", s.narration_intent) for s in instructions.shots), said

