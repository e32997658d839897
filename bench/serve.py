#!/usr/bin/env python3
"""Serving benchmark: answer latency of `ragvid serve` per hit level, from a client on the same machine.

One run:

1. a fresh home; the cache filled with ``--videos`` entries over distinct content paths of the shipped tokenizer
   (each a 1 s test MP4 filed through `VideoCache.add`: this measures answering, not rendering, so the media are
   stand-ins of the right kind);
2. a tiny GRM for ``POST /recommend`` (``ragvid rec train`` on Scientific cut to 300 items, tiny preset,
   6 epochs, as the tests' model; cached in ``--work``), unless ``--model DIR`` is given;
3. ``ragvid serve --workers 0`` (workers paused) on 127.0.0.1; a shuffled, bounded mix of ``--requests``
   requests sent by ``--concurrency`` client threads (httpx): exact hits, creative misses and content misses
   (``POST /videos``; misses also queue jobs, merged after the first), and ``POST /recommend``; the same-run
   baseline is ``GET /healthz`` in the same mix;
4. the same mix again with one ``ragvid worker`` (fast profile) generating the queued jobs beside the server.

Prints p50/p99 per request kind, throughput and failures per row; the goal is p99 < 20 ms for every cache
answer with workers paused. ``--json``: the last stdout line is one JSON object (``p99_ms_*``, ``p50_ms_*``,
``requests_per_s``, ``requests_failed``; the second row's keys end in ``_with_worker``).

    python bench/serve.py [--json] [--requests 2000] [--concurrency 4] [--videos 200] [--model DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import numpy as np  # noqa: E402

from rag_recsys.tokenizers import default_tokenizer  # noqa: E402
from rag_recsys.video_cache import SidKey  # noqa: E402
from ragvid.nearline import Nearline  # noqa: E402
from tests.conftest import free_port, start_serve, write_sci300  # noqa: E402
from tools.ffmpeg import shipped  # noqa: E402

KINDS = ("exact_hit", "creative_miss", "content_miss", "recommend", "healthz")
GOAL_P99_MS = 20.0


def _log(msg: str) -> None:
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def tiny_model(work: Path) -> Path:
    """A tiny GRM trained on Scientific's 300 most-seen items (`write_sci300`, as the tests' ``rec_model``), cached
    in `work`."""
    model = work / "model"
    if (model / "best.pt").is_file():
        return model
    data = write_sci300(work / "sci300")
    _log("training the tiny GRM for /recommend (~1 min)")
    subprocess.run([sys.executable, "-m", "ragvid.cli", "rec", "train", str(data), "--out", str(model), "--preset",
                    "tiny", "--epochs", "6", "--eval-every", "3", "-q"], check=True, cwd=ROOT)  # fmt: skip
    return model


def fill_cache(home: Path, videos: int, work: Path) -> tuple[list[SidKey], list[list[int]], str]:
    """File `videos` stand-in videos over distinct content paths; returns their keys, content paths left
    uncached, and the tokenizer version."""
    tokenizer = default_tokenizer()
    clip = work / "clip.mp4"
    if not clip.exists():
        shipped().run(["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=360x640:d=1", "-c:v", "libx264",
                       "-movflags", "+faststart", str(clip)], what="a stand-in MP4")  # fmt: skip
    contents = tokenizer.lexicon.content_paths()
    creatives = tokenizer.lexicon.creative_paths()
    rng = random.Random(0)
    rng.shuffle(contents)
    nearline = Nearline(home, tokenizer)
    keys = []
    for content in contents[:videos]:
        key = SidKey(tokenizer=tokenizer.version, content=tuple(content), creative=tuple(rng.choice(creatives)))
        nearline.cache.add(key, {".mp4": clip}, accepted=True)
        keys.append(key)
    return keys, contents[videos:], tokenizer.version


def request_mix(keys: list[SidKey], uncached: list[list[int]], creatives: list[list[int]], n: int,
                user: dict[str, Any], seed: int) -> list[tuple[str, str, str, Any]]:  # fmt: skip
    """(kind, method, path, body) × n: equal shares of the five kinds, shuffled."""
    rng = random.Random(seed)
    mix = []
    for i in range(n):
        kind = KINDS[i % len(KINDS)]
        key = rng.choice(keys)
        sid = {"tokenizer": key.tokenizer, "content": list(key.content), "creative": list(key.creative)}
        if kind == "exact_hit":
            mix.append((kind, "POST", "/videos", {"sid": sid}))
        elif kind == "creative_miss":
            other = rng.choice([c for c in creatives if tuple(c) != key.creative])
            mix.append((kind, "POST", "/videos", {"sid": {**sid, "creative": other}}))
        elif kind == "content_miss":
            mix.append((kind, "POST", "/videos", {"sid": {**sid, "content": rng.choice(uncached)}}))
        elif kind == "recommend":
            mix.append((kind, "POST", "/recommend", {"user": user, "k": 10}))
        else:
            mix.append((kind, "GET", "/healthz", None))
    rng.shuffle(mix)
    return mix


def measure(base: str, mix: list[tuple[str, str, str, Any]], concurrency: int, strict: bool) -> dict[str, Any]:
    """Send `mix` with `concurrency` client threads; latency per kind (ms), throughput, failures: a status other
    than 200/202, or (`strict`: nothing is generated meanwhile) a hit level other than the kind's."""
    expected = {"exact_hit": "exact", "creative_miss": "creative_miss", "content_miss": "content_miss"}
    times: dict[str, list[float]] = defaultdict(list)
    failed: Counter[str] = Counter()
    clients = [httpx.Client(base_url=base, timeout=30) for _ in range(concurrency)]

    def send(i: int) -> None:
        kind, method, path, body = mix[i]
        client = clients[i % concurrency]
        t0 = time.perf_counter()
        res = client.request(method, path, json=body)
        elapsed = (time.perf_counter() - t0) * 1000
        hit_ok = not strict or kind not in expected or res.json()["hit"] == expected[kind]
        ok = res.status_code in (200, 202) and hit_ok
        times[kind].append(elapsed)
        if not ok:
            failed[kind] += 1

    for i in range(min(20, len(mix))):  # warm-up: connections, the tokenizer's lazy parts, the model
        send(i)
    times.clear()
    failed.clear()
    t0 = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, range(len(mix))))
    wall = time.perf_counter() - t0
    for c in clients:
        c.close()
    out: dict[str, Any] = {"requests": len(mix), "requests_per_s": round(len(mix) / wall, 1),
                           "requests_failed": sum(failed.values())}  # fmt: skip
    for kind in KINDS:
        values = np.asarray(times[kind])
        out[f"p50_ms_{kind}"] = round(float(np.percentile(values, 50)), 2)
        out[f"p99_ms_{kind}"] = round(float(np.percentile(values, 99)), 2)
        out[f"failed_{kind}"] = failed[kind]
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print one JSON object of all figures last")
    parser.add_argument("--requests", type=int, default=2000, help="requests per row (bounded: at most 5000)")
    parser.add_argument("--concurrency", type=int, default=4, help="client threads")
    parser.add_argument("--videos", type=int, default=200, help="videos filed in the cache before the mix")
    parser.add_argument("--model", type=Path, help="model folder for /recommend (default: train a tiny one)")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / ".serve", help="model and clip cache")
    args = parser.parse_args()
    if not 1 <= args.requests <= 5000:
        parser.error("--requests must be 1-5000")
    args.work.mkdir(parents=True, exist_ok=True)
    home = args.work / "home"
    shutil.rmtree(home, ignore_errors=True)
    started = time.perf_counter()
    try:
        model = args.model or tiny_model(args.work)
        keys, uncached, _ = fill_cache(home, args.videos, args.work)
        creatives = default_tokenizer().lexicon.creative_paths()
        user = json.loads((ROOT / "examples" / "users" / "lab_tech.json").read_text())
        env = {**os.environ, "RAGVID_HOME": str(home), "RAGVID_PROFILE": "fast"}
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = start_serve(port, env, "--workers", "0", "--no-examples", "--model", str(model))
        try:
            _log(f"row 1: {args.requests} requests, workers paused")
            paused = measure(base, request_mix(keys, uncached, creatives, args.requests, user, 1), args.concurrency,
                             strict=True)
            worker = subprocess.Popen([sys.executable, "-m", "ragvid.cli", "worker", "-q"], env=env, cwd=ROOT,
                                      stderr=subprocess.DEVNULL)  # fmt: skip
            try:
                time.sleep(5)  # the worker has loaded and is rendering
                _log(f"row 2: {args.requests} requests, one worker generating")
                busy = measure(base, request_mix(keys, uncached, creatives, args.requests, user, 2),
                               args.concurrency, strict=False)  # fmt: skip
                jobs_done = httpx.get(f"{base}/healthz").json()["jobs"]["done"]
            finally:
                worker.terminate()
                worker.wait(timeout=30)
        finally:
            server.terminate()
            server.wait(timeout=30)
    except Exception as exc:  # a broken run: say what, exit 1
        print(f"bench failed: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    figures: dict[str, Any] = {**paused, **{f"{k}_with_worker": v for k, v in busy.items()},
                               "jobs_done_during_row_2": jobs_done, "cached_videos": args.videos,
                               "concurrency": args.concurrency, "loadavg_1m_end": round(os.getloadavg()[0], 2),
                               "bench_wall_s": round(time.perf_counter() - started, 1)}  # fmt: skip
    cache_p99 = max(paused[f"p99_ms_{k}"] for k in ("exact_hit", "creative_miss", "content_miss"))
    figures["pass_cache_p99_lt_20ms"] = cache_p99 < GOAL_P99_MS
    print(f"{'request':<16}{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}  |{'p50 ms':>9}{'p99 ms':>9}{'failed':>8}")
    print(f"{'':<16}{'workers paused':>26}  |{'one worker generating':>26}")
    for kind in KINDS:
        print(f"{kind:<16}{paused[f'p50_ms_{kind}']:>9}{paused[f'p99_ms_{kind}']:>9}{paused[f'failed_{kind}']:>8}  |"
              f"{busy[f'p50_ms_{kind}']:>9}{busy[f'p99_ms_{kind}']:>9}{busy[f'failed_{kind}']:>8}")  # fmt: skip
    print(f"throughput: {paused['requests_per_s']} req/s paused, {busy['requests_per_s']} req/s with a worker "
          f"({jobs_done} jobs done meanwhile); failures {paused['requests_failed']} / {busy['requests_failed']}")
    ratio = cache_p99 / max(paused["p99_ms_healthz"], 1e-9)
    print(f"worst cache-answer p99 {cache_p99} ms = {ratio:.1f}× GET /healthz's p99 (baseline) — goal < "
          f"{GOAL_P99_MS:g} ms: {'met' if figures['pass_cache_p99_lt_20ms'] else 'NOT met'}")
    if args.json:
        print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
