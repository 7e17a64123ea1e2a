"""Errors the model reports to users (one line, naming the file and key) versus bugs."""

from __future__ import annotations


class UserError(Exception):
    """Bad input from the user: a layout, a save, a step or layout name.

    The CLI prints ``str(error)`` as one line and exits with status 2.
    """


class LayoutError(UserError):
    """A layout file that cannot be used; the message names the file and the key or line."""
