"""Fit the shipped creative classifier on the project's own renders (`rag_recsys.creative_classifier`).

    python -m ragvid.creative_renders            # 70 fast renders, ~16 min on 2 cores; resumable

The shell owns rendering, so this lives here and hands `rag_recsys` only vectors and paths. Design: every
look is rendered `PER_LOOK` times: with each of the 5 rhythms once, and with two of them again on another
product (so leave-one-out can score a rhythm read within its look), on products that are *not* the
shipped examples, which the round-trip test renders: the classifier never saw the video it is asked
about. Renders are cached by SID in the work folder and an interrupted build picks up where it stopped.
The report beside the classifier gives leave-one-out accuracies on these renders (each render read by a
classifier fit without it) of the look, the rhythm and the full path.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from PIL import Image

from rag_recsys.creative import CREATIVE_SIZES
from rag_recsys.creative_classifier import fit_classifier
from rag_recsys.tokenizer import ARTIFACT_DIR, DSIDTokenizer
from tools.ffmpeg import shipped
from tools.probe import probe
from tools.video.measures import CREATIVE_VECTOR_NAMES, creative_vector, measure_video
from tools.video.measures import VERSION as MEASURES_VERSION

CLASSIFIER_FILE = "creative_classifier.npz"
REPORT_FILE = "creative_classifier.json"
PER_LOOK = 7
PRODUCTS: tuple[dict[str, object], ...] = (
    {"product": "Verde Organic Green Tea Bags", "brand": "Verde", "selling_points":
        ["Hand-picked spring leaves", "Forty bags in a compostable box"], "cta": "Shop at verde.tea",
     "images": ["verde.png"]},
    {"product": "Pulse Portable Bluetooth Speaker", "brand": "Pulse Audio", "selling_points":
        ["Twelve hours of battery", "Waterproof for the beach"], "cta": "Get yours at pulse.audio"},
    {"product": "Atlas Leather Crossbody Bag", "brand": "Atlas", "selling_points":
        ["Full-grain leather that ages well", "Fits a tablet and keys"], "cta": "See it at atlas.bags",
     "images": ["atlas.png"]},
    {"product": "Lotus Non-Slip Yoga Mat", "brand": "Lotus", "selling_points":
        ["Six millimetres of cushioning", "Grips even in hot yoga"], "cta": "Roll out at lotus.fit"},
)  # fmt: skip
"""Products of the classifier's renders: none of them is a shipped example. Two have a product photo, as one
of the three examples does: a photo fills its shots with its own colours, and a look read only on renders
without one would not recognise itself behind a photo."""

PHOTOS = {"verde.png": ((214, 222, 196), (62, 120, 48)), "atlas.png": ((58, 44, 40), (150, 92, 52))}
"""Background and object colour of each procedural product photo (`_photo`)."""


def _photo(path: Path, background: tuple[int, int, int], colour: tuple[int, int, int]) -> None:
    """A 600×400 stand-in for a product photo: a lit object on a vignetted backdrop, with grain."""
    rng = np.random.default_rng(sum(colour))
    y, x = np.mgrid[0:400, 0:600] / np.array([400.0, 600.0])[:, None, None]
    vignette = 1.0 - 0.5 * ((x - 0.5) ** 2 + (y - 0.5) ** 2)
    image = np.asarray(background, dtype=np.float64) * vignette[..., None]
    inside = ((x - 0.5) / 0.28) ** 2 + ((y - 0.55) / 0.36) ** 2 < 1.0
    light = 1.15 - 0.6 * np.clip(x - 0.3, 0, 1)  # lit from the left
    image[inside] = (np.asarray(colour, dtype=np.float64) * light[..., None])[inside]
    image += rng.normal(0.0, 6.0, image.shape)
    Image.fromarray(np.clip(image, 0, 255).astype(np.uint8)).save(path)


def design(sizes: list[int] = CREATIVE_SIZES, per_look: int = PER_LOOK) -> list[tuple[int, int, int]]:
    """(look, rhythm, product index) of every render: look ℓ meets rhythms (ℓ + k·2) mod n_rhythms."""
    n_looks, n_rhythms = sizes
    return [(look, (look + 2 * k) % n_rhythms, (look + k) % len(PRODUCTS))
            for k in range(per_look) for look in range(n_looks)]  # fmt: skip


def _render(work: Path, look: int, rhythm: int, product: int, tok: DSIDTokenizer) -> Path:
    name = f"l{look}-r{rhythm}-p{product}"
    out = work / f"{name}.mp4"
    if out.exists() and out.with_suffix(".run.json").exists():
        return out
    meta = dict(PRODUCTS[product])
    for name in meta.get("images", []):  # type: ignore[attr-defined]
        if not (work / name).exists():
            _photo(work / name, *PHOTOS[name])
    content, _ = tok.encode_content(str(meta["product"]))
    sid = work / f"{name}.sid.json"
    sid.write_text(json.dumps({"tokenizer": tok.version, "content": content, "creative": [look, rhythm],
                               "meta": meta}), encoding="utf-8")  # fmt: skip
    cmd = [sys.executable, "-m", "ragvid.cli", "generate", str(sid), "-o", str(out), "-q", "--llm", "rule",
           "--profile", "fast", "--home", str(work / "home"), "--accept-rejected"]  # fmt: skip
    subprocess.run(cmd, check=True, capture_output=True, text=True)
    return out


STILLS_PER_RENDER = 4


def _frames(video: Path) -> list[Path]:
    """`STILLS_PER_RENDER` PNG frames of `video`, evenly spread (cached beside it)."""
    duration = probe(video).duration
    out = []
    for k in range(STILLS_PER_RENDER):
        frame = video.with_name(f"{video.stem}.still{k}.png")
        if not frame.exists():
            at = duration * (k + 0.5) / STILLS_PER_RENDER
            shipped().run(["-y", "-v", "error", "-ss", f"{at:.3f}", "-i", str(video), "-frames:v", "1", str(frame)],
                          what=f"extracting a frame of {video.name}")  # fmt: skip
        out.append(frame)
    return out


def build(work: Path, out_dir: Path = ARTIFACT_DIR, jobs: int = 2) -> dict[str, object]:
    """Render the design into `work` (cached), measure, fit, write `CLASSIFIER_FILE` and `REPORT_FILE` into
    `out_dir`; returns the report."""
    start = time.perf_counter()
    work.mkdir(parents=True, exist_ok=True)
    tok = DSIDTokenizer.load_default()
    plan = design()
    done = 0

    def one(item: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
        nonlocal done
        video = _render(work, *item, tok)
        vector = creative_vector(measure_video(video))
        stills = np.stack([creative_vector(measure_video(frame)) for frame in _frames(video)])
        done += 1
        print(f"render {done}/{len(plan)}: look {item[0]} rhythm {item[1]} ({time.perf_counter() - start:.0f} s)",
              file=sys.stderr, flush=True)  # fmt: skip
        return vector, stills

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        measured = list(pool.map(one, plan))
    vectors = np.stack([v for v, _ in measured])
    paths = [[look, rhythm] for look, rhythm, _ in plan]
    stills = np.concatenate([s for _, s in measured])
    still_of = np.repeat(np.arange(len(plan)), STILLS_PER_RENDER)
    hits = np.zeros((len(plan), 2), dtype=bool)
    still_hits: list[bool] = []
    for i, path in enumerate(paths):
        keep = [j for j in range(len(plan)) if j != i]
        rows = still_of != i  # every frame of the held-out render is held out with it
        held = fit_classifier(vectors[keep], [paths[j] for j in keep], CREATIVE_SIZES,
                              stills[rows], [paths[j] for j in still_of[rows]])  # fmt: skip
        hits[i] = np.array(held.match(vectors[i]).path) == np.array(path)
        still_hits += [held.match(frame, rhythm=False).path[0] == path[0] for frame in stills[~rows]]
    out_dir.mkdir(parents=True, exist_ok=True)
    fit_classifier(vectors, paths, CREATIVE_SIZES, stills, [paths[j] for j in still_of]).save(out_dir / CLASSIFIER_FILE)
    report: dict[str, object] = {
        "renders": len(plan),
        "design": [{"look": a, "rhythm": b, "product": PRODUCTS[c]["product"]} for a, b, c in plan],
        "features": list(CREATIVE_VECTOR_NAMES),
        "measures_version": MEASURES_VERSION,
        "leave_one_out_look_accuracy": round(float(hits[:, 0].mean()), 4),
        "leave_one_out_rhythm_accuracy": round(float(hits[:, 1].mean()), 4),
        "leave_one_out_path_accuracy": round(float(hits.all(axis=1).mean()), 4),
        "stills": len(stills),
        "leave_one_out_still_look_accuracy": round(float(np.mean(still_hits)), 4),
        "profile": "fast",
        "build_seconds": round(time.perf_counter() - start, 1),
    }
    (out_dir / REPORT_FILE).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--work", type=Path, default=Path("build/creative-renders"), help="render cache")
    parser.add_argument("--out", type=Path, default=ARTIFACT_DIR)
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args(argv)
    print(json.dumps(build(args.work, args.out, args.jobs), indent=2))


if __name__ == "__main__":
    main()
