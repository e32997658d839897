"""The HTTP API of RaG online (FastAPI; OpenAPI at ``/docs``): recommend D-SIDs, answer a video request from the
SID-indexed cache at once and queue what is missing, report jobs, stream videos, log feedback, expose metrics.

- ``POST /recommend``: a user context → the top-K D-SIDs with what they mean, and the checkpoint that ranked
  them; 503 naming ``ragvid rec train`` when there is no model folder. A new ``best.pt`` in the folder is picked
  up by the next request (the folder is watched by modification time), no restart.
- ``POST /videos``: a SID (or a user, whose top D-SID is used) → the video to serve now with its hit level
  (`rag_recsys.video_cache`) and the job that makes what is missing; 202 with the job id when nothing is cached.
- ``GET /jobs/{id}``, ``GET /videos/{id}`` (MP4, HTTP range requests), ``GET /videos/{id}/record``.
- ``POST /feedback``: an impression, click, watch or conversion → the durable feedback log (SCRL's reward).
- ``GET /healthz``; ``GET /metrics`` (Prometheus: answer latency per hit level, queue depth per state, job
  run times, feedback events, rejected requests).

Every error is a 4xx (5xx only for a fault of ours, without a traceback) whose ``detail`` is one line naming the
field. Request bodies are capped (`MAX_BODY_BYTES`). With an API key configured, every route but ``/healthz``
needs it (``X-API-Key``, ``Authorization: Bearer``, or for the gallery's pages ``?key=`` once, then a cookie).
Text from requests is data: ids are checked against one pattern before they touch a path, and a SID sent over
HTTP may not name image files on the server's disk. The gallery's pages are `ragvid.gallery`.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any, Literal

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import HistogramMetricFamily
from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.exceptions import HTTPException

from rag_recsys.feedback import FeedbackEvent, FeedbackLog
from rag_recsys.job_queue import Job, JobQueue
from rag_recsys.media_store import check_id, check_video_id
from rag_recsys.recommender import Recommender, ScoredDSID, UserContext
from rag_recsys.sidfile import SidFile, check_codes
from rag_recsys.video_cache import HIT_LEVELS, CacheAnswer, HitLevel
from ragvid.gallery import KEY_COOKIE, is_page, mount_gallery
from ragvid.nearline import Nearline, servable_sid, sid_key
from tools.errors import InputError, field_name, one_line

log = logging.getLogger("ragvid.api")

MAX_BODY_BYTES = 1_000_000
"""Largest request body accepted (a user context with a long history is ~100 kB); larger is 413."""

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class VideoRequest(BaseModel):
    """``POST /videos``: a SID to serve a video of, or a user whose top recommendation is served."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    sid: SidFile | None = Field(default=None, description="a SID file's JSON (meta.images not allowed over HTTP)")
    user: UserContext | None = Field(default=None, description="a user context (`ragvid schema user-file`)")
    aspect: Literal["9:16", "16:9", "1:1"] = "9:16"
    duration: float | None = Field(default=None, ge=6, le=60, description="target seconds; default: sized to copy")

    @model_validator(mode="after")
    def _one_source(self) -> VideoRequest:
        if (self.sid is None) == (self.user is None):
            raise ValueError("give exactly one of sid and user")
        if self.sid is not None and self.sid.meta is not None and self.sid.meta.images:
            raise InputError(
                "sid.meta.images",
                "image paths cannot be sent over HTTP (they would read the server's "
                "files); queue SIDs with images by `ragvid jobs add`",
            )
        return self


class VideoAnswer(BaseModel):
    """What `POST /videos` serves now."""

    hit: HitLevel = Field(description="exact, creative_miss, content_miss or empty")
    video_id: str | None = None
    video_url: str | None = None
    record_url: str | None = None
    accepted: bool | None = Field(default=None, description="the Critic accepted the served video")
    content: list[int] | None = Field(default=None, description="the served video's content path")
    creative: list[int] | None = Field(default=None, description="the served video's creative path")
    aspect: str | None = Field(default=None, description="the served video's aspect ratio")
    content_cosine: float | None = None
    job_id: str | None = Field(default=None, description="the job making the requested pair, when one was queued")
    job_state: str | None = None
    merged: bool | None = Field(default=None, description="the request joined a job already queued")
    requested: dict[str, Any] = Field(description="the requested tokenizer, content and creative paths")


class RecommendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    user: UserContext
    k: int = Field(default=10, ge=1, le=100)


