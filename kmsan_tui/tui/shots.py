"""Where screenshots go, and saving one from any screen.

A screenshot is an SVG of the screen as it is drawn. It goes into ``screenshots/`` of
the working directory when there is one (a checkout keeps them beside ``saves/``),
else into ``$XDG_DATA_HOME/kmsan-tui/screenshots`` (``~/.local/share/...``), which is
created on first use; the file is named after the time, never over another one.
(Textual's own "Screenshot" command writes to ~/Downloads, which many machines do
not have: it fails there with "Failed to save screenshot".)
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Protocol

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
    """Write the screen as SVG (atomically) and return where; OSError if it cannot."""
    target = path if path is not None else screenshot_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    svg = app.export_screenshot(title=title)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(svg)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target.resolve()
