"""How the CLI writes to the terminal: `literal_console` for every line it prints, `logged_warnings` to
collect what ragvid's loggers warn of for a command to print, and the progress display for long runs — one
spinner line that follows the graph's custom stream events, plus a log line per finished step (plain lines
when stderr is not a terminal)."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from types import TracebackType
from typing import Any

from rich.console import Console
from rich.status import Status
from rich.text import Text


def literal_console(*, stderr: bool = True) -> Console:
    """The console every CLI line goes through: strings print exactly as given. What the CLI prints is full
    of user strings — paths (``out[dir]/a[b].mp4``), product text, SID meta — so rich's markup (``[dir]``
    would vanish as a style tag), emoji codes (``:coffee:``) and highlighting are all off; style comes only
    from `rich.text.Text` spans the code builds. Lines are never hard-wrapped: one line stays one line in a
    log or a pipe."""
    return Console(stderr=stderr, soft_wrap=True, markup=False, emoji=False, highlight=False)


class _Collector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


@contextmanager
def logged_warnings() -> Iterator[list[str]]:
    """The messages of the warnings ragvid's loggers (``ragvid.*``) log inside the block, in order; the list
    fills while the block runs."""
    collector = _Collector()
    logger = logging.getLogger("ragvid")
    logger.addHandler(collector)
    try:
        yield collector.messages
    finally:
        logger.removeHandler(collector)


class ProgressView:
    """Prints each progress event as a timed log line, and keeps the run id the run announces (how a failed
    run is resumed)."""

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.console = literal_console()
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
        """Take one progress event (``node``, ``message``, ``round``; ``run_id`` when the run starts)."""
        if event.get("run_id"):
            self.run_id = str(event["run_id"])
        if not self.enabled:
            return
        r = event.get("round")
        tag = f"{event.get('node', '?')}" + (f" r{r}" if r is not None else "")
        line = f"[{time.perf_counter() - self._t0:6.1f}s] {tag}: {event.get('message', '')}"
        self.console.print(line)
        if self._status is not None:
            self._status.update(Text(line))  # a spinner parses a plain string as markup, whatever the console
