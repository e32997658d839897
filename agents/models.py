"""Pydantic output models of the instruction model and the VGA agents (ARCHITECTURE §3).

The rule policy and the LLM policy produce exactly these; graph state stores them as JSON.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field, PositiveFloat

from tools.models import (
    BgmSpec,
    CameraMotion,
    Ducking,
    Palette,
    SubtitleCue,
    SubtitleStyle,
    TextOverlay,
)

Role = Literal["instruction", "visual", "audio", "effect", "critic"]
AgentName = Literal["visual", "audio", "effect"]
ShotPurpose = Literal["hook", "feature", "proof", "cta"]


class Source(StrEnum):
    rule = "rule"
    llm = "llm"


class ShotInstruction(BaseModel):
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
    shots: list[ShotInstruction]
    tone: str
    palette: Palette
    look: str
    rhythm: str
    music_mood: str
    music_bpm: int
    voice: str = "joe"
    voice_rate: float = 1.0
    cta: str
    product: str
    brand: str | None = None
    price: str | None = None
    language: str = "en"
    target_duration: PositiveFloat
    transitions: list[str]
    transition_seconds: float
    title_scale: float = 1.0
    uppercase_titles: bool = False


class Segment(BaseModel):
    shot_id: str
    start: float
    end: float
    layout: Literal["full_bleed", "title_card", "end_card"]
    camera: CameraMotion
    image: str | None = Field(default=None, description="product image path, None for graphics")
    prompt: str


class VisualPlan(BaseModel):
    segments: list[Segment]
    boundaries: list[float] = Field(description="n+1 cut times, each on the beat grid")
    bpm: float
    duration: float


class NarrationLine(BaseModel):
    line_id: str
    shot_id: str
    text: str
    rate: float = 1.0
    lead_in: float = Field(default=0.3, description="seconds after the shot's cut before speech starts")


class AudioPlan(BaseModel):
    lines: list[NarrationLine]
    voice: str
    bgm: BgmSpec
    ducking: Ducking


class EffectPlan(BaseModel):
    cues: list[SubtitleCue]
    style: SubtitleStyle
    transitions: list[str] = Field(description="one per boundary between shots ('cut' or an xfade)")
    transition_seconds: list[float]
    overlays: list[TextOverlay]
    cta: TextOverlay


Severity = Literal["info", "minor", "major", "critical"]


class Finding(BaseModel):
    check: str
    severity: Severity
    agent: AgentName
    message: str
    measured: float | str
    expected: str
    shot_id: str | None = None
    line_id: str | None = None


class Critique(BaseModel):
    round: int
    findings: list[Finding]
    measurements: dict[str, float | str | list[float]]

    @property
    def accepted(self) -> bool:
        return not any(f.severity in ("major", "critical") for f in self.findings)

    def penalty(self) -> float:
        weights = {"info": 0.0, "minor": 1.0, "major": 5.0, "critical": 25.0}
        return sum(weights[f.severity] for f in self.findings)


class VoiceTake(BaseModel):
    """A synthesized line placed on the timeline; times are measured on the rendered speech."""

    line_id: str
    shot_id: str
    path: str
    start: float = Field(description="timeline time of the WAV's first sample")
    onset: float = Field(description="seconds into the WAV where speech starts (measured)")
    duration: float = Field(description="seconds of WAV (trimmed speech)")
    backend: str

    @property
    def speech_start(self) -> float:
        return self.start + self.onset

    @property
    def speech_end(self) -> float:
        return self.start + self.duration
