"""Audio Agent: narration lines with timing and voice, the BGM spec (tempo, beat grid and accents on the
cuts), ducking and the loudness asked of the master.

In a reflection round it re-plans on what the Critic measured:

- lines whose measured speech no longer fits their shot (the storyboard's speech overruns, or a re-timed
  neighbour) are condensed to the time the shot really leaves, using the speaking rate measured on the
  previous take. Round 0 keeps the brand's copy as written: cutting it on an estimate would lose words the
  measurement may show were never at risk;
- ``ducking``: the sidechain compressor gets a higher ratio and a lower threshold (a lower music gain
  would not help: the compressor's gain reduction depends on the voice alone);
- ``loudness``: the master is asked for the target corrected by the measured error (a composer that
  lands off target is compensated).
"""

from __future__ import annotations

from collections.abc import Sequence

from agents.copy import condense, copy_book, sentence
from agents.models import (
    AudioPlan,
    Feedback,
    NarrationLine,
    ShotInstructions,
    VisualPlan,
    VoiceTake,
    line_id,
    shot_id,
)
from agents.policy import AgentTask
from tools.limits import LEAD_IN, TAIL, TARGET_LUFS
from tools.models import BgmSpec, Ducking

FASTEST_RATE = 0.85  # piper length_scale below this sounds rushed
DUCK_RATIO_STEP, MAX_DUCK_RATIO = 2.0, 20.0
DUCK_THRESHOLD_STEP, MIN_DUCK_THRESHOLD = 0.5, 0.005
MAX_LOUDNESS_CORRECTION = 6.0  # LU: more than this is a broken composer, not an offset to compensate
LINE_GAP = 0.1  # s of silence at least between two lines: one voice never talks over itself
END_GUARD = 0.05  # s: the last line ends at least this long before the picture, never cut off mid-word


def line_budget(plan: VisualPlan, shot: str, lead_in: float = LEAD_IN) -> float:
    """Seconds of speech shot ``shot`` leaves: its length less the lead-in after its cut and the tail."""
    seg = next(s for s in plan.segments if s.shot_id == shot)
    return seg.end - seg.start - lead_in - TAIL


def _ducking(previous: AudioPlan | None, feedback: Feedback) -> Ducking:
    ducking = previous.ducking if previous is not None else Ducking(music_gain_db=-8.0)
    if feedback.of("ducking"):
        ducking = ducking.model_copy(
            update={
                "ratio": min(MAX_DUCK_RATIO, ducking.ratio * DUCK_RATIO_STEP),
                "threshold": max(MIN_DUCK_THRESHOLD, ducking.threshold * DUCK_THRESHOLD_STEP),
            }
        )
    return ducking


def _target_lufs(previous: AudioPlan | None, feedback: Feedback) -> float:
    target = previous.target_lufs if previous is not None else TARGET_LUFS
    for f in feedback.of("loudness"):
        if isinstance(f.measured, float | int):
            target += TARGET_LUFS - float(f.measured)
    return round(max(TARGET_LUFS - MAX_LOUDNESS_CORRECTION, min(TARGET_LUFS + MAX_LOUDNESS_CORRECTION, target)), 2)


