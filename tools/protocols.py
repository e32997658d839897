"""One protocol per tool family. Agents see tools only through these; adapters live beside them.

Each protocol declares, besides its call, what an implementation supports (after pydantic-ai's model
profiles): a composer its transitions, a music tool its moods, a video generator its camera motions. The
agents plan within `Capabilities`, built from the active tools, so a swapped tool is never asked for what
it cannot do.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from pydantic import BaseModel, Field

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
    SubtitleFile,
    SubtitleStyle,
    TextOverlay,
    Timeline,
    VoiceChoice,
)
from tools.vocabulary import CameraMotion, MusicMood, Transition


@runtime_checkable
class Tool(Protocol):
    """What every tool declares: ``name`` (recorded with each call in the run record) and ``offline`` (False
    when it sends data over the network)."""

    name: str
    offline: bool


class VideoGenerator(Tool, Protocol):
    """Makes one shot's footage. ``camera_motions``: the moves it realises (or, prompted, accepts)."""

    camera_motions: frozenset[CameraMotion]

    async def generate(self, request: ClipRequest) -> Clip:
        """Footage for `request`: an MP4 at its size (pixels) and fps, lasting its duration (s). Raises ToolError
        when the back-end fails."""


class Speech(Tool, Protocol):
    """Speaks one narration line to a trimmed mono WAV with its measured onset and duration."""

    def voice_for(self, language: str) -> VoiceChoice:
        """The voice that speaks `language` (BCP 47) and why. Raises InputError naming ``meta.language`` when
        no voice of this tool speaks it, saying what would."""

    async def synthesize(self, line: Line) -> SpeechResult:
        """Speak `line`: a trimmed mono WAV with its duration, measured onset (s) and word timings. Raises
        ToolError when the engine fails or the line has no text."""


class Music(Tool, Protocol):
    """Makes the background music. ``moods``: the moods it can compose."""

    moods: frozenset[MusicMood]

    async def compose(self, spec: BgmSpec) -> AudioTrack:
        """Compose the track for `spec`: a WAV of exactly spec.duration seconds and its beat times. Raises
        ToolError for a spec it cannot realise."""


class SubtitleWriter(Tool, Protocol):
    """Writes the cues and on-screen text as one subtitle file that the composer burns into the picture."""

    def write(
        self,
        cues: list[SubtitleCue],
        overlays: list[TextOverlay],
        style: SubtitleStyle,
        width: int,
        height: int,
        out: Path,
    ) -> SubtitleFile:
        """Write `cues` and `overlays` in `style` for a `width`×`height` frame (sizes given at the 1080-wide
        reference are scaled to it) to `out`; returns the file and the folder of the fonts it is set in. Raises
        FontMissing (a ToolError naming the package) when a text needs a font that is not installed."""


class Composer(Tool, Protocol):
    """Renders a Timeline to an MP4. ``transitions``: the joins it can render ("cut" always)."""

    transitions: frozenset[Transition]

    async def render(
        self, timeline: Timeline, settings: RenderSettings, out: Path, *, stems: bool = False
    ) -> RenderResult:
        """Render `timeline` with `settings` to the MP4 `out` at the timeline's loudness target; with `stems`,
        also the voice and ducked-music WAVs. Raises ToolError when it cannot."""


class Capabilities(BaseModel):
    """What the active tools can realise; the agents plan within it (``tools.vocabulary.nearest`` maps a
    creative setting a tool lacks onto the nearest one it has)."""

    transitions: frozenset[Transition]
    camera_motions: frozenset[CameraMotion]
    moods: frozenset[MusicMood]
    composer: str = Field(description="the composer's name, for notes")
    video: str
    music: str

    @classmethod
    def of(cls, video: VideoGenerator, music: Music, composer: Composer) -> Capabilities:
        """What `video`, `music` and `composer` support together; "cut" is always among the transitions."""
        return cls(
            transitions=composer.transitions | {"cut"},
            camera_motions=video.camera_motions,
            moods=music.moods,
            composer=composer.name,
            video=video.name,
            music=music.name,
        )
