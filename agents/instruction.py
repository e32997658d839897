"""Instruction model: D-SIDs (through the lexicon) + optional meta → shot-level instructions.

Where the meta and the decoded content disagree the meta wins (it names the actual product); the
lexicon fills in only what the meta leaves out, so a SID file without meta still yields an ad. The
creative code's settings are realised with what the active tools support (`fit_style`): a transition,
camera move or music mood a tool lacks becomes the nearest one it has, and the run record says so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from agents.brief import Brief
from agents.copy import clean, estimate_speech_seconds, sentence
from agents.models import ShotInstruction, ShotInstructions
from agents.policy import AgentTask
from rag_recsys.creative import CreativeStyle
from tools.limits import AUTO_MAX_DURATION, AUTO_MIN_DURATION, END_CARD_SECONDS
from tools.protocols import Capabilities
from tools.vocabulary import CameraMotion, nearest, substitute

MIN_SHOTS = 4
MAX_FEATURES = 4
# speech needs a lead-in after the cut and air before the next one; the end card needs time to read
PAD_SECONDS = 1.0


@dataclass
class FittedStyle:
    """A creative style realised with the active tools, and a note per setting that had to change."""

    style: CreativeStyle
    notes: list[str] = field(default_factory=list)


def fit_style(style: CreativeStyle, caps: Capabilities) -> FittedStyle:
    """``style`` with its transitions, camera motions and music mood mapped onto what ``caps`` supports
    (``tools.vocabulary.nearest``)."""
    transitions = substitute(style.transitions, caps.transitions, "transition", f"composer '{caps.composer}'")
    cameras = substitute(style.camera_motions, caps.camera_motions, "camera motion", f"video '{caps.video}'")
    mood = nearest(style.music_mood, caps.moods)
    notes = [*transitions.notes, *cameras.notes]
    if mood != style.music_mood:
        notes.append(f"music mood {style.music_mood!r} → {mood!r}: not supported by music '{caps.music}'")
    fitted = style.model_copy(
        update={"transitions": list(dict.fromkeys(transitions.values)), "camera_motions": cameras.values,
                "music_mood": mood}
    )  # fmt: skip
    return FittedStyle(fitted, notes)


def _product_name(brief: Brief) -> str:
    if brief.meta and brief.meta.product:
        return clean(brief.meta.product)
    return brief.entities[0] if brief.entities else "our pick"


def _selling_points(brief: Brief) -> list[str]:
    if brief.meta and brief.meta.selling_points:
        return [clean(p) for p in brief.meta.selling_points if clean(p)][:MAX_FEATURES]
    # no meta: the lexicon's neighbouring entities describe the range the code path covers
    extra = [e for e in brief.entities[1:] if e.lower() != _product_name(brief).lower()][:2]
    return [f"Explore {e.lower()}" for e in extra] or [f"Discover {t.lower()}" for t in brief.topics[:1]]


def rule_instructions(brief: Brief, style: CreativeStyle | None = None) -> ShotInstructions:
    """Shots (hook, one per selling point, proof, CTA) with their pacing, copy intents and camera moves,
    plus the look's global settings; ``style`` replaces the brief's (e.g. fitted to the tools)."""
    style = style or brief.style
    product = _product_name(brief)
    brand = clean(brief.meta.brand) if brief.meta and brief.meta.brand else None
    price = clean(brief.meta.price) if brief.meta and brief.meta.price else None
    cta = clean(brief.meta.cta) if brief.meta and brief.meta.cta else f"Discover {product} today"
    has_image = bool(brief.images)
    motions: list[CameraMotion] = [m for m in style.camera_motions if m != "static"] or ["push_in"]

    by = f" by {brand}" if brand and brand.lower() not in product.lower() else ""
    shots: list[ShotInstruction] = [
        ShotInstruction(
            index=0,
            purpose="hook",
            subject=product,
            scene=f"{product} hero shot, {style.look} look",
            camera=motions[0],
            use_image=has_image,
            weight=1.0,
            style=style.description,
            narration_intent=sentence(f"Meet {product}{by}"),
            onscreen_text=product,
        )
    ]
    points = _selling_points(brief)
    for i, point in enumerate(points):
        shots.append(
            ShotInstruction(
                index=len(shots),
                purpose="feature",
                subject=point,
                scene=f"{product}: {point}",
                camera=motions[(i + 1) % len(motions)],
                # alternate photo and graphics so consecutive shots read as distinct cuts
                use_image=has_image and i % 2 == 1,
                weight=1.0,
                style=style.description,
                narration_intent=sentence(point),
                selling_point=i if brief.meta and brief.meta.selling_points else None,
            )
        )
    while len(shots) < MIN_SHOTS - 1:
        proof = f"{product}, now just {price}" if price else f"{product}{by}, made for you"
        shots.append(
            ShotInstruction(
                index=len(shots),
                purpose="proof",
                subject=product,
                scene=f"{product} with price badge" if price else f"{product} close-up",
                camera=motions[len(shots) % len(motions)],
                use_image=has_image,
                weight=1.0,
                style=style.description,
                narration_intent=sentence(proof),
                onscreen_text=f"{product} · {price}" if price else None,
            )
        )
    shots.append(
        ShotInstruction(
            index=len(shots),
            purpose="cta",
            subject=cta,
            scene=f"end card: {cta}",
            camera="static",
            use_image=False,
            weight=1.0,
            style=style.description,
            narration_intent=sentence(cta),
            onscreen_text=cta,
        )
    )
    seconds = [
        max(
            estimate_speech_seconds(s.narration_intent, style.voice_rate) + PAD_SECONDS,
            END_CARD_SECONDS if s.purpose == "cta" else 0.0,
        )
        for s in shots
    ]
    total = sum(seconds)
    target = brief.duration or min(AUTO_MAX_DURATION, max(AUTO_MIN_DURATION, total * 1.1))
    for shot, sec in zip(shots, seconds, strict=True):
        shot.weight = round(sec / total, 4)
    return ShotInstructions(
        shots=shots,
        tone=f"{style.look}, {style.rhythm}",
        palette=style.palette,
        look=style.look,
        rhythm=style.rhythm,
        music_mood=style.music_mood,
        music_bpm=style.music_bpm,
        voice_rate=style.voice_rate,
        cta=cta,
        product=product,
        brand=brand,
        price=price,
        language=brief.meta.language if brief.meta else "en",
        target_duration=round(target, 3),
        transitions=list(style.transitions),
        transition_seconds=style.transition_seconds,
        title_scale=style.title_scale,
        uppercase_titles=style.uppercase_titles,
    )


def instruction_task(brief: Brief, caps: Capabilities) -> AgentTask[ShotInstructions]:
    """The instruction model's task (round 0): the brief's style is first fitted to `caps` (each substitution
    becomes a note of the decision), the rule answer is `rule_instructions`; an LLM sees the brief."""
    fitted = fit_style(brief.style, caps)
    return AgentTask(
        role="instruction",
        inputs={"brief": brief.model_dump(mode="json")},
        schema=ShotInstructions,
        rule=lambda: rule_instructions(brief, fitted.style),
        notes=fitted.notes,
    )
