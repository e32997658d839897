"""Creative measures against media whose answers are known by construction (lavfi sources through the
shipped ffmpeg: shots joined by a dissolve, a hard cut and a fade; click tracks at a known tempo; a
syllable-like tone train at a known rate), the pure formulas against hand-computed values, and one real
ragvid render against the shots its run record lists."""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from skimage.color import rgb2lab

from tests.conftest import Rendered
from tools.boundaries import BINS, detect_boundaries
from tools.errors import InputError
from tools.ffmpeg import shipped
from tools.video.measures import (
    CREATIVE_VECTOR_DIM,
    CREATIVE_VECTOR_NAMES,
    PALETTE_SIZE,
    TEMPOGRAM_BPM,
    CreativeMeasures,
    colourfulness,
    creative_vector,
    dominant_colours,
    hsv_saturation,
    measure_video,
    rec709_luma,
    shot_boundaries,
    shot_lengths,
    syllable_nuclei,
    tempo_from_onsets,
    tempogram,
)

SIZE = "180x320"
FPS = 30
X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]

RED, BLUE, GREEN = "C82818", "1830C8", "20B040"


def ffmpeg(*args: str) -> None:
    shipped().run(list(args), what="making test media")


def lavfi(source: str) -> list[str]:
    return ["-f", "lavfi", "-i", source]


def colour_clip(out: Path, hex_rgb: str, seconds: float = 2.0) -> Path:
    ffmpeg(*lavfi(f"color=c=0x{hex_rgb}:s={SIZE}:r={FPS}:d={seconds}"), *X264, str(out))
    return out


def lab_of(hex_rgb: str) -> np.ndarray:
    h = hex_rgb.lstrip("#")
    return rgb2lab(np.array([[[int(h[i : i + 2], 16) / 255 for i in (0, 2, 4)]]]))[0, 0]


def delta_e(a: str, b: str) -> float:
    """CIE76 colour difference."""
    return float(np.linalg.norm(lab_of(a) - lab_of(b)))


# ------------------------------------------------------------------------------------------- test media


@dataclass
class Shots:
    """A clip of four 3 s shots: red -(0.8 s dissolve)- blue -(hard cut)- testsrc2 -(0.5 s fade)- green."""

    path: Path
    boundaries: list[float]  # centre of each cut or transition (s)
    duration: float


def make_shots(out: Path) -> Shots:
    shot, joins = 3.0, [("dissolve", 0.8), ("cut", 0.0), ("fade", 0.5)]
    sources = [f"color=c=0x{RED}:", f"color=c=0x{BLUE}:", "testsrc2=", f"color=c=0x{GREEN}:"]
    inputs = [a for s in sources for a in lavfi(f"{s}s={SIZE}:r={FPS}:d={shot}")]
    chain = [f"[{i}]format=yuv420p,setsar=1,settb=1/{FPS}[s{i}]" for i in range(len(sources))]
    prev, length, boundaries = "s0", shot, []
    for i, (kind, seconds) in enumerate(joins, start=1):
        if kind == "cut":
            chain.append(f"[{prev}][s{i}]concat=n=2:v=1:a=0,settb=1/{FPS}[j{i}]")
        else:  # xfade: the incoming shot starts `seconds` before the outgoing one ends
            chain.append(f"[{prev}][s{i}]xfade=transition={kind}:duration={seconds}:offset={length - seconds}[j{i}]")
        boundaries.append(length - seconds / 2)
        prev, length = f"j{i}", length + shot - seconds
    ffmpeg(*inputs, "-filter_complex", ";".join(chain), "-map", f"[{prev}]", *X264, str(out))
    return Shots(out, boundaries, length)


def clicks(out: Path, bpm: float, seconds: float = 10.0) -> Path:
    """A click track (a 1 kHz tone burst decaying in ~20 ms on every beat) under a grey picture."""
    period = 60.0 / bpm
    ffmpeg(*lavfi(f"color=c=gray:s={SIZE}:r={FPS}:d={seconds}"),
           *lavfi(f"aevalsrc=0.5*sin(2*PI*1000*t)*exp(-50*mod(t\\,{period})):s=44100:d={seconds}"),
           *X264, "-c:a", "aac", "-shortest", str(out))  # fmt: skip
    return out


