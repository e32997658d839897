"""VGA graph nodes. Each reads typed views of the state, asks the run's policy for a decision,
acts through tool protocols, and returns only new entries to append."""

from __future__ import annotations

import contextlib
import logging
import shutil
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.runtime import Runtime

from agents.audio import audio_task
from agents.brief import Brief
from agents.conversation import answer, opening
from agents.critic import critic_task, route
from agents.effect import effect_task
from agents.instruction import instruction_task
from agents.models import (
    AgentName,
    AudioPlan,
    Critique,
    EffectPlan,
    Finding,
    ShotInstructions,
    VisualPlan,
    VoiceTake,
)
from agents.policy import AgentTask, Decision
from agents.visual import visual_task
from graphs.context import RunContext, default_context
from graphs.measure import measure_draft
from graphs.state import Entry, GenerateRequest, VGAState, current_round, latest, require
from graphs.timeline import build_timeline, clip_requests
from graphs.toolrun import ToolRecorder, gather_limited
from rag_recsys.sidfile import load_sid_file
from tools.models import AudioTrack, Line, RenderResult, RenderSettings, Timeline

log = logging.getLogger("ragvid.graph")
# the beat grid follows from the storyboard's bpm and the voice intervals repeat line_spans: both are
# in the state for the checks, but in the prompt they would only lengthen the turn the next call extends
CRITIC_OMITS = {"beats", "voice_intervals"}


def _ctx(runtime: Runtime[RunContext] | None) -> RunContext:
    ctx = runtime.context if runtime is not None else None
    return ctx if ctx is not None else default_context()


def progress_event(node: str, message: str, round_: int | None = None, **extra: Any) -> Entry:
    event: Entry = {"node": node, "message": message, "round": round_, "t": time.time(), **extra}
    with contextlib.suppress(RuntimeError):  # outside a graph run (a node called directly) there is no stream
        get_stream_writer()(event)
    return event


def _request(state: VGAState) -> GenerateRequest:
    return GenerateRequest.model_validate(state["request"])


async def _decide(
    ctx: RunContext,
    state: VGAState,
    task: AgentTask[Any],
    *,
    context: Any = None,
    findings: Sequence[Finding] = (),
) -> tuple[Decision[Any], Entry, list[Entry]]:
    """Ask the policy, with the run's conversation extended by this role's turn; return the decision,
    its state entry and the messages to append (the turn and the answer actually used)."""
    history = state.get("messages", [])
    turn = opening(history, task.role, context=context, findings=findings, round_=task.round)
    task.prompt = [*history, *turn]
    if not task.anchor and state.get("brief"):
        task.anchor = state["brief"][-1]["product_text"]
    decision = await ctx.policy.decide(task)
    entry: Entry = {
        "round": task.round,
        "policy": decision.policy,
        "sources": {k: v.value for k, v in decision.sources.items()},
        "notes": decision.notes,
        "output": decision.output.model_dump(mode="json"),
    }
    if decision.usage is not None:
        entry["llm"] = decision.usage
    for note in decision.notes:
        log.info("%s: %s", task.role, note)
    return decision, entry, [*turn, *answer(task.role, entry["output"], decision.raw, decision.corrections)]


def _findings_for(state: VGAState, agent: AgentName) -> list[Finding]:
    critique = latest(state, "critiques", Critique, key="")
    if critique is None:
        return []
    return [f for f in critique.findings if f.agent == agent and f.severity in ("major", "critical")]


def _measured_speech(state: VGAState) -> dict[str, float]:
    critique = latest(state, "critiques", Critique, key="")
    if critique is None:
        return {}
    return {
        k.split(":", 1)[1]: float(v)
        for k, v in critique.measurements.items()
        if k.startswith("speech_s:") and isinstance(v, (int, float))
    }


