"""The agents' rules, one behaviour a test, values worked out by hand (after RecBole's metric tests): the
pacing maths, copy condensing, subtitle fitting, every Critic check, routing, the best round, capability
fallbacks, and the LLM seam against a scripted endpoint (timeout, context full, no JSON, partial answers).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from agents.brief import Brief
from agents.copy import condense, estimate_speech_seconds, sentence
from agents.critic import CHECKS, Draft, DraftMeasurements, best_round, feedback_for, route, rule_critique
from agents.effect import MIN_FONT_SIZE, effect_task, fit_subtitles, rule_effect
from agents.instruction import fit_style, instruction_task, rule_instructions
from agents.llm_client import LLMTimeout, StructuredClient
from agents.llm_policy import LLMPolicy
from agents.models import AudioPlan, Critique, EffectPlan, Finding, ShotInstructions, VisualPlan, VoiceTake
from agents.policy import AgentTask, RulePolicy
from agents.testing import Reply, ScriptedEndpoint
from agents.visual import fair_shares, hold_end_card, rule_visual
from graphs.measure import subtitle_fit
from rag_recsys.sidfile import load_sid, parse_sid
from rag_recsys.tokenizers import default_tokenizer
from tests.conftest import ALL_CAPABILITIES, EXAMPLES
from tools.models import SubtitleStyle
from tools.protocols import Capabilities
from tools.subtitles import REF_WIDTH, safe_width, text_font
from tools.textlayout import widest, wrap
from tools.timing import beat_grid

# ------------------------------------------------------------------------------------------- helpers


def brief_for(**meta: Any) -> Brief:
    """coffee.json's brief with ``meta`` changed (no images unless given)."""
    raw = json.loads((EXAMPLES / "coffee.json").read_text())
    raw["meta"].update({"images": [], **meta})
    loaded = load_sid(parse_sid(raw), default_tokenizer(), EXAMPLES)
    return Brief.from_loaded(loaded, aspect="9:16", duration=12.0)


def instructions_for(**meta: Any) -> ShotInstructions:
    return rule_instructions(brief_for(**meta))


def takes_for(visual: VisualPlan, speech: float = 1.0) -> list[VoiceTake]:
    """A take per shot: speech of ``speech`` s starting 0.3 s after the cut."""
    return [VoiceTake(line_id=f"l{i}", shot_id=seg.shot_id, path="x.wav", start=seg.start + 0.24, onset=0.06,
                      duration=speech + 0.06, backend="test") for i, seg in enumerate(visual.segments)]  # fmt: skip


def measurements_for(visual: VisualPlan, effect: EffectPlan, **changes: Any) -> DraftMeasurements:
    """What a faultless draft of these plans measures, with ``changes``."""
    fit = subtitle_fit(effect)
    spans = {t.line_id: (round(t.speech_start, 3), round(t.speech_end, 3)) for t in takes_for(visual)}
    base: dict[str, Any] = dict(
        duration=visual.duration, width=360, height=640, lufs=-14.0, voice_intervals=list(spans.values()),
        line_spans=spans, music_db_in_speech=-30.0, music_db_outside=-20.0, cuts=visual.boundaries[1:-1],
        beats=beat_grid(visual.bpm, visual.duration, visual.beat_offset), black=[], frozen=[],
        cta_color_share=0.9, subtitle_width_ratio=fit.width_ratio, subtitle_lines=fit.lines,
    )  # fmt: skip
    return DraftMeasurements(**{**base, **changes})


@pytest.fixture(scope="module")
def plans() -> tuple[ShotInstructions, VisualPlan, AudioPlan, EffectPlan]:
    from agents.audio import rule_audio

    instructions = instructions_for(selling_points=["Slow roasted", "Single origin"])
    visual = rule_visual(instructions, [])
    audio = rule_audio(instructions, visual)
    texts = {ln.line_id: ln.text for ln in audio.lines}
    effect = rule_effect(instructions, visual, texts, takes_for(visual))
    return instructions, visual, audio, effect


