"""Lesson files: Markdown with a TOML front matter, checked against the model on load.

A lesson is one file (``kmsan_tui/tutorial/lessons/NN-slug.md``, or any path a teacher
gives): a front matter between two ``+++`` lines, then the text. The front matter
says where the lesson starts (a layout and strategy run to a step, or a saved
session), which panels it is about, the predictions it asks and the goals it sets.
The format is documented in kmsan_tui/tutorial/README.md. Any problem is one
``UserError`` line naming the file and the line or key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.safeio import decode, parse_toml, read_bytes
from kmsan_tui.model.strategies.registry import all_options
from kmsan_tui.tutorial.facts import FactRef, fact_ref
from kmsan_tui.tutorial.goals import Goal, parse_goal

FENCE = "+++"
MAX_LESSON_BYTES = 256 << 10
PANELS = ("map", "inspector", "timeline", "free-lists", "regions", "metrics", "frag", "log")
_NAME = re.compile(r"^(\d{1,3})-([a-z0-9][a-z0-9-]*)\.md$")


@dataclass(frozen=True, slots=True)
class Start:
    """Where a lesson begins: a machine run to a step, or a saved session."""

    layout: str = "qemu-8g"
    strategy: str = "eager"
    sanitizer: str | None = None
    kernel: str | None = None
    until: str | None = None  # the last step run (None: before the first)
    before: str | None = None  # or: every step before this one (kernel-independent)
    seed: int = 0
    session: str | None = None  # a saved session instead (relative to the lesson file)
    options: tuple[tuple[str, str], ...] = ()  # strategy options (registry), sorted


@dataclass(frozen=True, slots=True)
class Prediction:
    """A question the learner answers before the model shows the truth."""

    id: str
    question: str
    answer: FactRef
    choices: tuple[str, ...]  # empty: a number, within ``tolerance`` (relative)
    tolerance: float
    reveal: str | None  # run to this step before computing the answer (None: now)
    explain: str
    after: str | None = None  # asked once this goal is reached (None: when the lesson opens)

    @property
    def is_choice(self) -> bool:
        return bool(self.choices)


@dataclass(frozen=True, slots=True)
class Lesson:
    """One lesson, as loaded and checked."""

    number: int
    slug: str
    title: str
    start: Start
    panels: tuple[str, ...]
    predictions: tuple[Prediction, ...]
    goals: tuple[Goal, ...]
    body: str  # Markdown, with {key:binding_id} placeholders
    source: str  # the file it came from


def split_front_matter(text: str, name: str) -> tuple[str, str, int]:
    """(front matter, body, line number where the front matter starts)."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != FENCE:
        raise UserError(f"{name}: line 1: a lesson starts with a {FENCE} line (TOML front matter)")
    for i in range(1, len(lines)):
        if lines[i].strip() == FENCE:
            return "".join(lines[1:i]), "".join(lines[i + 1:]), 2
    raise UserError(f"{name}: line 1: the front matter has no closing {FENCE} line")


def _toml(front: str, name: str, first_line: int) -> dict[str, Any]:
    try:
        return parse_toml(front, name)
    except UserError as exc:
        # tomllib counts lines from the front matter; the file has the fence above it.
        message = re.sub(r"\(at line (\d+)", lambda m: f"(at line {int(m.group(1)) + first_line - 1}",
                         str(exc))
        raise UserError(message) from None


