"""Typed requests and results of every tool family.

These are the boundary between agents (which plan) and tools (which act); they are JSON-serialisable
so they can sit in graph state, in checkpoints and in the run record.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field, NonNegativeFloat, PositiveFloat, PositiveInt

from tools.limits import TARGET_LUFS
from tools.vocabulary import CameraMotion, HexColour, Palette, Transition


class RenderSettings(BaseModel):
    """Encoder settings; the draft profile trades fidelity for speed during reflection."""

    width: PositiveInt
    height: PositiveInt
    fps: PositiveInt = 30
    x264_preset: str = "veryfast"
    crf: int = 20
    threads: int = 2
    audio_bitrate: str = "192k"


class ClipRequest(BaseModel):
    """One shot's footage. With `image` it is image-to-video (camera moves over a product photo);
    without, procedural motion graphics in the palette (with an optional headline drawn in)."""

    shot_id: str
    prompt: str = Field(description="what the shot shows; text back-ends (T2V) read it")
    duration: PositiveFloat
    width: PositiveInt
    height: PositiveInt
    fps: PositiveInt = 30
    image: Path | None = None
    camera: CameraMotion = "push_in"
    palette: Palette
    seed: int = 0
    variant: int = Field(default=0, ge=0, description="another take of the shot: made to look unlike earlier takes")


class Clip(BaseModel):
    """One shot's generated footage, an MP4: size (pixels) and fps are the request's, ``duration`` (s) is on the
    frame grid (whole frames at ``fps``); ``backend`` names the generator, ``cached`` a tool-cache hit,
    ``warnings`` what the user should know about the footage (a small product photo upscaled)."""

    shot_id: str
    path: Path
    duration: float
    width: int
    height: int
    fps: int
    backend: str
    cached: bool = False
    warnings: list[str] = Field(default_factory=list)


class Line(BaseModel):
    """One narration line to speak."""

    line_id: str
    text: str
    voice: str = "joe"
    rate: PositiveFloat = 1.0  # piper length_scale semantics: > 1 is slower
    language: str = "en"


SpeechName = Literal["auto", "piper", "espeak", "edge", "none"]
"""The speech back-ends by name (``--tts``, ``RAGVID_TTS``; ``tools.speech.make_speech``)."""


class VoiceChoice(BaseModel):
    """The voice a speech tool speaks a language with, and why that one: ``engine`` ("piper", "espeak-ng",
    "edge", "none"), ``voice`` (the engine's own voice id), ``language`` (BCP 47 primary subtag)."""

    engine: str
    voice: str
    language: str
    reason: str

    def __str__(self) -> str:
        return f"{self.engine} voice {self.voice!r} for {self.language} ({self.reason})"


class WordTiming(BaseModel):
    """One word's span in seconds from the start of its speech WAV: reported by the engine where it gives word
    boundaries (edge-tts), else estimated (`tools.speech.base.estimate_words`)."""

    word: str
    start: NonNegativeFloat
    end: NonNegativeFloat


class SpeechResult(BaseModel):
    """One spoken line: a trimmed mono 16-bit WAV at the engine's own rate, its ``duration`` (s), the measured
    ``onset`` (s) and word timings relative to the file start. ``fallback_from`` names the back-end that
    failed when another one spoke the line (`FallbackSpeech`)."""

    line_id: str
    path: Path  # mono WAV, leading/trailing silence trimmed
    duration: float
    onset: float = Field(description="seconds from file start to first voiced sample (measured)")
    words: list[WordTiming]  # measured or estimated, relative to file start
    backend: str
    voice: str | None = Field(default=None, description="the engine's voice id that spoke the line")
    fallback_from: str | None = None
    cached: bool = False


class BgmSpec(BaseModel):
    """What the music tool composes: ``mood`` in free words (mapped by `tools.vocabulary.mood_of`), tempo in
    beats per minute, length in seconds, the time of the first beat (s), accent hits at the cuts (s), the key
    ('C', 'F#', 'Am') and a seed for the arrangement's details."""

    mood: str
    bpm: PositiveFloat
    duration: PositiveFloat
    beat_offset: NonNegativeFloat = 0.0  # time of the first beat; cuts are placed on beats
    accent_times: list[NonNegativeFloat] = Field(default_factory=list, description="cuts: crash/accent hits")
    key: str = "C"
    seed: int = 0


class AudioTrack(BaseModel):
    """A composed music track: the WAV, its duration (s) and its beat times (s) as the tool delivered them (a
    library track may keep its own tempo; the Critic checks the cuts against these)."""

    path: Path
    duration: float
    beats: list[float]
    backend: str
    cached: bool = False


class SubtitleStyle(BaseModel):
    """How cues look. Sizes are pixels at the 1080×1920 reference (``font_size``, ``outline_width``;
    ``margin_v`` from the bottom edge), scaled to the output size by the writer; colours are ``#RRGGBB``.
    ``language`` (BCP 47, one of ``tools.languages.LANGUAGES``) decides the fonts and the paragraph direction;
    ``font`` puts a family of your own first (None: the language's). Every line is at most the title-safe
    width (``tools.limits.SAFE_WIDTH``); ``max_lines`` bounds one page of a cue (a longer cue is split into
    pages)."""

    font: str | None = None
    font_size: int = 64  # at the 1080-wide reference; scaled with PlayResX
    primary: HexColour = "#FFFFFF"
    outline: HexColour = "#000000"
    outline_width: float = 4.0
    bold: bool = True
    margin_v: int = 260  # from the bottom, at 1920 high
    max_lines: int = 2
    language: str = "en"


class SubtitleFile(BaseModel):
    """A written subtitle script and the folder of the font files it is set in (libass's ``fontsdir``), with the
    families its text uses."""

    path: Path
    fonts_dir: Path
    families: list[str] = Field(default_factory=list)
    language: str = Field(default="en", description="BCP 47 primary subtag of the text (the soft track's language)")


class SubtitleCue(BaseModel):
    """One subtitle, shown over [start, end) in seconds on the output timeline."""

    start: NonNegativeFloat
    end: NonNegativeFloat
    text: str  # untrusted: escaped by the writer, never raw ASS


class TextOverlay(BaseModel):
    """On-screen text beside the subtitles (title, price badge, CTA card text)."""

    start: NonNegativeFloat
    end: NonNegativeFloat
    text: str  # untrusted
    role: Literal["title", "badge", "cta", "caption"] = "title"
    position: Literal["top", "center", "bottom"] = "top"
    font_size: int = 84
    color: HexColour = "#FFFFFF"
    box_color: HexColour | None = None  # a filled card behind the text (full frame for the CTA)
    full_frame: bool = False


class TimelineShot(BaseModel):
    """A shot occupies [start, end) on the output timeline; `transition_in` joins it to the previous
    shot, centred on `start` (the clip must therefore cover start - d/2 .. end + d_next/2)."""

    shot_id: str
    clip: Path
    start: NonNegativeFloat
    end: PositiveFloat
    transition_in: Transition = "cut"
    transition_seconds: NonNegativeFloat = 0.0


class VoiceClip(BaseModel):
    """A speech WAV placed on the output timeline; its speech starts at ``start`` plus the WAV's measured onset."""

    line_id: str
    path: Path
    start: NonNegativeFloat  # where the WAV file's t=0 lands on the timeline


class Ducking(BaseModel):
    """Ducking of the music under the voice with ffmpeg's ``sidechaincompress`` (RMS detection): ``threshold``
    as linear amplitude 0..1, ``ratio`` n:1, attack and release in ms. ``music_gain_db`` is a fixed gain (dB)
    on the music bus before it is ducked."""

    threshold: float = 0.02
    ratio: float = 12.0
    attack_ms: float = 20.0
    release_ms: float = 300.0
    music_gain_db: float = -6.0


class Timeline(BaseModel):
    """Everything the composer renders: frame size (pixels) and fps, ``duration`` (s), shots that meet end to
    start, the voice clips, the music (looped when shorter than the video), the ducking, the ASS file to burn
    in and the integrated loudness target (LUFS, EBU R128)."""

    width: PositiveInt
    height: PositiveInt
    fps: PositiveInt = 30
    duration: PositiveFloat
    shots: list[TimelineShot]
    voice: list[VoiceClip] = Field(default_factory=list)
    music: Path | None = None
    ducking: Ducking = Field(default_factory=Ducking)
    subtitles: SubtitleFile | None = None  # the subtitle tool's ASS file (cues + overlays) and its fonts
    target_lufs: float = TARGET_LUFS


class RenderResult(BaseModel):
    """A rendered MP4: ``duration`` (s, the timeline's), size in pixels, the integrated loudness measured on
    the file (LUFS; None for silence), the stem WAVs by bus and the ffmpeg argv of the final pass."""

    path: Path
    duration: float
    width: int
    height: int
    seconds: float  # wall time of the render
    integrated_lufs: float | None = None
    stems: dict[str, Path] = Field(default_factory=dict)  # "voice", "music_ducked" when asked
    command: list[str] = Field(default_factory=list)
