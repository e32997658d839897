"""Audio Agent: narration lines with timing and voice, the BGM spec (tempo and accents on the cuts)
and ducking. In a reflection round, lines the Critic measured running past their shot are condensed
to the time the shot really leaves, using the speaking rate measured on the previous take. Round 0
keeps the brand's copy as written: cutting it on an estimate would lose words the measurement may
show were never at risk."""

from __future__ import annotations

from agents.copy import condense, sentence
from agents.models import AudioPlan, Finding, NarrationLine, ShotInstructions, VisualPlan
from agents.policy import AgentTask
from tools.models import BgmSpec, Ducking

LEAD_IN = 0.3  # speech starts after the cut (and after half a transition) so the eye lands first
TAIL = 0.25  # and ends before the next cut
FASTEST_RATE = 0.85  # piper length_scale below this sounds rushed


def line_budget(plan: VisualPlan, shot_id: str, lead_in: float = LEAD_IN) -> float:
    seg = next(s for s in plan.segments if s.shot_id == shot_id)
    return seg.end - seg.start - lead_in - TAIL


def rule_audio(
    instructions: ShotInstructions,
    visual: VisualPlan,
    findings: list[Finding],
    previous: AudioPlan | None,
    measured_speech: dict[str, float],
) -> AudioPlan:
    prev_lines = {ln.line_id: ln for ln in previous.lines} if previous else {}
    lines: list[NarrationLine] = []
    for shot in instructions.shots:
        shot_id = f"s{shot.index}"
        line_id = f"l{shot.index}"
        text, rate = sentence(shot.narration_intent), instructions.voice_rate
        prev = prev_lines.get(line_id)
        if prev is not None:
            text, rate = prev.text, prev.rate
        budget = line_budget(visual, shot_id)
        # every line whose measured speech exceeds its room in this storyboard is condensed, not only
        # the ones the Critic flagged: re-timing one shot for its line can squeeze another's
        spoken = measured_speech.get(line_id)
        if spoken is not None and prev is not None and spoken > budget:
            cps = len(prev.text) / max(spoken, 0.1) * prev.rate  # measured characters per second at rate 1
            rate = max(FASTEST_RATE, round(rate * 0.92, 3))
            text = condense(prev.text, budget * 0.95, rate, cps)
        lines.append(NarrationLine(line_id=line_id, shot_id=shot_id, text=text, rate=rate, lead_in=LEAD_IN))
    bgm = BgmSpec(
        mood=instructions.music_mood,
        bpm=visual.bpm,
        duration=visual.duration,
        beat_offset=0.0,
        accent_times=[round(b, 4) for b in visual.boundaries[1:-1]],
    )
    gain = -8.0
    if previous is not None and any(f.check == "ducking" for f in findings):
        gain = previous.ducking.music_gain_db - 3.0
    return AudioPlan(lines=lines, voice=instructions.voice, bgm=bgm, ducking=Ducking(music_gain_db=gain))


def audio_task(
    instructions: ShotInstructions,
    visual: VisualPlan,
    findings: list[Finding],
    previous: AudioPlan | None,
    measured_speech: dict[str, float],
    round_: int,
) -> AgentTask[AudioPlan]:
    return AgentTask(
        role="audio",
        inputs={
            "instructions": instructions.model_dump(mode="json"),
            "visual": visual.model_dump(mode="json"),
            "findings": [f.model_dump(mode="json") for f in findings],
            "previous": previous.model_dump(mode="json") if previous else None,
            "measured_speech_seconds": measured_speech,
        },
        schema=AudioPlan,
        rule=lambda: rule_audio(instructions, visual, findings, previous, measured_speech),
        round=round_,
    )