def rule_audio(
    instructions: ShotInstructions,
    visual: VisualPlan,
    previous: AudioPlan | None = None,
    feedback: Feedback | None = None,
) -> AudioPlan:
    """One narration line per shot (the shot's narration intent, or the previous take's text), the music
    on the storyboard's beat grid with an accent on every cut, ducking and the master's loudness target;
    see the module doc for what a reflection round changes."""
    feedback = feedback or Feedback()
    full_stop = copy_book(instructions.language).full_stop
    prev_lines = {ln.line_id: ln for ln in previous.lines} if previous else {}
    lines: list[NarrationLine] = []
    for shot in instructions.shots:
        lid = line_id(shot.index)
        text, rate = sentence(shot.narration_intent, full_stop), instructions.voice_rate
        prev = prev_lines.get(lid)
        if prev is not None:
            text, rate = prev.text, prev.rate
        budget = line_budget(visual, shot_id(shot.index))
        # every line whose measured speech exceeds its room in this storyboard is condensed, not only
        # the ones the Critic flagged: re-timing one shot for its line can squeeze another's
        spoken = feedback.speech_seconds.get(lid)
        if spoken is not None and prev is not None and spoken > budget:
            cps = len(prev.text) / max(spoken, 0.1) * prev.rate  # measured characters per second at rate 1
            rate = max(FASTEST_RATE, round(rate * 0.92, 3))
            text = condense(prev.text, budget * 0.95, rate, cps, full_stop)
        lines.append(NarrationLine(line_id=lid, shot_id=shot_id(shot.index), text=text, rate=rate, lead_in=LEAD_IN))
    bgm = BgmSpec(
        mood=instructions.music_mood,
        bpm=visual.bpm,
        duration=visual.duration,
        beat_offset=visual.beat_offset,
        accent_times=[round(b, 4) for b in visual.boundaries[1:-1]],
    )
    return AudioPlan(lines=lines, voice=instructions.voice, bgm=bgm, ducking=_ducking(previous, feedback),
                     target_lufs=_target_lufs(previous, feedback))  # fmt: skip


def pack_takes(takes: Sequence[VoiceTake]) -> tuple[list[VoiceTake], list[str]]:
    """The takes in order, each line that would start before the previous one has ended (LINE_GAP after it)
    moved later just that much, so one voice never talks over itself; with a note per move. A moved line may
    run past its cut, which the Critic measures (``speech_overrun``) and the next round re-times."""
    packed: list[VoiceTake] = []
    notes: list[str] = []
    for take in sorted(takes, key=lambda t: t.start):
        if packed and take.speech_start < packed[-1].speech_end + LINE_GAP:
            shift = packed[-1].speech_end + LINE_GAP - take.speech_start
            notes.append(f"line {take.line_id} starts {shift:.2f}s later: line {packed[-1].line_id} is still speaking")
            take = take.model_copy(update={"start": round(take.start + shift, 4)})
        packed.append(take)
    return packed, notes


def tail_room(takes: Sequence[VoiceTake], duration: float) -> float | None:
    """The seconds of WAV the last take may last where it is placed, when it runs past the video's end (less
    END_GUARD: the voice must end before the picture does); None when it ends in time."""
    if not takes:
        return None
    last = max(takes, key=lambda t: t.start)
    limit = duration - END_GUARD
    return max(0.0, limit - last.start) if last.speech_end > limit + 1e-3 else None


def shorten_line(line: NarrationLine, take: VoiceTake, room: float, language: str) -> NarrationLine | None:
    """``line`` condensed so its speech, at the speaking rate measured on ``take``, fits ``room`` seconds of WAV;
    None when it cannot get shorter (it then has to go)."""
    spoken = max(take.duration - take.onset, 0.1)
    cps = len(line.text) / spoken * line.rate  # measured characters per second at rate 1
    text = condense(line.text, max(0.0, room - take.onset) * 0.95, line.rate, cps, copy_book(language).full_stop)
    return line.model_copy(update={"text": text}) if len(text) < len(line.text) else None


def audio_task(
    instructions: ShotInstructions,
    visual: VisualPlan,
    previous: AudioPlan | None,
    feedback: Feedback,
    round_: int,
) -> AgentTask[AudioPlan]:
    """The Audio agent's task for round `round_`: the rule answer is `rule_audio`; an LLM sees the
    instructions, the storyboard, its previous plan, the findings routed to it and the measured speech
    seconds per line."""
    return AgentTask(
        role="audio",
        inputs={
            "instructions": instructions.model_dump(mode="json"),
            "visual": visual.model_dump(mode="json"),
            "findings": [f.model_dump(mode="json") for f in feedback.findings],
            "previous": previous.model_dump(mode="json") if previous else None,
            "measured_speech_seconds": feedback.speech_seconds,
        },
        schema=AudioPlan,
        rule=lambda: rule_audio(instructions, visual, previous, feedback),
        round=round_,
    )
