"""Progress display for long runs: one spinner line that follows the graph's custom stream events,
plus a log line per finished step (plain lines when stderr is not a terminal)."""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.status import Status


class ProgressView:
    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.console = Console(stderr=True, soft_wrap=True)  # a log line is never hard-wrapped
        self.run_id: str | None = None
        self._status: Status | None = None
        self._t0 = time.perf_counter()

    def __enter__(self) -> ProgressView:
        if self.enabled and self.console.is_terminal:
            self._status = self.console.status("starting…")
            self._status.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._status is not None:
            self._status.stop()

    def update(self, event: dict[str, Any]) -> None:
        if event.get("run_id"):
            self.run_id = str(event["run_id"])
        if not self.enabled:
            return
        r = event.get("round")
        tag = f"{event.get('node', '?')}" + (f" r{r}" if r is not None else "")
        line = f"[{time.perf_counter() - self._t0:6.1f}s] {tag}: {event.get('message', '')}"
        self.console.print(line, highlight=False, markup=False)
        if self._status is not None:
            self._status.update(line)