def critique_of(plans: tuple[ShotInstructions, VisualPlan, AudioPlan, EffectPlan], effect: EffectPlan | None = None,
                **changes: Any) -> Critique:  # fmt: skip
    _, visual, audio, planned = plans
    effect = effect or planned
    draft = Draft(round=0, measured=measurements_for(visual, effect, **changes), target_duration=visual.duration,
                  visual=visual, audio=audio, effect=effect, takes=takes_for(visual))  # fmt: skip
    return rule_critique(draft)


# ------------------------------------------------------------------------------------------- pacing and copy


def test_fair_shares_give_small_needs_in_full_and_split_the_rest() -> None:
    # total 6 over 3 shots: a fair share is 2, so the needs of 1 and 2 are met; the 6 gets the 3 left
    assert fair_shares([1.0, 2.0, 6.0], 6.0) == [1.0, 2.0, 3.0]
    # nothing fits a fair share (4, 4 of 6): split in proportion to the needs
    assert fair_shares([4.0, 8.0], 6.0) == [2.0, 4.0]


def test_end_card_is_held_and_the_rest_rescaled() -> None:
    # 10 s, end card 2.6 s → the last share must be 2.6/10 of the total 4 = 1.04; the others share 2.96
    shares = hold_end_card([1.0, 1.0, 1.0, 1.0], 10.0)
    assert shares[-1] == pytest.approx(1.04)
    assert shares[:-1] == pytest.approx([2.96 / 3] * 3)
    assert hold_end_card([1.0, 1.0, 1.0, 2.0], 10.0) == [1.0, 1.0, 1.0, 2.0]  # already long enough


def test_speech_estimate_and_sentence() -> None:
    assert estimate_speech_seconds("a" * 30) == pytest.approx(30 / 15 + 0.15)  # 15 characters a second
    assert estimate_speech_seconds("a" * 30, rate=1.2) == pytest.approx(30 / 15 * 1.2 + 0.15)
    assert sentence("  slow\\nroasted  ") == "Slow\\nroasted." and sentence("Done!") == "Done!"


def test_condense_drops_trailing_clauses_then_words_never_dangling() -> None:
    text = "Slow roasted in small batches, with love and care for a smooth finish"
    # 2.15 s at 10 characters/s and rate 1: a budget of 20 characters keeps the first clause's first words
    assert condense(text, 2.15, 1.0, 10.0) == "Slow roasted in small."
    # a budget for the first clause keeps it whole
    assert condense(text, 0.15 + 3.1, 1.0, 10.0) == "Slow roasted in small batches."
    # a line that fits is kept (as a sentence)
    assert condense("Fresh beans", 5.0, 1.0, 10.0) == "Fresh beans."


# ------------------------------------------------------------------------------------------- subtitles


def _rows(style: SubtitleStyle, text: str, size: float) -> list[str]:
    return wrap(text, text_font(style, size, style.bold, text), safe_width(REF_WIDTH))


def test_fit_subtitles_picks_the_largest_font_at_which_every_cue_fits() -> None:
    style = SubtitleStyle(font_size=64, max_lines=2)
    assert fit_subtitles(style, ["short line"]) == style  # fits: unchanged
    text = " ".join(["word"] * 14)  # ~2,100 px at 64: three rows of the 972 px safe width
    assert len(_rows(style, text, 64)) == 3
    fitted = fit_subtitles(style, [text])
    assert fitted.max_lines == 2 and fitted.font_size < 64
    assert len(_rows(style, text, fitted.font_size)) == 2  # fits at the size chosen…
    assert len(_rows(style, text, fitted.font_size + 2)) == 3  # …and it is the largest that does (2 % steps)
    # a measured overflow of 1.25 starts the search at 64 / 1.25
    assert fit_subtitles(style, ["short line"], too_wide=1.25).font_size == 51