def syllables(out: Path, per_second: int, bed: bool = False, seconds: float = 9.0) -> Path:
    """Voice-like syllables: a harmonic tone at 140 Hz under a sin² envelope (``per_second`` peaks a
    second), in phrases of 2 s with 1 s pauses; ``bed`` adds a steady chord 20 dB under the voice."""
    voice = ("(sin(2*PI*140*t)+0.7*sin(2*PI*420*t)+0.5*sin(2*PI*700*t)+0.3*sin(2*PI*1400*t))"
             f"*pow(sin(PI*{per_second}*t)\\,2)*lt(mod(t\\,3)\\,2)*0.2")  # fmt: skip
    expr = voice + ("+0.02*(sin(2*PI*330*t)+sin(2*PI*415*t)+sin(2*PI*494*t))" if bed else "")
    ffmpeg(*lavfi(f"color=c=gray:s={SIZE}:r={FPS}:d={seconds}"), *lavfi(f"aevalsrc={expr}:s=44100:d={seconds}"),
           *X264, "-c:a", "aac", "-shortest", str(out))  # fmt: skip
    return out


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    d = tmp_path_factory.mktemp("measures")
    moving = d / "moving.mp4"
    ffmpeg(*lavfi(f"testsrc2=s={SIZE}:r={FPS}:d=3"), *X264, str(moving))
    still = d / "still.mp4"  # testsrc2's first frame, held
    ffmpeg(*lavfi(f"testsrc2=s={SIZE}:r={FPS}:d=3"), "-vf", "loop=loop=-1:size=1:start=0", "-t", "3", *X264, str(still))
    dark, bright = d / "dark.mp4", d / "bright.mp4"
    for out, level in ((dark, -0.2), (bright, 0.2)):
        ffmpeg(*lavfi(f"testsrc2=s={SIZE}:r={FPS}:d=2"), "-vf", f"eq=brightness={level}", *X264, str(out))
    return {
        "shots": make_shots(d / "shots.mp4"),
        "red": colour_clip(d / "red.mp4", RED),
        "blue": colour_clip(d / "blue.mp4", BLUE),
        "red2": colour_clip(d / "red2.mp4", "B43C28"),
        "moving": moving,
        "still": still,
        "dark": dark,
        "bright": bright,
        "dir": d,
    }


@pytest.fixture(scope="module")
def shots_measured(media: dict[str, Any]) -> CreativeMeasures:
    return measure_video(media["shots"].path)


# ------------------------------------------------------------------------------------- shot boundaries


def test_cuts_count_hard_cuts_and_transitions(media: dict[str, Any], shots_measured: CreativeMeasures) -> None:
    shots: Shots = media["shots"]
    m = shots_measured
    assert m.cuts == 3
    assert m.soft_transitions == 2  # the dissolve and the fade; the concat is a hard cut
    assert m.cut_times_s == pytest.approx(shots.boundaries, abs=0.15)
    assert m.duration_s == pytest.approx(shots.duration, abs=1 / FPS)
    lengths = shot_lengths(shots.boundaries, shots.duration)
    assert m.shot_length_mean_s == pytest.approx(np.mean(lengths), abs=0.05)
    assert m.shot_length_std_s == pytest.approx(np.std(lengths), abs=0.1)
    assert m.cut_rate_per_min == pytest.approx(3 / shots.duration * 60, rel=0.01)


def test_cuts_agree_with_the_critics_detector(media: dict[str, Any], shots_measured: CreativeMeasures) -> None:
    # measures re-applies tools.boundaries' rule to its own decode; the two must not drift apart
    assert shots_measured.cut_times_s == pytest.approx(detect_boundaries(media["shots"].path), abs=1e-3)


def test_transition_time_is_the_mean_change_per_boundary(shots_measured: CreativeMeasures) -> None:
    # boundaries of the clip: a 0.8 s dissolve, a hard cut and a 0.5 s fade → about (0.8 + 0 + 0.5) / 3
    assert shots_measured.transition_mean_s == pytest.approx(1.3 / 3, abs=0.15)


def test_a_single_shot_has_no_cut(media: dict[str, Any]) -> None:
    m = measure_video(media["moving"])
    assert m.cuts == 0 and m.cut_times_s == () and m.cut_rate_per_min == 0
    assert m.shot_length_mean_s == pytest.approx(m.duration_s) and m.shot_length_std_s == 0


