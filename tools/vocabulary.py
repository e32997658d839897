"""The creative vocabulary: the one definition of palettes, hex colours, camera motions, transitions and
music moods that the tools render, the creative codebook (``rag_recsys.creative``) names and the agents
plan with.

It lives in ``tools``, the bottom layer, because every layer above needs the same words: a creative code
is a setting the renderer can realise. What one *implementation* supports is narrower and is declared by
the tool itself (``tools.protocols``: ``Composer.transitions``, ``Music.moods``,
``VideoGenerator.camera_motions``); ``nearest`` maps a wanted value onto what a tool supports.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, StringConstraints

HexColour = Annotated[str, StringConstraints(pattern=r"^#[0-9A-Fa-f]{6}$")]
"""``#RRGGBB``."""


def relative_luminance(colour: str) -> float:
    """WCAG 2.x relative luminance (0 black … 1 white) of a ``#RRGGBB`` colour (sRGB, W3C formula)."""
    channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def outline_for(text: str) -> str:
    """The outline colour that keeps ``text`` legible over any picture: black around light text, white around
    dark text (whichever has the larger WCAG contrast ratio with it). A dark text colour with a black outline
    vanishes over a dark photo."""
    lum = relative_luminance(text)
    return "#000000" if (lum + 0.05) / 0.05 >= 1.05 / (lum + 0.05) else "#FFFFFF"


class Palette(BaseModel):
    """The four colours of a look (``#RRGGBB``)."""

    background: HexColour
    surface: HexColour
    text: HexColour
    accent: HexColour


CameraMotion = Literal["push_in", "pull_out", "pan_left", "pan_right", "tilt_up", "parallax", "static"]
CAMERA_MOTIONS: tuple[CameraMotion, ...] = get_args(CameraMotion)

# "cut" plus ffmpeg's xfade transitions (libavfilter/vf_xfade.c), the names video editors know them by
Transition = Literal[
    "cut", "fade", "wipeleft", "wiperight", "wipeup", "wipedown", "slideleft", "slideright", "slideup",
    "slidedown", "circlecrop", "rectcrop", "distance", "fadeblack", "fadewhite", "radial", "smoothleft",
    "smoothright", "smoothup", "smoothdown", "circleopen", "circleclose", "vertopen", "vertclose", "horzopen",
    "horzclose", "dissolve", "pixelize", "diagtl", "diagtr", "diagbl", "diagbr", "hlslice", "hrslice",
    "vuslice", "vdslice", "hblur", "fadegrays", "wipetl", "wipetr", "wipebl", "wipebr", "squeezeh", "squeezev",
    "zoomin", "fadefast", "fadeslow", "hlwind", "hrwind", "vuwind", "vdwind", "coverleft", "coverright",
    "coverup", "coverdown", "revealleft", "revealright", "revealup", "revealdown",
]  # fmt: skip
TRANSITIONS: tuple[Transition, ...] = get_args(Transition)

MusicMood = Literal[
    "warm", "minimal", "cinematic", "pop", "driving", "electronic", "acoustic", "playful", "retro", "ambient"
]
MUSIC_MOODS: tuple[MusicMood, ...] = get_args(MusicMood)

# Free words a plan or a person uses for a mood, routed to the nearest one.
MOOD_ALIASES: dict[str, MusicMood] = {
    "upbeat": "pop", "happy": "pop", "bright": "pop", "fresh": "pop", "energetic": "driving",
    "sport": "driving", "sporty": "driving", "bold": "driving", "urgent": "driving", "tech": "electronic",
    "techno": "electronic", "futuristic": "electronic", "modern": "electronic", "epic": "cinematic",
    "luxury": "cinematic", "premium": "cinematic", "dramatic": "cinematic", "elegant": "minimal",
    "clean": "minimal", "calm": "ambient", "chill": "ambient", "relaxed": "ambient", "serene": "ambient",
    "dreamy": "ambient", "cozy": "warm", "friendly": "warm", "emotional": "warm", "natural": "acoustic",
    "organic": "acoustic", "folk": "acoustic", "fun": "playful", "quirky": "playful", "kids": "playful",
    "vintage": "retro", "nostalgic": "retro", "80s": "retro", "chiptune": "retro",
}  # fmt: skip