def test_fit_subtitles_takes_a_third_row_before_an_unreadable_font() -> None:
    style = SubtitleStyle(font_size=64, max_lines=2)
    text = " ".join(["word"] * 26)  # two rows would need a font under 40 px
    fitted = fit_subtitles(style, [text])
    assert fitted.max_lines == 3 and fitted.font_size >= MIN_FONT_SIZE
    assert len(_rows(style, text, fitted.font_size)) <= 3


def test_subtitles_fit_in_pixels_in_every_script() -> None:
    # the same cue budget in characters would overflow in Chinese (full-width) and underfill in Latin
    for language, text in [("zh", "深烘意式咖啡豆，香气浓郁，适合每天早上的一杯浓缩咖啡"),
                           ("ar", "قهوة محمصة داكنة، رائحة غنية، مثالية لكل صباح مع الحليب"),
                           ("hi", "हर हफ़्ते ताज़ा भुनी हुई कॉफ़ी, चॉकलेट और चेरी का स्वाद"),
                           ("en", "MAXIMUM WARMTH FOR LONG WINTER WALKS, WOVEN FROM MERINO WOOL")]:  # fmt: skip
        style = fit_subtitles(SubtitleStyle(font_size=64, max_lines=2, language=language), [text])
        font = text_font(style, style.font_size, style.bold, text)
        rows = wrap(text, font, safe_width(REF_WIDTH))
        assert len(rows) <= style.max_lines and widest(rows, font) <= safe_width(REF_WIDTH), language


def test_reflection_shrinks_subtitles_by_the_measured_overflow(plans: Any) -> None:
    instructions, visual, audio, effect = plans
    # a writer (or an LLM's style) that set a row 30 % wider than the safe area
    critique = rule_critique(Draft(round=0, measured=measurements_for(visual, effect, subtitle_width_ratio={"0": 1.3}),
                                   target_duration=visual.duration, visual=visual, audio=None, effect=effect,
                                   takes=takes_for(visual)))  # type: ignore[arg-type]  # fmt: skip
    assert [f.check for f in critique.findings] == ["subtitle_width"]
    texts = {ln.line_id: ln.text for ln in audio.lines}
    again = rule_effect(instructions, visual, texts, takes_for(visual), effect, feedback_for(critique, [], "effect"))
    assert again.style.font_size <= int(effect.style.font_size / (1.3 * 1.05))


# ------------------------------------------------------------------------------------------- the Critic


def test_a_faultless_draft_has_no_findings(plans: Any) -> None:
    critique = critique_of(plans)
    assert critique.findings == [] and critique.accepted and route(critique) is None


@pytest.mark.parametrize(
    ("changes", "check", "agent", "measured"),
    [
        ({"duration": 12.4}, "duration", "visual", 12.4),
        ({"line_spans": {}}, "speech_missing", "audio", 0.0),
        ({"lufs": -15.5}, "loudness", "audio", -15.5),
        ({"music_db_in_speech": -22.0}, "ducking", "audio", 2.0),
        ({"cuts": []}, "boundary_missing", "visual", "none"),
        ({"cta_color_share": 0.1}, "cta_missing", "visual", 0.1),
        ({"black": [(1.0, 1.8)]}, "black_frames", "visual", 0.8),
        ({"frozen": [(1.0, 2.5)]}, "frozen_frames", "visual", 1.5),
        ({"subtitle_width_ratio": {"0": 1.2}}, "subtitle_width", "effect", 1.2),
        ({"subtitle_lines": {"0": 3}}, "subtitle_lines", "effect", 3.0),
        ({"glyphs_missing": {"2": "\U0001f984"}}, "glyph_missing", "effect", "\U0001f984"),
    ],
)
def test_each_check_finds_its_fault_and_routes_it(plans: Any, changes: dict[str, Any], check: str, agent: str,
                                                  measured: Any) -> None:  # fmt: skip
    findings = [f for f in critique_of(plans, **changes).findings if f.check == check]
    assert findings, critique_of(plans, **changes).findings
    assert findings[0].agent == agent and findings[0].severity == "major"
    assert findings[0].measured == (pytest.approx(measured) if isinstance(measured, float) else measured)


