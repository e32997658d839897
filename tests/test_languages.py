"""Every language, rendered: Chinese, Arabic, Hindi, Spanish and emoji-heavy English ads (fast profile), each
checked on what libass really drew, what the record says spoke it, and where the speech landed."""

from __future__ import annotations

import itertools
import json
import re
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from agents.critic import OVERRUN_TOLERANCE
from tests.conftest import EXAMPLES, CliResult, Rendered, render
from tools.fonts import FONT_FAMILY, face, run_fontsize
from tools.libass import font_selection, uncovered
from tools.models import SubtitleFile
from tools.probe import frames

ARABIC_CUE = "تحميص طازج كل أسبوع من Aurora!"  # an Arabic cue mixing a Latin word and a final "!"
METAS: dict[str, dict[str, Any]] = {
    "zh": dict(product="深烘意式咖啡豆", brand="Aurora", price="¥98",
               selling_points=["每周新鲜烘焙", "巧克力与樱桃的风味"], cta="立即下单 🛒", language="zh"),
    "ar": dict(product="قهوة إسبريسو محمصة", brand="Aurora", price="45 ر.س", selling_points=[ARABIC_CUE],
               cta="اطلب الآن", language="ar"),
    "hi": dict(product="डार्क रोस्ट कॉफ़ी बीन्स", brand="Aurora", price="₹499",
               selling_points=["हर हफ़्ते ताज़ा भुनी हुई", "चॉकलेट और चेरी का स्वाद"], cta="अभी ऑर्डर करें", language="hi"),
    "es": dict(product="Café en grano tostado", brand="Aurora", price="18 €",
               selling_points=["Tostado fresco cada semana", "Notas de chocolate y cereza"], cta="¡Pídelo hoy!",
               language="es"),
    "emoji": dict(product="Aurora coffee beans 🔥", brand="Aurora", price="$18",
                  selling_points=["Roasted this week 🚀", "Notes of chocolate ✨ and cherry 🍒"], cta="Shop now 🛒",
                  language="en"),
}  # fmt: skip


@pytest.fixture(scope="module")
def languages(run_cli) -> dict[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """`ragvid languages --json`, by code."""
    res = run_cli("languages", "--json")
    assert res.code == 0, res.stderr
    return {row["code"]: row for row in json.loads(res.stdout)}


@pytest.fixture(scope="module")
def renders(run_cli, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Rendered]:  # type: ignore[no-untyped-def]
    base = json.loads((EXAMPLES / "coffee.json").read_text())
    folder = tmp_path_factory.mktemp("languages")
    out: dict[str, Rendered] = {}
    for key, meta in METAS.items():
        sid = {**base, "meta": {**meta, "images": [str((EXAMPLES / i).resolve()) for i in base["meta"]["images"]]}}
        path = folder / f"{key}.sid.json"
        path.write_text(json.dumps(sid, ensure_ascii=False))
        out[key] = render(run_cli, path, folder / f"{key}.mp4", quiet=False)  # progress names the voice
    return out


def _chosen(r: Rendered) -> dict[str, Any]:
    """The round the final video was rendered from."""
    return next(x for x in r.record["rounds"] if x["round"] == r.record["final"]["round"])


def _latest(r: Rendered, agent: str) -> dict[str, Any]:
    """The agent's entry the chosen round rendered (its latest up to that round)."""
    chosen = r.record["final"]["round"]
    return [x[agent] for x in r.record["rounds"] if x["round"] <= chosen and x.get(agent)][-1]


@pytest.mark.parametrize("key", list(METAS))
def test_libass_draws_every_glyph_from_the_font_chosen_for_it(renders: dict[str, Rendered], key: str) -> None:
    final = renders[key].record["final"]
    subs = SubtitleFile(path=Path(final["subtitles"]), fonts_dir=Path(final["subtitles"]).with_suffix(".fonts"))
    selection = font_selection(subs, _ffmpeg())
    assert selection.not_found == [], selection.not_found  # libass found no glyph in any font: a box
    assert uncovered(subs, selection) == {}  # every character is in the cmap of the font libass selected for it
    files = {s.file.name for s in selection.selected.values()}
    expected = {"zh": "NotoSansCJK", "ar": "NotoSansArabic", "hi": "NotoSansDevanagari", "es": "DejaVuSans",
                "emoji": "Symbola"}[key]  # fmt: skip
    assert any(name.startswith(expected) for name in files), files


@pytest.mark.parametrize("key", list(METAS))
def test_the_record_names_the_voice_ragvid_languages_maps_to_the_language(
    renders: dict[str, Rendered], languages: dict[str, dict[str, Any]], key: str
) -> None:
    code = METAS[key]["language"]
    voice = _latest(renders[key], "audio")["voice"]
    assert (voice["engine"], voice["voice"]) == (languages[code]["voice_engine"], languages[code]["voice"])
    takes = _latest(renders[key], "audio")["takes"]
    assert takes and {t["voice"] for t in takes} == {languages[code]["voice"]}
    assert f"language {code}" in renders[key].cli.stderr and languages[code]["voice"] in renders[key].cli.stderr


@pytest.mark.parametrize("key", list(METAS))
def test_each_line_fits_its_shot_and_no_two_lines_overlap(renders: dict[str, Rendered], key: str) -> None:
    chosen = _chosen(renders[key])
    spans = chosen["critique"]["draft"]["line_spans"]  # measured on each placed take
    segments = {s["shot_id"]: s for s in _latest(renders[key], "visual")["output"]["segments"]}
    takes = _latest(renders[key], "audio")["takes"]
    assert len(spans) == len(takes) >= 2
    for take in takes:
        start, end = spans[take["line_id"]]
        seg = segments[take["shot_id"]]
        assert seg["start"] <= start and end <= seg["end"] + OVERRUN_TOLERANCE, (take["line_id"], start, end, seg)
    ordered = sorted(spans.values())
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(ordered)), ordered