class JobDurations:
    """Prometheus collector: a histogram of the run seconds (``run_s``, the run record's total) of the newest
    `RECENT` done jobs, read from the job table at each scrape — the workers that run them are other processes."""

    RECENT = 1000
    BUCKETS = (5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)

    def __init__(self, queue: JobQueue) -> None:
        self.queue = queue

    def collect(self) -> Iterator[HistogramMetricFamily]:
        runs = [float(j.result["run_s"]) for j in self.queue.jobs("done", self.RECENT)
                if j.result and j.result.get("run_s") is not None]  # fmt: skip
        buckets = [(f"{b:g}", sum(r <= b for r in runs)) for b in self.BUCKETS] + [("+Inf", len(runs))]
        yield HistogramMetricFamily("ragvid_job_run_seconds", f"run time of the newest {self.RECENT} done jobs",
                                    buckets=buckets, sum_value=sum(runs))  # fmt: skip


class WatchedRecommender:
    """The recommender of a model folder, reloaded when its ``best.pt`` changes (a new checkpoint is picked up
    without a restart); ``checkpoint`` names the one loaded: folder, modification time, SHA-256 prefix."""

    def __init__(self, folder: Path | None, kind: str = "grm") -> None:
        self.folder, self.kind = folder, kind
        self._lock = threading.Lock()
        self._loaded: tuple[int, Recommender, dict[str, Any]] | None = None

    def get(self) -> tuple[Recommender, dict[str, Any]]:
        """The current recommender and its checkpoint; `HTTPException` 503 when the folder has no model."""
        from rag_recsys.grm.serving import load_recommender
        from rag_recsys.grm.trainer import BEST

        best = self.folder / BEST if self.folder is not None else None
        if best is None or not best.is_file():
            raise HTTPException(503, f"no trained model{f' in {self.folder}' if self.folder else ''}: train one "
                                     "with `ragvid rec train` and start `ragvid serve --model DIR`")  # fmt: skip
        stamp = best.stat().st_mtime_ns
        with self._lock:
            if self._loaded is None or self._loaded[0] != stamp:
                digest = hashlib.sha256(best.read_bytes()).hexdigest()[:12]
                recommender = load_recommender(best.parent, self.kind)
                checkpoint = {"folder": str(best.parent), "sha256": digest, "modified": stamp / 1e9}
                self._loaded = (stamp, recommender, checkpoint)
                log.info("loaded model %s (%s)", best.parent, digest)
            return self._loaded[1], self._loaded[2]

    def recommend(self, user: UserContext, k: int) -> tuple[list[ScoredDSID], dict[str, Any]]:
        """The current model's top `k` for `user` and its checkpoint: `HTTPException` 503 without a model, 409 for
        a model trained on another tokenizer version, 404 when it has nothing for the user; `InputError` naming a
        history entry it cannot use."""
        chosen, checkpoint = self.get()
        try:
            ranked = chosen.recommend(user, k)
        except ValueError as exc:
            if isinstance(exc, InputError):
                raise
            raise HTTPException(409, f"model: {one_line(str(exc))}") from None
        if not ranked:
            raise HTTPException(404, "user: the recommender has nothing for this user")
        return ranked, checkpoint


class ApiKey:
    """ASGI middleware: every path but ``/healthz`` needs `key` — in ``X-API-Key``, ``Authorization: Bearer``, or
    the gallery's cookie; a gallery page (`ragvid.gallery.PAGES`) also takes it once as ``?key=`` and then sets
    the cookie (HTTP-only, same-site). Checked before anything else, so a request without the key learns nothing
    (not even whether its body would validate); the OpenAPI schema and ``/docs`` are guarded too."""

    OPEN = frozenset({"/healthz"})

    def __init__(self, app: ASGIApp, key: str) -> None:
        self.app, self.key = app, key.encode()

    def _matches(self, given: str | None) -> bool:
        return bool(given) and secrets.compare_digest(str(given).encode(), self.key)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.OPEN:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        given = [request.headers.get("x-api-key"), token if scheme.lower() == "bearer" else None,
                 request.cookies.get(KEY_COOKIE)]  # fmt: skip
        query = request.query_params.get("key") if is_page(scope["path"]) else None
        if any(self._matches(g) for g in given) or self._matches(query):
            set_cookie = self._matches(query) and not self._matches(request.cookies.get(KEY_COOKIE))
            await self.app(scope, receive, _with_cookie(send, query) if set_cookie and query else send)
            return
        detail = "X-API-Key: wrong key" if any([*given, query]) else "X-API-Key: missing (this server needs an API key)"
        await JSONResponse({"detail": detail}, status_code=401)(scope, receive, send)


