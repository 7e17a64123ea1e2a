"""Where sessions live: the saves directory, the user's data directory, autosaves.

``ctrl+s`` puts a new session in ``saves/`` when the explorer runs from a checkout
that has one, else in ``$XDG_DATA_HOME/kmsan-tui/saves`` (``~/.local/share/...``);
the explorer's autosave goes to ``.../kmsan-tui/autosave/session-<pid>.json`` and is
removed when the explorer quits normally, so one that is left is a session whose
terminal died. The open dialog lists all three places.
"""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from pathlib import Path

APP = "kmsan-tui"
STALE_TEMPORARY = 30.0
"""Seconds after which a save's temporary file is a leftover (its writer was killed)."""
MAX_LISTED = 200


def data_dir() -> Path:
    """$XDG_DATA_HOME/kmsan-tui, or ~/.local/share/kmsan-tui."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP


def default_save_dir() -> Path:
    """``saves/`` of the working directory when there is one, else the data directory's."""
    local = Path("saves")
    return local if local.is_dir() else data_dir() / "saves"


def autosave_dir() -> Path:
    return data_dir() / "autosave"


def autosave_path(pid: int | None = None) -> Path:
    """This explorer's autosave file."""
    return autosave_dir() / f"session-{os.getpid() if pid is None else pid}.json"


def save_target(name: str) -> Path:
    """Where a name typed in the save dialog goes: a bare name into the default save
    directory (``.json`` added), anything with a directory as given."""
    text = name.strip()
    path = Path(text).expanduser()
    if len(path.parts) == 1 and not text.startswith("."):
        path = default_save_dir() / path
    return path if path.suffix else path.with_suffix(".json")


@dataclass(frozen=True, slots=True)
class SessionFile:
    """A session file the open dialog offers."""

    path: Path
    modified: float  # mtime
    autosave: bool

    @property
    def label(self) -> str:
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(self.modified))
        kind = "autosave " if self.autosave else ""
        return f"{kind}{self.path.name}  ({when}, {self.path.parent})"


def session_files(dirs: list[Path] | None = None) -> list[SessionFile]:
    """Session files in the save directories and autosaves, newest first."""
    places = dirs if dirs is not None else [Path("saves"), data_dir() / "saves", autosave_dir()]
    found: list[SessionFile] = []
    seen: set[Path] = set()
    for place in places:
        try:
            entries = list(os.scandir(place))
        except OSError:
            continue
        for entry in entries:
            if not entry.name.endswith(".json") or entry.name.startswith("."):
                continue
            with contextlib.suppress(OSError):
                if not entry.is_file():
                    continue
                path = Path(entry.path)
                real = path.resolve()
                if real in seen:
                    continue
                seen.add(real)
                found.append(SessionFile(path, entry.stat().st_mtime,
                                         place == autosave_dir()))
    found.sort(key=lambda f: -f.modified)
    return found[:MAX_LISTED]


def sweep_temporaries(target: str | Path, age: float = STALE_TEMPORARY) -> int:
    """Remove what a killed save of ``target`` left behind: safeio's temporaries
    (``.NAME.*.tmp`` beside it) older than ``age`` seconds. Returns how many."""
    path = Path(target)
    prefix = f".{path.name}."
    removed = 0
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return 0
    cutoff = time.time() - age
    for entry in entries:
        if entry.name.startswith(prefix) and entry.name.endswith(".tmp"):
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime < cutoff:
                    os.unlink(entry.path)
                    removed += 1
    return removed


def remove_autosave(pid: int | None = None) -> None:
    with contextlib.suppress(OSError):
        autosave_path(pid).unlink()
