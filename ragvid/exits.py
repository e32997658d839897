"""The CLI's one way out on an error.

`run` is the entry point: a usage error (an unknown option, a missing argument, a value of the wrong type)
is one line too, not click's boxed help. Every command runs inside `exits()` (`command` wraps a typer
command in it), which maps what went wrong onto one line on stderr and an exit code:
bad input (an `InputError`: a flag, a file, a field) and a demanded LLM endpoint that fails are 2; an
interrupted run is 130; a reader that closed standard output early (``ragvid sid decode F --json | head``)
ends the command with 1 and no message, as click does for the commands it runs itself; anything else is 1 —
with how to resume, when a run was under way. A run that
finished with a video the Critic rejected is 3 (`rejected`). Nothing else in the CLI prints an error or
picks an exit code; `fail` is for a command's own checks, `leave` passes a child program's exit code on.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import NoReturn, ParamSpec, TypeVar

import typer

from tools.errors import InputError, one_line

P = ParamSpec("P")
R = TypeVar("R")

EXIT_INPUT = 2
EXIT_FAILED = 1
EXIT_REJECTED = 3
EXIT_INTERRUPTED = 130


def _stdout_gone() -> NoReturn:
    """Standard output's reader went away: point fd 1 at /dev/null so the interpreter's final flush cannot raise
    again (the recipe of Python's `signal` docs, "Note on SIGPIPE") and leave without a message."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(EXIT_FAILED)


def run(app: typer.Typer, args: list[str] | None = None) -> NoReturn:
    """Run the CLI ``app`` on ``args`` (default: the command line) and exit with its code."""
    try:
        code = app(args=args, prog_name="ragvid", standalone_mode=False)  # also under `python -m ragvid.cli`
        sys.stdout.flush()
    except BrokenPipeError:
        _stdout_gone()
    except typer.Abort:
        sys.stderr.write("error: aborted\n")
        sys.exit(EXIT_INTERRUPTED)
    except Exception as e:
        # typer vendors click and exports only some of its errors: a usage error is any with click's
        # ClickException API (format_message, exit_code); ctx names the command it belongs to
        message, code = getattr(e, "format_message", None), getattr(e, "exit_code", None)
        if message is None or not isinstance(code, int):
            raise
        ctx = getattr(e, "ctx", None)
        where = ctx.command_path if ctx is not None else "ragvid"
        sys.stderr.write(f"error: {where}: {one_line(message(), 2000)} (see {where} --help)\n")
        sys.exit(code)
    sys.exit(code if isinstance(code, int) else 0)


def leave(code: int) -> NoReturn:
    """Leave with ``code`` and no message: a command that ran another program passes its exit code on."""
    raise typer.Exit(code)


def fail(message: str, code: int = EXIT_INPUT) -> NoReturn:
    """Print ``error: <message>`` (one line) on stderr and leave with ``code``."""
    sys.stderr.write(f"error: {one_line(message, 2000)}\n")
    sys.stderr.flush()
    leave(code)


def rejected(message: str, *, accept: bool = False) -> None:
    """A run delivered a video the Critic rejected: print ``rejected: <message>`` (one line, the command's
    last) on stderr and leave with 3, so a script never takes it for a success. With ``accept``
    (``--accept-rejected``) the line stays, as a warning, and the command goes on to exit 0."""
    sys.stderr.write(f"rejected: {one_line(message, 4000)}\n")
    sys.stderr.flush()
    if not accept:
        leave(EXIT_REJECTED)


@contextmanager
def exits(resume_hint: Callable[[], str] | None = None) -> Iterator[None]:
    """Run a command's body; turn its errors into `fail`. ``resume_hint`` says how to resume the run under
    way (``"ragvid generate --resume ID"``), or "" when none is."""

    def resume(template: str) -> str:
        command = resume_hint() if resume_hint is not None else ""
        return template.format(command) if command else ""

    from agents.llm_client import LLMError  # here, not at import: `ragvid --help` need not load the SDK

    try:
        yield
    except typer.Exit:
        raise
    except InputError as e:
        fail(str(e))
    except LLMError as e:  # only a demanded endpoint raises: under `auto` the policy falls back
        fail(f"--llm: {e}{resume(' (resume with: {})')}")
    except KeyboardInterrupt:
        fail(f"interrupted{resume('; resume with: {}')}", EXIT_INTERRUPTED)
    except BrokenPipeError:
        _stdout_gone()
    except Exception as e:
        fail(f"{type(e).__name__}: {e}{resume(' — resume with: {}')}", EXIT_FAILED)


def command(fn: Callable[P, R]) -> Callable[P, R]:
    """A typer command whose whole body runs inside `exits()` (typer reads the wrapped signature)."""

    @functools.wraps(fn)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with exits():
            return fn(*args, **kwargs)

    return run
