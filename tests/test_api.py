"""The HTTP API (`ragvid.api`) through FastAPI's test client over a real SQLite queue, cache and feedback log: the
hit levels and the jobs they queue, range requests, feedback, metrics, the API key, a model checkpoint picked up
without a restart, and bad requests that each get a one-line 4xx naming the field. Then `ragvid serve` itself,
listening on a port."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient

from rag_recsys.feedback import FeedbackLog
from rag_recsys.sidfile import parse_sid_file
from rag_recsys.tokenizers import default_tokenizer
from ragvid.api import create_app
from ragvid.nearline import Nearline, sid_key
from tests.conftest import EXAMPLES, ROOT, free_port, start_serve
from tools.ffmpeg import shipped

COFFEE = json.loads((EXAMPLES / "coffee.json").read_text())
KEY = "s3cret-key"


def sid_body(**changes: Any) -> dict[str, Any]:
    sid = {k: v for k, v in COFFEE.items() if k != "meta"}
    return {"sid": {**sid, **changes}}


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("clip") / "clip.mp4"
    shipped().run(["-y", "-v", "error", "-f", "lavfi", "-i", "testsrc2=s=64x112:d=1", "-f", "lavfi", "-i",
                   "sine=d=1", "-c:v", "libx264", "-c:a", "aac", "-movflags", "+faststart", str(out)],
                  what="a test MP4")  # fmt: skip
    return out


@pytest.fixture
def nearline(tmp_path: Path) -> Nearline:
    return Nearline(tmp_path / "home", default_tokenizer())


@pytest.fixture
def client(nearline: Nearline) -> TestClient:
    return TestClient(create_app(nearline, model=nearline.home / "no-model"), raise_server_exceptions=False)


def cached_coffee(nearline: Nearline, clip: Path, accepted: bool = True) -> str:
    record = clip.with_suffix(".run.json")
    record.write_text(json.dumps({"accepted": accepted}))
    video = nearline.cache.add(sid_key(parse_sid_file(EXAMPLES / "coffee.json")), {".mp4": clip, ".run.json": record},
                               accepted)  # fmt: skip
    return video.video_id


def test_an_empty_cache_answers_202_with_the_job_making_the_video(client: TestClient, nearline: Nearline) -> None:
    res = client.post("/videos", json=sid_body())
    assert res.status_code == 202, res.text
    body = res.json()
    assert body["hit"] == "empty" and body["video_id"] is None and body["job_state"] == "pending"
    job = client.get(f"/jobs/{body['job_id']}")
    assert job.status_code == 200 and job.json()["payload"]["sid"]["content"] == COFFEE["content"]
    with_image = parse_sid_file(EXAMPLES / "coffee.json").model_copy(update={"creative": [0, 0]})
    queued, _ = nearline.enqueue(with_image, EXAMPLES)  # stored with the image's absolute path, for the worker
    assert str(EXAMPLES.parent / "images" / "coffee.png") in json.dumps(queued.payload)
    assert client.get(f"/jobs/{queued.job_id}").json()["payload"]["sid"]["meta"]["images"] == ["coffee.png"]
    again = client.post("/videos", json=sid_body()).json()
    assert again["job_id"] == body["job_id"] and again["merged"] is True
    assert client.get(f"/jobs/{body['job_id']}").json()["requests"] == 2


def test_the_three_hit_levels(client: TestClient, nearline: Nearline, clip: Path) -> None:
    video_id = cached_coffee(nearline, clip)
    exact = client.post("/videos", json=sid_body()).json()
    assert exact["hit"] == "exact" and exact["video_id"] == video_id and exact["job_id"] is None
    assert exact["accepted"] is True and exact["video_url"] == f"/videos/{video_id}"

    other_style = next(p for p in default_tokenizer().lexicon.creative_paths() if p != COFFEE["creative"])
    miss = client.post("/videos", json=sid_body(creative=other_style)).json()
    assert miss["hit"] == "creative_miss" and miss["video_id"] == video_id
    assert miss["job_id"] is not None and miss["requested"]["creative"] == other_style

    sneakers = json.loads((EXAMPLES / "sneakers.json").read_text())
    far = client.post("/videos", json=sid_body(content=sneakers["content"])).json()
    assert far["hit"] == "content_miss" and far["video_id"] == video_id and -1 <= far["content_cosine"] <= 1
    assert client.get("/healthz").json()["jobs"]["pending"] == 2


def test_videos_stream_with_range_requests_and_records(client: TestClient, nearline: Nearline, clip: Path) -> None:
    video_id = cached_coffee(nearline, clip)
    whole = client.get(f"/videos/{video_id}")
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content == clip.read_bytes()
    part = client.get(f"/videos/{video_id}", headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == clip.read_bytes()[100:200]
    assert part.headers["content-range"] == f"bytes 100-199/{clip.stat().st_size}"
    assert client.get(f"/videos/{video_id}/record").json() == {"accepted": True}


def test_feedback_is_logged_durably_and_counted(client: TestClient, nearline: Nearline, clip: Path) -> None:
    video_id = cached_coffee(nearline, clip)
    for event in ({"event": "impression"}, {"event": "watch", "watch_s": 7.5}, {"event": "conversion", "value": 12}):
        res = client.post("/feedback", json={"user_id": "u1", "video_id": video_id, **event})
        assert res.status_code == 201, res.text
    logged = list(FeedbackLog(nearline.home / "serve" / "feedback.sqlite").events())  # another connection
    assert [(e.event, e.watch_s) for e in logged] == [("impression", None), ("watch", 7.5), ("conversion", None)]
    assert [e.event_id for e in logged] == [1, 2, 3]
    client.post("/videos", json=sid_body())
    for run_s in (12.5, 45.0):  # two jobs a worker finished
        job, _ = nearline.queue.enqueue(f"k{run_s}", {})
        assert nearline.queue.claim("w", 60) is not None
        nearline.queue.complete(job.job_id, "w", {"video_id": job.job_id, "run_s": run_s})
    metrics = client.get("/metrics").text
    assert 'ragvid_job_run_seconds_bucket{le="20"} 1.0' in metrics and "ragvid_job_run_seconds_count 2.0" in metrics
    assert "ragvid_job_run_seconds_sum 57.5" in metrics
    assert 'ragvid_feedback_events_total{event="watch"} 1.0' in metrics
    assert 'ragvid_answer_seconds_count{hit="exact"} 1.0' in metrics
    assert 'ragvid_answer_seconds_count{hit="content_miss"} 0.0' in metrics
    assert 'ragvid_jobs{state="pending"} 0.0' in metrics and 'ragvid_jobs{state="done"} 2.0' in metrics


BAD_REQUESTS = [
    ("malformed JSON", "post", "/videos", b'{"sid": ', 422, "body: malformed JSON"),
    ("unknown code path", "post", "/videos", sid_body(content=[31, 31, 31]), 422, "content: unknown code path"),
    ("wrong depth", "post", "/videos", sid_body(creative=[3]), 422, "creative"),
    ("neither sid nor user", "post", "/videos", {"aspect": "9:16"}, 422, "give exactly one of sid and user"),
    ("bad aspect", "post", "/videos", {**sid_body(), "aspect": "4:3"}, 422, "aspect"),
    ("image paths", "post", "/videos", sid_body(meta={"images": ["/etc/passwd"]}), 422, "sid.meta.images"),
    ("unknown field", "post", "/videos", {**sid_body(), "out": "/tmp/x.mp4"}, 422, "out"),
    ("feedback NaN time", "post", "/feedback", b'{"user_id": "u", "video_id": "' + b"0" * 32 + b'", "event": "click", '
     b'"at": NaN}', 422, "at"),
    ("feedback time in ms", "post", "/feedback", {"user_id": "u", "video_id": "0" * 32, "event": "click",
                                                  "at": 1.7e12}, 422, "at"),
    ("feedback infinite value", "post", "/feedback", b'{"user_id": "u", "video_id": "' + b"0" * 32 + b'", '
     b'"event": "conversion", "value": Infinity}', 422, "value"),
    ("feedback unknown video", "post", "/feedback", {"user_id": "u", "video_id": "0" * 32, "event": "click"}, 404,
     "video_id: no video"),
    ("NaN duration", "post", "/videos", b'{"sid": ' + json.dumps(sid_body()["sid"]).encode() + b', "duration": NaN}',
     422, "duration"),
    ("bad feedback event", "post", "/feedback", {"user_id": "u", "video_id": "0" * 32, "event": "like"}, 422,
     "event"),
    ("feedback video id", "post", "/feedback", {"user_id": "u", "video_id": "../x", "event": "click"}, 422,
     "video_id"),
    ("unknown job", "get", "/jobs/" + "0" * 32, None, 404, "job_id: no job"),
    ("dot-dot job id", "get", "/jobs/..%2F..", None, 422, "job_id"),
    ("absolute video id", "get", "/videos/%2Fetc%2Fpasswd", None, 422, "video_id"),
    ("absolute run id", "get", "/runs/%2Fetc%2Fpasswd", None, 422, "video_id"),
    ("slashed job id", "get", "/jobs/a/b", None, 422, "job_id"),
    ("bad job id chars", "get", "/jobs/ABC", None, 422, "job_id"),
    ("dot-dot video id", "get", "/videos/%2E%2E", None, 422, "video_id"),
    ("dot-dot record", "get", "/runs/%2E%2E", None, 422, "video_id"),
    ("video id", "get", "/videos/not-a-video-id", None, 422, "video_id"),
    ("unknown video", "get", "/videos/" + "0" * 32, None, 404, "video_id: no cached video"),
    ("unknown record", "get", "/videos/" + "0" * 32 + "/record", None, 404, "video_id"),
    ("no model", "post", "/recommend", {"user": {"history": []}}, 503, "ragvid rec train"),
    ("bad k", "post", "/recommend", {"user": {}, "k": 0}, 422, "k"),
]


@pytest.mark.parametrize(("what", "method", "path", "body", "status", "says"), BAD_REQUESTS,
                         ids=[b[0] for b in BAD_REQUESTS])  # fmt: skip
def test_bad_requests_get_a_one_line_4xx_naming_the_field(
    client: TestClient, what: str, method: str, path: str, body: Any, status: int, says: str
) -> None:
    if isinstance(body, bytes):
        res = client.request(method, path, content=body, headers={"content-type": "application/json"})
    else:
        res = client.request(method, path, json=body)
    assert res.status_code == status, (what, res.text)
    detail = res.json()["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in res.text
    assert says in detail, detail


def test_an_oversize_body_is_413_before_it_is_read(client: TestClient) -> None:
    huge = {"user": {"history": [], "style": "x" * 400}, "pad": "y" * 1_100_000}
    res = client.post("/recommend", json=huge)
    assert res.status_code == 413 and res.json() == {"detail": "body: larger than 1000000 bytes"}

    def chunks() -> Any:  # no Content-Length: counted as it arrives
        for _ in range(20):
            yield b"x" * 100_000

    streamed = client.post("/recommend", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413


def test_the_api_key_guards_everything_but_healthz(nearline: Nearline, clip: Path) -> None:
    client = TestClient(create_app(nearline, api_key=KEY), raise_server_exceptions=False)
    video_id = cached_coffee(nearline, clip)
    assert client.get("/healthz").status_code == 200
    for path in (f"/videos/{video_id}", "/metrics", f"/jobs/{'0' * 32}"):
        missing = client.get(path)
        assert missing.status_code == 401 and missing.json()["detail"].startswith("X-API-Key: missing")
        wrong = client.get(path, headers={"X-API-Key": "nope"})
        assert wrong.status_code == 401 and wrong.json()["detail"] == "X-API-Key: wrong key"
    assert client.get(f"/videos/{video_id}", headers={"X-API-Key": KEY}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": f"bearer {KEY}"}).status_code == 200
    for path in ("/docs", "/openapi.json", "/redoc"):  # the API's description is guarded with it
        assert client.get(path).status_code == 401
    # the key is checked before the body: without it, a malformed body says nothing about itself
    assert client.post("/videos", content=b"{bad", headers={"content-type": "application/json"}).status_code == 401
    assert client.get("/metrics", params={"key": KEY}).status_code == 401  # ?key= is for the gallery's pages only
    page = client.get("/", params={"key": KEY})
    assert page.status_code == 200 and client.cookies.get("ragvid_key") == KEY  # the browser keeps it
    assert client.get(f"/videos/{video_id}").status_code == 200  # the <video> element's request, by cookie
    client.cookies.clear()
    wrong = client.get("/queue", params={"key": "WRONG"}, headers={"X-API-Key": KEY})
    assert wrong.status_code == 200 and "ragvid_key" not in wrong.headers.get("set-cookie", "")


@pytest.mark.slow
def test_recommend_names_its_checkpoint_and_picks_up_a_new_one(rec_model: Path, nearline: Nearline,
                                                               tmp_path: Path) -> None:  # fmt: skip
    model = tmp_path / "model"
    shutil.copytree(rec_model, model)
    client = TestClient(create_app(nearline, model=model), raise_server_exceptions=False)
    user = json.loads((EXAMPLES.parent / "users" / "lab_tech.json").read_text())
    first = client.post("/recommend", json={"user": user, "k": 5})
    assert first.status_code == 200, first.text
    body = first.json()
    assert len(body["recommendations"]) == 5 and body["checkpoint"]["folder"] == str(model)
    assert all(r["content_meaning"] for r in body["recommendations"])
    best = model / "best.pt"
    best.write_bytes(best.read_bytes() + b"")  # a new checkpoint file lands (same weights, new time)
    os.utime(best, ns=(time.time_ns(), time.time_ns() + 10**9))
    second = client.post("/recommend", json={"user": user, "k": 5}).json()
    assert second["checkpoint"]["modified"] != body["checkpoint"]["modified"]
    assert second["checkpoint"]["sha256"] == body["checkpoint"]["sha256"]
    video = client.post("/videos", json={"user": user})
    assert video.status_code == 202 and video.json()["requested"]["content"] == body["recommendations"][0]["content"]


@pytest.mark.slow
def test_ragvid_serve_listens_and_queues_the_examples(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "RAGVID_HOME": str(tmp_path / "home")}
    proc = start_serve(port, env, "--workers", "0")
    try:
        health = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5)
        assert health.json()["jobs"]["pending"] == len(list(EXAMPLES.glob("*.json")))
        docs = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
        assert {"/videos", "/recommend", "/feedback", "/metrics", "/jobs/{job_id}"} <= set(docs["paths"])
        busy = subprocess.run([sys.executable, "-m", "ragvid.cli", "serve", "--port", str(port)], env=env, cwd=ROOT,
                              capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
        assert busy.returncode == 2
        assert busy.stderr.strip().startswith(f"error: --port: cannot listen on 127.0.0.1:{port}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    again = start_serve(port, env, "--workers", "0")  # a restart asks for the examples no second time
    try:
        jobs = Nearline(tmp_path / "home", default_tokenizer()).queue.jobs()
        assert len(jobs) == len(list(EXAMPLES.glob("*.json"))) and all(j.requests == 1 for j in jobs)
    finally:
        again.terminate()
        again.wait(timeout=30)
