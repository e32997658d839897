"""VGA graph nodes. Each reads typed views of the state (graphs/state.py channels), asks the run's policy
for a decision, acts through tool protocols, and returns only new entries to append."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime
from pydantic import BaseModel

from agents.audio import audio_task, pack_takes, shorten_line, tail_room
from agents.brief import Brief
from agents.conversation import answer, opening
from agents.critic import Draft, best_round, critic_task, feedback_for, route
from agents.effect import effect_task
from agents.instruction import brief_language, check_brief_text, instruction_task
from agents.models import (
    AgentName,
    AudioPlan,
    Critique,
    EffectPlan,
    Feedback,
    NarrationLine,
    ShotInstructions,
    VisualPlan,
    VoiceTake,
)
from agents.policy import AgentTask
from agents.visual import visual_task
from graphs.context import RunContext
from graphs.measure import measure_draft
from graphs.state import (
    AUDIO,
    BRIEF,
    CRITIQUES,
    DRAFTS,
    EFFECT,
    EVENTS,
    FINAL,
    INSTRUCTIONS,
    MESSAGES,
    TOOL_CALLS,
    VISUAL,
    AgentEntry,
    AudioEntry,
    CritiqueEntry,
    DraftEntry,
    FinalEntry,
    GenerateRequest,
    Message,
    ProgressEvent,
    VGAState,
    current_round,
    finding_text,
    new_run_id,
    open_findings,
    request_of,
    updates,
)
from graphs.timeline import build_timeline, clip_requests
from graphs.toolrun import ToolRecorder, gather_limited
from rag_recsys import sidfile
from tools.audio_measure import loudness_text
from tools.errors import InputError, RagvidError
from tools.models import AudioTrack, Line, RenderResult, RenderSettings, Timeline

log = logging.getLogger("ragvid.graph")
# the beat grid follows from the storyboard's bpm and the voice intervals repeat line_spans: both are
# in the state for the checks, but in the prompt they would only lengthen the turn the next call extends
CRITIC_OMITS = {"beats", "voice_intervals"}
T = TypeVar("T", bound=BaseModel)
Update = dict[str, Any]  # a node's return: channel → entries to append (and ``request`` → the request)


def context_of(runtime: Runtime[RunContext] | None) -> RunContext:
    """The run's context; a graph run without one is an error that says how to pass it."""
    ctx = runtime.context if runtime is not None else None
    if ctx is None:
        raise RagvidError(
            "the VGA graph needs a RunContext: pass context=… to invoke/stream "
            "(ragvid.settings.Settings().run_context() builds the default one)"
        )
    return ctx


def progress_event(node: str, message: str, round_: int | None = None, **extra: Any) -> ProgressEvent:
    """A progress line: streamed at once (LangGraph's custom stream mode) and returned for ``events``."""
    event = ProgressEvent(node=node, message=message, round=round_, **extra)
    with contextlib.suppress(RuntimeError):  # outside a graph run (a node called directly) there is no stream
        get_stream_writer()(event.model_dump(mode="json"))
    return event


@dataclass
class Decided:
    """A policy's decision as the graph keeps it: the state entry and the conversation turns to append."""

    entry: AgentEntry[Any]
    messages: list[Message]


async def _decide(ctx: RunContext, state: VGAState, task: AgentTask[T], *, context: Any = None,
                  feedback: Feedback | None = None) -> Decided:  # fmt: skip
    """Ask the policy, with the run's conversation extended by this role's turn (Eq. 14)."""
    findings = feedback.findings if feedback is not None else []
    history = state.get("messages", [])
    turn = opening(history, task.role, context=context, findings=findings, round_=task.round)
    task.prompt = [*history, *turn]
    task.capabilities = ctx.toolbox.capabilities()
    brief = BRIEF.latest(state)
    if not task.anchor and brief is not None:
        task.anchor = brief.product_text
    decision = await ctx.policy.decide(task)
    entry = AgentEntry[Any](round=task.round, policy=decision.policy, sources=decision.sources, notes=decision.notes,
                            output=decision.output, llm=decision.usage)  # fmt: skip
    for note in decision.notes:  # decisions worth seeing as they happen: substitutions, skipped checks, drops
        progress_event(task.role, note, task.round if task.role != "instruction" else None)
    said = answer(task.role, decision.output.model_dump(mode="json"), decision.raw, decision.corrections)
    return Decided(entry, [Message.model_validate(m) for m in [*turn, *said]])


