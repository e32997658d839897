"""Creative channel of the D-SID: the renderer's style space, look (atmosphere) × rhythm.

Unlike the content channel this codebook is designed, not learned: its "catalog" is the set of
settings the renderer can realise, and every one of the 10 × 5 paths must map to reproducible
render settings. Looks fix what a frame looks like (palette, type, camera, music mood); rhythms fix
time (shot and transition length, tempo, voice rate). Codes are the list indices below, so never
reorder these tables without bumping the tokenizer version (the version hash covers the lexicon
file that embeds them).

A learned tokenizer (`rag_recsys.learned_tokenizer`) has no grid: each of its creative paths keeps the draft
settings of its medoid render (`ragvid.drafts.DraftSettings`), and `style_of_settings` turns those into the
style the agents render: the settings' own palette and tempo, the shot length scaled from the 6 s draft to an
ad, and the look and rhythm nearest them for what the settings do not fix (type, transitions, camera, mood).
"""

from __future__ import annotations

import colorsys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import BaseModel, Field

from tools.vocabulary import CameraMotion, MusicMood, Palette, Transition, relative_luminance


class CreativeStyle(BaseModel):
    path: list[int]
    look: str
    rhythm: str
    description: str
    palette: Palette
    font_weight: Literal["regular", "bold"]
    uppercase_titles: bool
    title_scale: float = Field(ge=0.8, le=1.3)
    shot_seconds: float = Field(ge=2.0, le=6.0)
    transitions: list[Transition]
    transition_seconds: float = Field(ge=0.2, le=0.8)
    camera_motions: list[CameraMotion]
    music_mood: MusicMood
    music_bpm: int = Field(ge=70, le=140)
    voice_rate: float = Field(ge=0.85, le=1.15)
    settings: dict[str, float] | None = Field(
        default=None, description="a learned path's medoid draft settings (ragvid.drafts.DraftSettings); None: grid"
    )


@dataclass(frozen=True)
class Look:
    name: str
    phrase: str  # words a person would use for this atmosphere; MiniLM matches style text on them
    palette: tuple[str, str, str, str]  # background, surface, text, accent
    font_weight: Literal["regular", "bold"]
    uppercase_titles: bool
    title_scale: float
    transitions: tuple[Transition, ...]
    camera_motions: tuple[CameraMotion, ...]
    music_mood: MusicMood


@dataclass(frozen=True)
class Rhythm:
    name: str
    phrase: str
    shot_seconds: float
    transition_seconds: float
    music_bpm: int
    voice_rate: float
    fast: bool  # fast rhythms prefer hard cuts and slides over slow dissolves


LOOKS: tuple[Look, ...] = (
    Look("warm-cozy", "warm cozy homely look with golden amber light and soft earthy tones",
         ("#2B1D14", "#4A3326", "#FFF4E6", "#E8A04A"), "regular", False, 1.0,
         ("dissolve", "fade"), ("push_in", "pan_right"), "warm"),
    Look("clean-minimal",
         "clean minimal look with plain white space, simple sans type and calm neutral tones",
         ("#F7F7F5", "#FFFFFF", "#1E1E1E", "#2F6FED"), "regular", False, 0.95,
         ("fade", "slideleft"), ("push_in", "pull_out"), "minimal"),
    Look("luxury-cinematic", "luxury cinematic premium look, dark elegant frames with gold highlights",
         ("#0B0B0D", "#1A1A1F", "#F5F0E6", "#C9A227"), "regular", True, 1.15,
         ("fadeblack", "dissolve"), ("push_in", "parallax", "tilt_up"), "cinematic"),
    Look("energetic-pop", "energetic pop sporty look with vivid saturated colors and dynamic graphics",
         ("#14112B", "#2A2260", "#FFFFFF", "#FF3D7F"), "bold", True, 1.2,
         ("slideleft", "wiperight", "cut"), ("pan_left", "push_in", "parallax"), "pop"),
    Look("bold-sale", "bold sale promo look, loud red and yellow discount banners and big price type",
         ("#C8102E", "#8E0B20", "#FFFFFF", "#FFD400"), "bold", True, 1.3,
         ("cut", "wipeleft", "slideup"), ("push_in", "pull_out"), "driving"),
    Look("tech-neon", "tech neon futuristic look, dark background with glowing cyan and magenta gadgets",
         ("#05070F", "#111827", "#E6F7FF", "#00E5FF"), "bold", False, 1.1,
         ("smoothleft", "circleopen", "cut"), ("parallax", "pan_right", "push_in"), "electronic"),
    Look("natural-fresh", "natural fresh organic look with green leaves, daylight and eco earthy calm",
         ("#EEF5EA", "#FFFFFF", "#1F3B2B", "#4CAF50"), "regular", False, 1.0,
         ("dissolve", "slideright"), ("pan_left", "tilt_up", "pull_out"), "acoustic"),
    Look("playful-bright", "playful bright fun look for kids with cheerful candy colors and bouncy shapes",
         ("#FFF8E1", "#FFFFFF", "#2D2A32", "#FF6F3C"), "bold", False, 1.15,
         ("circleopen", "slideup", "wipeleft"), ("pan_right", "push_in"), "playful"),
    Look("retro-film", "retro film vintage nostalgic look with faded grainy tones and 70s type",
         ("#2E2A24", "#4B4237", "#F2E8D5", "#D9822B"), "regular", True, 1.05,
         ("fadeblack", "wiperight"), ("pan_left", "pull_out"), "retro"),
    Look("calm-pastel", "calm pastel gentle look with soft pink and lavender tones for beauty and skincare",
         ("#FBF1F4", "#FFFFFF", "#4A3F55", "#C8A2C8"), "regular", False, 0.9,
         ("dissolve", "fade"), ("push_in", "tilt_up"), "ambient"),
)