@pytest.mark.parametrize("key", ["zh", "ar", "hi"])
def test_no_latin_template_words_in_copy_of_other_scripts(renders: dict[str, Rendered], key: str) -> None:
    lines = [ln["text"] for ln in _latest(renders[key], "audio")["output"]["lines"]]
    effect = _latest(renders[key], "effect")["output"]
    shown = [*lines, *(o["text"] for o in effect["overlays"]), effect["cta"]["text"]]
    names = [METAS[key]["brand"], "Aurora"]  # names taken from the meta may be Latin
    for text in shown:
        stripped = text
        for name in names:
            stripped = stripped.replace(name, "")
        assert not re.findall(r"[A-Za-z]+", stripped), text


def _ffmpeg():  # type: ignore[no-untyped-def]
    from tools.ffmpeg import shipped

    return shipped()


def _ink_columns(img: np.ndarray) -> np.ndarray:
    """Columns holding white text ink (the subtitle's fill), as a 0/1 profile."""
    white = img.min(axis=2) > 200
    return (white.sum(axis=0) > 0).astype(float)


def _profile(cols: np.ndarray, n: int = 200) -> np.ndarray:
    """The ink profile between its first and last inked column, resampled to ``n`` points."""
    idx = np.flatnonzero(cols)
    span = cols[idx[0] : idx[-1] + 1]
    return np.interp(np.linspace(0, len(span) - 1, n), np.arange(len(span)), span)


def _reference(order: list[tuple[str, str]], em: float) -> np.ndarray:
    """``order`` (text, family) drawn left to right by Pillow (raqm: HarfBuzz shaping, each Arabic run laid right
    to left) in white on black: a reference layout made without libass."""
    canvas = Image.new("RGB", (int(em * 40), int(em * 3)), "black")
    draw = ImageDraw.Draw(canvas)
    x = em
    for text, family in order:
        font = face(family, bold=True).pil(em)
        rtl = family == "Noto Sans Arabic"
        draw.text((x, em), text, font=font, fill="white", direction="rtl" if rtl else "ltr")
        x += font.getlength(text, direction="rtl" if rtl else "ltr")
    return np.asarray(canvas)


def test_arabic_cue_is_laid_out_right_to_left(renders: dict[str, Rendered]) -> None:
    r = renders["ar"]
    effect = _latest(r, "effect")["output"]
    cue = next((c for c in effect["cues"] if c["text"] == ARABIC_CUE), None)
    assert cue is not None, [c["text"] for c in effect["cues"]]
    (frame,) = frames(r.video, [(cue["start"] + cue["end"]) / 2])
    h = frame.shape[0]
    band = frame[int(h * 0.70) : int(h * 0.92)]  # the subtitle rows (margin_v 260 of 1920)
    rows = np.flatnonzero((band.min(axis=2) > 200).any(axis=1))
    assert rows.size, "no subtitle ink in the frame"
    ours = _profile(_ink_columns(band))
    # the same string in the same fonts at the same em, in the order UAX #9 gives an RTL paragraph: the final
    # "!" at the far left, then the Latin word, then the Arabic words (which raqm shapes right to left)
    arabic, latin = ARABIC_CUE.split(" Aurora")
    size = effect["style"]["font_size"] * frame.shape[1] / 1080
    em = size * face(FONT_FAMILY, bold=True).em_ratio
    rtl = _profile(_ink_columns(_reference([("!", FONT_FAMILY), ("Aurora", FONT_FAMILY), (" ", FONT_FAMILY),
                                            (arabic, "Noto Sans Arabic")], em)))  # fmt: skip
    ltr = _profile(_ink_columns(_reference([(arabic, "Noto Sans Arabic"), (" ", FONT_FAMILY),
                                            ("Aurora!", FONT_FAMILY)], em)))  # fmt: skip
    match_rtl = float(np.corrcoef(ours, rtl)[0, 1])
    match_ltr = float(np.corrcoef(ours, ltr)[0, 1])
    assert match_rtl > 0.8 and match_rtl > match_ltr + 0.2, (match_rtl, match_ltr)
    assert latin == "!" and run_fontsize(64, "Noto Sans Arabic") > 64  # Arabic is set at DejaVu's em


def test_languages_command_lists_what_each_language_uses(run_cli) -> None:  # type: ignore[no-untyped-def]
    res: CliResult = run_cli("languages")
    assert res.code == 0
    for code, voice in [("zh", "cmn"), ("ar", "ar"), ("hi", "hi"), ("es", "es"), ("en", "joe")]:
        assert re.search(rf"\b{code}\b.*{voice}", res.stdout), code
    piper = run_cli("languages", "--json", "--tts", "piper")
    rows = {r["code"]: r for r in json.loads(piper.stdout)}
    assert rows["en"]["voice"] == "joe" and rows["zh"]["voice"] is None and "--tts auto" in rows["zh"]["voice_reason"]
