#!/usr/bin/env python3
"""Render benchmark: the demo end to end, and our final composition against a MoviePy baseline.

1. `ragvid generate SID` in a fresh, empty RAGVID_HOME (cold tool cache: what a user's first run
   sees), as a subprocess by default (what a user runs; `--in-process` calls
   `ragvid.generate.generate` instead), then once more in the same home (warm cache).
2. The cold run's final `timeline` and render settings, read back from its run record, composed again
   in this process by `FfmpegComposer` and by `MoviepyComposer` (same clips, voice, music, subtitles,
   x264 preset, CRF, fps and threads), one after the other; both outputs are probed to check that the
   baseline produced the same kind of file.

Prints a table; with `--json` the last stdout line is one JSON object of all figures. Exits 0 whether
or not the targets are met (the pass_* keys say), 1 on an error. Progress goes to stderr.

    python bench/render.py [--json] [--sid PATH] [--keep DIR] [--in-process] [--no-warm]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the MoviePy baseline (bench/moviepy_composer.py) is not part of the package
DEFAULT_SID = ROOT / "examples" / "sids" / "coffee.json"
TARGET_TOTAL_S = 120.0
TARGET_SPEEDUP = 3.0
LUFS_SLACK = 1.0  # LU either side of the timeline's target that counts as "loudness matched"
DURATION_SLACK_S = 0.1  # output video duration vs the timeline's


class BenchError(Exception):
    """A step of the benchmark failed (not a missed target)."""


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------
# 1. end to end


@dataclass
class RunFigures:
    record: dict[str, Any]
    wall_s: float  # process start to exit (subprocess) or the generate() call (in-process)
    out: Path


def _ragvid_cmd() -> list[str]:
    exe = Path(sys.executable).parent / "ragvid"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "ragvid.cli"]


def run_generate(sid: Path, out: Path, home: Path, *, in_process: bool) -> RunFigures:
    if in_process:
        from ragvid.generate import generate
        from ragvid.settings import Settings

        t0 = time.perf_counter()
        asyncio.run(generate(sid, out, settings=Settings(home=home)))
        wall = time.perf_counter() - t0
    else:
        log_path = out.with_suffix(".log")
        cmd = [*_ragvid_cmd(), "generate", str(sid), "-o", str(out), "--quiet"]
        env = {**os.environ, "RAGVID_HOME": str(home)}
        with log_path.open("w", encoding="utf-8") as log:
            t0 = time.perf_counter()
            proc = subprocess.run(cmd, env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False)
            wall = time.perf_counter() - t0
        if proc.returncode != 0:
            tail = "\n".join(log_path.read_text(encoding="utf-8", errors="replace").strip().splitlines()[-8:])
            raise BenchError(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{tail}")
    record_path = out.with_suffix(".run.json")
    if not record_path.exists():
        raise BenchError(f"no run record at {record_path}")
    return RunFigures(json.loads(record_path.read_text(encoding="utf-8")), wall, out)


# ---------------------------------------------------------------------------------------------
# 2. composition: ours vs MoviePy on the same timeline


_X264_SEI = re.compile(rb"x264 - core (\d+)[^\x00]*? - options: ([^\x00]+)")


def x264_options(path: Path) -> dict[str, str]:
    """The encoder options x264 writes into the stream's SEI (what the encoder actually used)."""
    with path.open("rb") as f:
        head = f.read(8 << 20)
    m = _X264_SEI.search(head)
    if m is None:
        return {}
    opts = dict(kv.split("=", 1) for kv in m.group(2).decode("ascii", "replace").split() if "=" in kv)
    opts["core"] = m.group(1).decode()
    return opts


