"""Commands on a simulation: undo, strategy switching, save, load and replay (no Textual)."""

from __future__ import annotations

from kmsan_tui.session.session import Command, Session, SessionError

__all__ = ["Command", "Session", "SessionError"]