RHYTHMS: tuple[Rhythm, ...] = (
    Rhythm("slow-calm", "slow and calm rhythm, long lingering unhurried shots",
           5.0, 0.8, 76, 1.12, False),
    Rhythm("steady", "steady rhythm, a steady even regular pace",
           4.0, 0.6, 96, 1.0, False),
    Rhythm("upbeat", "upbeat rhythm, a lively brisk cheerful pace",
           3.3, 0.45, 112, 0.95, False),
    Rhythm("fast-punchy", "fast punchy rhythm, fast quick snappy cuts",
           2.8, 0.3, 126, 0.9, True),
    Rhythm("hype", "hype rhythm, frantic rapid-fire high energy cuts",
           2.5, 0.2, 138, 0.86, True),
)

_FAST_TRANSITIONS: tuple[Transition, ...] = (
    "cut", "slideleft", "slideright", "slideup", "wipeleft", "wiperight", "smoothleft",
)  # fmt: skip

CREATIVE_SIZES = [len(LOOKS), len(RHYTHMS)]
# clean-minimal × steady: the least opinionated style, right for any product when nobody asked.
DEFAULT_CREATIVE = [1, 1]
DEFAULT_RHYTHM = DEFAULT_CREATIVE[1]
# Words that name a pace. Style text without any of them ("minimal", "luxury cinematic") names only a
# look, and MiniLM's cosines to the rhythm phrases are then noise (0.06-0.13 for "minimal", argmax
# "hype"), so such text gets DEFAULT_RHYTHM. Words the look phrases also use ("calm", "cheerful",
# "energetic", "bouncy") name a look first and are deliberately absent.
RHYTHM_WORDS = frozenset({
    "slow", "slower", "slowly", "lingering", "unhurried", "relaxed", "leisurely", "mellow", "chill", "languid",
    "steady", "even", "regular", "moderate", "medium", "measured",
    "upbeat", "lively", "brisk", "peppy",
    "fast", "faster", "quick", "quickly", "snappy", "punchy", "rapid", "speedy", "pacy",
    "hype", "hyped", "frantic", "hyper",
})


def _transitions(look: Look, rhythm: Rhythm) -> list[Transition]:
    if rhythm.fast:
        quick: list[Transition] = [t for t in look.transitions if t in _FAST_TRANSITIONS and t != "cut"]
        return ["cut", *quick[:2]] if quick else ["cut", "slideleft"]
    # Slow rhythms have time for the look's signature transition; a hard cut would break the mood.
    gentle: list[Transition] = [t for t in look.transitions if t != "cut"]
    return gentle or ["fade"]


def make_style(look_code: int, rhythm_code: int) -> CreativeStyle:
    look, rhythm = LOOKS[look_code], RHYTHMS[rhythm_code]
    bg, surface, text, accent = look.palette
    return CreativeStyle(
        path=[look_code, rhythm_code],
        look=look.name,
        rhythm=rhythm.name,
        description=f"{look.phrase[0].upper()}{look.phrase[1:]}; {rhythm.phrase}.",
        palette=Palette(background=bg, surface=surface, text=text, accent=accent),
        font_weight=look.font_weight,
        uppercase_titles=look.uppercase_titles,
        title_scale=look.title_scale,
        shot_seconds=rhythm.shot_seconds,
        transitions=_transitions(look, rhythm),
        transition_seconds=rhythm.transition_seconds,
        camera_motions=list(look.camera_motions),
        music_mood=look.music_mood,
        music_bpm=rhythm.music_bpm,
        voice_rate=rhythm.voice_rate,
    )


