"""Visual Planning Agent: the storyboard — segments, layout, temporal boundaries, clip requests.

Boundaries sit on the music's beat grid (tempo fitted so the video holds whole bars). In a reflection
round the agent re-plans on what the Critic measured, one fix per finding kind routed to it:

- ``speech_overrun``: the measured speech durations replace the round-0 estimates as shot weights and
  floors;
- ``duration``: a composer or generator that lengthened (shortened) the draft is compensated — the next
  plan is that much shorter (longer);
- ``off_beat``: the music's tool delivered another beat grid than asked (a library track keeps its own
  tempo and phase), so the cuts move onto the delivered beats, and stay there in later rounds;
- ``boundary_missing``: the incoming shot looks like the one before it — it changes its footage (photo ↔
  graphics, another graphics variant) and takes a contrasting camera move;
- ``black_frames``: a shot rendered black (a dark product photo) switches to graphics;
- ``image_blank``: a shot whose product photo shows as a flat area (a file that decodes blank) switches to
  graphics;
- ``frozen_frames``: a shot that does not move gets a moving camera and another take;
- ``cta_missing``: the end-card shot is held a second longer, so the CTA card (which comes up with it) is
  up earlier and has time to land.

Per-shot fixes carry over to later rounds: each round starts from the previous storyboard's choices.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from agents.models import Feedback, Segment, ShotInstructions, VisualPlan, line_id, shot_id
from agents.policy import AgentTask
from tools.limits import END_CARD_SECONDS, LEAD_IN, TAIL
from tools.timing import beat_aligned_boundaries, beat_grid, fit_bpm, grid_of, snap_boundaries
from tools.vocabulary import CAMERA_MOTIONS, CameraMotion, fallbacks

# a shot must hold its line plus the lead-in after the cut and a breath before the next one
SPEECH_MARGIN = LEAD_IN + TAIL + 0.2
MAX_DURATION_CORRECTION = 0.25  # of the target: a compensation larger than this is a broken tool, not drift
END_CARD_EXTRA = 1.0  # s more end card per draft whose CTA card was not found


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


def hold_end_card(shares: list[float], duration: float, seconds: float = END_CARD_SECONDS) -> list[float]:
    """Shares rescaled so the last shot, which carries the CTA card, lasts at least ``seconds`` of
    ``duration``: a shorter last shot would make the card cover (and hide) the cut before it."""
    total = sum(shares)
    last = seconds / duration * total
    if shares[-1] >= last or len(shares) < 2:
        return shares
    scale = (total - last) / sum(shares[:-1])
    return [s * scale for s in shares[:-1]] + [last]


def speech_needs(instructions: ShotInstructions, speech_seconds: dict[str, float]) -> list[float]:
    """Seconds each shot needs for its measured line (0 where none was measured) plus SPEECH_MARGIN."""
    return [speech_seconds.get(line_id(s.index), 0.0) + SPEECH_MARGIN for s in instructions.shots]


def shot_weights(instructions: ShotInstructions, speech_seconds: dict[str, float], duration: float,
                 end_card: float = END_CARD_SECONDS) -> list[float]:  # fmt: skip
    """Relative shot lengths: the instructions' pacing in round 0; with measured speech, what each line
    needs plus the slack spread as planned (or a fair split when the lines do not fit together); the
    last shot at least ``end_card`` seconds."""
    weights = [s.weight for s in instructions.shots]
    if speech_seconds:
        needs = speech_needs(instructions, speech_seconds)
        if sum(needs) <= duration:
            slack = duration - sum(needs)
            weights = [n + slack * w / sum(weights) for n, w in zip(needs, weights, strict=True)]
        else:
            weights = fair_shares(needs, duration)
    return hold_end_card(weights, duration, end_card)


def planned_duration(instructions: ShotInstructions, previous: VisualPlan | None, feedback: Feedback) -> float:
    """The running time to plan: the target, corrected by the length error measured on the last draft."""
    target = instructions.target_duration
    base = previous.duration if previous is not None else target
    for f in feedback.of("duration"):
        if isinstance(f.measured, float | int):
            error = (target - float(f.measured)) / target
            base += max(-MAX_DURATION_CORRECTION, min(MAX_DURATION_CORRECTION, error)) * target
    return round(base, 3)


@dataclass(frozen=True)
class Cuts:
    """Cut times [0, …, duration] and the beat grid (tempo, phase) they sit on."""

    boundaries: list[float]
    bpm: float
    offset: float = 0.0


def plan_cuts(instructions: ShotInstructions, duration: float, end_card: float, previous: VisualPlan | None,
              feedback: Feedback) -> Cuts:  # fmt: skip
    """The cuts on the own beat grid, or on the music's delivered one once a draft's cuts were found off
    its beats (and in every later round of the same length)."""
    bpm = fit_bpm(duration, instructions.music_bpm)
    # measured speech is a floor, not only a weight: rounding cuts to beats must not cut a line short
    minimum = speech_needs(instructions, feedback.speech_seconds) if feedback.speech_seconds else None
    weights = shot_weights(instructions, feedback.speech_seconds, duration, end_card)
    boundaries = beat_aligned_boundaries(weights, duration, bpm, minimum)
    if feedback.of("off_beat") and len(feedback.beats) >= 2:
        grid = grid_of(feedback.beats)
        return Cuts(snap_boundaries(boundaries, feedback.beats), grid.bpm, grid.offset)
    if previous is not None and previous.beat_offset and abs(previous.duration - duration) < 1e-6:
        grid_times = beat_grid(previous.bpm, duration, previous.beat_offset)
        return Cuts(snap_boundaries(boundaries, grid_times), previous.bpm, previous.beat_offset)
    return Cuts(boundaries, bpm)


def _first_take(instructions: ShotInstructions, images: list[str]) -> list[Segment]:
    segments: list[Segment] = []
    image_i = 0
    for shot in instructions.shots:
        image = None
        if shot.use_image and images:
            image = images[image_i % len(images)]
            image_i += 1
        layout = "end_card" if shot.purpose == "cta" else ("full_bleed" if image else "title_card")
        segments.append(Segment(shot_id=shot_id(shot.index), start=0.0, end=0.0, layout=layout, camera=shot.camera,
                                image=image, prompt=shot.scene))  # fmt: skip
    return segments


def _moving(
    camera: CameraMotion, supported: Collection[CameraMotion], avoid: CameraMotion | None = None
) -> CameraMotion:
    """A camera move other than ``camera`` (and ``avoid``), nearest first, that the video tool supports."""
    for other in fallbacks(camera):
        if other in supported and other not in (camera, avoid, "static"):
            return other  # type: ignore[return-value]
    return camera


def _fix_shots(segments: list[Segment], images: list[str], feedback: Feedback,
               camera_motions: Collection[CameraMotion]) -> list[Segment]:  # fmt: skip
    """Each shot a finding names, re-taken so the next draft's measurement of that check improves."""
    by_id = {s.shot_id: i for i, s in enumerate(segments)}
    retaken: set[int] = set()

    def retake(i: int, **changes: object) -> None:
        segments[i] = segments[i].model_copy(update={"variant": segments[i].variant + 1, **changes})
        retaken.add(i)

    def as_graphics(i: int) -> dict[str, object]:
        return {"image": None, "layout": "end_card" if segments[i].layout == "end_card" else "title_card"}

    for f in sorted(feedback.findings, key=lambda f: by_id.get(f.shot_id or "", -1)):
        i = by_id.get(f.shot_id or "", -1)
        if i < 0:
            continue
        seg = segments[i]
        if f.check == "black_frames":
            retake(i, **(as_graphics(i) if seg.image is not None else {}))
        elif f.check == "image_blank" and seg.image is not None:  # black_frames may have switched it already
            retake(i, **as_graphics(i))
        elif f.check == "frozen_frames":
            retake(i, camera=_moving(seg.camera, camera_motions))
        elif f.check == "boundary_missing" and i > 0 and i - 1 not in retaken:
            # a shot re-taken just before already differs from this one: alternate, or they match again
            before = segments[i - 1]
            footage: dict[str, object] = {}
            if seg.image is not None and before.image is not None:
                footage = as_graphics(i)
            elif seg.image is None and before.image is None and images and seg.layout != "end_card":
                footage = {"image": images[0], "layout": "full_bleed"}
            retake(i, camera=_moving(before.camera, camera_motions, avoid=seg.camera), **footage)
    return segments


