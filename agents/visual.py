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


def _weights(instructions: ShotInstructions, findings: list[Finding], measured: dict[str, float]) -> list[float]:
    weights = [s.weight for s in instructions.shots]
    if not measured:
        return weights
    shot_ids = [f"s{s.index}" for s in instructions.shots]
    needs = [measured.get(sid, 0.0) + SPEECH_MARGIN for sid in shot_ids]
    total_need = sum(needs)
    if total_need <= 0:
        return weights
    # keep the slack where the plan had it, but never below what the measured speech needs
    return [max(n / total_need, w * 0.5) for n, w in zip(needs, weights, strict=True)]


def rule_visual(
    instructions: ShotInstructions,
    images: list[str],
    findings: list[Finding],
    measured_speech: dict[str, float],
) -> VisualPlan:
    duration = instructions.target_duration
    bpm = fit_bpm(duration, instructions.music_bpm)
    boundaries = beat_aligned_boundaries(_weights(instructions, findings, measured_speech), duration, bpm)
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
