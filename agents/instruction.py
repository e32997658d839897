"""Instruction model: D-SIDs (through the lexicon) + optional meta → shot-level instructions.

Where the meta and the decoded content disagree the meta wins (it names the actual product); the
lexicon fills in only what the meta leaves out, so a SID file without meta still yields an ad. The
creative code's settings are realised with what the active tools support (`fit_style`): a transition,
camera move or music mood a tool lacks becomes the nearest one it has, and the run record says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from agents.brief import Brief
from agents.copy import CopyBook, clean, condense, copy_book, estimate_speech_seconds, sentence
from agents.models import ShotInstruction, ShotInstructions
from agents.policy import AgentTask
from rag_recsys.creative import CreativeStyle
from tools.errors import InputError
from tools.fonts import check_coverage
from tools.languages import Language, language_of
from tools.limits import AUTO_MAX_DURATION, AUTO_MIN_DURATION, END_CARD_SECONDS, LEAD_IN, MAX_DURATION, TAIL
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


def brief_language(brief: Brief) -> Language:
    """The language of the brief's copy: its meta's (English without meta). Raises InputError naming
    ``meta.language`` for one ragvid does not support."""
    return language_of(brief.meta.language if brief.meta else "en")


def check_brief_text(brief: Brief, language: Language) -> None:
    """Every meta text the video shows can be set in an installed font. Raises InputError naming the field (and
    the Debian package of a missing font) otherwise."""
    meta = brief.meta
    if meta is None:
        return
    fields = {"meta.product": meta.product, "meta.brand": meta.brand, "meta.price": meta.price, "meta.cta": meta.cta}
    fields.update({f"meta.selling_points[{i}]": p for i, p in enumerate(meta.selling_points)})
    for name, text in fields.items():
        if text:
            check_coverage(text, name, language.fonts)


def _product_name(brief: Brief, language: Language, book: CopyBook) -> str:
    if brief.meta and brief.meta.product:
        return clean(brief.meta.product)
    # the lexicon speaks English: a product in another language without a name is "our pick" in that language
    return brief.entities[0] if brief.entities and language.code == "en" else book.our_pick


def _leaf(path: str) -> str:
    """The last level of a taxonomy path ("Food, Beverages & Tobacco > Beverages" → "Beverages")."""
    return path.rsplit(">", 1)[-1].strip()


def _selling_points(brief: Brief, product: str, language: Language, book: CopyBook) -> list[str]:
    if brief.meta and brief.meta.selling_points:
        return [clean(p) for p in brief.meta.selling_points if clean(p)][:MAX_FEATURES]
    if language.code != "en":
        return []
    # no meta: the lexicon's neighbouring entities describe the range the code path covers; a topic is a
    # taxonomy path, of which only its last level reads as words
    extra = [e for e in brief.entities[1:] if e.lower() != product.lower()][:2]
    return [book.say("explore", topic=e.lower()) for e in extra] or [
        book.say("discover", topic=_leaf(t).lower()) for t in brief.topics[:1]]  # fmt: skip


def shot_seconds(shots: list[ShotInstruction], rate: float, language: Language) -> list[float]:
    """Round 0's estimate (s) of what each shot needs for its pacing weight: its line's speaking time in
    ``language`` plus PAD_SECONDS, and the end card's hold for the CTA shot."""
    return [
        max(estimate_speech_seconds(s.narration_intent, rate, language.chars_per_second) + PAD_SECONDS,
            END_CARD_SECONDS if s.purpose == "cta" else 0.0)
        for s in shots
    ]  # fmt: skip


def shot_minimum(shot: ShotInstruction, rate: float, language: Language) -> float:
    """The least a shot can last (s): its line's estimated speaking time with the lead-in after its cut and the
    tail before the next (the end card's hold for the CTA shot)."""
    speech = estimate_speech_seconds(shot.narration_intent, rate, language.chars_per_second) + LEAD_IN + TAIL
    return max(speech, END_CARD_SECONDS) if shot.purpose == "cta" else speech


