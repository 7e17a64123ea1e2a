"""Where screenshots go, and saving one from any screen.

A screenshot is an SVG of the screen as it is drawn. It goes into ``screenshots/`` of
the working directory when there is one (a checkout keeps them beside ``saves/``),
else into ``$XDG_DATA_HOME/kmsan-tui/screenshots`` (``~/.local/share/...``), which is
created on first use; the file is named after the time, never over another one.
(Textual's own "Screenshot" command writes to ~/Downloads, which many machines do
not have: it fails there with "Failed to save screenshot".)
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.safeio import atomic_write
from kmsan_tui.session.store import data_dir


class CanExport(Protocol):
    def export_screenshot(self, *, title: str | None = None, simplify: bool = False) -> str: ...


def screenshot_dir() -> Path:
    """``./screenshots`` when it exists, else the user's data directory's."""
    local = Path("screenshots")
    return local if local.is_dir() else data_dir() / "screenshots"


def screenshot_path(directory: Path | None = None, now: float | None = None) -> Path:
    """A new file name in ``directory``: ``kmsan-tui-20260101-120000.svg`` (``-2``,
    ``-3``... when that one exists)."""
    directory = directory if directory is not None else screenshot_dir()
    stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(now))
    path = directory / f"kmsan-tui-{stamp}.svg"
    n = 2
    while path.exists():
        path = directory / f"kmsan-tui-{stamp}-{n}.svg"
        n += 1
    return path


def save_screenshot(app: CanExport, title: str | None = None,
                    path: Path | None = None) -> Path:
    """Write the screen as SVG through ``safeio.atomic_write`` (never over a device or
    a directory) and return where; a UserError (one line) if it cannot be written."""
    target = path if path is not None else screenshot_path()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{target.parent}: cannot create the screenshot directory: "
                        f"{exc.strerror or exc}") from None
    atomic_write(target, app.export_screenshot(title=title), "screenshot")
    return target.resolve()


def screenshot_to(app: CanExport, notify: Callable[..., object],
                  path: Path | None = None) -> Path | None:
    """``save_screenshot``, its outcome told through ``notify`` (the F12 key, the
    palette's commands)."""
    try:
        saved = save_screenshot(app, path=path)
    except UserError as exc:
        notify(f"screenshot not saved: {exc}", severity="error", timeout=6)
        return None
    notify(f"screenshot saved to {saved}", title="Screenshot")
    return saved
