"""Pydantic output models of the instruction model and the VGA agents (ARCHITECTURE §3).

The rule policy and the LLM policy produce exactly these; graph state stores them as JSON.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, PositiveFloat

from tools.limits import END_CARD_SECONDS, LEAD_IN, TARGET_LUFS
from tools.models import BgmSpec, Ducking, SubtitleCue, SubtitleStyle, TextOverlay
from tools.vocabulary import CameraMotion, MusicMood, Palette, Transition

Role = Literal["instruction", "visual", "audio", "effect", "critic"]
AgentName = Literal["visual", "audio", "effect"]
AGENT_ORDER: tuple[AgentName, ...] = ("visual", "audio", "effect")
"""The order agents plan in: a reflection round goes back to the earliest agent at fault."""
ShotPurpose = Literal["hook", "feature", "proof", "cta"]
Severity = Literal["info", "minor", "major", "critical"]
BLOCKING: frozenset[Severity] = frozenset({"major", "critical"})
"""Severities that send a draft back: a finding of one is routed to its agent."""
SEVERITY_PENALTY: dict[Severity, float] = {"info": 0.0, "minor": 1.0, "major": 5.0, "critical": 25.0}


class Source(StrEnum):
    """Where a decided field came from: the rule policy or the LLM's answer."""

    rule = "rule"
    llm = "llm"


class ShotInstruction(BaseModel):
    """One shot as the instruction model plans it: purpose, what it shows, camera move, photo or graphics, its
    relative share of the running time, style words, what the voice says, on-screen text and the selling
    point it carries."""

    index: int
    purpose: ShotPurpose
    subject: str = Field(description="what is on screen")
    scene: str = Field(description="scene composition")
    camera: CameraMotion
    use_image: bool = Field(description="show the product photo (image-to-video) rather than graphics")
    weight: PositiveFloat = Field(description="relative share of the running time (pacing)")
    style: str
    narration_intent: str = Field(description="what the voice-over says here, in words to adapt")
    onscreen_text: str | None = None
    selling_point: int | None = Field(default=None, description="index into meta.selling_points")


class ShotInstructions(BaseModel):
    """The instruction model's plan for the whole video: the shots in order; the look (palette, tone, rhythm);
    music mood and tempo (bpm); the voice and its length scale (``voice_rate``, > 1 slower); CTA, product,
    brand and price; ``target_duration`` (s); the transitions to use and their length (s); title styling."""

    shots: list[ShotInstruction]
    tone: str
    palette: Palette
    look: str
    rhythm: str
    music_mood: MusicMood
    music_bpm: int
    voice: str = "joe"
    voice_rate: float = 1.0
    cta: str
    product: str
    brand: str | None = None
    price: str | None = None
    language: str = "en"
    target_duration: PositiveFloat
    transitions: list[Transition]
    transition_seconds: float
    title_scale: float = 1.0
    uppercase_titles: bool = False


class Segment(BaseModel):
    """One storyboard shot: [start, end) in seconds on the output timeline, its layout, camera move, the
    product photo it shows (None: graphics), the prompt for text back-ends and which take (``variant``)."""

    shot_id: str
    start: float
    end: float
    layout: Literal["full_bleed", "title_card", "end_card"]
    camera: CameraMotion
    image: str | None = Field(default=None, description="product image path, None for graphics")
    prompt: str
    variant: int = Field(default=0, ge=0, description="another take of the same shot (graphics layout, seed)")


class VisualPlan(BaseModel):
    """The Visual agent's storyboard: the segments in order, their n+1 ``boundaries`` (s) on the beat grid of
    ``bpm`` starting at ``beat_offset`` (s), the planned running time (s) and how long the CTA end card holds."""

    segments: list[Segment]
    boundaries: list[float] = Field(description="n+1 cut times (s), each on the beat grid")
    bpm: float
    beat_offset: float = Field(default=0.0, ge=0.0, description="time (s) of the grid's first beat")
    duration: float = Field(description="planned running time (s)")
    end_card_seconds: float = Field(default=END_CARD_SECONDS, description="the last shot (CTA card) lasts ≥ this (s)")


