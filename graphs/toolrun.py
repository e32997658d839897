"""Tool calls as the graph makes them: timed, recorded for the run record, concurrency-bounded."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from graphs.state import ToolCall

R = TypeVar("R")


class ToolRecorder:
    """Collects one entry per tool call (tool, back-end, seconds, cache hit, fallback)."""

    def __init__(self, node: str, round_: int) -> None:
        self.node = node
        self.round = round_
        self.calls: list[ToolCall] = []

    async def call(self, tool: str, backend: str, what: str, make: Callable[[], Awaitable[R]]) -> R:
        """Await ``make()`` and record it as one `ToolCall`, failed calls included: wall time (s), and the back-end,
        cache hit and fallback read off the result where it has them. Returns the result; re-raises what
        ``make`` raised."""
        t0 = time.perf_counter()
        ok = False
        result: Any = None
        try:
            result = await make()
            ok = True
            return result
        finally:
            self.calls.append(
                ToolCall(
                    node=self.node,
                    round=self.round,
                    tool=tool,
                    backend=getattr(result, "backend", backend),
                    what=what,
                    seconds=round(time.perf_counter() - t0, 3),
                    cached=bool(getattr(result, "cached", False)),
                    fallback_from=getattr(result, "fallback_from", None),
                    ok=ok,
                )
            )


async def gather_limited(limit: int, jobs: Sequence[Callable[[], Awaitable[R]]]) -> list[R]:
    """Run jobs concurrently, at most `limit` at once (encoders are CPU-bound: one per core), in order of
    their results. Each job is started only when its turn comes: when one fails, the rest are cancelled
    or never created (no coroutine is left un-awaited)."""
    sem = asyncio.Semaphore(limit)

    async def one(job: Callable[[], Awaitable[R]]) -> R:
        async with sem:
            return await job()

    return list(await asyncio.gather(*(one(j) for j in jobs)))