def test_shot_boundaries_on_synthetic_histograms() -> None:
    n, cut = 120, 60
    a, b = np.zeros(BINS**3), np.zeros(BINS**3)
    a[0], b[-1] = 1.0, 1.0
    hists = np.array([a if i < cut else b for i in range(n)])
    times = np.arange(n) / FPS
    found = shot_boundaries(times, hists)
    assert len(found) == 1
    assert found[0].time_s == pytest.approx(cut / FPS, abs=1 / FPS)  # between the last old and first new frame
    assert found[0].change_s(0.4, 1 / FPS) < 0.1


def test_shot_lengths_hand_computed() -> None:
    assert shot_lengths([2.0, 5.0], 10.0) == [2.0, 3.0, 5.0]
    assert shot_lengths([], 4.0) == [4.0]


# ------------------------------------------------------------------------------------------------ look


def test_brighter_clip_has_higher_luma(media: dict[str, Any]) -> None:
    dark, bright = measure_video(media["dark"]), measure_video(media["bright"])
    assert bright.mean_luma > dark.mean_luma + 0.2  # eq=brightness ±0.2 adds ±0.2 to Y' (clipped at the ends)


def test_solid_colour_luma_is_rec709(media: dict[str, Any]) -> None:
    rgb = np.array([int(RED[i : i + 2], 16) / 255 for i in (0, 2, 4)])
    m = measure_video(media["red"])
    assert m.mean_luma == pytest.approx(float(rgb @ [0.2126, 0.7152, 0.0722]), abs=0.02)
    assert m.luma_contrast < 0.01 and m.edge_density < 0.01  # a flat picture
    assert m.saturation_mean == pytest.approx((rgb.max() - rgb.min()) / rgb.max(), abs=0.03)


def test_red_is_warmer_than_blue(media: dict[str, Any]) -> None:
    red, blue = measure_video(media["red"]), measure_video(media["blue"])
    assert red.warmth > 0.3 > -0.3 > blue.warmth
    assert creative_vector(red)[CREATIVE_VECTOR_NAMES.index("warmth")] > 0 > creative_vector(blue)[
        CREATIVE_VECTOR_NAMES.index("warmth")]  # fmt: skip


def test_palette_contains_the_constructed_colours(shots_measured: CreativeMeasures) -> None:
    palette = shots_measured.palette
    assert 0 < len(palette) <= PALETTE_SIZE
    assert [p.share for p in palette] == sorted((p.share for p in palette), reverse=True)
    assert sum(p.share for p in palette) == pytest.approx(1.0, abs=1e-6)
    for colour in (RED, BLUE, GREEN):  # each solid shot fills ~a quarter of the frames
        near = [p for p in palette if delta_e(p.hex, colour) < 8]
        assert near and max(p.share for p in near) > 0.15, (colour, palette)


def test_solid_clip_palette_is_its_colour(media: dict[str, Any]) -> None:
    palette = measure_video(media["blue"]).palette
    assert delta_e(palette[0].hex, BLUE) < 3 and palette[0].share > 0.95


def test_dominant_colours_recover_clusters_and_shares() -> None:
    rng = np.random.default_rng(0)
    centres = np.array([[200, 40, 30], [30, 60, 200], [240, 220, 60]])
    counts = [5000, 3000, 2000]
    px = np.concatenate([np.clip(c + rng.normal(0, 6, (n, 3)), 0, 255) for c, n in zip(centres, counts, strict=True)])
    palette = dominant_colours(px.astype(np.uint8), k=3)
    assert [p.share for p in palette] == pytest.approx([0.5, 0.3, 0.2], abs=0.01)
    for p, c in zip(palette, centres, strict=True):
        assert delta_e(p.hex, "".join(f"{v:02X}" for v in c)) < 3
    assert dominant_colours(px.astype(np.uint8), k=3) == palette  # seeded: the same answer twice


def test_colour_formulas_hand_computed() -> None:
    assert rec709_luma([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]]) == pytest.approx([0.2126, 0.7152, 0.0722, 1.0])
    assert hsv_saturation([[1.0, 0.5, 0.5], [0.0, 0.0, 0.0], [0.3, 0.3, 0.3]]) == pytest.approx([0.5, 0.0, 0.0])
    # half red, half green: rg = ±255 (σ 255, μ 0); yb = 127.5 everywhere (σ 0, μ 127.5)
    img = np.array([[[255, 0, 0], [0, 255, 0]]], dtype=np.uint8)
    assert colourfulness(img) == pytest.approx(255 + 0.3 * 127.5)
    assert colourfulness(np.full((4, 4, 3), 128, np.uint8)) == 0.0


