"""Places to seek to in a session's log: an entry, a boot step, a bookmark.

A position is "the first *p* log entries applied"; a boot step that a long "run to"
went through has no position of its own, so it is reached as a *detour*: the
position before that entry plus the boot steps it takes to get there. Everything
here reads the plans (what each position's state is made of), never a simulation.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kmsan_tui.model.errors import UserError
from kmsan_tui.session.commands import Bookmark, Step, describe
from kmsan_tui.session.fileformat import Entry
from kmsan_tui.session.replay import Plan


@dataclass(frozen=True, slots=True)
class Target:
    """A place in the log, for the seek dialog."""

    position: int
    detour: int
    label: str
    kind: str  # "start", "entry", "bookmark" or "step"


def _through(before: Plan, after: Plan, boot: int) -> bool:
    """Whether going from ``before`` to ``after`` runs boot step number ``boot`` on the way
    (a forward run of boot steps only)."""
    if after.config != before.config or not before.boot < boot < after.boot:
        return False
    n = len(before.path)
    return after.path[:n] == before.path and all(isinstance(u, Step) for u in after.path[n:])


def next_boot_step(plans: Sequence[Plan], position: int, detour: int) -> tuple[int, int] | None:
    """Where the recording is one boot step after (position, detour), when its next entry
    is a forward run of boot steps (a step, a run to a later step): the place to follow
    it to rather than branch off it. None otherwise."""
    if position + 1 >= len(plans):
        return None
    here, after = plans[position], plans[position + 1]
    boot = here.boot + detour + 1
    if _through(here, after, boot):
        return position, boot - here.boot
    n = len(here.path)
    if after.config == here.config and after.boot == boot and after.path[:n] == here.path \
            and all(isinstance(u, Step) for u in after.path[n:]):
        return position + 1, 0
    return None


def boot_state(plans: Sequence[Plan], boot: int, near: int = 0) -> tuple[int, int] | None:
    """(position, detour) of a state right after boot step number ``boot`` (1-based),
    the first at or after position ``near``, else the last before it."""
    found: list[tuple[int, int]] = []
    for p, plan in enumerate(plans):
        if plan.boot == boot and (not plan.path or isinstance(plan.path[-1], Step)):
            found.append((p, 0))
        elif p + 1 < len(plans) and _through(plan, plans[p + 1], boot):
            found.append((p, boot - plan.boot))
    after = [f for f in found if f[0] >= near]
    if after:
        return after[0]
    return found[-1] if found else None


def targets(log: Sequence[Entry], plans: Sequence[Plan], steps: Sequence[str]) -> list[Target]:
    """Every place of the log: the start, each entry (bookmarks marked), and each boot
    step the recording runs through."""
    out = [Target(0, 0, "   0  the start (before the first step)", "start")]
    for i, entry in enumerate(log):
        plan = plans[i + 1]
        where = steps[plan.boot - 1] if plan.boot else "before boot"
        kind = "bookmark" if isinstance(entry.command, Bookmark) else "entry"
        out.append(Target(i + 1, 0, f"{i + 1:>4}  {describe(entry.command)}   [{where}]", kind))
    for boot, name in enumerate(steps, 1):
        place = boot_state(plans, boot)
        if place is not None:
            out.append(Target(place[0], place[1], f"step {boot:>2}  {name}", "step"))
    return out


def resolve(text: str, log: Sequence[Entry], plans: Sequence[Plan], steps: Sequence[str],
            near: int = 0) -> tuple[int, int]:
    """(position, detour) named by ``text``: a position number, ``step N``, a boot step
    name, or (part of) a bookmark's note."""
    wanted = text.strip()
    if wanted.isdigit():
        position = int(wanted)
        if position > len(log):
            raise UserError(f"position {position}: the log has {len(log)} entries")
        return position, 0
    lowered = wanted.lower()
    boot = None
    if lowered.startswith("step ") and lowered[5:].strip().isdigit():
        boot = int(lowered[5:])
    elif lowered in steps:
        boot = list(steps).index(lowered) + 1
    if boot is not None:
        place = boot_state(plans, boot, near) if 1 <= boot <= len(steps) else None
        if place is None:
            raise UserError(f"{wanted!r}: the session never stops right after that boot step")
        return place
    notes = [(i, e.command.note) for i, e in enumerate(log) if isinstance(e.command, Bookmark)]
    exact = [i for i, note in notes if note.lower() == lowered]
    partial = [i for i, note in notes if lowered and lowered in note.lower()]
    chosen = exact or partial
    if len(chosen) == 1 or exact:
        return chosen[0] + 1, 0
    if len(chosen) > 1:
        raise UserError(f"{wanted!r}: {len(chosen)} bookmarks match; be more precise")
    raise UserError(f"{wanted!r}: not a position (0..{len(log)}), a boot step or a bookmark")