class NarrationLine(BaseModel):
    """One voice-over line, spoken over shot ``shot_id``: ``rate`` is a length scale (piper's length_scale,
    > 1 slower) and speech starts ``lead_in`` seconds after the shot's cut."""

    line_id: str
    shot_id: str
    text: str
    rate: float = 1.0
    lead_in: float = Field(default=LEAD_IN, description="seconds after the shot's cut before speech starts")


class AudioPlan(BaseModel):
    """The Audio agent's plan: the narration lines, the voice, the music spec, the ducking of the music under
    speech and the master's integrated loudness target (LUFS)."""

    lines: list[NarrationLine]
    voice: str
    bgm: BgmSpec
    ducking: Ducking
    target_lufs: float = Field(default=TARGET_LUFS, description="integrated loudness asked of the master (LUFS)")


class EffectPlan(BaseModel):
    """The Effect agent's plan: subtitle cues (s on the output timeline) and their style, the transition at each
    boundary between shots with its length (s; 0 for a cut), the text overlays and the full-frame CTA card."""

    cues: list[SubtitleCue]
    style: SubtitleStyle
    transitions: list[Transition] = Field(description="one per boundary between shots ('cut' or an xfade)")
    transition_seconds: list[float]
    overlays: list[TextOverlay]
    cta: TextOverlay


class Finding(BaseModel):
    """One failed Critic check: the check's name (`agents.critic.CHECKS`), its severity (``major`` and
    ``critical`` block), the agent whose plan can fix it, the measured value (in the check's unit: s, LUFS,
    dB, a ratio), what was expected, and the shot or line it concerns."""

    check: str
    severity: Severity
    agent: AgentName
    message: str
    measured: float | str
    expected: str
    shot_id: str | None = None
    line_id: str | None = None


class Critique(BaseModel):
    """The Critic's verdict on one round: its findings and the measurements they cite (s, LUFS, dB;
    ``speech_s:<line id>`` per line)."""

    round: int
    findings: list[Finding]
    measurements: dict[str, float | str | list[float]]

    @property
    def accepted(self) -> bool:
        """No finding of a blocking severity."""
        return not any(f.severity in BLOCKING for f in self.findings)

    def penalty(self) -> float:
        """Findings weighted by severity (`SEVERITY_PENALTY`): how far the draft is from acceptable."""
        return sum(SEVERITY_PENALTY[f.severity] for f in self.findings)


class VoiceTake(BaseModel):
    """A synthesized line placed on the timeline; times are measured on the rendered speech."""

    line_id: str
    shot_id: str
    path: str
    start: float = Field(description="timeline time of the WAV's first sample")
    onset: float = Field(description="seconds into the WAV where speech starts (measured)")
    duration: float = Field(description="seconds of WAV (trimmed speech)")
    backend: str
    voice: str | None = Field(default=None, description="the engine's voice id that spoke the line")

    @property
    def speech_start(self) -> float:
        """Timeline time (s) where the speech itself starts: the WAV's start plus its measured onset."""
        return self.start + self.onset

    @property
    def speech_end(self) -> float:
        """Timeline time (s) where the trimmed WAV ends: the last voiced sample plus the trim's short tail pad."""
        return self.start + self.duration


class Feedback(BaseModel):
    """What the Critic's last verdict tells one agent: the findings routed to it and the measurements it
    re-plans on. Empty in round 0."""

    findings: list[Finding] = Field(default_factory=list)
    speech_seconds: dict[str, float] = Field(
        default_factory=dict, description="line id → measured seconds of its speech (first to last voiced sample)"
    )
    beats: list[float] = Field(default_factory=list, description="the music's beats as its tool delivered them (s)")

    def of(self, check: str) -> list[Finding]:
        """The findings of one check."""
        return [f for f in self.findings if f.check == check]


def shot_id(index: int) -> str:
    """The id of the storyboard segment for instruction shot ``index``."""
    return f"s{index}"


def line_id(index: int) -> str:
    """The id of the narration line spoken over instruction shot ``index``."""
    return f"l{index}"