# ---------------------------------------------------------------------------------------------- motion


def test_moving_has_more_motion_energy_than_still(media: dict[str, Any]) -> None:
    moving, still = measure_video(media["moving"]), measure_video(media["still"])
    assert still.motion_energy < 0.003
    assert moving.motion_energy > 5 * max(still.motion_energy, 1e-3)


def test_cuts_are_not_counted_as_motion(shots_measured: CreativeMeasures, media: dict[str, Any]) -> None:
    # three of the four shots are flat colours and the fourth is the moving testsrc2: within shots that is
    # ~a quarter of the moving clip's energy; the frame pairs across the cuts would triple it
    assert 0 < shots_measured.motion_energy < 0.5 * measure_video(media["moving"]).motion_energy


# ----------------------------------------------------------------------------------------------- audio


@pytest.mark.parametrize("bpm", [80.0, 128.0])
def test_tempo_of_a_click_track(media: dict[str, Any], bpm: float) -> None:
    # one click a beat: the fundamental period is unambiguous, so no double/half tempo is allowed here
    m = measure_video(clicks(media["dir"] / f"clicks{bpm:.0f}.mp4", bpm))
    assert m.has_audio and m.tempo_bpm is not None
    assert m.tempo_bpm == pytest.approx(bpm, rel=0.04)
    assert m.integrated_lufs is not None and -40 < m.integrated_lufs < 0


def test_tempogram_peaks_at_the_pulse_and_its_multiples() -> None:
    rate = 100.0
    t = np.arange(int(12 * rate)) / rate
    curve = dict(zip(TEMPOGRAM_BPM, tempogram(np.exp(-(((t % 0.5) * rate) ** 2)), rate), strict=True))  # 120 BPM
    # a pulse every 0.5 s repeats at lags of 0.5 s (120 BPM) and 1 s (60 BPM), not at 0.707 s (84.9 BPM)
    assert curve[120.0] > 0.9 and curve[60.0] > 0.9
    assert curve[84.9] < 0.1 and curve[169.7] < 0.1
    assert tempogram(np.zeros(1200), rate) == tuple(0.0 for _ in TEMPOGRAM_BPM)  # silence
    assert tempogram(np.ones(100), rate) == tuple(0.0 for _ in TEMPOGRAM_BPM)  # shorter than two 1 s periods


def test_tempo_from_onsets_hand_built() -> None:
    rate, bpm = 100.0, 87.0
    t = np.arange(int(12 * rate)) / rate
    pulses = np.exp(-(((t % (60 / bpm)) * rate) ** 2))  # a one-frame pulse every beat
    assert tempo_from_onsets(pulses, rate) == pytest.approx(bpm, rel=0.01)
    assert tempo_from_onsets(np.zeros(1200), rate) is None  # silence
    assert tempo_from_onsets(np.random.default_rng(0).random(1200), rate) is None  # no pulse
    assert tempo_from_onsets(pulses[:100], rate) is None  # one second: shorter than two slow periods


def test_speech_rate_follows_the_syllable_rate(media: dict[str, Any]) -> None:
    slow = measure_video(syllables(media["dir"] / "syl3.mp4", 3))
    fast = measure_video(syllables(media["dir"] / "syl6.mp4", 6))
    bed = measure_video(syllables(media["dir"] / "syl6bed.mp4", 6, bed=True))
    assert slow.speech_rate is not None and fast.speech_rate is not None and bed.speech_rate is not None
    assert fast.speech_rate / slow.speech_rate == pytest.approx(2.0, rel=0.15)
    # per voiced second, which keeps ~0.25 s either side of each 2 s phrase: 0.6..1.1 × the rate in the phrase
    assert 0.6 * 6 < fast.speech_rate < 1.1 * 6
    assert fast.voiced_s == pytest.approx(3 * 2.5, rel=0.15)  # three phrases (the pauses are not voiced)
    assert bed.speech_rate == pytest.approx(fast.speech_rate, rel=0.1)  # a steady bed 20 dB down changes little


