"""Goals are events, not states: what the learner did after the lesson started.

The explorer reports each thing the learner does as an ``Activity`` (a step ran, a
block was allocated by hand, a pointer was followed, a workload finished...). A goal
names the kind of activity it waits for, what the activity must say (``match``) and,
optionally, a condition on the model right after it (``when``: a fact compared with a
value). A goal already true of the state when the lesson opens is not reached until
the learner acts: only activities recorded after the start count.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.tutorial.facts import FactRef, FactValue, fact_ref

# What the explorer reports, and the fields each kind of activity carries.
ACTIVITY_KINDS: dict[str, frozenset[str]] = {
    "step": frozenset({"step"}),  # a boot step ran (the name of the step)
    "back": frozenset({"step"}),  # stepped back (the step now last run)
    "switch": frozenset({"strategy"}),  # re-simulated under another strategy
    "workload": frozenset({"workload", "ops"}),  # a workload finished
    "alloc": frozenset({"order", "pfn", "migratetype"}),  # a block allocated by hand
    "free": frozenset({"order", "pfn", "migratetype"}),  # a block freed by hand
    "follow": frozenset({"pointer", "state"}),  # followed kmsan_shadow/origin (or back to data)
    "tab": frozenset({"tab"}),  # opened a panel (free-lists, regions, metrics, ...)
    "compare": frozenset({"left", "right"}),  # opened the comparison of two strategies
    "answer": frozenset({"prediction", "correct"}),  # answered a prediction
    "inspect": frozenset({"state", "owner", "blind"}),  # put the cursor on a page
}

OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">": operator.gt, ">=": operator.ge,
    "<": operator.lt, "<=": operator.le,
}


@dataclass(frozen=True, slots=True)
class Activity:
    """One thing the learner did, in the explorer's words."""

    kind: str
    data: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, kind: str, **data: Any) -> Activity:
        if kind not in ACTIVITY_KINDS:
            raise ValueError(f"unknown activity {kind!r}")
        return cls(kind, tuple(sorted(data.items())))

    def get(self, key: str) -> Any:
        return dict(self.data).get(key)


@dataclass(frozen=True, slots=True)
class Condition:
    """``fact op value`` on the model after an activity."""

    fact: FactRef
    op: str
    value: FactValue

    def holds(self, sim: Simulation) -> bool:
        return OPERATORS[self.op](self.fact.value(sim), self.value)


@dataclass(frozen=True, slots=True)
class Goal:
    """Reached by the first activity of ``kind`` that matches and after which ``when`` holds."""

    id: str
    text: str  # what to do, in the lesson's words ({key:...} placeholders allowed)
    kind: str
    match: tuple[tuple[str, Any], ...] = ()
    when: Condition | None = None

    def reached_by(self, activity: Activity, sim: Simulation) -> bool:
        if activity.kind != self.kind:
            return False
        data = dict(activity.data)
        if any(data.get(key) != value for key, value in self.match):
            return False
        return self.when is None or self.when.holds(sim)


def parse_goal(table: Any, where: str) -> Goal:
    """A ``[[goal]]`` table of a lesson file; errors name ``where`` (file and key)."""
    if not isinstance(table, dict):
        raise UserError(f"{where}: expected a table")

    def text(key: str) -> str:
        value = table.get(key)
        if not isinstance(value, str) or not value.strip():
            raise UserError(f"{where}: {key}: expected a non-empty string")
        return value

    unknown = set(table) - {"id", "text", "event", "match", "when"}
    if unknown:
        raise UserError(f"{where}: unknown key {sorted(unknown)[0]!r} (goal keys: id, text, event, "
                        "match, when)")
    kind = text("event")
    if kind not in ACTIVITY_KINDS:
        raise UserError(f"{where}: event: expected one of {', '.join(ACTIVITY_KINDS)}, got {kind!r}")
    match = table.get("match", {})
    if not isinstance(match, dict):
        raise UserError(f"{where}: match: expected a table")
    for key, value in match.items():
        if key not in ACTIVITY_KINDS[kind]:
            raise UserError(f"{where}: match.{key}: a {kind!r} event has "
                            f"{', '.join(sorted(ACTIVITY_KINDS[kind]))}")
        if not isinstance(value, str | int | bool):
            raise UserError(f"{where}: match.{key}: expected a string, integer or boolean")
    when = None
    raw = table.get("when")
    if raw is not None:
        if not isinstance(raw, dict):
            raise UserError(f"{where}: when: expected a table")
        op = raw.get("op", "==")
        if op not in OPERATORS:
            raise UserError(f"{where}: when.op: expected one of {' '.join(OPERATORS)}")
        if "value" not in raw or not isinstance(raw["value"], int | float | str | bool):
            raise UserError(f"{where}: when.value: expected a number, string or boolean")
        when = Condition(fact_ref(raw, f"{where}: when"), op, raw["value"])
    return Goal(text("id"), text("text"), kind, tuple(sorted(match.items())), when)
