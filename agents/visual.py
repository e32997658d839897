"""Visual Planning Agent: the storyboard — segments, layout, temporal boundaries, clip requests.

Boundaries sit on the music's beat grid (tempo fitted so the video holds whole bars). In a
reflection round the Critic's measured speech durations replace the round-0 estimates as weights.
"""

from __future__ import annotations

from agents.models import Finding, Segment, ShotInstructions, VisualPlan
from agents.policy import AgentTask
from tools.timing import beat_aligned_boundaries, fit_bpm

# a shot must hold its line plus the lead-in after the cut and a breath before the next one
SPEECH_MARGIN = 0.75
END_CARD_SECONDS = 2.6


def fair_shares(needs: list[float], total: float) -> list[float]:
    """Max-min fair split of `total`: shots that need no more than an equal share get what they
    need; the rest share what is left in proportion to their needs. Short lines (the hook, the CTA)
    cannot be condensed much, long ones can, so that is where the Audio agent should cut."""
    shares = [0.0] * len(needs)
    open_ = set(range(len(needs)))
    left = total
    while open_:
        fair = left / len(open_)
        small = {i for i in open_ if needs[i] <= fair}
        if not small:
            need_sum = sum(needs[i] for i in open_)
            for i in open_:
                shares[i] = left * needs[i] / need_sum
            break
        for i in small:
            shares[i] = needs[i]
            left -= needs[i]
        open_ -= small
    return shares


def _hold_end_card(shares: list[float], duration: float) -> list[float]:
    """The last shot carries the CTA card, which must stay up for END_CARD_SECONDS; a shorter last
    shot would make the card cover (and hide) the cut before it."""
    total = sum(shares)
    last = END_CARD_SECONDS / duration * total
    if shares[-1] >= last or len(shares) < 2:
        return shares
    scale = (total - last) / sum(shares[:-1])
    return [s * scale for s in shares[:-1]] + [last]


def _weights(instructions: ShotInstructions, measured: dict[str, float]) -> list[float]:
    return _hold_end_card(_raw_weights(instructions, measured), instructions.target_duration)


def _needs(instructions: ShotInstructions, measured: dict[str, float]) -> list[float]:
    return [measured.get(f"s{s.index}", 0.0) + SPEECH_MARGIN for s in instructions.shots]


def _raw_weights(instructions: ShotInstructions, measured: dict[str, float]) -> list[float]:
    weights = [s.weight for s in instructions.shots]
    if not measured:
        return weights
    needs = _needs(instructions, measured)
    duration = instructions.target_duration
    if sum(needs) <= duration:
        # everything fits: give each shot what it needs and spread the slack as the plan had it
        slack = duration - sum(needs)
        return [n + slack * w / sum(weights) for n, w in zip(needs, weights, strict=True)]
    return fair_shares(needs, duration)


def rule_visual(
    instructions: ShotInstructions,
    images: list[str],
    findings: list[Finding],
    measured_speech: dict[str, float],
) -> VisualPlan:
    duration = instructions.target_duration
    bpm = fit_bpm(duration, instructions.music_bpm)
    # measured speech is a floor, not only a weight: rounding cuts to beats must not cut a line short
    minimum = _needs(instructions, measured_speech) if measured_speech else None
    boundaries = beat_aligned_boundaries(_weights(instructions, measured_speech), duration, bpm, minimum)
    segments: list[Segment] = []
    image_i = 0
    for shot in instructions.shots:
        image = None
        if shot.use_image and images:
            image = images[image_i % len(images)]
            image_i += 1
        layout = "end_card" if shot.purpose == "cta" else ("full_bleed" if image else "title_card")
        segments.append(
            Segment(
                shot_id=f"s{shot.index}",
                start=boundaries[shot.index],
                end=boundaries[shot.index + 1],
                layout=layout,
                camera=shot.camera,
                image=image,
                prompt=shot.scene,
            )
        )
    return VisualPlan(segments=segments, boundaries=boundaries, bpm=round(bpm, 4), duration=duration)


def visual_task(
    instructions: ShotInstructions,
    images: list[str],
    findings: list[Finding],
    measured_speech: dict[str, float],
    round_: int,
) -> AgentTask[VisualPlan]:
    return AgentTask(
        role="visual",
        inputs={
            "instructions": instructions.model_dump(mode="json"),
            "images": images,
            "findings": [f.model_dump(mode="json") for f in findings],
            "measured_speech_seconds": measured_speech,
        },
        schema=VisualPlan,
        rule=lambda: rule_visual(instructions, images, findings, measured_speech),
        round=round_,
    )
