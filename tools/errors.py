"""Errors raised by tools. A `BackendMissing` names the extra that provides the back-end."""

from __future__ import annotations


class ToolError(RuntimeError):
    """A tool failed at run time (bad media, a crashed encoder)."""


class BackendMissing(ToolError):
    def __init__(self, backend: str, extra: str, detail: str = "") -> None:
        self.backend = backend
        self.extra = extra
        msg = f"back-end '{backend}' is not installed: pip install 'ragvid[{extra}]'"
        super().__init__(f"{msg} ({detail})" if detail else msg)
