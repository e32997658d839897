"""Nearline generation end to end: `ragvid jobs add` queues SID files (identical requests merge), `ragvid worker`
renders them with the real agents and ffmpeg and files them in the SID-indexed cache; a worker SIGKILLed
mid-render leaves a job that the next worker resumes from its checkpoint; a job whose input went bad ends in
the dead letters with its error, and `ragvid jobs retry` revives it."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

from rag_recsys.sidfile import parse_sid_file
from rag_recsys.tokenizers import default_tokenizer
from ragvid.nearline import Nearline, sid_key, work
from ragvid.settings import Settings
from tests.conftest import EXAMPLES, ROOT, kill_during_first_draft
from tools.probe import probe

pytestmark = pytest.mark.slow


def ragvid(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ragvid.cli", *args], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=600, check=False)  # fmt: skip


def media_files(home: Path) -> list[Path]:
    return sorted(p for p in (home / "serve" / "media").rglob("*") if p.is_file())


def test_worker_renders_queued_jobs_into_the_cache(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "RAGVID_HOME": str(home)}
    added = ragvid(env, "jobs", "add", str(EXAMPLES / "coffee.json"), str(EXAMPLES / "coffee.json"),
                   str(EXAMPLES / "sneakers.json"))  # fmt: skip
    assert added.returncode == 0, added.stderr
    lines = added.stdout.split("\n")
    coffee_job = lines[0].split()[0]
    assert lines[1] == f"{coffee_job} pending (merged)" and lines[2].split()[0] != coffee_job

    ran = ragvid(env, "worker", "--once", "--profile", "fast", "-q")
    assert ran.returncode == 0, ran.stderr
    assert "2 jobs done" in ran.stderr

    nearline = Nearline(home, default_tokenizer())
    coffee = nearline.queue.get(coffee_job)
    assert coffee is not None and coffee.state == "done" and coffee.requests == 2 and coffee.attempts == 1
    assert coffee.result is not None and coffee.result["video_id"] == coffee_job and coffee.result["run_s"] > 1
    answer = nearline.cache.answer(sid_key(parse_sid_file(EXAMPLES / "coffee.json")))
    assert answer.hit == "exact" and answer.video is not None and answer.video.video_id == coffee_job
    mp4 = nearline.cache.path(coffee_job)
    record_path = nearline.cache.path(coffee_job, ".run.json")
    assert mp4 is not None and record_path is not None
    record = json.loads(record_path.read_text())
    assert answer.video.accepted == record["accepted"] and record["run_id"] == coffee_job
    info = probe(mp4)
    assert info.duration == pytest.approx(12.0, abs=0.1)
    assert info.video is not None and (info.video.width, info.video.height) == (360, 640)
    assert len(media_files(home)) == 4  # two MP4s and their records, no temporary files
    listed = ragvid(env, "jobs", "list")
    assert listed.returncode == 0 and coffee_job in listed.stdout and "0 pending, 0 running, 2 done" in listed.stdout
    again = ragvid(env, "jobs", "add", str(EXAMPLES / "coffee.json"))  # made already: nothing to queue
    assert again.returncode == 0 and f"cached as video {coffee_job}" in again.stdout
    assert nearline.queue.counts()["pending"] == 0


def test_a_job_whose_worker_was_killed_resumes_on_the_next_worker(tmp_path: Path) -> None:
    home = tmp_path / "home"  # a cold tool cache of its own: "synthesized once" below means by this job
    env = {**os.environ, "RAGVID_HOME": str(home)}
    added = ragvid(env, "jobs", "add", str(EXAMPLES / "coffee.json"))
    job_id = added.stdout.split()[0]
    killed_at = time.time()
    run_id = kill_during_first_draft(["worker", "--profile", "fast", "--lease", "5"], env, r"run ([0-9a-f]{32})\b")
    assert run_id == job_id
    nearline = Nearline(home, default_tokenizer())
    held = nearline.queue.get(job_id)
    assert held is not None and held.state == "running" and held.attempts == 1
    assert media_files(home) == []  # nothing reached the media folder

    time.sleep(max(0.0, killed_at + 6 - time.time()))  # the killed worker's lease runs out
    ran = ragvid(env, "worker", "--once", "--profile", "fast", "--lease", "5", "-q")
    assert ran.returncode == 0, ran.stderr
    done = nearline.queue.get(job_id)
    assert done is not None and done.state == "done" and done.attempts == 2
    record_path = nearline.cache.path(job_id, ".run.json")
    assert record_path is not None
    record = json.loads(record_path.read_text())
    # the voice lines were synthesized once, before the kill, and not again: the job resumed, not restarted
    speech = Counter((c["round"], c["what"]) for c in record["tool_calls"] if c["tool"] == "speech")
    assert speech and max(speech.values()) == 1
    assert record["run_id"] == job_id
    assert [p.name for p in media_files(home)] == [f"{job_id}.mp4", f"{job_id}.run.json"]


def test_a_job_with_bad_input_ends_in_the_dead_letters_at_once(tmp_path: Path) -> None:
    home = tmp_path / "home"
    image = tmp_path / "beans.png"
    shutil.copy(EXAMPLES.parent / "images" / "coffee.png", image)
    sid = parse_sid_file(EXAMPLES / "coffee.json")
    assert sid.meta is not None
    sid = sid.model_copy(update={"meta": sid.meta.model_copy(update={"images": [str(image)]})})
    nearline = Nearline(home, default_tokenizer())
    job, _ = nearline.enqueue(sid, tmp_path)
    image.unlink()  # gone before any worker runs it: bad input, which no retry mends
    settings = Settings.load(home=home, profile="fast")
    assert asyncio.run(work(nearline, settings, once=True)) == 0
    dead = nearline.queue.get(job.job_id)
    assert dead is not None and dead.state == "dead" and dead.attempts == 1 < dead.max_attempts
    assert "meta.images[0]" in str(dead.error) and "beans.png" in str(dead.error)
    env = {**os.environ, "RAGVID_HOME": str(home)}
    listed = ragvid(env, "jobs", "dead")
    assert listed.returncode == 0 and job.job_id in listed.stdout and "meta.images[0]" in listed.stdout
    retried = ragvid(env, "jobs", "retry", job.job_id)
    assert retried.returncode == 0 and retried.stdout.strip() == f"{job.job_id} pending"
    again = ragvid(env, "jobs", "retry", job.job_id)
    assert again.returncode == 2 and again.stderr.strip() == (
        f"error: job_id: job {job.job_id} is pending, only a dead job can be retried"
    )


def test_a_worker_stopped_by_sigterm_hands_its_job_back(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = {**os.environ, "RAGVID_HOME": str(home)}
    job_id = ragvid(env, "jobs", "add", str(EXAMPLES / "coffee.json")).stdout.split()[0]
    proc = subprocess.Popen([sys.executable, "-m", "ragvid.cli", "worker", "--profile", "fast"], stderr=subprocess.PIPE,
                            text=True, env=env, cwd=ROOT)  # fmt: skip
    assert proc.stderr is not None
    for line in proc.stderr:
        if "draft_render r0: draft" in line:
            proc.send_signal(signal.SIGTERM)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 0 and "the job it held is back in the queue" in rest
    job = Nearline(home, default_tokenizer()).queue.get(job_id)
    assert job is not None and job.state == "pending" and job.attempts == 0 and job.lease_owner is None