def _feedback(state: VGAState, agent: AgentName) -> Feedback:
    last = CRITIQUES.latest(state)
    return feedback_for(last.output if last else None, last.draft.beats if last else [], agent)


async def load_sid(state: VGAState, runtime: Runtime[RunContext]) -> Update:
    """The request's SID (a file or inline JSON) checked and decoded into the `Brief`; the request is
    written back validated, its run id fixed and its paths absolute (a resume may run elsewhere).

    A request without a run id (left out, null or blank) gets a new one here, and the state keeps it: every
    later node and a resume of the same thread read that id, so two runs started without one never share a
    run folder."""
    raw = state.get("request")
    unnamed = isinstance(raw, dict) and not raw.get("run_id")
    req = GenerateRequest.parse({**raw, "run_id": new_run_id()} if isinstance(raw, dict) and unnamed else raw)
    if state.get("brief"):  # resumed: the request was written back with the brief, unless given anew unnamed
        return {"request": req.model_dump(mode="json")} if unnamed else {}
    req = req.model_copy(update={"out": str(Path(req.out).resolve()),
                                 "sid_file": str(Path(req.sid_file).resolve()) if req.sid_file else None})  # fmt: skip
    ctx = context_of(runtime)
    if req.sid is not None:
        try:
            loaded = sidfile.load_sid(req.sid, ctx.tokenizer)
        except InputError as e:  # name the field where the caller put it
            raise InputError(f"request.sid.{e.field}", e.message) from None
    else:
        assert req.sid_file is not None  # the request's validator holds one of the two
        loaded = sidfile.load_sid_file(Path(req.sid_file), ctx.tokenizer)
    brief = Brief.from_loaded(loaded, aspect=req.aspect, duration=req.duration or ctx.profile.duration,
                              duration_asked=req.duration is not None)
    sim = "n/a" if brief.similarity is None else f"{brief.similarity:.2f}"
    why = f" ({brief.similarity_note})" if brief.similarity_note else ""
    ev = progress_event("load_sid", f"decoded {brief.content_path}+{brief.creative_path}: "
                        f"{', '.join(brief.entities[:3])} / {brief.style.look}, cosine {sim}{why}")  # fmt: skip
    return {"request": req.model_dump(mode="json"), **updates(BRIEF.update(brief), EVENTS.update(ev))}


async def instruction(state: VGAState, runtime: Runtime[RunContext]) -> Update:
    """The instruction model's node: the brief → `ShotInstructions`, with the conversation turns of the call."""
    ctx = context_of(runtime)
    brief = BRIEF.require(state)
    # input the video cannot carry fails here, before any model or tool time is spent: an unsupported
    # language, a language no voice speaks, text no installed font can set
    language = brief_language(brief)
    voice = ctx.toolbox.speech.voice_for(language.code)
    check_brief_text(brief, language)
    progress_event("instruction", f"language {language.code} ({language.name}): {voice}")
    decided = await _decide(ctx, state, instruction_task(brief, ctx.toolbox.capabilities()),
                            context=brief.model_dump(mode="json"))  # fmt: skip
    out: ShotInstructions = decided.entry.output
    entry = decided.entry
    shown = {s.selling_point for s in out.shots if s.selling_point is not None}
    left_out = [p for i, p in enumerate(brief.meta.selling_points if brief.meta else []) if i not in shown]
    if left_out:  # never silently: the advertiser wrote them
        note = f"selling points left out for a {out.target_duration:g}s video: {'; '.join(left_out)}"
        entry = entry.model_copy(update={"notes": [*entry.notes, note]})
        progress_event("instruction", note)
    if brief.duration and not brief.duration_asked and out.target_duration > brief.duration:
        progress_event("instruction", f"default length {brief.duration:g}s is too short for the hook and the call "
                                      f"to action in {language.name}: {out.target_duration:g}s")  # fmt: skip
    ev = progress_event("instruction", f"{len(out.shots)} shots, {out.target_duration:.1f}s, {out.tone}")
    return updates(INSTRUCTIONS.update(entry), MESSAGES.update(*decided.messages), EVENTS.update(ev))


