"""Nearline generation on Ray: `ragvid worker --ray local` starts a local Ray instance and runs each queued job
as a Ray task; the jobs end done once, in the same cache and job table a plain worker uses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rag_recsys.sidfile import parse_sid_file
from rag_recsys.tokenizers import default_tokenizer
from ragvid.nearline import Nearline, sid_key
from tests.conftest import EXAMPLES, ROOT
from tools.probe import probe

pytestmark = pytest.mark.slow


def test_jobs_complete_as_ray_tasks(tmp_path: Path) -> None:
    env = {**os.environ, "RAGVID_HOME": str(tmp_path / "home")}
    files = [EXAMPLES / "coffee.json", EXAMPLES / "sneakers.json"]
    added = subprocess.run([sys.executable, "-m", "ragvid.cli", "jobs", "add", *map(str, files)], capture_output=True,
                           text=True, env=env, cwd=ROOT, timeout=300, check=False)  # fmt: skip
    assert added.returncode == 0, added.stderr
    worker = ["worker", "--ray", "local", "--once", "--profile", "fast", "-q"]
    ran = subprocess.run([sys.executable, "-m", "ragvid.cli", *worker], capture_output=True, text=True, env=env,
                         cwd=ROOT, timeout=900, check=False)  # fmt: skip
    assert ran.returncode == 0, ran.stderr[-3000:]
    assert "Started a local Ray instance" in ran.stderr and "2 jobs done" in ran.stderr
    nearline = Nearline(tmp_path / "home", default_tokenizer())
    assert nearline.queue.counts() == {"pending": 0, "running": 0, "done": 2, "dead": 0}
    for file in files:
        answer = nearline.cache.answer(sid_key(parse_sid_file(file)))
        assert answer.hit == "exact" and answer.video is not None
        job = nearline.queue.get(answer.video.video_id)  # a job's video is filed under the job's id
        assert job is not None and job.state == "done" and job.attempts == 1
        mp4 = nearline.cache.path(answer.video.video_id)
        assert mp4 is not None and probe(mp4).duration == pytest.approx(12.0, abs=0.1)