# The whole-sentence embedding of a path description lets the look words drown the rhythm words
# (36/50 "<look> <rhythm>" queries found their own path); the normalised sum of the look and rhythm
# phrase embeddings, rhythm weighted 0.7, finds 49/50, so paths are matched on that vector.
RHYTHM_WEIGHT = 0.7


def all_styles() -> list[CreativeStyle]:
    return [make_style(i, j) for i in range(len(LOOKS)) for j in range(len(RHYTHMS))]


def settings_colours(hue: float, saturation: float, value: float, contrast: float) -> tuple[str, str]:
    """The two ``#RRGGBB`` colours of draft settings (`ragvid.drafts.DraftSettings`): the HSV colour, and one 30°
    round the hue circle, `contrast` brighter (darker when that passes value 0.75)."""
    second = value + contrast if value + contrast <= 0.75 else value - contrast
    return _hsv_hex(hue, saturation, value), _hsv_hex((hue + 30) % 360, saturation, second)


def _hsv_hex(hue: float, saturation: float, value: float) -> str:
    r, g, b = colorsys.hsv_to_rgb(hue / 360, saturation, max(0.0, min(1.0, value)))
    return f"#{round(r * 255):02X}{round(g * 255):02X}{round(b * 255):02X}"


def _colour_point(hue: float, saturation: float, value: float) -> np.ndarray:
    """A colour on the HSV cone: hue as an angle scaled by saturation, and value."""
    angle = np.deg2rad(hue)
    return np.array([saturation * np.cos(angle), saturation * np.sin(angle), value])


def _look_point(look: Look) -> np.ndarray:
    """Where a look sits for `style_of_settings`: its accent's hue and saturation (the colour that names it) at its
    background's value (how dark its frames are)."""
    accent = colorsys.rgb_to_hsv(*(int(look.palette[3][i : i + 2], 16) / 255 for i in (1, 3, 5)))
    background = colorsys.rgb_to_hsv(*(int(look.palette[0][i : i + 2], 16) / 255 for i in (1, 3, 5)))
    return _colour_point(accent[0] * 360, accent[1], background[2])


def _contrast(a: str, b: str) -> float:
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# a 6 s draft cuts every 1-3 s; an ad of 12-30 s at the same cut rate would flicker, so a draft's shot length maps
# onto the renderer's 2-6 s range (`CreativeStyle.shot_seconds`) linearly, keeping the order of paths
DRAFT_SHOT_S = (1.0, 3.0)
STYLE_SHOT_S = (2.0, 6.0)


def style_of_settings(path: Sequence[int], settings: Mapping[str, float]) -> CreativeStyle:
    """The `CreativeStyle` that renders a learned creative path whose medoid draft had `settings` (the fields of
    `ragvid.drafts.DraftSettings`; KeyError for a missing one).

    The palette is the settings' two colours as background and surface, white or near-black text (whichever has
    the larger WCAG contrast ratio with the background) and the look's own accent (the colour it was chosen by, so
    a warm look keeps a warm accent); the music tempo is the settings' (clamped to 70-140 bpm); shots scale from
    `DRAFT_SHOT_S` to `STYLE_SHOT_S`. The look is the one nearest the first colour on the HSV cone (`_look_point`),
    the rhythm the one nearest the tempo; they supply type, transitions, camera motions, music mood and voice rate,
    and name the style."""
    first, second = settings_colours(settings["hue"], settings["saturation"], settings["value"], settings["contrast"])
    here = _colour_point(settings["hue"], settings["saturation"], settings["value"])
    look_code = int(np.argmin([np.linalg.norm(here - _look_point(look)) for look in LOOKS]))
    tempo = float(settings["tempo_bpm"])
    rhythm_code = int(np.argmin([abs(tempo - rhythm.music_bpm) for rhythm in RHYTHMS]))
    grid = make_style(look_code, rhythm_code)
    text = max(("#FFFFFF", "#1E1E1E"), key=lambda c: _contrast(c, first))
    lo, hi = DRAFT_SHOT_S
    share = (min(max(float(settings["shot_s"]), lo), hi) - lo) / (hi - lo)
    shot = round(STYLE_SHOT_S[0] + share * (STYLE_SHOT_S[1] - STYLE_SHOT_S[0]), 2)
    bpm = round(min(max(tempo, 70.0), 140.0))
    return grid.model_copy(update={
        "path": [int(c) for c in path],
        "description": f"{grid.description} Hue {settings['hue']:.0f}°, {shot:g} s shots, {bpm} bpm.",
        "palette": Palette(background=first, surface=second, text=text, accent=grid.palette.accent),
        "shot_seconds": shot,
        "music_bpm": bpm,
        "settings": {k: float(v) for k, v in settings.items()},
    })  # fmt: skip