def _fitted(shots: list[ShotInstruction], duration: float, rate: float, language: Language
            ) -> tuple[list[ShotInstruction], float]:  # fmt: skip
    """The shots and lines kept for ``duration`` seconds (see `fit_shots`) and the seconds they need."""

    def need(kept: list[ShotInstruction]) -> float:
        return sum(shot_minimum(s, rate, language) for s in kept)

    kept = list(shots)
    while need(kept) > duration:
        droppable = [s for s in kept if s.purpose == "proof"] or [s for s in kept if s.purpose == "feature"]
        if not droppable:
            break
        kept.remove(droppable[-1])
    if need(kept) > duration:
        book = copy_book(language.code)
        speech = [estimate_speech_seconds(s.narration_intent, rate, language.chars_per_second) for s in kept]
        room = max(0.0, duration - (need(kept) - sum(speech)))
        kept = [s.model_copy(update={"narration_intent": condense(s.narration_intent, room * t / sum(speech), rate,
                                                                  language.chars_per_second, book.full_stop)})
                for s, t in zip(kept, speech, strict=True)]  # fmt: skip
    return [s.model_copy(update={"index": i}) for i, s in enumerate(kept)], need(kept)


def fit_shots(shots: list[ShotInstruction], duration: float, rate: float, language: Language) -> list[ShotInstruction]:
    """The shots and lines that fit ``duration`` seconds, so no line has to be cut mid-phrase or run into the
    next: whole shots are dropped first (proof, then the last feature), then the lines left are condensed to
    share the time (`agents.copy.condense`: whole clauses and words). Raises InputError naming ``duration`` with
    the minimum when even the shortest hook and CTA lines do not fit."""
    kept, need = _fitted(shots, duration, rate, language)
    if need > duration:
        raise InputError("duration", f"{duration:g}s is too short for the hook and the call to action; "
                                     f"they need at least {shortest_length(need):g}s")  # fmt: skip
    return kept


def shortest_length(need: float) -> float:
    """``need`` seconds rounded up to the tenth of a second a length is asked in."""
    return math.ceil(need * 10) / 10


def default_length(shots: list[ShotInstruction], duration: float, rate: float, language: Language) -> float:
    """A default length (not asked for) grown to the shortest one the hook and the call to action fit in,
    capped at ``MAX_DURATION``; ``duration`` itself when they fit it."""
    _, need = _fitted(shots, duration, rate, language)
    return duration if need <= duration else min(MAX_DURATION, max(duration, shortest_length(need)))


def rule_instructions(brief: Brief, style: CreativeStyle | None = None) -> ShotInstructions:
    """Shots (hook, one per selling point, proof, CTA) with their pacing, copy intents and camera moves,
    plus the look's global settings; ``style`` replaces the brief's (e.g. fitted to the tools). The copy is
    written in the meta's language from its templates (`agents.copy.copy_book`); with a length asked for,
    shots whose lines would not fit are left out (`fit_shots`). Raises InputError for an unsupported language
    or a length too short for the hook and the CTA."""
    style = style or brief.style
    language = brief_language(brief)
    book = copy_book(language.code)
    product = _product_name(brief, language, book)
    brand = clean(brief.meta.brand) if brief.meta and brief.meta.brand else None
    price = clean(brief.meta.price) if brief.meta and brief.meta.price else None
    cta = clean(brief.meta.cta) if brief.meta and brief.meta.cta else book.say("cta", product=product)
    has_image = bool(brief.images)
    motions: list[CameraMotion] = [m for m in style.camera_motions if m != "static"] or ["push_in"]

    def say(template: str, **values: str) -> str:
        return sentence(book.say(template, product=product, **values), book.full_stop)

    with_brand = brand is not None and brand.lower() not in product.lower()
    if with_brand:
        hook = say("hook_brand", brand=brand or "")
    elif brief.meta is None or not brief.meta.product:
        # a category name from the lexicon, not a product's name: "Meet our coffee."
        hook = sentence(book.say("hook_category", product=product.lower()), book.full_stop)
    else:
        hook = say("hook")
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
            narration_intent=hook,
            onscreen_text=product,
        )
    ]
    points = _selling_points(brief, product, language, book)
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
                narration_intent=sentence(point, book.full_stop),
                selling_point=i if brief.meta and brief.meta.selling_points else None,
            )
        )
    while len(shots) < MIN_SHOTS - 1:
        if price:
            proof = say("proof_price", price=price)
        else:
            proof = say("proof_brand", brand=brand or "") if with_brand else say("proof")
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
                narration_intent=proof,
                onscreen_text=book.say("badge_price", product=product, price=price) if price else None,
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
            narration_intent=sentence(cta, book.full_stop),
            onscreen_text=cta,
        )
    )
    duration = brief.duration
    if duration and not brief.duration_asked:
        duration = default_length(shots, duration, style.voice_rate, language)
    if duration:
        shots = fit_shots(shots, duration, style.voice_rate, language)
    seconds = shot_seconds(shots, style.voice_rate, language)
    total = sum(seconds)
    target = duration or min(AUTO_MAX_DURATION, max(AUTO_MIN_DURATION, total * 1.1))
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
        language=language.code,
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
