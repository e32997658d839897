"""The web gallery `ragvid serve` shows beside its API: every cached video playable with its D-SIDs and what they
mean, a page per run (instructions, each agent's plan per reflection round, the Critic's findings with measured
values, tool timings, the accepted flag), the queue, and a "try a user" page that ranks a user's D-SIDs and
serves the top one with its hit level.

Pages are server-rendered from `ragvid/templates` by Jinja2 with autoescaping on for every template, so product
meta, run records and request text — all untrusted — reach the browser as text, never as markup. With an API key
configured the pages need it like the API does; a browser passes it once as ``?key=…`` and keeps it in an
HTTP-only, same-site cookie.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError
from starlette.exceptions import HTTPException

from rag_recsys.media_store import check_video_id
from rag_recsys.recommender import UserContext
from ragvid.nearline import servable_sid
from tools.errors import InputError, one_line

if TYPE_CHECKING:
    from rag_recsys.sidfile import SidFile
    from ragvid.api import VideoAnswer, WatchedRecommender
    from ragvid.nearline import Nearline

TEMPLATES = Path(__file__).resolve().parent / "templates"
KEY_COOKIE = "ragvid_key"
PAGES = frozenset({"/", "/queue", "/try"})
EXAMPLE_USER = Path(__file__).resolve().parents[1] / "examples" / "users" / "lab_tech.json"
GALLERY_SIZE = 60

templates = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(default=True))


def is_page(path: str) -> bool:
    """Whether `path` is one of the gallery's pages (which take the API key as ``?key=`` once)."""
    return path in PAGES or path.startswith("/runs/")


def _page(name: str, status: int = 200, **values: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**values), status_code=status)


def _record(nearline: Nearline, video_id: str) -> dict[str, Any] | None:
    path = nearline.cache.path(video_id, ".run.json")
    if path is None:
        return None
    try:
        record: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return record


def mount_gallery(app: FastAPI, nearline: Nearline, recommender: WatchedRecommender,
                  serve_sid: Callable[[SidFile, str, float | None], tuple[VideoAnswer, int]]) -> None:  # fmt: skip
    """Add the gallery's pages to `app`: ``/``, ``/runs/{video_id}``, ``/queue``, ``/try``. `serve_sid` answers a
    SID as ``POST /videos`` does. The API key, when set, is checked by `ragvid.api.ApiKey` before any page."""
    tokenizer = nearline.tokenizer

    def meanings(content: tuple[int, ...], creative: tuple[int, ...], version: str) -> tuple[str, str]:
        if version != tokenizer.version:
            return f"(codes of {version})", ""
        style = tokenizer.decode_creative(creative)
        return ", ".join(tokenizer.decode_content(content).entities[:3]), f"{style.look} × {style.rhythm}"

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def gallery() -> HTMLResponse:
        cards = []
        for video in nearline.cache.index.videos(GALLERY_SIZE):
            record = _record(nearline, video.video_id) or {}
            meta = ((record.get("inputs") or {}).get("sid") or {}).get("meta") or {}
            content_meaning, creative_meaning = meanings(video.key.content, video.key.creative, video.key.tokenizer)
            cards.append({"video_id": video.video_id, "accepted": video.accepted, "product": meta.get("product") or "",
                          "content": list(video.key.content), "creative": list(video.key.creative),
                          "content_meaning": content_meaning, "creative_meaning": creative_meaning})  # fmt: skip
        counts = nearline.queue.counts()
        return _page("gallery.html", videos=cards, arriving=counts["pending"] + counts["running"])

    @app.get("/runs/{video_id:path}", response_class=HTMLResponse, include_in_schema=False)
    def run(video_id: str) -> HTMLResponse:
        check_video_id(video_id)
        record = _record(nearline, video_id)
        if record is None:
            raise HTTPException(404, f"video_id: no cached video {video_id}")
        decoded = record.get("decoded") or {}
        return _page("run.html", video_id=video_id, record=record, decoded=decoded,
                     style=decoded.get("style") or {}, instructions=(record.get("instructions") or {}).get("output")
                     or {}, meta=((record.get("inputs") or {}).get("sid") or {}).get("meta") or {})  # fmt: skip

    @app.get("/queue", response_class=HTMLResponse, include_in_schema=False)
    def queue() -> HTMLResponse:
        return _page("queue.html", jobs=nearline.queue.jobs(limit=200), counts=nearline.queue.counts())

    def example_user() -> str:
        return EXAMPLE_USER.read_text(encoding="utf-8") if EXAMPLE_USER.is_file() else '{"history": []}'

    @app.get("/try", response_class=HTMLResponse, include_in_schema=False)
    def try_form() -> HTMLResponse:
        return _page("try.html", user_text=example_user())

    @app.post("/try", response_class=HTMLResponse, include_in_schema=False)
    async def try_user(request: Request) -> HTMLResponse:
        form = await request.form()
        user_text = str(form.get("user") or "")
        try:
            user = UserContext.model_validate(json.loads(user_text))
            ranked, checkpoint = recommender.recommend(user, 10)
            served, _ = serve_sid(servable_sid(ranked[0], tokenizer), "9:16", None)
        except json.JSONDecodeError as exc:
            return _page("try.html", 422, user_text=user_text, error=f"user: malformed JSON ({exc})")
        except ValidationError as exc:
            error = InputError.from_validation(exc)
            return _page("try.html", 422, user_text=user_text, error=f"user.{error.field}: {error.message}")
        except InputError as exc:
            return _page("try.html", 422, user_text=user_text, error=f"{exc.field}: {exc.message}")
        except HTTPException as exc:
            return _page("try.html", exc.status_code, user_text=user_text, error=one_line(str(exc.detail)))
        rows = []
        for rec in ranked:
            content_meaning, creative_meaning = meanings(tuple(rec.content), tuple(rec.creative),
                                                         rec.tokenizer or "")  # fmt: skip
            rows.append({**rec.model_dump(mode="json"), "content_meaning": [content_meaning],
                         "creative_meaning": creative_meaning})  # fmt: skip
        return _page("try.html", user_text=user_text, ranked=rows, checkpoint=checkpoint, served=served)