def test_characters_drawn_without_their_font_are_left_out_with_a_note(plans: Any) -> None:
    instructions, visual, audio, effect = plans
    texts = {ln.line_id: f"{ln.text} \U0001f984" for ln in audio.lines}
    critique = critique_of(plans, glyphs_missing={"0": "\U0001f984"})
    feedback = feedback_for(critique, [], "effect")
    task = effect_task(instructions, visual, texts, takes_for(visual), effect, feedback, 1)
    again = task.rule()
    assert all("\U0001f984" not in c.text for c in again.cues) and len(again.cues) == len(effect.cues)
    assert task.notes == ["dropped characters no font draws: \U0001f984 (U+1F984)"]


def test_speech_overrun_and_off_beat_measure_how_far(plans: Any) -> None:
    _, visual, _, _ = plans
    end = visual.segments[0].end
    over = critique_of(plans, line_spans={"l0": (0.3, end + 0.4)}, voice_intervals=[(0.3, end + 0.4)])
    (finding,) = [f for f in over.findings if f.check == "speech_overrun"]
    assert finding.measured == pytest.approx(0.4) and finding.shot_id == "s0" and finding.agent == "visual"
    shifted = [b + 0.1 for b in visual.boundaries[1:-1]]  # found 0.1 s late: within the 0.15 s tolerance
    assert "off_beat" not in [f.check for f in critique_of(plans, cuts=shifted).findings]
    grid = [b + 0.3 for b in beat_grid(visual.bpm, visual.duration)]  # the music's beats 0.3 s later
    # a dissolve's centre is found only to half its length: within that, a cut is on the beat
    assert "off_beat" not in [f.check for f in critique_of(plans, beats=grid).findings]
    cuts = plans[3].model_copy(update={"transitions": ["cut"] * 3, "transition_seconds": [0.0] * 3})
    off = [f for f in critique_of(plans, effect=cuts, beats=grid).findings if f.check == "off_beat"]
    assert len(off) == len(visual.boundaries) - 2 and off[0].measured == pytest.approx(0.3, abs=1e-3)


def test_frozen_end_card_is_not_a_fault(plans: Any) -> None:
    _, visual, _, effect = plans
    frozen = [(effect.cta.start + 0.2, visual.duration)]
    assert "frozen_frames" not in [f.check for f in critique_of(plans, frozen=frozen).findings]


def test_checks_are_named_and_each_is_run() -> None:
    names = [c.name for c in CHECKS]
    assert len(set(names)) == len(names) == 14
    assert {"duration", "speech_overrun", "loudness", "off_beat", "cta_missing", "frozen_frames"} <= set(names)


def _finding(check: str, agent: Any, severity: Any = "major") -> Finding:
    return Finding(check=check, severity=severity, agent=agent, message="m", measured=1.0, expected="e")


def test_route_goes_to_the_earliest_agent_at_fault() -> None:
    crit = Critique(round=0, findings=[_finding("loudness", "audio"), _finding("subtitle_width", "effect")],
                    measurements={})  # fmt: skip
    assert route(crit) == "audio"
    assert route(crit.model_copy(update={"findings": [_finding("x", "visual", "minor")]})) is None


def test_best_round_weighs_severity_and_prefers_the_later_round_on_a_tie() -> None:
    r0 = Critique(round=0, findings=[_finding("a", "visual")], measurements={})  # 5
    r1 = Critique(round=1, findings=[_finding("a", "visual", "minor")] * 4, measurements={})  # 4
    r2 = Critique(round=2, findings=[_finding("a", "visual", "minor")] * 4, measurements={})  # 4
    assert best_round([r0, r1]) == 1 and best_round([r0, r1, r2]) == 2
    assert best_round([r0, Critique(round=1, findings=[_finding("a", "visual", "critical")], measurements={})]) == 0


