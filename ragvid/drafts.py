"""Draft renders: a product's words under one point of the creative settings space, in one ffmpeg pass.

The D-SID heads learn from pairs of renders (`rag_recsys.dsid_heads`): one product under different creative
settings is a content positive, one setting on different products a creative positive. The agents' render
costs about 12 s of CPU per 6 s video; a draft costs well under a second, so a build can afford hundreds:

- 6 s at 270×480, 24 fps, H.264 ultrafast + AAC, with the words as a soft ``mov_text`` track beside the
  burned-in text (not marked default, `tools.mp4`), as ragvid's own renders carry them;
- picture: shots of ``shot_s`` seconds alternating between two palette colours (``hue``, ``saturation``,
  ``value``, a second colour ``contrast`` away in value), a band that swings across the frame ``motion``
  times a second, the product's words in white with a dark outline (the light-text ink
  `tools.video.words` reads best) through `tools.subtitles.AssSubtitles` — per-script fonts, escaping —
  spread over the clip independently of the cuts, so the words do not carry the rhythm;
- sound: a plucked tone on every beat at ``tempo_bpm`` at ``music_db`` dBFS peak, pitched by the hue.

Every number reaches the filtergraph formatted by this module; the product's words reach ffmpeg only inside
the ASS file, whose path is escaped (`tools.escape.ffmpeg_path`). A draft is cached under a hash of its
inputs and written by atomic rename, so an interrupted build keeps what it finished and redoes nothing.
`DraftSettings.space()` samples the settings space by Latin hypercube (scipy's ``qmc``), far richer than the
shipped 10 × 5 look × rhythm grid.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from rag_recsys.creative import settings_colours
from tools.escape import ffmpeg_path
from tools.ffmpeg import Ffmpeg, shipped
from tools.languages import language_of
from tools.models import SubtitleCue, SubtitleStyle
from tools.mp4 import disable_subtitle_tracks
from tools.subtitles import AssSubtitles, write_text_track

DRAFT_VERSION = "1"
WIDTH, HEIGHT, FPS, DURATION_S = 270, 480, 24, 6.0
SAMPLE_RATE = 48_000
MAX_LINES = 4


class DraftSettings(BaseModel):
    """One point of the draft renderer's creative settings space (each range is the field's bounds)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    hue: float = Field(ge=0, lt=360, description="palette hue, degrees")
    saturation: float = Field(ge=0, le=1, description="palette saturation (HSV)")
    value: float = Field(ge=0.1, le=0.7, description="first colour's HSV value; kept under the white text's luma")
    contrast: float = Field(ge=0, le=0.6, description="value difference of the second colour")
    # from 1 s: the cut measure (`tools.boundaries`) merges cuts closer than about twice its 0.4 s span
    shot_s: float = Field(ge=1.0, le=3.0, description="shot length, seconds")
    motion: float = Field(ge=0, le=1.5, description="swings per second of the moving band across the frame, Hz")
    tempo_bpm: float = Field(ge=60, le=180, description="music tempo, beats per minute")
    music_db: float = Field(ge=-36, le=-6, description="peak level of the music, dBFS")

    @classmethod
    def space(cls, n: int, seed: int = 0) -> list[DraftSettings]:
        """`n` settings spread over every field's range by a scrambled Latin hypercube (deterministic per
        seed): each field's range is cut into `n` strata and each stratum is used once."""
        from scipy.stats import qmc

        fields = list(cls.model_fields)
        lows = [_bound(name, "ge") for name in fields]
        highs = [_bound(name, "le", "lt") for name in fields]
        points = qmc.scale(qmc.LatinHypercube(d=len(fields), seed=seed).random(n), lows, highs)
        return [cls(**{k: round(float(min(v, hi - 1e-6)), 4) for k, v, hi in zip(fields, row, highs, strict=True)})
                for row in points]  # fmt: skip

    def colours(self) -> tuple[str, str]:
        """The two palette colours as ``0xRRGGBB`` (`rag_recsys.creative.settings_colours`)."""
        first, second = settings_colours(self.hue, self.saturation, self.value, self.contrast)
        return "0x" + first[1:], "0x" + second[1:]


def _bound(name: str, *kinds: str) -> float:
    for meta in DraftSettings.model_fields[name].metadata:
        for kind in kinds:
            if getattr(meta, kind, None) is not None:
                return float(getattr(meta, kind))
    raise AssertionError(f"DraftSettings.{name} has no {kinds} bound")


def draft_lines(meta: Mapping[str, Any]) -> list[str]:
    """The words a draft shows, in order: the product, up to two selling points, the brand (SID-file ``meta``
    keys; empty ones skipped, at most `MAX_LINES`)."""
    points = [str(p) for p in meta.get("selling_points") or []][:2]
    lines = [str(meta.get("product") or ""), *points, str(meta.get("brand") or "")]
    return [" ".join(line.split()) for line in lines if line.strip()][:MAX_LINES]


def draft_key(meta: Mapping[str, Any], settings: DraftSettings) -> str:
    """Cache key of a draft: a hash of what it shows, its settings and `DRAFT_VERSION`."""
    doc = {"v": DRAFT_VERSION, "lines": draft_lines(meta), "language": meta.get("language", "en"),
           "settings": settings.model_dump()}  # fmt: skip
    return hashlib.sha256(json.dumps(doc, sort_keys=True, ensure_ascii=False).encode()).hexdigest()[:20]


