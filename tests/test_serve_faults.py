"""Fault test of RaG online: `ragvid serve --workers 0` and a separate `ragvid worker`; five jobs queued over HTTP;
the worker SIGKILLed mid-render and the API SIGKILLed once; both restarted. Every job ends done exactly once —
one MP4 and one record per job in the media folder, the job table, the cache index and the run records agreeing
— the killed job resumes with its finished tool work, and no acknowledged feedback event is lost."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag_recsys.feedback import FeedbackLog
from rag_recsys.tokenizers import default_tokenizer
from ragvid.nearline import Nearline
from tests.conftest import EXAMPLES, ROOT, audio_takes, free_port, kill_during_first_draft, start_serve

pytestmark = pytest.mark.slow


def _sids() -> list[dict[str, Any]]:
    """Five SIDs: the three examples and two other creative paths of the coffee, without image paths (which
    HTTP refuses)."""
    lexicon = default_tokenizer().lexicon
    sids = []
    for name in ("coffee", "sneakers", "skincare"):
        sid = json.loads((EXAMPLES / f"{name}.json").read_text())
        sid["meta"].pop("images", None)
        sids.append(sid)
    others = [p for p in lexicon.creative_paths() if p != sids[0]["creative"]][:2]
    sids += [{**sids[0], "creative": path} for path in others]
    return sids


def test_every_job_ends_done_once_through_worker_and_api_kills(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "RAGVID_HOME": str(home), "RAGVID_PROFILE": "fast"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    api = start_serve(port, env, "--workers", "0", "--no-examples")
    jobs = []
    for sid in _sids():
        res = httpx.post(f"{base}/videos", json={"sid": sid}, timeout=30)
        assert res.status_code == 202, res.text
        jobs.append(res.json()["job_id"])
    assert len(set(jobs)) == 5
    acknowledged = []
    for i in range(10):
        res = httpx.post(f"{base}/feedback", json={"user_id": f"u{i}", "video_id": jobs[i % 5], "event": "impression"})
        assert res.status_code == 201
        acknowledged.append(res.json()["event_id"])

    # the worker dies mid-render of its first job; then the API process dies
    killed_job = kill_during_first_draft(["worker", "--lease", "5"], env, r"job ([0-9a-f]{32}) ")
    killed_at = time.monotonic()
    takes = audio_takes(home)  # the killed job's voice lines and music, made before it died
    assert takes
    api.send_signal(signal.SIGKILL)
    api.wait(timeout=30)
    api = start_serve(port, env, "--workers", "0", "--no-examples")
    try:
        for i in range(10, 20):
            res = httpx.post(f"{base}/feedback", json={"user_id": f"u{i}", "video_id": jobs[i % 5], "event": "click"})
            assert res.status_code == 201
            acknowledged.append(res.json()["event_id"])
        time.sleep(max(0.0, killed_at + 6 - time.monotonic()))  # the killed worker's lease runs out
        again = ["worker", "--once", "--lease", "5", "-q"]
        worker = subprocess.run([sys.executable, "-m", "ragvid.cli", *again], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=900, check=False)  # fmt: skip
        assert worker.returncode == 0, worker.stderr[-3000:]
        assert "5 jobs done" in worker.stderr
        for job_id, sid in zip(jobs, _sids(), strict=True):
            job = httpx.get(f"{base}/jobs/{job_id}", timeout=10).json()
            assert job["state"] == "done" and job["result"]["video_id"] == job_id
            assert job["attempts"] == (2 if job_id == killed_job else 1)
            served = httpx.post(f"{base}/videos", json={"sid": sid}, timeout=30).json()
            assert served["hit"] == "exact" and served["video_id"] == job_id and served["job_id"] is None
    finally:
        api.terminate()
        api.wait(timeout=30)

    nearline = Nearline(home, default_tokenizer())
    assert nearline.queue.counts() == {"pending": 0, "running": 0, "done": 5, "dead": 0}
    assert sorted(v.video_id for v in nearline.cache.index.videos(100)) == sorted(jobs)
    files = sorted(p.name for p in (home / "serve" / "media").rglob("*") if p.is_file())
    assert files == sorted([f"{j}.mp4" for j in jobs] + [f"{j}.run.json" for j in jobs])  # no temporary files
    for job_id in jobs:
        record_path = nearline.cache.path(job_id, ".run.json")
        assert record_path is not None
        record = json.loads(record_path.read_text())
        assert record["run_id"] == job_id
        assert nearline.cache.index.get(job_id).accepted == record["accepted"]  # type: ignore[union-attr]
        if job_id == killed_job:
            # its voice lines were made before the kill and not again: the job resumed from its checkpoint
            speech = [c for c in record["tool_calls"] if c["tool"] == "speech"]
            assert speech and len({(c["round"], c["what"]) for c in speech}) == len(speech)
    after = audio_takes(home)
    assert {name: after.get(name) for name in takes} == takes  # reused from the tool cache, none made again
    logged = [e.event_id for e in FeedbackLog(home / "serve" / "feedback.sqlite").events()]
    assert logged == acknowledged == list(range(1, 21))