def cpu_seconds() -> float:
    """User + system CPU time of this process and its finished children (ffmpeg runs as children)."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


@dataclass
class Output:
    seconds: float  # the composer's own timing (RenderResult.seconds)
    wall_s: float  # the whole render() call, its post-render loudness measurement included
    cpu_s: float  # CPU time of the render() call, this process and its children
    lufs: float | None
    info: dict[str, Any]
    x264: dict[str, str]


async def _compose(composer: Any, timeline: Any, settings: Any, out: Path) -> Output:
    from tools.probe import probe

    c0, t0 = cpu_seconds(), time.perf_counter()
    result = await composer.render(timeline, settings, out, stems=False)
    wall, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    info = probe(out)
    v, a = info.video, info.audio
    return Output(
        seconds=float(result.seconds),
        wall_s=wall,
        cpu_s=cpu,
        lufs=result.integrated_lufs,
        info={
            "width": v.width if v else None,
            "height": v.height if v else None,
            "fps": v.fps if v else None,
            "frames": v.frames if v else None,
            "video_duration": v.duration if v else None,
            "duration": info.duration,
            "vcodec": v.codec if v else None,
            "pix_fmt": v.pix_fmt if v else None,
            "acodec": a.codec if a else None,
            "sample_rate": a.sample_rate if a else None,
            "channels": a.channels if a else None,
            "size_bytes": info.size_bytes,
            "faststart": info.has_faststart,
        },
        x264=x264_options(out),
    )


def encode_floor(src: Path, settings: Any, out: Path) -> tuple[float, float]:
    """Wall and CPU seconds to decode `src` and re-encode its picture with the same x264 settings: the
    part of the work both composers share, which no composer can go below."""
    from tools.ffmpeg import shipped

    args = ["-i", str(src), "-an", "-c:v", "libx264", "-preset", settings.x264_preset, "-crf", str(settings.crf)]
    args += ["-pix_fmt", "yuv420p", "-threads", str(settings.threads), "-f", "mp4", str(out)]
    c0, t0 = cpu_seconds(), time.perf_counter()
    shipped().run(args, what="timing the encode floor")
    return time.perf_counter() - t0, cpu_seconds() - c0


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def fairness_checks(ff: Output, mp: Output, timeline: Any, settings: Any) -> list[Check]:
    import moviepy.config

    from tools.ffmpeg import shipped

    checks: list[Check] = []
    f, m = ff.info, mp.info

    def same(name: str, key: str, want: Any = None) -> None:
        ok = f[key] == m[key] and (want is None or f[key] == want)
        checks.append(Check(name, ok, f"ffmpeg {f[key]} / moviepy {m[key]}" + (f" (want {want})" if want else "")))

    checks.append(
        Check(
            "size",
            (f["width"], f["height"]) == (m["width"], m["height"]) == (settings.width, settings.height),
            f"ffmpeg {f['width']}x{f['height']} / moviepy {m['width']}x{m['height']}"
            f" (want {settings.width}x{settings.height})",
        )
    )
    same("fps", "fps", float(settings.fps))
    durs = [f["video_duration"], m["video_duration"]]
    checks.append(
        Check(
            "duration",
            all(d is not None and abs(d - timeline.duration) <= DURATION_SLACK_S for d in durs),
            f"video ffmpeg {durs[0]:.3f}s / moviepy {durs[1]:.3f}s (timeline {timeline.duration:.3f}s,"
            f" frames {f['frames']} / {m['frames']})",
        )
    )
    same("video codec", "vcodec", "h264")
    same("pixel format", "pix_fmt", "yuv420p")
    same("audio codec", "acodec", "aac")
    same("audio rate", "sample_rate")
    diff = sorted(k for k in set(ff.x264) | set(mp.x264) if ff.x264.get(k) != mp.x264.get(k))
    checks.append(
        Check(
            "x264 options",
            bool(ff.x264) and not diff,
            "identical (preset, crf, threads, keyint… as written in the SEI)"
            if bool(ff.x264) and not diff
            else "differ: " + ", ".join(f"{k}={ff.x264.get(k)}/{mp.x264.get(k)}" for k in diff),
        )
    )
    mp_bin = str(getattr(moviepy.config, "FFMPEG_BINARY", "?"))
    checks.append(Check("ffmpeg binary", os.path.realpath(mp_bin) == os.path.realpath(shipped().exe), mp_bin))
    lufs_ok = all(x is not None and abs(x - timeline.target_lufs) <= LUFS_SLACK for x in (ff.lufs, mp.lufs))
    checks.append(
        Check("loudness", lufs_ok, f"ffmpeg {ff.lufs} / moviepy {mp.lufs} LUFS (target {timeline.target_lufs})")
    )
    return checks


BASELINE_NOTES = [
    "MoviePy baseline = bench/moviepy_composer.py MoviepyComposer: VideoFileClip per shot, CrossFadeIn on the"
    " layered CompositeVideoClip, TextClip/ColorClip layers for the ASS cues and cards, CompositeAudioClip,"
    " write_videofile with the same preset/CRF/fps/threads through the same ffmpeg binary.",
    "It does less audio work than ours (a volume envelope instead of a sidechain compressor, one"
    " gain pass, no limiter) and treats every transition as a crossfade, so its time is if anything"
    " an underestimate; the clips are already at output size, so neither side spends time scaling.",
    "Both compositions run in this process, one after the other, on the same files, stems off.",
]


# ---------------------------------------------------------------------------------------------
# report


def _fmt(v: Any) -> str:
    if isinstance(v, bool):
        return "PASS" if v else "FAIL"
    if isinstance(v, float):
        return f"{v:.2f}"
    return "-" if v is None else str(v)


def print_table(fig: dict[str, Any], checks: list[Check]) -> None:
    Row = tuple[str, Any, str]
    sections: list[tuple[str, list[Row]]] = [
        (
            "End to end (`ragvid generate`, fresh RAGVID_HOME)",
            [
                ("mode", fig["mode"], ""),
                ("cpu cores", fig["cpu_count"], ""),
                ("policy / reflection rounds", f"{fig['policy']} / {fig['rounds']}", ""),
                ("load average 1 min, start / end", f"{fig['loadavg_1m_start']} / {fig['loadavg_1m_end']}", ""),
                ("cold run, wall (start → exit)", fig["cold_wall_s"], "s"),
                ("cold run, run record total_s", fig["total_s"], "s"),
                ("  tools_s", fig["tools_s"], "s"),
                ("  draft_render_s", fig["draft_render_s"], "s"),
                ("  final_render_s (in graph)", fig["final_render_s"], "s"),
                ("warm re-run, wall", fig["warm_wall_s"], "s"),
                ("warm re-run, run record total_s", fig["warm_total_s"], "s"),
                (f"target: cold wall ≤ {TARGET_TOTAL_S:g} s", fig["pass_total_le_120s"], ""),
            ],
        ),
        (
            "Final composition (cold run's timeline, this process)",
            [
                ("output", f"{fig['width_px']}x{fig['height_px']} @ {fig['fps']} fps, {fig['duration_s']:.2f} s", ""),
                ("x264 preset / crf / threads", f"{fig['x264_preset']} / {fig['crf']} / {fig['threads']}", ""),
                ("ffmpeg_render_s (FfmpegComposer)", fig["ffmpeg_render_s"], "s"),
                ("moviepy_render_s (MoviepyComposer)", fig["moviepy_render_s"], "s"),
                ("speedup_vs_moviepy", fig["speedup_vs_moviepy"], "x"),
                ("  incl. the loudness probe (wall)", fig["speedup_wall_vs_moviepy"], "x"),
                ("runs each (best compared)", fig["repeat"], ""),
                ("  all ffmpeg / moviepy", f"{fig['ffmpeg_render_all_s']} / {fig['moviepy_render_all_s']}", "s"),
                ("CPU time ffmpeg / moviepy", f"{fig['ffmpeg_cpu_s']:.1f} / {fig['moviepy_cpu_s']:.1f}", "s"),
                ("  cpu_ratio_vs_moviepy", fig["cpu_ratio_vs_moviepy"], "x"),
                ("encode floor (decode + x264 only)", fig["encode_floor_s"], "s"),
                ("  max_speedup_at_floor", fig["max_speedup_at_floor"], "x"),
                (f"target: speedup ≥ {TARGET_SPEEDUP:g}x", fig["pass_speedup_ge_3x"], ""),
            ],
        ),
    ]
    width = max(len(r[0]) for _, rows in sections for r in rows) + 2
    rule = "-" * (width + 30)
    for title, rows in sections:
        print(f"\n{title}\n{rule}")
        for label, value, unit in rows:
            print(f"  {label:<{width}} {_fmt(value)}{' ' + unit if unit and value is not None else ''}")
    print(f"\nBaseline fairness (tools.probe.probe on both outputs)\n{rule}")
    for c in checks:
        print(f"  {'ok  ' if c.ok else 'DIFF'} {c.name:<14} {c.detail}")
    print(f"  => the baseline {'is' if fig['baseline_fair'] else 'is NOT'} like for like")
    for note in BASELINE_NOTES:
        print(f"  * {note}")
    if "dissolve" in fig["transitions"].split(","):
        print(
            "  * Transitions here: " + fig["transitions"] + ". xfade's 'dissolve' is a per-pixel random"
            " dissolve: noise that costs x264 bits and time on our side only (moviepy crossfades)."
        )
    if not fig["quiet_machine"]:
        print(
            f"  ! load average above {fig['cpu_count']} cores: other work shared the CPUs, so wall"
            " times are inflated; compare the CPU times, or rerun on a quiet machine (--repeat 3)."
        )
    print()


# ---------------------------------------------------------------------------------------------


def _load() -> float:
    return round(os.getloadavg()[0], 2)


def bench(sid: Path, work: Path, *, in_process: bool, warm: bool, repeat: int) -> tuple[dict[str, Any], list[Check]]:
    from bench.moviepy_composer import MoviepyComposer
    from tools.composer import FfmpegComposer
    from tools.models import RenderSettings, Timeline

    home = work / "home"
    if home.exists() and any(home.iterdir()):
        raise BenchError(f"{home} is not empty: the cold run needs a fresh RAGVID_HOME")
    home.mkdir(parents=True, exist_ok=True)
    mode = "in-process" if in_process else "subprocess"
    load_start = _load()

    _log(f"cold run ({mode}) of {sid} in fresh RAGVID_HOME={home}")
    cold = run_generate(sid, work / "cold.mp4", home, in_process=in_process)
    t = cold.record["timings"]
    _log(f"cold run: {cold.wall_s:.1f}s wall, record total_s {t['total_s']}")
    warm_run: RunFigures | None = None
    if warm:
        _log("warm re-run in the same RAGVID_HOME")
        warm_run = run_generate(sid, work / "warm.mp4", home, in_process=in_process)
        _log(f"warm run: {warm_run.wall_s:.1f}s wall")

    final = cold.record["final"]
    timeline = Timeline.model_validate(final["timeline"])
    settings = RenderSettings.model_validate(final["settings"])
    # alternated, so a burst of load elsewhere hits both; each side's best run is what is compared
    ffs: list[Output] = []
    mps: list[Output] = []
    for i in range(repeat):
        _log(f"[{i + 1}/{repeat}] FfmpegComposer on the cold run's final timeline")
        ffs.append(asyncio.run(_compose(FfmpegComposer(), timeline, settings, work / "compose-ffmpeg.mp4")))
        _log(f"[{i + 1}/{repeat}] FfmpegComposer: {ffs[-1].seconds:.1f}s; MoviepyComposer (slow)")
        mps.append(asyncio.run(_compose(MoviepyComposer(), timeline, settings, work / "compose-moviepy.mp4")))
        _log(f"[{i + 1}/{repeat}] MoviepyComposer: {mps[-1].seconds:.1f}s")
    ff, mp = min(ffs, key=lambda o: o.seconds), min(mps, key=lambda o: o.seconds)
    _log("encode floor: decode + x264 re-encode of our output, same settings")
    floor_wall, floor_cpu = encode_floor(work / "compose-ffmpeg.mp4", settings, work / "encode-floor.mp4")
    checks = fairness_checks(ff, mp, timeline, settings)
    load_end = _load()

    speedup = mp.seconds / ff.seconds if ff.seconds > 0 else float("inf")
    fig: dict[str, Any] = {
        "mode": mode,
        "cpu_count": os.cpu_count(),
        "sid": str(sid),
        "cold_wall_s": round(cold.wall_s, 3),
        "total_s": t["total_s"],
        "tools_s": t["tools_s"],
        "draft_render_s": t["draft_render_s"],
        "final_render_s": t["final_render_s"],
        "rounds": len(cold.record.get("rounds", [])),
        "policy": cold.record.get("inputs", {}).get("policy"),
        "warm_wall_s": round(warm_run.wall_s, 3) if warm_run else None,
        "warm_total_s": warm_run.record["timings"]["total_s"] if warm_run else None,
        "warm_final_render_s": warm_run.record["timings"]["final_render_s"] if warm_run else None,
        "width_px": settings.width,
        "height_px": settings.height,
        "fps": settings.fps,
        "duration_s": round(timeline.duration, 3),
        "x264_preset": settings.x264_preset,
        "crf": settings.crf,
        "threads": settings.threads,
        "ffmpeg_render_s": round(ff.seconds, 3),
        "moviepy_render_s": round(mp.seconds, 3),
        "ffmpeg_render_wall_s": round(ff.wall_s, 3),
        "moviepy_render_wall_s": round(mp.wall_s, 3),
        "speedup_vs_moviepy": round(speedup, 2),
        "speedup_wall_vs_moviepy": round(mp.wall_s / ff.wall_s, 2) if ff.wall_s > 0 else None,
        "repeat": repeat,
        "ffmpeg_render_all_s": [round(o.seconds, 3) for o in ffs],
        "moviepy_render_all_s": [round(o.seconds, 3) for o in mps],
        "ffmpeg_render_median_s": round(statistics.median(o.seconds for o in ffs), 3),
        "moviepy_render_median_s": round(statistics.median(o.seconds for o in mps), 3),
        "ffmpeg_cpu_s": round(ff.cpu_s, 3),
        "moviepy_cpu_s": round(mp.cpu_s, 3),
        "cpu_ratio_vs_moviepy": round(mp.cpu_s / ff.cpu_s, 2) if ff.cpu_s > 0 else None,
        "encode_floor_s": round(floor_wall, 3),
        "encode_floor_cpu_s": round(floor_cpu, 3),
        "max_speedup_at_floor": round(mp.seconds / floor_wall, 2) if floor_wall > 0 else None,
        "transitions": ",".join(s.transition_in for s in timeline.shots[1:]),
        "loadavg_1m_start": load_start,
        "loadavg_1m_end": load_end,
        "quiet_machine": max(load_start, load_end) <= (os.cpu_count() or 1),
        "ffmpeg_lufs": ff.lufs,
        "moviepy_lufs": mp.lufs,
        "ffmpeg_frames": ff.info["frames"],
        "moviepy_frames": mp.info["frames"],
        "ffmpeg_video_duration_s": ff.info["video_duration"],
        "moviepy_video_duration_s": mp.info["video_duration"],
        "ffmpeg_size_bytes": ff.info["size_bytes"],
        "moviepy_size_bytes": mp.info["size_bytes"],
        "baseline_fair": all(c.ok for c in checks),
        "target_total_s": TARGET_TOTAL_S,
        "target_speedup_x": TARGET_SPEEDUP,
        "pass_total_le_120s": cold.wall_s <= TARGET_TOTAL_S,
        "pass_speedup_ge_3x": speedup >= TARGET_SPEEDUP,
    }
    return fig, checks


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--json", action="store_true", help="print all figures as one JSON object, last line of stdout")
    p.add_argument("--sid", type=Path, default=DEFAULT_SID, help="SID file (default: examples/sids/coffee.json)")
    p.add_argument("--keep", type=Path, help="keep RAGVID_HOME, the MP4s and run records here (must be new/empty)")
    p.add_argument("--in-process", action="store_true", help="call ragvid.generate.generate instead of the CLI")
    p.add_argument("--no-warm", action="store_true", help="skip the warm-cache re-run")
    p.add_argument("--repeat", type=int, default=1, help="compose N times each, alternating; best is compared")
    args = p.parse_args(argv)
    sid = args.sid.resolve()
    if not sid.is_file():
        p.error(f"--sid: no such file: {sid}")
    if args.repeat < 1:
        p.error("--repeat: must be at least 1")
    try:
        with contextlib.ExitStack() as stack:
            if args.keep is not None:
                work = args.keep.resolve()
                work.mkdir(parents=True, exist_ok=True)
            else:
                work = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="ragvid-bench-")))
            fig, checks = bench(sid, work, in_process=args.in_process, warm=not args.no_warm, repeat=args.repeat)
            if args.keep is not None:
                (work / "bench.json").write_text(json.dumps(fig, indent=2) + "\n", encoding="utf-8")
    except Exception as e:  # BenchError, ToolError, a broken install: an error, not a missed target
        print(f"bench/render.py: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1
    print_table(fig, checks)
    if args.json:
        print(json.dumps(fig), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