async def visual(state: VGAState, runtime: Runtime[RunContext]) -> Update:
    """The Visual agent's node: the current round's storyboard, re-planned on the findings routed to it."""
    ctx = context_of(runtime)
    r = current_round(state)
    instructions = INSTRUCTIONS.require(state).output
    previous = VISUAL.latest(state)
    feedback = _feedback(state, "visual")
    task = visual_task(instructions, BRIEF.require(state).images, previous.output if previous else None, feedback,
                       ctx.toolbox.capabilities().camera_motions, r)  # fmt: skip
    decided = await _decide(ctx, state, task, feedback=feedback)
    plan: VisualPlan = decided.entry.output
    ev = progress_event("visual", f"storyboard: {len(plan.segments)} segments at {plan.bpm:.1f} bpm", r)
    return updates(VISUAL.update(decided.entry), MESSAGES.update(*decided.messages), EVENTS.update(ev))


MAX_SHORTENINGS = 2  # re-syntheses of a last line that runs past the end before it is dropped


async def _speak(ctx: RunContext, rec: ToolRecorder, lines: list[NarrationLine], plan_v: VisualPlan, voice: str,
                 language: str) -> list[VoiceTake]:  # fmt: skip
    """Speak `lines` (two at a time) and place each so its measured onset lands ``lead_in`` after its cut."""
    tb = ctx.toolbox
    spoken = [Line(line_id=ln.line_id, text=ln.text, rate=ln.rate, voice=voice, language=language) for ln in lines]
    results = await gather_limited(
        2, [partial(rec.call, "speech", tb.speech.name, line.line_id, partial(tb.speech.synthesize, line))
            for line in spoken],
    )  # fmt: skip
    seg_start = {s.shot_id: s.start for s in plan_v.segments}
    return [
        VoiceTake(
            line_id=ln.line_id,
            shot_id=ln.shot_id,
            path=str(res.path),
            # the measured onset, not the file start, is what lands lead_in after the cut
            start=round(max(0.0, seg_start[ln.shot_id] + ln.lead_in - res.onset), 4),
            onset=res.onset,
            duration=res.duration,
            backend=res.backend,
            voice=res.voice,
        )
        for ln, res in zip(lines, results, strict=True)
    ]


async def _no_overlaps(ctx: RunContext, rec: ToolRecorder, plan: AudioPlan, takes: list[VoiceTake],
                       plan_v: VisualPlan, language: str) -> tuple[AudioPlan, list[VoiceTake], list[str]]:  # fmt: skip
    """The plan and takes with no line talking over another and none cut off by the end: a line that would start
    before the previous one ends starts after it (`pack_takes`); a last line that then runs past the end is
    condensed to the time left at its measured speaking rate and spoken again, and dropped when it cannot get
    shorter. Returns the plan, the takes and a note per change."""
    lines = {ln.line_id: ln for ln in plan.lines}
    takes, notes = pack_takes(takes)
    for attempt in range(MAX_SHORTENINGS + 1):
        room = tail_room(takes, plan_v.duration)
        if room is None:
            break
        last = takes[-1]
        shorter = shorten_line(lines[last.line_id], last, room, language) if attempt < MAX_SHORTENINGS else None
        if shorter is None:
            notes.append(f"line {last.line_id} dropped: {last.duration:.2f}s of speech, {room:.2f}s left at the end")
            del lines[last.line_id]
            takes = takes[:-1]
            continue
        notes.append(f"line {last.line_id} shortened to end before the video: {lines[last.line_id].text!r} → "
                     f"{shorter.text!r}")  # fmt: skip
        lines[last.line_id] = shorter
        (again,) = await _speak(ctx, rec, [shorter], plan_v, plan.voice, language)
        takes, _ = pack_takes([*takes[:-1], again])
    kept = [lines[ln.line_id] for ln in plan.lines if ln.line_id in lines]
    return plan.model_copy(update={"lines": kept}), takes, notes


