"""When something goes wrong that is not the user's input: a bug.

The traceback goes to a file of its own in the user's state directory
(``$XDG_STATE_HOME/kmsan-tui/crashes``, else ``~/.local/state/kmsan-tui/crashes``);
the user sees one line that says so and names the file. The CLI's ``main`` and the
explorer's safety net both report through here. Stdlib only, no Textual.
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from pathlib import Path

APP = "kmsan-tui"
KEEP = 20
"""Crash logs kept; older ones are removed when a new one is written."""


def state_dir() -> Path:
    """$XDG_STATE_HOME/kmsan-tui, or ~/.local/state/kmsan-tui."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / APP


def crash_dir() -> Path:
    return state_dir() / "crashes"


def write_crash_log(error: BaseException, context: str = "") -> Path | None:
    """Write ``error``'s traceback (and ``context``: the command line, the screen) to a
    new file; its path, or None when it cannot be written (the report goes on)."""
    from kmsan_tui import __version__
    from kmsan_tui.model.safeio import atomic_write

    directory = crash_dir()
    stamp = time.strftime("%Y%m%d-%H%M%S")
    path = directory / f"crash-{stamp}-{os.getpid()}-{time.monotonic_ns() % 10**6:06d}.log"
    text = (f"kmsan-tui {__version__}, {time.strftime('%Y-%m-%d %H:%M:%S')}\n"
            f"{context}\n\n"
            + "".join(traceback.format_exception(type(error), error, error.__traceback__)))
    try:
        atomic_write(path, text, "crash log")
    except Exception:  # never let the report of a bug raise another
        return None
    _prune(directory)
    return path


def _prune(directory: Path) -> None:
    with contextlib.suppress(OSError):
        logs = sorted(directory.glob("crash-*.log"), key=lambda p: p.stat().st_mtime)
        for old in logs[:-KEEP]:
            old.unlink()


def crash_line(error: BaseException, path: Path | None) -> str:
    """One line for the user: what failed, that it is a bug, where the details are."""
    message = str(error).strip().splitlines()[0][:160] if str(error).strip() else ""
    what = f"{type(error).__name__}: {message}" if message else type(error).__name__
    where = f"; details in {path}" if path is not None else ""
    return f"internal error (a bug, not your input): {what}{where}"