def rule_visual(
    instructions: ShotInstructions,
    images: list[str],
    previous: VisualPlan | None = None,
    feedback: Feedback | None = None,
    camera_motions: Collection[CameraMotion] = CAMERA_MOTIONS,
) -> VisualPlan:
    """The storyboard: n segments on beat-aligned boundaries [0, …, duration], each with its layout,
    camera move, footage (product photo or graphics) and prompt. See the module doc for the fixes a
    reflection round applies."""
    feedback = feedback or Feedback()
    duration = planned_duration(instructions, previous, feedback)
    end_card = (previous.end_card_seconds if previous is not None else END_CARD_SECONDS) + END_CARD_EXTRA * len(
        feedback.of("cta_missing"))  # fmt: skip
    cuts = plan_cuts(instructions, duration, end_card, previous, feedback)
    b = cuts.boundaries
    segments = list(previous.segments) if previous is not None else _first_take(instructions, images)
    segments = _fix_shots(segments, images, feedback, camera_motions)
    segments = [s.model_copy(update={"start": b[i], "end": b[i + 1]}) for i, s in enumerate(segments)]
    return VisualPlan(segments=segments, boundaries=b, bpm=round(cuts.bpm, 4), beat_offset=round(cuts.offset, 4),
                      duration=duration, end_card_seconds=end_card)  # fmt: skip


def visual_task(
    instructions: ShotInstructions,
    images: list[str],
    previous: VisualPlan | None,
    feedback: Feedback,
    camera_motions: Collection[CameraMotion],
    round_: int,
) -> AgentTask[VisualPlan]:
    """The Visual agent's task for round `round_`: the rule answer is `rule_visual`; an LLM sees the
    instructions, the image paths, the findings routed to it and the measured speech seconds per line."""
    return AgentTask(
        role="visual",
        inputs={
            "instructions": instructions.model_dump(mode="json"),
            "images": images,
            "findings": [f.model_dump(mode="json") for f in feedback.findings],
            "measured_speech_seconds": feedback.speech_seconds,
        },
        schema=VisualPlan,
        rule=lambda: rule_visual(instructions, images, previous, feedback, camera_motions),
        round=round_,
    )
