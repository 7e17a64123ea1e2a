"""What can go wrong with a session, as the CLI reports it (DESIGN.md: one line)."""

from __future__ import annotations

from kmsan_tui.model.errors import UserError


class SessionError(UserError):
    """A session file that cannot be used; the message names the file and the key
    (exit status 2)."""


class DivergenceError(SessionError):
    """A replay that does not reach the digest a file saved after a command: the model
    changed since the save, or the file lies. ``index`` is the log entry (exit 1 for
    ``replay --verify``)."""

    def __init__(self, message: str, index: int) -> None:
        super().__init__(message)
        self.index = index