async def audio(state: VGAState, runtime: Runtime[RunContext]) -> Update:
    """The Audio agent's node: its plan, then every line spoken in the video's language (two at a time) and placed
    so its measured onset lands ``lead_in`` after its shot's cut, no line over another nor past the end
    (`_no_overlaps`), and the music composed. Appends an `AudioEntry` with the takes, the voice and
    the track; a failing speech or music tool's ToolError ends the run."""
    ctx = context_of(runtime)
    r = current_round(state)
    instructions = INSTRUCTIONS.require(state).output
    plan_v = VISUAL.require(state).output
    previous = AUDIO.latest(state)
    feedback = _feedback(state, "audio")
    task = audio_task(instructions, plan_v, previous.output if previous else None, feedback, r)
    decided = await _decide(ctx, state, task, feedback=feedback)
    plan: AudioPlan = decided.entry.output
    rec = ToolRecorder("audio", r)
    tb = ctx.toolbox
    voice = tb.speech.voice_for(instructions.language)
    progress_event("audio", f"synthesizing {len(plan.lines)} lines: {voice}", r)
    takes = await _speak(ctx, rec, plan.lines, plan_v, plan.voice, instructions.language)
    spoke = tb.speech.voice_for(instructions.language)  # another voice when the back-end fell back
    if spoke != voice:
        voice = spoke
        progress_event("audio", f"spoken by {voice}", r)
    plan, takes, notes = await _no_overlaps(ctx, rec, plan, takes, plan_v, instructions.language)
    for note in notes:
        progress_event("audio", note, r)
    music: AudioTrack = await rec.call("music", tb.music.name, plan.bgm.mood, lambda: tb.music.compose(plan.bgm))
    entry = AudioEntry(**decided.entry.model_dump(exclude={"output", "notes"}), notes=[*decided.entry.notes, *notes],
                       output=plan, takes=takes, music=music, voice=voice)  # fmt: skip
    ev = progress_event(
        "audio", f"voice {sum(t.duration for t in takes):.1f}s, music {plan.bgm.mood} {plan.bgm.bpm:.0f} bpm", r
    )
    return updates(AUDIO.update(entry), TOOL_CALLS.update(*rec.calls), MESSAGES.update(*decided.messages),
                   EVENTS.update(ev))  # fmt: skip


async def effect(state: VGAState, runtime: Runtime[RunContext]) -> Update:
    """The Effect agent's node: cues, style, transitions, overlays and the CTA card, planned on the voice takes
    as placed (their speech start and end, s)."""
    ctx = context_of(runtime)
    r = current_round(state)
    instructions = INSTRUCTIONS.require(state).output
    plan_v = VISUAL.require(state).output
    audio_entry = AUDIO.require(state)
    feedback = _feedback(state, "effect")
    texts = {ln.line_id: ln.text for ln in audio_entry.output.lines}
    previous = EFFECT.latest(state)
    task = effect_task(instructions, plan_v, texts, audio_entry.takes, previous.output if previous else None,
                       feedback, r)  # fmt: skip
    voice = [{"line_id": t.line_id, "speech_start": t.speech_start, "speech_end": t.speech_end}
             for t in audio_entry.takes]  # fmt: skip
    decided = await _decide(ctx, state, task, context={"voice": voice}, feedback=feedback)
    plan: EffectPlan = decided.entry.output
    ev = progress_event("effect", f"{len(plan.cues)} cues, transitions {', '.join(plan.transitions)}", r)
    return updates(EFFECT.update(decided.entry), MESSAGES.update(*decided.messages), EVENTS.update(ev))