def _string(table: Mapping[str, Any], key: str, where: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value.strip():
        raise UserError(f"{where}: {key}: expected a non-empty string")
    return value


def _optional(table: Mapping[str, Any], key: str, where: str) -> str | None:
    if key not in table:
        return None
    return _string(table, key, where)


def _check_keys(table: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise UserError(f"{where}: unknown key {unknown[0]!r} (expected {', '.join(sorted(allowed))})")


def _start(table: Any, where: str) -> Start:
    if not isinstance(table, dict):
        raise UserError(f"{where}: expected a table")
    _check_keys(table, {"layout", "strategy", "sanitizer", "kernel", "until", "before", "seed",
                        "session", "options"}, where)
    if "until" in table and "before" in table:
        raise UserError(f"{where}: give until or before, not both")
    if "session" in table:
        clash = sorted(set(table) & {"layout", "strategy", "sanitizer", "kernel", "seed", "options",
                                     "before"})
        if clash:
            raise UserError(f"{where}: {clash[0]}: a lesson starting from a session takes the "
                            "machine from it (give session, or the machine, not both)")
    seed = table.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < 1 << 53:
        raise UserError(f"{where}: seed: expected an integer from 0 to 2**53-1")
    return Start(layout=_string(table, "layout", where, "qemu-8g"),
                 strategy=_string(table, "strategy", where, "eager"),
                 sanitizer=_optional(table, "sanitizer", where),
                 kernel=_optional(table, "kernel", where),
                 until=_optional(table, "until", where),
                 before=_optional(table, "before", where), seed=seed,
                 session=_optional(table, "session", where),
                 options=_options(table.get("options", {}), f"{where}: options"))


def _options(table: Any, where: str) -> tuple[tuple[str, str], ...]:
    """``options = { lazy_activation = "page_ext_init" }``: strategy options, checked
    against the strategy registry (the same names as the layout's [kernel] keys)."""
    if not isinstance(table, dict):
        raise UserError(f"{where}: expected a table such as {{ lazy_activation = \"mem_init\" }}")
    known = {opt.key: opt.choices for opt in all_options()}
    for key, value in table.items():
        if key not in known:
            raise UserError(f"{where}: {key}: not a strategy option (expected "
                            f"{', '.join(known)})")
        if value not in known[key]:
            raise UserError(f"{where}: {key}: expected one of {', '.join(known[key])}, "
                            f"got {value!r}")
    return tuple(sorted(table.items()))


def _prediction(table: Any, where: str) -> Prediction:
    if not isinstance(table, dict):
        raise UserError(f"{where}: expected a table")
    _check_keys(table, {"id", "question", "answer", "choices", "tolerance", "reveal", "explain",
                        "after"}, where)
    answer = table.get("answer")
    if not isinstance(answer, dict):
        raise UserError(f"{where}: answer: expected a table naming a fact")
    choices = table.get("choices", [])
    if not isinstance(choices, list) or not all(isinstance(c, str) and c for c in choices):
        raise UserError(f"{where}: choices: expected a list of strings")
    tolerance = table.get("tolerance", 0.1)
    if isinstance(tolerance, bool) or not isinstance(tolerance, int | float) or not 0 <= tolerance <= 1:
        raise UserError(f"{where}: tolerance: expected a fraction from 0 to 1")
    return Prediction(_string(table, "id", where), _string(table, "question", where),
                      fact_ref(answer, f"{where}: answer"), tuple(choices), float(tolerance),
                      _optional(table, "reveal", where), _string(table, "explain", where),
                      _optional(table, "after", where))


def _tables(data: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = data.get(key, [])
    if not isinstance(value, list):
        raise UserError(f"{where}: {key}: expected an array of tables ([[{key}]])")
    return value


def parse_lesson(text: str, name: str, number: int, slug: str) -> Lesson:
    """A lesson from its text; ``name`` is how errors name the file."""
    front, body, first = split_front_matter(text, name)
    data = _toml(front, name, first)
    _check_keys(data, {"title", "start", "panels", "prediction", "goal"}, name)
    panels = data.get("panels", [])
    if not isinstance(panels, list) or any(p not in PANELS for p in panels):
        raise UserError(f"{name}: panels: expected a list of {', '.join(PANELS)}")
    predictions = tuple(_prediction(t, f"{name}: prediction[{i}]")
                        for i, t in enumerate(_tables(data, "prediction", name)))
    goals = tuple(parse_goal(t, f"{name}: goal[{i}]")
                  for i, t in enumerate(_tables(data, "goal", name)))
    ids = [p.id for p in predictions] + [g.id for g in goals]
    if len(set(ids)) != len(ids):
        raise UserError(f"{name}: ids of predictions and goals must be unique")
    goal_ids = {g.id for g in goals}
    for i, p in enumerate(predictions):
        if p.after is not None and p.after not in goal_ids:
            raise UserError(f"{name}: prediction[{i}]: after: no goal {p.after!r} in this lesson")
    if not goals and not predictions:
        raise UserError(f"{name}: a lesson needs at least one goal or prediction")
    if not body.strip():
        raise UserError(f"{name}: the lesson has no text after the front matter")
    return Lesson(number, slug, _string(data, "title", name), _start(data.get("start", {}),
                  f"{name}: start"), tuple(panels), predictions, goals, body.strip(), name)


def load_lesson(path: str | Path) -> Lesson:
    """A lesson file by path (a teacher's own); number and slug from ``NN-slug.md``."""
    p = Path(path)
    match = _NAME.match(p.name)
    number, slug = (int(match.group(1)), match.group(2)) if match else (0, p.stem)
    text = decode(read_bytes(p, "lesson", MAX_LESSON_BYTES), str(p))
    return parse_lesson(text, str(p), number, slug)


def shipped_lessons() -> list[Lesson]:
    """The lessons shipped in the package, in their numbered order."""
    folder = resources.files("kmsan_tui.tutorial") / "lessons"
    out = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        match = _NAME.match(entry.name)
        if match is None:
            continue
        out.append(parse_lesson(entry.read_text(encoding="utf-8"), f"lessons/{entry.name}",
                                int(match.group(1)), match.group(2)))
    return out


def find_lesson(spec: str) -> Lesson:
    """A shipped lesson by number or slug, or a lesson file by path."""
    if spec.endswith(".md") or "/" in spec:
        return load_lesson(spec)
    for lesson in shipped_lessons():
        if spec in (str(lesson.number), lesson.slug):
            return lesson
    raise UserError(f"no lesson {spec!r} (see `kmsan-tui tutorial --list`)")
