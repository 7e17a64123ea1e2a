"""Sessions: the log of commands on a simulation, replay, seeking, branching, save and
load (no Textual)."""

from __future__ import annotations

from kmsan_tui.session.commands import (
    AllocPages,
    Back,
    Bookmark,
    Command,
    FreePages,
    GoTo,
    RunAll,
    RunTo,
    Step,
    SwitchStrategy,
    Unit,
    Workload,
    describe,
)
from kmsan_tui.session.errors import DivergenceError, SessionError
from kmsan_tui.session.fileformat import Entry, View
from kmsan_tui.session.files import load, save
from kmsan_tui.session.session import Outcome, Parent, Session

__all__ = ["AllocPages", "Back", "Bookmark", "Command", "DivergenceError", "Entry",
           "FreePages", "GoTo", "Outcome",
           "Parent", "RunAll", "RunTo", "Session", "SessionError", "Step", "SwitchStrategy",
           "Unit", "View", "Workload", "describe", "load", "save"]