@dataclass(frozen=True)
class RoundPlans:
    """The plans a round renders: a reflection round may redo only some agents, and the others' latest
    entry up to it still holds."""

    instructions: ShotInstructions
    visual: VisualPlan
    audio: AudioEntry
    effect: EffectPlan

    @classmethod
    def of(cls, state: VGAState, round_: int) -> RoundPlans:
        """The plans round `round_` renders: the instructions and, per agent, its latest entry up to that round."""

        def upto(entries: list[Any]) -> Any:
            return [e for e in entries if e.round <= round_][-1]

        return cls(
            instructions=INSTRUCTIONS.require(state).output,
            visual=upto(VISUAL.all(state)).output,
            audio=upto(AUDIO.all(state)),
            effect=upto(EFFECT.all(state)).output,
        )


@dataclass(frozen=True)
class Rendered:
    """A render's result and the timeline it rendered."""

    result: RenderResult
    timeline: Timeline


async def _render(ctx: RunContext, plans: RoundPlans, rec: ToolRecorder, settings: RenderSettings, out: Path,
                  ass_path: Path) -> Rendered:  # fmt: skip
    tb = ctx.toolbox
    requests = clip_requests(plans.visual, plans.effect, plans.instructions, settings)
    clips = await gather_limited(
        max(1, ctx.threads // 2),
        [partial(rec.call, "video", tb.video.name, req.shot_id, partial(tb.video.generate, req)) for req in requests],
    )
    plan_e = plans.effect
    subs = tb.subtitles.write(plan_e.cues, [*plan_e.overlays, plan_e.cta], plan_e.style, settings.width,
                             settings.height, ass_path)  # fmt: skip
    timeline = build_timeline(plans.visual, plans.audio.output, plan_e, plans.audio.takes, plans.audio.music, clips,
                              subs, settings)  # fmt: skip
    # stems (voice bus, ducked music bus) come from the same graph; the Critic and tests measure them
    result = await rec.call(
        "composer", tb.composer.name, out.name, lambda: tb.composer.render(timeline, settings, out, stems=True)
    )
    return Rendered(result, timeline)


async def draft_render(state: VGAState, runtime: Runtime[RunContext]) -> Update:
    """Render the current round's draft at the profile's draft size to ``runs/<run id>/draft-r<round>.mp4``, its
    stems and ASS file beside it, and append a `DraftEntry`. A failing tool's ToolError ends the run."""
    ctx = context_of(runtime)
    r = current_round(state)
    req = request_of(state)
    settings = ctx.render_settings(req.aspect, draft=True)
    rec = ToolRecorder("draft_render", r)
    out = ctx.run_dir(req.run_id) / f"draft-r{r}.mp4"
    progress_event("draft_render", f"draft {settings.width}x{settings.height}", r)
    done = await _render(ctx, RoundPlans.of(state, r), rec, settings, out, out.with_suffix(".ass"))
    res = done.result
    assert done.timeline.subtitles is not None  # _render always writes the subtitle file
    entry = DraftEntry(round=r, path=str(res.path), seconds=res.seconds, lufs=res.integrated_lufs,
                       stems={k: str(v) for k, v in res.stems.items()}, width=settings.width,
                       height=settings.height, subtitles=done.timeline.subtitles)  # fmt: skip
    ev = progress_event("draft_render", f"draft rendered in {res.seconds:.1f}s", r)
    return updates(DRAFTS.update(entry), TOOL_CALLS.update(*rec.calls), EVENTS.update(ev))


async def critic(state: VGAState, runtime: Runtime[RunContext]) -> Update:
    """The Critic's node: measure the latest draft, decide the critique and route it (None: accepted); appends
    a `CritiqueEntry` with the measurements and how long measuring took (s)."""
    ctx = context_of(runtime)
    r = current_round(state)
    plans = RoundPlans.of(state, r)
    t0 = time.perf_counter()
    measured = await measure_draft(DRAFTS.require(state), plans.effect, plans.audio.music, plans.audio.takes,
                                   ctx.ffmpeg, plans.visual)  # fmt: skip
    measure_s = time.perf_counter() - t0
    draft = Draft(round=r, measured=measured, target_duration=plans.instructions.target_duration, visual=plans.visual,
                  audio=plans.audio.output, effect=plans.effect, takes=plans.audio.takes)  # fmt: skip
    omitted = measured.model_dump(mode="json", exclude=CRITIC_OMITS)
    decided = await _decide(ctx, state, critic_task(draft), context=omitted)
    critique: Critique = decided.entry.output
    routed = route(critique)
    entry = CritiqueEntry(**decided.entry.model_dump(exclude={"output"}), output=critique, draft=measured,
                          measure_seconds=round(measure_s, 3), routed_to=routed)  # fmt: skip
    # after the last allowed round the findings stay open: the best round is delivered, marked rejected
    verdict = ("accepted" if routed is None else f"back to {routed}" if r < ctx.max_reflections
               else "rejected (no reflection round left)")  # fmt: skip
    # each finding with its shot or line and measured value: a check's name alone does not say what to fix
    said = "".join(f"; {finding_text(f)}" for f in critique.findings)
    ev = progress_event("critic", f"round {r}: {len(critique.findings)} findings, {verdict}{said}", r,
                        findings=[f.model_dump(mode="json") for f in critique.findings])  # fmt: skip
    return updates(CRITIQUES.update(entry), MESSAGES.update(*decided.messages), EVENTS.update(ev))


def after_critic(state: VGAState, runtime: Runtime[RunContext]) -> str:
    """The agent the last critique routes to, or ``final_render`` when accepted or out of rounds."""
    routed = CRITIQUES.require(state).routed_to
    if routed is None or current_round(state) > context_of(runtime).max_reflections:
        return "final_render"
    return routed


async def final_render(state: VGAState, runtime: Runtime[RunContext]) -> Update:
    """Render the best round (`best_round`) at the final size inside the run folder, copy the MP4 to the
    request's ``out`` and append the `FinalEntry`. A failing tool's ToolError ends the run."""
    ctx = context_of(runtime)
    req = request_of(state)
    critiques = [c.output for c in CRITIQUES.all(state)]
    chosen = best_round(critiques)
    # out of rounds with blocking findings left, the best round is still delivered, marked as rejected
    still_open = open_findings(next(c for c in critiques if c.round == chosen))
    settings = ctx.render_settings(req.aspect, draft=False)
    rec = ToolRecorder("final_render", chosen)
    out = Path(req.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    progress_event("final_render", f"final {settings.width}x{settings.height} from round {chosen}", chosen)
    # rendered inside the run folder (beside its stems and subtitles), then copied out, so the user's
    # folder gets just the MP4 and its run record
    staged = ctx.run_dir(req.run_id) / "final.mp4"
    done = await _render(ctx, RoundPlans.of(state, chosen), rec, settings, staged, staged.with_suffix(".ass"))
    shutil.copyfile(staged, out)
    res = done.result
    entry = FinalEntry(
        round=chosen, accepted=not still_open, open_findings=still_open, path=str(out), staged=str(staged),
        seconds=res.seconds, lufs=res.integrated_lufs, duration=res.duration, width=res.width, height=res.height,
        settings=settings,
        clip_seconds=round(sum(c.seconds for c in rec.calls if c.tool == "video"), 3), command=res.command,
        subtitles=str(staged.with_suffix(".ass")), stems={k: str(v) for k, v in res.stems.items()},
        timeline=done.timeline,
    )  # fmt: skip
    verdict = "" if not still_open else f"; rejected by the Critic: {len(still_open)} open findings"
    ev = progress_event("final_render", f"wrote {out} ({res.duration:.1f}s, {loudness_text(res.integrated_lufs)})"
                        f"{verdict}", chosen)  # fmt: skip
    return updates(FINAL.update(entry), TOOL_CALLS.update(*rec.calls), EVENTS.update(ev))
