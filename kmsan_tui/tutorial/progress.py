"""Which lessons a learner finished, kept per user in a small JSON file.

The file lives in the user's data directory ($XDG_DATA_HOME/kmsan-tui, by default
~/.local/share/kmsan-tui); it is written atomically and read as untrusted input: a
file that cannot be used is reported and replaced by an empty record, never fatal.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.safeio import atomic_write, load_json

FORMAT = 1


def default_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "kmsan-tui" / "tutorial-progress.json"


@dataclass(slots=True)
class Progress:
    """Finished lessons and reached goals, by lesson slug."""

    path: Path
    goals: dict[str, set[str]] = field(default_factory=dict)
    finished: set[str] = field(default_factory=set)
    problem: str | None = None  # why the file on disk could not be used

    @classmethod
    def load(cls, path: Path | None = None) -> Progress:
        target = path or default_path()
        progress = cls(target)
        if not target.exists():
            return progress
        try:
            data = load_json(target, "tutorial progress", limit=1 << 20)
            if not isinstance(data, dict) or data.get("format") != FORMAT:
                raise UserError(f"{target}: format: expected {FORMAT}")
            lessons = data.get("lessons", {})
            if not isinstance(lessons, dict):
                raise UserError(f"{target}: lessons: expected an object")
            for slug, entry in lessons.items():
                if not isinstance(entry, dict) or not isinstance(entry.get("goals", []), list):
                    raise UserError(f"{target}: lessons.{slug}: expected goals and finished")
                progress.goals[str(slug)] = {str(g) for g in entry.get("goals", [])}
                if entry.get("finished") is True:
                    progress.finished.add(str(slug))
        except UserError as exc:
            return cls(target, problem=str(exc))
        return progress

    def reach(self, slug: str, goal: str) -> None:
        self.goals.setdefault(slug, set()).add(goal)

    def finish(self, slug: str) -> None:
        self.finished.add(slug)

    def restart(self, slug: str) -> None:
        """Forget a lesson's progress (the learner starts it again)."""
        self.goals.pop(slug, None)
        self.finished.discard(slug)

    def save(self) -> None:
        import json

        slugs = sorted(set(self.goals) | self.finished)
        doc = {"format": FORMAT, "lessons": {
            s: {"goals": sorted(self.goals.get(s, ())), "finished": s in self.finished}
            for s in slugs}}
        atomic_write(self.path, json.dumps(doc, indent=1) + "\n", "tutorial progress")