def _with_cookie(send: Send, key: str) -> Send:
    cookie = f"{KEY_COOKIE}={key}; HttpOnly; Path=/; SameSite=strict".encode()

    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [*message.get("headers", []), (b"set-cookie", cookie)]}
        await send(message)

    return sending


class BodyLimit:
    """ASGI middleware: a body over `limit` bytes is 413 — by its Content-Length before it is read, and by
    counting as it arrives when it is chunked (an `HTTPException` from the read, which the app's handler
    answers)."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    def _too_large(self) -> HTTPException:
        return HTTPException(413, f"body: larger than {self.limit} bytes")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await JSONResponse({"detail": self._too_large().detail}, status_code=413)(scope, receive, send)
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:
                raise self._too_large()
            return message

        await self.app(scope, counted, send)


def _validation_detail(exc: RequestValidationError) -> str:
    err = exc.errors()[0]
    loc = [p for p in err.get("loc", ()) if p != "body"]
    message = str(err.get("msg", "invalid")).removeprefix("Value error, ")
    if err.get("type") == "json_invalid":
        return f"body: malformed JSON ({one_line(message)})"
    ctx_error = (err.get("ctx") or {}).get("error")
    if isinstance(ctx_error, InputError):
        return f"{ctx_error.field}: {ctx_error.message}"
    return f"{field_name(loc) if loc else 'body'}: {one_line(message)}"


def create_app(nearline: Nearline, *, model: Path | None = None, kind: str = "grm", api_key: str | None = None,
               max_body_bytes: int = MAX_BODY_BYTES) -> FastAPI:  # fmt: skip
    """The API over `nearline`'s queue and cache, recommending with the model folder `model` (watched), guarded
    by `api_key` when given."""
    tokenizer = nearline.tokenizer
    feedback = FeedbackLog(nearline.root / "feedback.sqlite")
    recommender = WatchedRecommender(model, kind)
    registry = CollectorRegistry()
    latency = Histogram("ragvid_answer_seconds", "POST /videos and /recommend answer time by hit level", ["hit"],
                        registry=registry, buckets=(0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1, 5))  # fmt: skip
    rejected = Counter("ragvid_rejected_requests", "requests answered 4xx, by status", ["status"], registry=registry)
    events = Counter("ragvid_feedback_events", "feedback events logged, by event", ["event"], registry=registry)
    queue_depth = Gauge("ragvid_jobs", "generation jobs by state", ["state"], registry=registry)
    cached = Gauge("ragvid_cached_bytes", "bytes of cached media", registry=registry)
    registry.register(JobDurations(nearline.queue))

    app = FastAPI(title="ragvid", summary="Recommendation as Generation, online: D-SIDs to ad videos",
                  version="1")  # fmt: skip
    app.add_middleware(BodyLimit, limit=max_body_bytes)
    if api_key is not None:  # added last, so it runs first: no body is read or validated without the key
        app.add_middleware(ApiKey, key=api_key)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        rejected.labels("422").inc()
        return JSONResponse({"detail": _validation_detail(exc)}, status_code=422)

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> JSONResponse:
        rejected.labels("422").inc()
        return JSONResponse({"detail": f"{exc.field}: {exc.message}"}, status_code=422)

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> JSONResponse:
        rejected.labels(str(exc.status_code)).inc()
        return JSONResponse({"detail": one_line(str(exc.detail))}, status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def _fault(request: Request, exc: Exception) -> JSONResponse:
        log.exception("%s %s failed", request.method, request.url.path)
        return JSONResponse({"detail": f"internal error ({type(exc).__name__}); see the server log"}, status_code=500)

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        """Liveness: the tokenizer version served and the queue's counts."""
        return {"status": "ok", "tokenizer": tokenizer.version, "jobs": nearline.queue.counts()}

    def answer_of(sid: SidFile, aspect: str, duration: float | None) -> tuple[VideoAnswer, int]:
        check_codes(sid, tokenizer)
        t0 = time.perf_counter()
        cache_answer: CacheAnswer = nearline.cache.answer(sid_key(sid), aspect)
        job: Job | None = None
        merged = None
        if cache_answer.generate is not None:
            job, merged = nearline.enqueue(sid, nearline.home, aspect, duration)
        latency.labels(cache_answer.hit).observe(time.perf_counter() - t0)
        video = cache_answer.video
        body = VideoAnswer(
            hit=cache_answer.hit, content_cosine=cache_answer.content_cosine,
            requested={"tokenizer": sid.tokenizer, "content": sid.content, "creative": sid.creative},
            job_id=job.job_id if job else None, job_state=job.state if job else None, merged=merged,
            **({"video_id": video.video_id, "video_url": f"/videos/{video.video_id}", "aspect": video.aspect,
                "record_url": f"/videos/{video.video_id}/record", "accepted": video.accepted,
                "content": list(video.key.content), "creative": list(video.key.creative)} if video else {}),
        )  # fmt: skip
        return body, 200 if video is not None else 202

    accepted_later: dict[int | str, dict[str, Any]] = {
        202: {"model": VideoAnswer, "description": "nothing cached yet: the job making it"}
    }

    @app.post("/videos", response_model=VideoAnswer, responses=accepted_later)
    def videos(request: VideoRequest) -> JSONResponse:
        """The video to serve now for a SID (or a user's top D-SID), its hit level, and the job making what is
        missing."""
        sid = request.sid
        if sid is None:
            assert request.user is not None  # the request's validator holds one of the two
            top, _ = recommender.recommend(request.user, 1)
            sid = servable_sid(top[0], tokenizer)
        body, status = answer_of(sid, request.aspect, request.duration)
        return JSONResponse(body.model_dump(mode="json"), status_code=status)

    @app.post("/recommend")
    def recommend(request: RecommendRequest) -> dict[str, Any]:
        """The top-K D-SIDs for a user with what their codes mean, and the checkpoint that ranked them."""
        t0 = time.perf_counter()
        ranked, checkpoint = recommender.recommend(request.user, request.k)
        latency.labels("recommend").observe(time.perf_counter() - t0)
        rows = []
        for rec in ranked:
            ours = rec.tokenizer == tokenizer.version
            rows.append({**rec.model_dump(mode="json"),
                         "content_meaning": tokenizer.decode_content(rec.content).entities[:3] if ours else None,
                         "creative_meaning": (lambda s: f"{s.look}, {s.rhythm}")(tokenizer.decode_creative(
                             rec.creative)) if ours else None})  # fmt: skip
        return {"checkpoint": checkpoint, "recommendations": rows}

    # ids are matched as whole paths, so an id with a slash or "..%2F" reaches the check that names the field
    @app.get("/jobs/{job_id:path}")
    def job(job_id: str) -> dict[str, Any]:
        """A generation job: its state, requests, attempts, last error and result."""
        found = nearline.queue.get(check_id(job_id, "job_id"))
        if found is None:
            raise HTTPException(404, f"job_id: no job {job_id}")
        body = found.model_dump(mode="json")
        meta = body["payload"].get("sid", {}).get("meta") or {}
        if meta.get("images"):  # where the server keeps a SID's images is none of a client's business
            meta["images"] = [Path(str(image)).name for image in meta["images"]]
        return body

    def media(video_id: str, suffix: str) -> Path:
        check_video_id(video_id)
        path = nearline.cache.path(video_id, suffix)
        if path is None:
            raise HTTPException(404, f"video_id: no cached video {video_id}")
        return path

    @app.get("/videos/{video_id}/record")
    def record(video_id: str) -> FileResponse:
        """The video's run record (`ragvid schema run-record`)."""
        return FileResponse(media(video_id, ".run.json"), media_type="application/json")

    @app.get("/videos/{video_id:path}", response_class=FileResponse)
    def video(video_id: str) -> FileResponse:
        """The MP4 (H.264/AAC); HTTP range requests are served, so players can seek."""
        return FileResponse(media(video_id, ".mp4"), media_type="video/mp4")

    @app.post("/feedback", status_code=201)
    def post_feedback(event: FeedbackEvent) -> dict[str, int]:
        """Log one user action on a served video, durably, before answering."""
        if nearline.cache.index.get(event.video_id) is None and nearline.queue.get(event.video_id) is None:
            raise HTTPException(404, f"video_id: no video {event.video_id} was served here")
        event_id = feedback.append(event)
        events.labels(event.event).inc()
        return {"event_id": event_id}

    @app.get("/metrics")
    def metrics() -> Response:
        """Prometheus text format."""
        for state, n in nearline.queue.counts().items():
            queue_depth.labels(state).set(n)
        cached.set(nearline.cache.index.total_bytes())
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    mount_gallery(app, nearline, recommender, answer_of)
    for level in (*HIT_LEVELS, "recommend"):  # every series exists from the start, at zero
        latency.labels(level)
    return app


__all__ = ["MAX_BODY_BYTES", "RecommendRequest", "VideoAnswer", "VideoRequest", "WatchedRecommender", "create_app"]