def test_feedback_hands_the_audio_agent_the_storyboards_overruns() -> None:
    crit = Critique(round=0, findings=[_finding("speech_overrun", "visual"), _finding("duration", "visual"),
                                       _finding("ducking", "audio", "minor")],
                    measurements={"speech_s:l0": 2.5, "duration_s": 12.0})  # fmt: skip
    audio = feedback_for(crit, [0.5, 1.0], "audio")
    assert [f.check for f in audio.findings] == ["speech_overrun"]  # minor findings are not routed
    assert audio.speech_seconds == {"l0": 2.5} and audio.beats == [0.5, 1.0]
    assert [f.check for f in feedback_for(crit, [], "visual").findings] == ["speech_overrun", "duration"]
    assert feedback_for(None, [], "visual").findings == []


# ------------------------------------------------------------------------------------------- capabilities


def test_creative_settings_a_tool_lacks_fall_back_to_the_nearest_and_are_noted() -> None:
    brief = brief_for()  # warm-cozy × steady: dissolve and fade, push_in and pan_right, warm music
    caps = Capabilities(transitions=frozenset({"cut", "fadeblack"}), camera_motions=frozenset({"pull_out", "static"}),
                        moods=frozenset({"acoustic"}), composer="two", video="v", music="m")  # fmt: skip
    fitted = fit_style(brief.style, caps)
    assert fitted.style.transitions == ["fadeblack"]  # dissolve and fade both → the fade family's fadeblack
    assert fitted.style.camera_motions == ["pull_out", "pull_out"]
    assert fitted.style.music_mood == "acoustic"  # warm's nearest mood
    assert len(fitted.notes) == 5 and "not supported by composer 'two'" in fitted.notes[0]
    assert fit_style(brief.style, ALL_CAPABILITIES).notes == []


async def test_the_rule_policy_records_capability_notes() -> None:
    caps = ALL_CAPABILITIES.model_copy(update={"transitions": frozenset({"cut"}), "composer": "cuts-only"})
    decision = await RulePolicy().decide(instruction_task(brief_for(), caps))
    assert set(decision.output.transitions) == {"cut"} and decision.notes


# ------------------------------------------------------------------------------------------- the LLM seam


def _task() -> AgentTask[ShotInstructions]:
    task = instruction_task(brief_for(), ALL_CAPABILITIES)
    task.prompt = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    task.anchor = "coffee beans"
    return task


async def _decide(replies: list[Reply], **policy: Any) -> tuple[Any, LLMPolicy, ScriptedEndpoint]:
    with ScriptedEndpoint(replies) as endpoint:
        client = StructuredClient(endpoint.base_url, "scripted", timeout=1.0, response_format="json_object")
        llm = LLMPolicy(client, **policy)
        try:
            return await llm.decide(_task()), llm, endpoint
        finally:
            await client.aclose()


async def test_timeout_falls_back_to_the_rule_and_stops_asking() -> None:
    with ScriptedEndpoint([Reply(content="{}", delay=2.0)]) as endpoint:
        client = StructuredClient(endpoint.base_url, "scripted", timeout=1.0, response_format="json_object")
        llm = LLMPolicy(client)
        first = await llm.decide(_task())
        second = await llm.decide(_task())  # the next agent is not kept waiting for a server that cannot keep up
        await client.aclose()
    assert first.output == _task().rule() and "no answer within" in first.notes[0]
    assert "no LLM call: earlier in this run" in second.notes[0] and len(endpoint.requests) == 1


async def test_timeout_of_a_demanded_endpoint_raises() -> None:
    with pytest.raises(LLMTimeout, match="no answer within 1 s"):
        await _decide([Reply(content="{}", delay=2.0)], strict=True)


async def test_context_full_hands_the_rest_of_the_run_to_the_rule() -> None:
    body = {"error": {"message": "This model's maximum context length is 8192 tokens. However, you requested "
                                 "9000 tokens", "type": "invalid_request_error"}}  # fmt: skip
    decision, llm, _ = await _decide([Reply(status=400, body=body)], strict=True)  # never fatal, even demanded
    assert "LLM context full" in decision.notes[0] and "9000 tokens asked of 8192" in decision.notes[0]
    assert llm.down is not None