# What stands in for a value a tool lacks, nearest first (for transitions see `_transition_fallbacks`).
_CAMERA_FALLBACKS: dict[CameraMotion, tuple[CameraMotion, ...]] = {
    "push_in": ("pull_out", "parallax", "pan_right", "pan_left", "tilt_up"),
    "pull_out": ("push_in", "parallax", "pan_left", "pan_right", "tilt_up"),
    "pan_left": ("pan_right", "parallax", "push_in", "pull_out", "tilt_up"),
    "pan_right": ("pan_left", "parallax", "push_in", "pull_out", "tilt_up"),
    "tilt_up": ("push_in", "pan_left", "pan_right", "parallax", "pull_out"),
    "parallax": ("pan_right", "pan_left", "push_in", "pull_out", "tilt_up"),
    "static": ("push_in", "pull_out"),
}
_MOOD_FALLBACKS: dict[MusicMood, tuple[MusicMood, ...]] = {
    "warm": ("acoustic", "minimal", "ambient", "pop"),
    "minimal": ("ambient", "warm", "acoustic", "cinematic"),
    "cinematic": ("ambient", "minimal", "warm", "electronic"),
    "pop": ("playful", "electronic", "driving", "retro"),
    "driving": ("electronic", "pop", "retro", "cinematic"),
    "electronic": ("driving", "pop", "retro", "ambient"),
    "acoustic": ("warm", "minimal", "playful", "ambient"),
    "playful": ("pop", "acoustic", "retro", "warm"),
    "retro": ("pop", "electronic", "warm", "playful"),
    "ambient": ("minimal", "cinematic", "warm", "acoustic"),
}
# xfade names share a family prefix and end in a direction; a family stands in for its members
_FAMILIES = ("fade", "wipe", "slide", "smooth", "circle", "vert", "horz", "diag", "cover", "reveal", "squeeze")
_SOFT_TRANSITIONS: tuple[Transition, ...] = ("fade", "dissolve", "cut")

V = TypeVar("V", bound=str)


def _transition_fallbacks(name: str) -> list[str]:
    # a dissolve is a (dithered) crossfade: the fade family stands in for it
    family = "fade" if name == "dissolve" else next((f for f in _FAMILIES if name.startswith(f)), None)
    kin = [t for t in TRANSITIONS if family and t != name and t.startswith(family)]
    direction = name[len(family) :] if family else ""
    # the same direction in another family reads closest (slideleft → smoothleft), then the family
    same_way = [t for t in TRANSITIONS if direction and t != name and t.endswith(direction) and t not in kin]
    return [*kin, *same_way, *_SOFT_TRANSITIONS]


def fallbacks(value: str) -> list[str]:
    """What may stand in for ``value`` (a transition, camera motion or mood), nearest first."""
    if value in _CAMERA_FALLBACKS:
        return list(_CAMERA_FALLBACKS[value])
    if value in _MOOD_FALLBACKS:
        return list(_MOOD_FALLBACKS[value])
    return _transition_fallbacks(value)


def nearest(value: V, supported: Collection[V]) -> V:
    """``value`` if ``supported`` holds it, else the nearest supported stand-in; ``supported`` must not be
    empty. Raises ValueError when nothing in ``supported`` is related (the caller's tool is broken)."""
    if value in supported:
        return value
    for other in fallbacks(value):
        if other in supported:
            return other  # type: ignore[return-value]
    if supported:
        return sorted(supported)[0]
    raise ValueError(f"no supported value to stand in for {value!r}")


def mood_of(words: str) -> MusicMood | None:
    """The mood a free text names (``"warm, cozy"`` → warm; ``"upbeat"`` → pop), None when none."""
    found = re.findall(r"[a-z0-9]+", words.lower())
    for w in found:
        if w in MUSIC_MOODS:
            return w
    return next((MOOD_ALIASES[w] for w in found if w in MOOD_ALIASES), None)


@dataclass
class Substituted(Generic[V]):
    """Values mapped onto what a tool supports, with one note per value that changed."""

    values: list[V]
    notes: list[str] = field(default_factory=list)


def substitute(wanted: Sequence[V], supported: Collection[V], what: str, tool: str) -> Substituted[V]:
    """``wanted`` mapped onto ``supported`` with ``nearest``; each change is noted as
    ``"transition 'circleopen' → 'fade': not supported by composer 'moviepy'"``."""
    out = Substituted[V](values=[])
    for value in wanted:
        chosen = nearest(value, supported)
        if chosen != value:
            out.notes.append(f"{what} {value!r} → {chosen!r}: not supported by {tool}")
        out.values.append(chosen)
    return out