def test_syllable_nuclei_hand_built() -> None:
    rate = 100.0
    t = np.arange(int(6 * rate)) / rate
    env = np.sin(np.pi * 4 * t) ** 2 * (t < 3)  # 12 syllables in 3 s, then 3 s of silence
    count, voiced = syllable_nuclei(10 * np.log10(np.maximum(env, 1e-6)), rate)
    assert count == 12
    assert voiced == pytest.approx(3.25, abs=0.1)  # the phrase plus the envelope's margin at its end
    assert syllable_nuclei(np.full(600, -30.0), rate) == (0, 0.0)  # a steady level has no syllables


def test_video_without_audio_has_no_audio_measures(shots_measured: CreativeMeasures) -> None:
    m = shots_measured
    assert not m.has_audio
    assert m.tempo_bpm is None and m.integrated_lufs is None and m.speech_rate is None and m.voiced_s is None


# ---------------------------------------------------------------------------------------------- errors


def test_missing_file_names_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.mp4"
    with pytest.raises(InputError, match=re.escape(str(tmp_path / "nowhere.mp4"))) as info:
        measure_video(missing)
    assert info.value.file == str(missing)


def test_undecodable_file_names_it(tmp_path: Path) -> None:
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(InputError, match=re.escape(str(tmp_path / "junk.mp4"))):
        measure_video(junk)


def test_audio_only_file_is_refused(tmp_path: Path) -> None:
    wav = tmp_path / "tone.wav"
    ffmpeg(*lavfi("sine=f=440:d=1"), str(wav))
    with pytest.raises(InputError, match="no video stream") as info:
        measure_video(wav)
    assert info.value.field == "video" and "tone.wav" in str(info.value)


# ---------------------------------------------------------------------------------------------- vector


def test_creative_vector_shape_and_determinism(media: dict[str, Any], shots_measured: CreativeMeasures) -> None:
    assert len(CREATIVE_VECTOR_NAMES) == CREATIVE_VECTOR_DIM == len(set(CREATIVE_VECTOR_NAMES))
    v = creative_vector(shots_measured)
    assert v.shape == (CREATIVE_VECTOR_DIM,) and v.dtype == np.float32 and np.isfinite(v).all()
    assert np.abs(v).max() < 3  # every component is scaled to about [-1, 1]
    assert np.array_equal(creative_vector(measure_video(media["shots"].path)), v)  # same file, same vector


def test_nearest_prototype_is_the_similar_look(media: dict[str, Any], shots_measured: CreativeMeasures) -> None:
    prototypes = {"red": media["red"], "blue": media["blue"], "moving": media["moving"]}
    vectors = {k: creative_vector(measure_video(p)) for k, p in prototypes.items()}
    query = creative_vector(measure_video(media["red2"]))  # another red, a shade darker
    assert min(vectors, key=lambda k: float(np.linalg.norm(vectors[k] - query))) == "red"


# ----------------------------------------------------------------------------------------- real render


@pytest.fixture(scope="module")
def coffee(fast_example) -> Rendered:  # type: ignore[no-untyped-def]
    return fast_example("coffee")  # type: ignore[no-any-return]


@pytest.mark.slow
def test_real_render_matches_its_run_record(coffee: Rendered) -> None:
    record = coffee.record
    chosen = next(r for r in record["rounds"] if r["round"] == record["chosen_round"])
    shots = len(chosen["visual"]["output"]["segments"])
    start = time.perf_counter()
    m = measure_video(coffee.video)
    elapsed = time.perf_counter() - start
    assert abs(m.cuts - (shots - 1)) <= 1, (m.cut_times_s, chosen["visual"]["output"]["boundaries"])
    assert m.duration_s == pytest.approx(record["final"]["duration"], abs=0.1)
    assert m.integrated_lufs == pytest.approx(record["final"]["lufs"], abs=0.5)
    bpm = chosen["visual"]["output"]["bpm"]
    # music, not a click track: its hi-hats or half-time feel may put the pulse a metrical level off
    assert m.tempo_bpm is not None and any(
        m.tempo_bpm == pytest.approx(bpm * f, rel=0.04) for f in (0.5, 1.0, 2.0)), (m.tempo_bpm, bpm)  # fmt: skip
    assert m.speech_rate is not None and 2.0 < m.speech_rate < 8.0  # narration: ~3-6 syllables a second
    assert elapsed < 5.0  # a 12 s 360×640 render; ~0.5 s on a 2-core dev container
    assert math.isfinite(float(creative_vector(m).sum()))
