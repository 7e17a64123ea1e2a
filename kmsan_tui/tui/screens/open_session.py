"""The open dialog: saved sessions and autosaves, newest first, or a file by name."""

from __future__ import annotations

from kmsan_tui.session.store import session_files
from kmsan_tui.tui.screens.pick import PickScreen

OTHER_FILE = ""
"""The id of the "a file…" entry (PickScreen dismisses with "" for it)."""


def open_session_screen() -> PickScreen:
    """A picker of the session files in saves/, the data directory and the autosaves."""
    options = [(str(f.path), f.label) for f in session_files()]
    options.append((OTHER_FILE, "a file…"))
    return PickScreen("Open session", options)