async def load_sid(state: VGAState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    if state.get("brief"):
        return {}
    ctx = _ctx(runtime)
    req = _request(state)
    loaded = load_sid_file(Path(req.sid_file), ctx.tokenizer)
    brief = Brief.from_loaded(loaded, aspect=req.aspect, duration=req.duration)
    sim = f"{brief.similarity:.2f}" if brief.similarity is not None else "n/a (no meta)"
    ev = progress_event(
        "load_sid",
        f"decoded {brief.content_path}+{brief.creative_path}: "
        f"{', '.join(brief.entities[:3])} / {brief.style.look}, cosine {sim}",
    )
    return {"brief": [brief.model_dump(mode="json")], "events": [ev]}


async def instruction(state: VGAState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = _ctx(runtime)
    brief = require(state, "brief", Brief, key="")
    decision, entry, msgs = await _decide(ctx, state, instruction_task(brief), context=brief.model_dump(mode="json"))
    out: ShotInstructions = decision.output
    ev = progress_event("instruction", f"{len(out.shots)} shots, {out.target_duration:.1f}s, {out.tone}")
    return {"instructions": [entry], "messages": msgs, "events": [ev]}


async def visual(state: VGAState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = _ctx(runtime)
    r = current_round(state)
    instructions = require(state, "instructions", ShotInstructions)
    brief = require(state, "brief", Brief, key="")
    findings = _findings_for(state, "visual")
    measured = {f"s{k[1:]}": v for k, v in _measured_speech(state).items()}
    task = visual_task(instructions, brief.images, findings, measured, r)
    decision, entry, msgs = await _decide(ctx, state, task, findings=findings)
    plan: VisualPlan = decision.output
    ev = progress_event("visual", f"storyboard: {len(plan.segments)} segments at {plan.bpm:.1f} bpm", r)
    return {"visual": [entry], "messages": msgs, "events": [ev]}


async def audio(state: VGAState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = _ctx(runtime)
    r = current_round(state)
    instructions = require(state, "instructions", ShotInstructions)
    plan_v = require(state, "visual", VisualPlan)
    previous = latest(state, "audio", AudioPlan)
    findings = _findings_for(state, "audio") + [
        f for f in _findings_for(state, "visual") if f.check == "speech_overrun"
    ]
    task = audio_task(instructions, plan_v, findings, previous, _measured_speech(state), r)
    decision, entry, msgs = await _decide(ctx, state, task, findings=findings)
    plan: AudioPlan = decision.output
    rec = ToolRecorder("audio", r)
    tb = ctx.toolbox
    progress_event("audio", f"synthesizing {len(plan.lines)} lines ({tb.speech.name})", r)
    lines = [Line(line_id=ln.line_id, text=ln.text, rate=ln.rate, voice=plan.voice) for ln in plan.lines]
    results = await gather_limited(
        2, [rec.call("speech", tb.speech.name, line.line_id, partial(tb.speech.synthesize, line)) for line in lines]
    )
    seg_start = {s.shot_id: s.start for s in plan_v.segments}
    takes = [
        VoiceTake(
            line_id=ln.line_id,
            shot_id=ln.shot_id,
            path=str(res.path),
            # the measured onset, not the file start, is what lands lead_in after the cut
            start=round(max(0.0, seg_start[ln.shot_id] + ln.lead_in - res.onset), 4),
            onset=res.onset,
            duration=res.duration,
            backend=res.backend,
        )
        for ln, res in zip(plan.lines, results, strict=True)
    ]
    music: AudioTrack = await rec.call("music", tb.music.name, plan.bgm.mood, lambda: tb.music.compose(plan.bgm))
    entry["takes"] = [t.model_dump(mode="json") for t in takes]
    entry["music"] = music.model_dump(mode="json")
    ev = progress_event(
        "audio", f"voice {sum(t.duration for t in takes):.1f}s, music {plan.bgm.mood} {plan.bgm.bpm:.0f} bpm", r
    )
    return {"audio": [entry], "tool_calls": rec.calls, "messages": msgs, "events": [ev]}


def _takes(state: VGAState) -> list[VoiceTake]:
    return [VoiceTake.model_validate(t) for t in state["audio"][-1]["takes"]]


async def effect(state: VGAState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = _ctx(runtime)
    r = current_round(state)
    instructions = require(state, "instructions", ShotInstructions)
    plan_v = require(state, "visual", VisualPlan)
    plan_a = require(state, "audio", AudioPlan)
    findings = _findings_for(state, "effect")
    texts = {ln.line_id: ln.text for ln in plan_a.lines}
    previous = latest(state, "effect", EffectPlan)
    task = effect_task(instructions, plan_v, texts, _takes(state), findings, previous, r)
    voice = [{"line_id": t.line_id, "speech_start": t.speech_start, "speech_end": t.speech_end} for t in _takes(state)]
    decision, entry, msgs = await _decide(ctx, state, task, context={"voice": voice}, findings=findings)
    plan: EffectPlan = decision.output
    ev = progress_event("effect", f"{len(plan.cues)} cues, transitions {', '.join(plan.transitions)}", r)
    return {"effect": [entry], "messages": msgs, "events": [ev]}


async def _render(
    ctx: RunContext,
    state: VGAState,
    rec: ToolRecorder,
    settings: RenderSettings,
    out: Path,
    ass_path: Path,
    *,
    plans: tuple[VisualPlan, AudioPlan, EffectPlan, list[VoiceTake], AudioTrack],
) -> tuple[RenderResult, Timeline]:
    plan_v, plan_a, plan_e, takes, music = plans
    instructions = require(state, "instructions", ShotInstructions)
    tb = ctx.toolbox
    requests = clip_requests(plan_v, plan_e, instructions, settings)
    clips = await gather_limited(
        max(1, ctx.threads // 2),
        [rec.call("video", tb.video.name, req.shot_id, partial(tb.video.generate, req)) for req in requests],
    )
    ass = tb.subtitles.write(
        plan_e.cues, [*plan_e.overlays, plan_e.cta], plan_e.style, settings.width, settings.height, ass_path
    )
    timeline = build_timeline(plan_v, plan_a, plan_e, takes, music, clips, ass, settings)
    # stems (voice bus, ducked music bus) come from the same graph; the Critic and tests measure them
    result = await rec.call(
        "composer", tb.composer.name, out.name, lambda: tb.composer.render(timeline, settings, out, stems=True)
    )
    return result, timeline


def _plans_for_round(
    state: VGAState, round_: int
) -> tuple[VisualPlan, AudioPlan, EffectPlan, list[VoiceTake], AudioTrack]:
    """A reflection round may redo only some agents: the others' latest entry up to it still holds."""

    def pick(channel: str) -> Entry:
        return [e for e in state[channel] if e["round"] <= round_][-1]  # type: ignore[literal-required]

    a = pick("audio")
    return (
        VisualPlan.model_validate(pick("visual")["output"]),
        AudioPlan.model_validate(a["output"]),
        EffectPlan.model_validate(pick("effect")["output"]),
        [VoiceTake.model_validate(t) for t in a["takes"]],
        AudioTrack.model_validate(a["music"]),
    )


async def draft_render(state: VGAState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = _ctx(runtime)
    r = current_round(state)
    req = _request(state)
    settings = ctx.render_settings(req.aspect, draft=True)
    rec = ToolRecorder("draft_render", r)
    out = ctx.run_dir(req.run_id) / f"draft-r{r}.mp4"
    progress_event("draft_render", f"draft {settings.width}x{settings.height}", r)
    plans = _plans_for_round(state, r)
    result, _ = await _render(ctx, state, rec, settings, out, out.with_suffix(".ass"), plans=plans)
    entry = {
        "round": r,
        "path": str(result.path),
        "seconds": result.seconds,
        "lufs": result.integrated_lufs,
        "stems": {k: str(v) for k, v in result.stems.items()},
        "width": settings.width,
        "height": settings.height,
    }
    ev = progress_event("draft_render", f"draft rendered in {result.seconds:.1f}s", r)
    return {"drafts": [entry], "tool_calls": rec.calls, "events": [ev]}


async def critic(state: VGAState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = _ctx(runtime)
    r = current_round(state)
    draft = state["drafts"][-1]
    plan_v, plan_a, plan_e, takes, music = _plans_for_round(state, r)
    t0 = time.perf_counter()
    measured = await measure_draft(draft, plan_e, music, takes)
    measure_s = time.perf_counter() - t0
    decision, decided, msgs = await _decide(
        ctx,
        state,
        critic_task(r, measured, plan_v, plan_a, plan_e, takes),
        context=measured.model_dump(mode="json", exclude=CRITIC_OMITS),
    )
    critique: Critique = decision.output
    entry = critique.model_dump(mode="json")
    entry.update({k: decided[k] for k in ("policy", "sources", "notes", "llm") if k in decided})
    entry["measure_seconds"] = round(measure_s, 3)
    entry["draft"] = measured.model_dump(mode="json")
    routed = route(critique)
    verdict = "accepted" if routed is None else f"back to {routed}"
    ev = progress_event(
        "critic",
        f"round {r}: {len(critique.findings)} findings, {verdict}",
        r,
        findings=[f.check for f in critique.findings],
    )
    return {"critiques": [entry], "messages": msgs, "events": [ev]}


def after_critic(state: VGAState, runtime: Runtime[RunContext] | None = None) -> str:
    ctx_max = _ctx(runtime).max_reflections if runtime is not None and runtime.context else 2
    critique = Critique.model_validate(state["critiques"][-1])
    routed = route(critique)
    if routed is None or current_round(state) > ctx_max:
        return "final_render"
    return routed


def best_round(state: VGAState) -> int:
    """Fewest weighted findings wins; on a tie the later round (it saw more feedback)."""
    critiques = [Critique.model_validate(c) for c in state["critiques"]]
    return min(critiques, key=lambda c: (c.penalty(), -c.round)).round


async def final_render(state: VGAState, runtime: Runtime[RunContext]) -> dict[str, Any]:
    ctx = _ctx(runtime)
    req = _request(state)
    chosen = best_round(state)
    settings = ctx.render_settings(req.aspect, draft=False)
    rec = ToolRecorder("final_render", chosen)
    out = Path(req.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    progress_event("final_render", f"final {settings.width}x{settings.height} from round {chosen}", chosen)
    # rendered inside the run folder (beside its stems and subtitles), then copied out, so the user's
    # folder gets just the MP4 and its run record
    staged = ctx.run_dir(req.run_id) / "final.mp4"
    result, timeline = await _render(
        ctx, state, rec, settings, staged, staged.with_suffix(".ass"), plans=_plans_for_round(state, chosen)
    )
    shutil.copyfile(staged, out)
    entry = {
        "round": chosen,
        "path": str(out),
        "staged": str(staged),
        "seconds": result.seconds,
        "lufs": result.integrated_lufs,
        "duration": result.duration,
        "width": result.width,
        "height": result.height,
        "settings": settings.model_dump(mode="json"),
        "clip_seconds": round(sum(c["seconds"] for c in rec.calls if c["tool"] == "video"), 3),
        "command": result.command,
        "subtitles": str(staged.with_suffix(".ass")),
        "stems": {k: str(v) for k, v in result.stems.items()},
        "timeline": timeline.model_dump(mode="json"),
    }
    ev = progress_event("final_render", f"wrote {out} ({result.duration:.1f}s, {result.integrated_lufs} LUFS)", chosen)
    return {"final": [entry], "tool_calls": rec.calls, "events": [ev]}
