"""Offline background music: a small numpy synthesiser that composes from mood, tempo and the cut
times, so every cut lands on a beat with an accent and the track is exactly as long as the video.

Each mood picks a chord progression, harmonic rhythm, timbres and drum density (see `MOODS`); the seed
varies the arrangement details while staying deterministic. Everything is vectorised per note, so a
30 s track renders in a fraction of a second.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np
import numpy.typing as npt
import soundfile as sf
from scipy import signal

from tools.cache import ToolCache, content_key
from tools.errors import ToolError
from tools.models import AudioTrack, BgmSpec
from tools.timing import beat_grid
from tools.vocabulary import MUSIC_MOODS, MusicMood, mood_of

log = logging.getLogger("ragvid.tools")

VERSION = "1"  # bump on any change to the synthesis, so cached tracks are re-made
SR = 48_000
PEAK_DBFS = -3.0
BEATS_PER_BAR = 4

F = npt.NDArray[np.float64]
T = TypeVar("T")


@dataclass(frozen=True)
class Mood:
    """One mood's arrangement: chord progressions (scale degrees), chord length in bars, the instrument of each
    part (None: no such part), notes per beat of lead and bass, the drum pattern (beat positions in a bar),
    how deep the pad ducks under the kick, a riser into each cut, reverb send and level factors per part."""

    progressions: tuple[tuple[int, ...], ...]  # scale degrees (0 = tonic); the seed picks one
    bars_per_chord: int
    pad: str | None  # "saw", "strings", "sine", "organ"
    pad_cutoff: float  # Hz; lower is warmer
    lead: str | None  # "piano", "pluck", "bell", "marimba", "square", "guitar"
    lead_steps: int  # lead notes per beat (0 = none): 1 quarter, 2 eighths, 4 sixteenths
    bass: str | None  # "sine", "saw", "square"
    bass_steps: float  # bass notes per beat; 0.5 = one per two beats
    kick: tuple[float, ...]  # beat positions within a bar
    snare: tuple[float, ...]
    hat_steps: int  # hats per beat (0 = none); 2 with `hat_offbeat` plays only the "and"s
    hat_offbeat: bool = False
    sidechain: float = 0.0  # how far the pad ducks under each kick (0..1)
    riser: bool = True
    reverb: float = 0.25  # send level
    levels: dict[str, float] = field(default_factory=dict)


MOODS: dict[MusicMood, Mood] = {
    "warm": Mood(((0, 5, 3, 4), (0, 3, 5, 4)), 1, "saw", 1400, "piano", 2, "sine", 1, (0, 2), (), 2,
                 hat_offbeat=True, riser=False, reverb=0.3),
    "minimal": Mood(((0, 3), (5, 3)), 2, "sine", 2000, "pluck", 1, "sine", 0.5, (0,), (), 2,
                    hat_offbeat=True, riser=False, reverb=0.3, levels={"crash": 0.6}),
    "cinematic": Mood(((5, 3, 0, 4), (5, 2, 3, 0)), 2, "strings", 1800, "piano", 1, "saw", 0.5, (0,), (2,), 0,
                      reverb=0.45, levels={"snare": 0.6, "crash": 1.3}),
    "pop": Mood(((0, 4, 5, 3), (5, 3, 0, 4)), 1, "saw", 2600, "pluck", 2, "saw", 2, (0, 1, 2, 3), (1, 3), 2,
                sidechain=0.35),
    "driving": Mood(((5, 3, 0, 4), (0, 6, 5, 4)), 1, "saw", 3000, "square", 4, "saw", 2, (0, 1, 2, 3),
                    (1, 3), 4, sidechain=0.3, levels={"lead": 0.6}),
    "electronic": Mood(((5, 3, 0, 4), (0, 5, 3, 4)), 1, "saw", 3200, "pluck", 4, "square", 2, (0, 1, 2, 3),
                       (1, 3), 2, hat_offbeat=True, sidechain=0.6),
    "acoustic": Mood(((0, 4, 5, 3), (0, 3, 0, 4)), 1, None, 0, "guitar", 2, "sine", 1, (0, 2), (1, 3), 2,
                     riser=False, reverb=0.2, levels={"snare": 0.45, "kick": 0.7}),
    "playful": Mood(((0, 3, 4, 3), (0, 5, 1, 4)), 1, "organ", 2200, "marimba", 2, "sine", 2, (0, 2),
                    (1, 3), 2, hat_offbeat=True, reverb=0.2),
    "retro": Mood(((0, 5, 3, 4), (0, 3, 4, 4)), 1, "saw", 1800, "square", 4, "square", 2, (0, 2), (1, 3), 2,
                  levels={"lead": 0.5}),
    "ambient": Mood(((0, 3, 5, 4), (0, 2, 3, 3)), 2, "sine", 1200, "bell", 0, "sine", 0.25, (), (), 0,
                    riser=False, reverb=0.55, levels={"crash": 0.5}),
}  # fmt: skip

_LEVELS = {"pad": 0.16, "lead": 0.2, "bass": 0.32, "kick": 0.55, "snare": 0.28, "hat": 0.07, "crash": 0.16}
_MAJOR = (0, 2, 4, 5, 7, 9, 11)
_MINOR = (0, 2, 3, 5, 7, 8, 10)
_NOTE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def resolve_mood(mood: str) -> MusicMood:
    """The synthesiser's mood for a plan's free words (``tools.vocabulary.mood_of``); 'warm' when they
    name none."""
    found = mood_of(mood)
    if found is None:
        log.info("music mood %r not known; using 'warm'", mood)
        return "warm"
    return found


def parse_key(key: str) -> tuple[int, tuple[int, ...]]:
    """'C', 'F#', 'Bb', 'Am', 'C# minor' -> (pitch class, scale)."""
    m = re.fullmatch(r"\s*([A-Ga-g])([#b♯♭]?)\s*(m|min|minor|maj|major)?\s*", key)
    if not m:
        raise ToolError(f"music key {key!r} is not a key name like 'C', 'F#', 'Bb' or 'Am'")
    pc = _NOTE[m.group(1).upper()] + {"#": 1, "♯": 1, "b": -1, "♭": -1}.get(m.group(2), 0)
    minor = (m.group(3) or "").startswith("m") and not (m.group(3) or "").startswith("maj")
    return pc % 12, _MINOR if minor else _MAJOR


def midi_hz(note: float) -> float:
    """Frequency (Hz) of MIDI note `note` in equal temperament, A4 = 69 = 440 Hz."""
    return 440.0 * 2 ** ((note - 69) / 12)


def chord_pcs(root_pc: int, scale: tuple[int, ...], degree: int) -> list[int]:
    """The diatonic triad on `degree`, as pitch classes (root first); stacking scale thirds gives the
    right major/minor quality for free."""
    return [(root_pc + scale[(degree + k) % 7]) % 12 for k in (0, 2, 4)]


def in_range(pc: int, low: int) -> int:
    """The MIDI note of pitch class `pc` in [low, low + 12): a fixed window voices chords with smooth
    voice leading without any search."""
    return low + (pc - low) % 12


# ------------------------------------------------------------------------------------ instruments


def _t(n: int) -> F:
    return np.arange(n, dtype=np.float64) / SR


def _env(n: int, attack: float, release: float) -> F:
    e = np.ones(n)
    a, r = min(n, max(1, int(attack * SR))), min(n, max(1, int(release * SR)))
    e[:a] *= np.linspace(0, 1, a) ** 2 if attack > 0.05 else np.linspace(0, 1, a)
    e[n - r :] *= np.linspace(1, 0, r) ** 2
    return e


def _additive(n: int, hz: float, partials: list[tuple[float, float, float]], attack: float = 0.003) -> F:
    """Sum of (ratio, amplitude, decay-rate) partials; partials above Nyquist are skipped."""
    t = _t(n)
    out = np.zeros(n)
    for ratio, amp, decay in partials:
        if hz * ratio < SR / 2 * 0.9:
            out += amp * np.exp(-decay * t) * np.sin(2 * np.pi * hz * ratio * t)
    return out * _env(n, attack, 0.02)


def _saw(n: int, hz: float, phase: float = 0.0) -> F:
    return 2.0 * ((phase + hz * _t(n)) % 1.0) - 1.0


def _square(n: int, hz: float, harmonics: int = 9) -> F:
    t = _t(n)
    out = np.zeros(n)
    for k in range(1, harmonics + 1, 2):
        if hz * k < SR / 2 * 0.9:
            out += np.sin(2 * np.pi * hz * k * t) / k
    return out * (4 / np.pi) * 0.6


def lead_note(kind: str, hz: float, n: int) -> F:
    """One decaying lead note of `kind` ("piano", "pluck", "guitar", "marimba", "bell", "square") at `hz`:
    `n` float64 mono samples at SR (48 kHz). Raises ValueError for another kind."""
    if kind == "piano":
        parts = [(k * (1 + 0.0004 * k * k), 1 / k**1.3, 2.2 + 1.1 * k) for k in range(1, 9)]
        return _additive(n, hz, parts)
    if kind == "pluck":
        return _additive(n, hz, [(k, 1 / k, 6.0 + 3.0 * k) for k in range(1, 9)])
    if kind == "guitar":
        # the sin(pi*k*p) weights model plucking at p of the string length: a hollow, nasal edge
        return _additive(
            n, hz, [(k, abs(math.sin(math.pi * k * 0.18)) / k, 3.0 + 1.6 * k) for k in range(1, 11)]
        )
    if kind == "marimba":
        return _additive(n, hz, [(1, 1.0, 7.0), (4.0, 0.35, 22.0), (9.9, 0.12, 40.0)])
    if kind == "bell":
        t = _t(n)
        index = 2.5 * np.exp(-3.0 * t)
        fm = np.sin(2 * np.pi * hz * t + index * np.sin(2 * np.pi * hz * 3.5 * t))
        return 0.6 * fm * np.exp(-1.6 * t) * _env(n, 0.004, 0.05)
    if kind == "square":
        t = _t(n)
        return _square(n, hz, 7) * np.exp(-5.0 * t) * _env(n, 0.003, 0.02)
    raise ValueError(kind)


def pad_chord(kind: str, freqs: tuple[float, ...], n: int, seed: int) -> tuple[F, F]:
    """A held chord of `freqs` (Hz) on the pad `kind` ("saw", "strings", "organ", else sine): (left, right),
    `n` float64 samples each at 48 kHz, attack and release shaped; `seed` sets phases and tremolo rate."""
    rng = np.random.default_rng(seed)
    left, right = np.zeros(n), np.zeros(n)
    t = _t(n)
    for hz in freqs:
        if kind in ("saw", "strings"):
            # two detuned saws per note, one per side: the beating is what makes a pad sound wide
            d = 0.004 if kind == "saw" else 0.006
            left += _saw(n, hz * (1 - d), rng.random()) + 0.5 * _saw(n, hz * 2 * (1 + d / 2), rng.random())
            right += _saw(n, hz * (1 + d), rng.random()) + 0.5 * _saw(n, hz * 2 * (1 - d / 2), rng.random())
        elif kind == "organ":
            tone = sum(
                a * np.sin(2 * np.pi * hz * r * t) for r, a in ((1, 1.0), (2, 0.5), (3, 0.25), (4, 0.12))
            )
            left += tone
            right += tone
        else:  # "sine": soft, with a slow tremolo so held chords breathe
            lfo = 1 + 0.15 * np.sin(2 * np.pi * (0.2 + 0.1 * rng.random()) * t)
            left += (np.sin(2 * np.pi * hz * 0.999 * t) + 0.3 * np.sin(2 * np.pi * hz * 2 * t)) * lfo
            right += (np.sin(2 * np.pi * hz * 1.001 * t) + 0.3 * np.sin(2 * np.pi * hz * 2 * t)) * lfo
    attack = 0.6 if kind in ("strings", "sine") else 0.08
    e = _env(n, attack, 0.35) / len(freqs)
    return left * e, right * e


def bass_note(kind: str, hz: float, n: int) -> F:
    """One decaying bass note of `kind` ("saw", "square", else sine) at `hz`, soft-clipped (tanh): `n` float64
    mono samples at 48 kHz."""
    t = _t(n)
    if kind == "saw":
        tone = _saw(n, hz) * 0.5 + np.sin(2 * np.pi * hz * t) * 0.7
    elif kind == "square":
        tone = _square(n, hz, 5) * 0.7
    else:
        tone = np.sin(2 * np.pi * hz * t) + 0.25 * np.sin(2 * np.pi * hz * 2 * t)
    return np.tanh(1.5 * tone) * np.exp(-1.2 * t) * _env(n, 0.006, 0.04)


def kick(rng: np.random.Generator) -> F:
    """A kick drum: 0.35 s of float64 mono at 48 kHz, a sine falling from 120 to 45 Hz plus a noise click."""
    n = int(0.35 * SR)
    t = _t(n)
    hz = 45 + 75 * np.exp(-t / 0.035)
    body = np.sin(2 * np.pi * np.cumsum(hz) / SR) * np.exp(-t / 0.11)
    click = rng.standard_normal(n) * np.exp(-t / 0.003) * 0.15
    return np.tanh(1.4 * (body + click))


def _filtered_noise(n: int, rng: np.random.Generator, btype: str, cutoff: float | list[float]) -> F:
    sos = signal.butter(2, cutoff, btype=btype, fs=SR, output="sos")
    return np.asarray(signal.sosfilt(sos, rng.standard_normal(n)))


def snare(rng: np.random.Generator) -> F:
    """A snare: 0.22 s of float64 mono at 48 kHz, 1.2–7 kHz band-passed noise over a 185 Hz tone."""
    n = int(0.22 * SR)
    t = _t(n)
    noise = _filtered_noise(n, rng, "bandpass", [1200, 7000]) * np.exp(-t / 0.06)
    tone = np.sin(2 * np.pi * 185 * t) * np.exp(-t / 0.04)
    return 0.8 * noise + 0.5 * tone


def hat(rng: np.random.Generator, open_: bool = False) -> F:
    """A hi-hat: noise high-passed at 7 kHz, 0.06 s closed or 0.18 s open, float64 mono at 48 kHz."""
    n = int((0.18 if open_ else 0.06) * SR)
    t = _t(n)
    return _filtered_noise(n, rng, "highpass", 7000) * np.exp(-t / (0.05 if open_ else 0.014))


def crash(rng: np.random.Generator, length: float = 2.2) -> tuple[F, F]:
    """A crash cymbal of `length` s, noise high-passed at 3.5 kHz: (left, right), independent noise on each
    side, float64 at 48 kHz."""
    n = int(length * SR)
    t = _t(n)
    e = np.exp(-t / 0.55) * _env(n, 0.002, 0.3)
    return _filtered_noise(n, rng, "highpass", 3500) * e, _filtered_noise(n, rng, "highpass", 3500) * e


def riser(rng: np.random.Generator, length: float) -> tuple[F, F]:
    """A noise riser of `length` s (cubic ramp, high-passed at 2.5 kHz) that peaks at the cut it leads into:
    (left, right), float64 at 48 kHz."""
    n = max(1, int(length * SR))
    ramp = np.linspace(0, 1, n) ** 3
    return _filtered_noise(n, rng, "highpass", 2500) * ramp, _filtered_noise(n, rng, "highpass", 2500) * ramp


def reverb(left: F, right: F, rng: np.random.Generator, seconds: float = 1.6) -> tuple[F, F]:
    """Convolution with decaying noise: a plausible hall for a fraction of a real reverb's cost.

    The tail is computed at a quarter of the rate: it is lowpassed at 5 kHz anyway, and the
    convolution is the most expensive step of a render."""
    down = 4
    sr = SR // down
    n = int(seconds * sr)
    t = np.arange(n) / sr
    decay = np.exp(-6.9 * t / seconds)  # -60 dB at `seconds`
    pre = int(0.02 * sr)  # pre-delay keeps note attacks dry and clear
    sos = signal.butter(2, 5000, btype="lowpass", fs=sr, output="sos")
    out = []
    for x in (left, right):
        ir = np.concatenate([np.zeros(pre), signal.sosfilt(sos, rng.standard_normal(n)) * decay])
        ir /= np.sqrt(np.sum(ir**2))
        small = signal.resample_poly(x, 1, down)
        wet = signal.oaconvolve(small, ir)[: small.size]
        out.append(signal.resample_poly(wet, down, 1)[: x.size])
    return out[0], out[1]


# ------------------------------------------------------------------------------------ composition


class _Bus:
    def __init__(self, n: int) -> None:
        self.left = np.zeros(n)
        self.right = np.zeros(n)

    def add(self, at: float, sig: F, gain: float = 1.0, pan: float = 0.0, right: F | None = None) -> None:
        """Mix `sig` in at time `at` (seconds; may start before 0), panned -1..1 (equal power)."""
        i = round(at * SR)
        lo, hi = max(0, i), min(self.left.size, i + sig.size)
        if hi <= lo:
            return
        gl, gr = gain * math.cos((pan + 1) * math.pi / 4), gain * math.sin((pan + 1) * math.pi / 4)
        self.left[lo:hi] += gl * sig[lo - i : hi - i]
        self.right[lo:hi] += gr * (sig if right is None else right)[lo - i : hi - i]


def render(spec: BgmSpec) -> tuple[npt.NDArray[np.float32], list[float]]:
    """Compose the track: (stereo float32 samples shaped (n, 2), beat times)."""
    mood_name = resolve_mood(spec.mood)
    mood = MOODS[mood_name]
    root_pc, scale = parse_key(spec.key)
    rng = np.random.default_rng([spec.seed, zlib.crc32(mood_name.encode()), root_pc])
    levels = {k: v * mood.levels.get(k, 1.0) for k, v in _LEVELS.items()}

    n = round(spec.duration * SR)
    duration = n / SR
    period = 60.0 / spec.bpm
    bar = BEATS_PER_BAR * period
    beats = beat_grid(spec.bpm, duration, spec.beat_offset)
    progression = mood.progressions[int(rng.integers(len(mood.progressions)))]
    chord_len = bar * mood.bars_per_chord

    # Chords run from a whole number of chords before the first beat so a pickup before
    # `beat_offset` already has harmony.
    first = spec.beat_offset - math.ceil(spec.beat_offset / chord_len) * chord_len
    pad, lead, bass, drums, fx = _Bus(n), _Bus(n), _Bus(n), _Bus(n), _Bus(n)
    k_smp, s_smp, h_smp, oh_smp = kick(rng), snare(rng), hat(rng), hat(rng, open_=True)
    arp_up = bool(rng.integers(2))
    # Progressions repeat, so most notes and chords recur: render each distinct one once per track.
    cache: dict[tuple[Any, ...], Any] = {}

    def memo(fn: Callable[..., T], *args: Any) -> T:
        k = (fn.__name__, *args)
        if k not in cache:
            cache[k] = fn(*args)
        return cast(T, cache[k])

    c, start = 0, first
    while start < duration:
        index = round((start - spec.beat_offset) / chord_len)
        pcs = chord_pcs(root_pc, scale, progression[index % len(progression)])
        if mood.pad:
            freqs = tuple(midi_hz(in_range(pc, 55)) for pc in pcs)
            ring = chord_len + 0.4  # overlap the next chord so changes crossfade instead of gapping
            left, right = memo(pad_chord, mood.pad, freqs, int(ring * SR), spec.seed)
            pad.add(start, left, right=right)
        if mood.lead and mood.lead_steps:
            tones = sorted(in_range(pc, 67) for pc in pcs)
            tones = [*tones, tones[0] + 12] if arp_up else [tones[0] + 12, *reversed(tones)]
            step = period / mood.lead_steps
            for j in range(round(chord_len / step)):
                note = tones[j % len(tones)]
                length = int(min(1.6, step * 3) * SR)
                pan = 0.3 * math.sin(j * 0.7)
                lead.add(
                    start + j * step,
                    memo(lead_note, mood.lead, midi_hz(note), length),
                    0.8 + 0.2 * (j % 2 == 0),
                    pan,
                )
        elif mood.lead:  # sparse: one chime per chord, on a random chord tone
            note = in_range(pcs[int(rng.integers(3))], 72)
            lead.add(
                start + period * float(rng.integers(4)),
                memo(lead_note, mood.lead, midi_hz(note), int(3 * SR)),
                0.7,
            )
        if mood.bass:
            step = period / mood.bass_steps
            root = in_range(pcs[0], 36)
            for j in range(max(1, round(chord_len / step))):
                # bass falls to the fifth on the last step of a chord: a small walk into the change
                note = root + 7 if j == round(chord_len / step) - 1 and j > 1 else root
                bass.add(
                    start + j * step,
                    memo(bass_note, mood.bass, midi_hz(note), int(min(step, 1.2) * SR * 0.95)),
                )
        c += 1
        start = first + c * chord_len

    for b, t in enumerate(beats):
        pos = b % BEATS_PER_BAR
        for frac in (0.0, 0.5):
            at = t + frac * period
            if pos + frac in mood.kick:
                drums.add(at, k_smp, levels["kick"])
            if pos + frac in mood.snare:
                drums.add(at, s_smp, levels["snare"], 0.1)
        for j in range(mood.hat_steps):
            if mood.hat_offbeat and mood.hat_steps == 2 and j == 0:
                continue
            sample = oh_smp if mood.hat_offbeat else h_smp
            accent = 1.0 if j % 2 == 0 else 0.6
            drums.add(t + j * period / mood.hat_steps, sample, levels["hat"] * accent, -0.35)

    # Cuts: a crash on the cut, a riser into it, and a kick if the mood has none there
    for a in spec.accent_times:
        if a >= duration - 0.05:
            continue  # a cut at the very end falls inside the fade-out
        left, right = crash(rng)
        fx.add(a, left, levels["crash"], right=right)
        if mood.riser and a > 0:
            rise = min(period * 2, a)
            left, right = riser(rng, rise)
            fx.add(a - rise, left, levels["crash"] * 0.6, right=right)
        if not mood.kick:
            drums.add(a, k_smp, levels["kick"] * 0.6)

    if mood.pad:
        sos = signal.butter(2, mood.pad_cutoff, btype="lowpass", fs=SR, output="sos")
        pad.left, pad.right = signal.sosfilt(sos, pad.left), signal.sosfilt(sos, pad.right)
    if mood.sidechain and beats:
        # duck the pad under each kick: the "pumping" of dance styles, and it keeps the low end clear
        duck = np.ones(n)
        shape = 1 - mood.sidechain * np.exp(-_t(int(period * SR)) / (period * 0.25))
        for t in beats:
            i = round(t * SR)
            m = min(n - i, shape.size)
            if m > 0:
                duck[i : i + m] = np.minimum(duck[i : i + m], shape[:m])
        pad.left *= duck
        pad.right *= duck

    send_l = pad.left * levels["pad"] + lead.left * levels["lead"]
    send_r = pad.right * levels["pad"] + lead.right * levels["lead"]
    wet_l, wet_r = reverb(send_l, send_r, rng)
    left = send_l + mood.reverb * wet_l + bass.left * levels["bass"] + drums.left + fx.left
    right = send_r + mood.reverb * wet_r + bass.right * levels["bass"] + drums.right + fx.right

    out = np.stack([left, right], axis=1)
    out -= out.mean(axis=0)  # numeric DC from asymmetric envelopes would waste headroom
    fade = min(bar, duration / 3)
    m = int(fade * SR)
    if m > 0:
        out[n - m :] *= (0.5 * (1 + np.cos(np.linspace(0, np.pi, m))))[:, None]
    f_in = min(n, int(0.01 * SR))
    out[:f_in] *= np.linspace(0, 1, f_in)[:, None]
    peak = float(np.max(np.abs(out)))
    if peak > 0:
        out *= 10 ** (PEAK_DBFS / 20) / peak
    return out.astype(np.float32), beats


class ProceduralMusic:
    """The offline BGM back-end: `compose(BgmSpec)` -> 48 kHz stereo 16-bit WAV of exactly
    `spec.duration` (to the sample), beats from `tools.timing.beat_grid`."""

    name = "procedural"
    offline = True
    moods = frozenset(MUSIC_MOODS)

    def __init__(self, cache: ToolCache) -> None:
        self.cache = cache

    def _write(self, spec: BgmSpec, path: Path) -> None:
        samples, _ = render(spec)
        sf.write(str(path), samples, SR, subtype="PCM_16", format="WAV")

    async def compose(self, spec: BgmSpec) -> AudioTrack:
        """Compose the track for `spec` (cached by content): a 48 kHz stereo 16-bit WAV of exactly
        round(spec.duration × 48000) samples, beats on `beat_grid`. Raises ToolError for a key `parse_key`
        cannot read."""
        resolve_mood(spec.mood)
        parse_key(spec.key)  # a bad key is a planning error: report it before any work
        key = content_key("procedural_music", VERSION, spec)

        async def make(tmp: Path) -> None:
            await asyncio.to_thread(self._write, spec, tmp)

        path, hit = await self.cache.get_or_create(key, ".wav", make)
        n = round(spec.duration * SR)
        return AudioTrack(
            path=path,
            duration=n / SR,
            beats=beat_grid(spec.bpm, n / SR, spec.beat_offset),
            backend=self.name,
            cached=hit,
        )
