"""User errors: bad input the user can fix. The CLI prints them as one line and exits 2."""

from __future__ import annotations


class UserError(Exception):
    """A one-line, field-naming message; never shown with a traceback."""