def _filtergraph(settings: DraftSettings, ass: Path, fonts: Path) -> str:
    first, second = settings.colours()
    shots = max(1, math.ceil(DURATION_S / settings.shot_s))
    parts, labels = [], []
    for i in range(shots):
        length = min(settings.shot_s, DURATION_S - i * settings.shot_s)
        colour = first if i % 2 == 0 else second
        parts.append(f"color=c={colour}:s={WIDTH}x{HEIGHT}:r={FPS}:d={length:.4f}[s{i}]")
        labels.append(f"[s{i}]")
    band_w = WIDTH // 3
    parts += [
        f"{''.join(labels)}concat=n={shots}:v=1:a=0[bg]",
        f"color=c=0xFFFFFF@0.35:s={band_w}x{HEIGHT}:r={FPS}:d={DURATION_S}[band]",
        # the band swings inside the frame: its area never changes, so the colour histograms (the cut measure)
        # see motion, not a shot change
        f"[bg][band]overlay=x='{WIDTH - band_w}*(0.5+0.5*sin(2*PI*{settings.motion:.4f}*t))':y=0:format=auto[moving]",
        f"[moving]ass=filename={ffmpeg_path(ass)}:fontsdir={ffmpeg_path(fonts)},format=yuv420p[v]",
    ]
    beat = 60.0 / settings.tempo_bpm
    amplitude = 10 ** (settings.music_db / 20)
    pitch = 196.0 * 2 ** (settings.hue / 360)  # G3 to G4 over the hue circle
    parts.append(
        f"aevalsrc='{amplitude:.5f}*sin(2*PI*{pitch:.2f}*t)*exp(-9*mod(t,{beat:.5f}))'"
        f":s={SAMPLE_RATE}:d={DURATION_S}[a]"
    )
    return ";".join(parts)


def render_draft(
    meta: Mapping[str, Any], settings: DraftSettings, folder: Path, *, ffmpeg: Ffmpeg | None = None
) -> Path:
    """The draft of `meta` (SID-file ``meta``: product, selling_points, brand, language) under `settings`, as
    ``<folder>/<draft_key>.mp4``; an existing one is returned as it is. Raises ValueError when `meta` has no
    words, InputError for an unsupported ``meta.language``, FontMissing when a script has no installed font,
    ToolError when ffmpeg fails."""
    lines = draft_lines(meta)
    if not lines:
        raise ValueError("a draft needs words: meta has no product, selling point or brand")
    folder.mkdir(parents=True, exist_ok=True)
    key = draft_key(meta, settings)
    out = folder / f"{key}.mp4"
    if out.exists():
        return out
    language = language_of(str(meta.get("language") or "en")).code
    step = DURATION_S / len(lines)
    cues = [SubtitleCue(start=i * step, end=(i + 1) * step, text=line) for i, line in enumerate(lines)]
    work = folder / f".{key}"
    work.mkdir(exist_ok=True)
    style = SubtitleStyle(font_size=96, margin_v=820, outline_width=6.0, max_lines=3, language=language)
    subs = AssSubtitles(cue_fade_ms=0).write(cues, [], style, WIDTH, HEIGHT, work / "text.ass")
    track = write_text_track(subs, work / "track.ass")
    partial = work / "draft.mp4"
    args = ["-i", str(track)] if track is not None else []
    args += ["-filter_complex", _filtergraph(settings, subs.path, subs.fonts_dir), "-map", "[v]", "-map", "[a]"]
    if track is not None:
        args += ["-map", "0:s", "-c:s", "mov_text", "-metadata:s:s:0", f"language={language_of(language).iso639_2}",
                 "-disposition:s:0", "0"]  # fmt: skip
    args += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "26", "-threads", "1", "-c:a", "aac", "-b:a", "96k",
             "-t", f"{DURATION_S}", "-movflags", "+faststart", str(partial)]  # fmt: skip
    (ffmpeg or shipped()).run(args, what=f"rendering the draft {key}")
    if track is not None:
        disable_subtitle_tracks(partial)
    os.replace(partial, out)
    return out


def render_drafts(
    jobs: Sequence[tuple[Mapping[str, Any], DraftSettings]],
    folder: Path,
    *,
    workers: int = 2,
    progress: Callable[[str], None] | None = None,
) -> list[Path]:
    """`render_draft` of every (meta, settings) job into `folder`, `workers` at a time (each ffmpeg is
    single-threaded), in job order; `progress` gets a line every 5 % (default: stderr)."""
    say = progress or (lambda line: print(line, file=sys.stderr, flush=True))
    start, done = time.perf_counter(), 0
    every = max(1, len(jobs) // 20)
    cached = sum((folder / f"{draft_key(meta, settings)}.mp4").exists() for meta, settings in jobs)
    if cached:
        say(f"drafts: {cached} of {len(jobs)} already rendered in {folder}, {len(jobs) - cached} to render")

    def one(job: tuple[Mapping[str, Any], DraftSettings]) -> Path:
        nonlocal done
        path = render_draft(job[0], job[1], folder)
        done += 1
        if done % every == 0 or done == len(jobs):
            say(f"drafts {done}/{len(jobs)} ({time.perf_counter() - start:.0f} s)")
        return path

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        return list(pool.map(one, jobs))


__all__ = ["DRAFT_VERSION", "DraftSettings", "draft_key", "draft_lines", "render_draft", "render_drafts"]