async def test_no_json_in_any_attempt_falls_back() -> None:
    decision, _, endpoint = await _decide([Reply(content="Sure! Here are your shots.")])
    assert decision.output == _task().rule() and "no JSON object" in decision.notes[0]
    assert len(endpoint.requests) == 3  # the first try and two repairs, each told what was wrong
    assert "does not match the required JSON schema" in endpoint.requests[1]["messages"][-1]["content"]


async def test_partial_answer_keeps_valid_fields_and_names_the_rest() -> None:
    rule = _task().rule().model_dump(mode="json")
    answer = {**rule, "tone": "bright and homely", "music_mood": "heavy-metal",
              "shots": [{**s, "camera": "pull_out"} for s in rule["shots"]]}  # fmt: skip
    decision, _, _ = await _decide([Reply.json(answer)])
    out: ShotInstructions = decision.output
    assert out.tone == "bright and homely" and decision.sources["tone"].value == "llm"
    assert out.music_mood == rule["music_mood"] and any("music_mood" in n for n in decision.notes)
    assert all(s.camera == "pull_out" for s in out.shots)
    assert decision.usage is not None and decision.usage.attempts >= 1


def test_merge_checks_each_fields_constraints_on_its_own() -> None:
    """A constrained field (a pattern, a bound) the answer breaks falls back alone; the rest is kept."""
    from agents.merge import RoleSpec, merge
    from tools.models import TextOverlay

    rule = TextOverlay(start=0.0, end=1.0, text="Order now", color="#FFFFFF")
    answer = {**rule.model_dump(mode="json"), "color": "", "end": -2.0, "font_size": 60}
    merged = merge(rule, answer, RoleSpec())
    assert merged.data["color"] == "#FFFFFF" and merged.sources["color"].value == "rule"
    assert merged.data["end"] == 1.0 and merged.sources["end"].value == "rule"  # end is non-negative
    assert merged.data["font_size"] == 60 and merged.sources["font_size"].value == "llm"
    assert TextOverlay.model_validate(merged.data)  # the merged answer validates as a whole
    assert len(merged.notes) == 2 and all("got" in n for n in merged.notes)


async def test_unreachable_endpoint_is_one_line() -> None:
    client = StructuredClient("http://127.0.0.1:9/v1", "m", timeout=1.0)
    with pytest.raises(Exception) as info:
        await client.check()
    assert "unreachable" in str(info.value) and "\n" not in str(info.value)
    await client.aclose()


@pytest.mark.parametrize(("text", "outline"), [("#FFFFFF", "#000000"), ("#F7F7F5", "#000000"),
                                               ("#1E1E1E", "#FFFFFF"), ("#2F6FED", "#000000"), ("#4B0082", "#FFFFFF")])
def test_the_subtitle_outline_contrasts_with_the_text_colour(
    plans: tuple[ShotInstructions, VisualPlan, AudioPlan, EffectPlan], text: str, outline: str
) -> None:
    """A look with dark text (clean-minimal's #1E1E1E) once got a black outline and vanished over a dark photo;
    the outline is whichever of black and white has the larger WCAG contrast ratio with the text."""
    from tools.vocabulary import outline_for, relative_luminance

    assert relative_luminance("#FFFFFF") == pytest.approx(1.0) and relative_luminance("#000000") == 0.0
    assert relative_luminance("#777777") == pytest.approx(0.1845, abs=1e-4)  # W3C formula, hand-computed
    assert outline_for(text) == outline
    instructions, visual, audio, _ = plans
    dark = instructions.model_copy(update={"palette": instructions.palette.model_copy(update={"text": text})})
    texts = {ln.line_id: ln.text for ln in audio.lines}
    style = rule_effect(dark, visual, texts, takes_for(visual)).style
    assert (style.primary, style.outline) == (text, outline)
