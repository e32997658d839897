"""One protocol per tool family. Agents see tools only through these; adapters live beside them."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from tools.models import (
    AudioTrack,
    BgmSpec,
    Clip,
    ClipRequest,
    Line,
    RenderResult,
    RenderSettings,
    SpeechResult,
    SubtitleCue,
    SubtitleStyle,
    TextOverlay,
    Timeline,
)


@runtime_checkable
class Tool(Protocol):
    name: str
    offline: bool


class VideoGenerator(Tool, Protocol):
    async def generate(self, request: ClipRequest) -> Clip: ...


class Speech(Tool, Protocol):
    async def synthesize(self, line: Line) -> SpeechResult: ...


class Music(Tool, Protocol):
    async def compose(self, spec: BgmSpec) -> AudioTrack: ...


class SubtitleWriter(Tool, Protocol):
    def write(
        self,
        cues: list[SubtitleCue],
        overlays: list[TextOverlay],
        style: SubtitleStyle,
        width: int,
        height: int,
        out: Path,
    ) -> Path: ...


class Composer(Tool, Protocol):
    async def render(
        self, timeline: Timeline, settings: RenderSettings, out: Path, *, stems: bool = False
    ) -> RenderResult: ...
