"""Blocks allocated and freed by hand in the explorer (``a`` and ``X``), no Textual.

The session has no command for a single ``alloc_pages()`` or ``__free_pages()``:
its log holds boot steps, workloads, strategy switches and notes. Until it has one,
what the learner does by hand lives *on top of* the session's current state: each
operation runs on a copy of the simulation (the ones frames hold are never touched),
and ``Hand`` keeps the states it made, so a step back (``u``) undoes the last one.
The first session command afterwards (a step, a workload, a switch) starts again
from the session's own state: the operations by hand are not in the log, so a save
or a replay could not reproduce them.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any, cast

from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.session import Session
from kmsan_tui.tui.frame import Frame, build_frame
from kmsan_tui.tui.runner import Runner

OWNER = "by hand"
"""The owner the inspector shows for a block allocated with ``a``."""

MAX_ORDER = 10
"""MAX_PAGE_ORDER: the largest block alloc_pages() hands out."""

TYPES = (MigrateType.UNMOVABLE, MigrateType.MOVABLE, MigrateType.RECLAIMABLE)
"""The migratetypes a caller asks for (gfp_migratetype(): the PCP types)."""


@dataclass(frozen=True, slots=True)
class Done:
    """What one operation by hand did."""

    kind: str  # "alloc" or "free"
    order: int
    pfn: int
    migratetype: str  # its label: Unmovable, Movable, Reclaimable ("" when none)
    ok: bool  # False: the kernel refused it (an allocation failure, a bad_page() free)
    message: str  # the kernel's line about it


@dataclass(slots=True)
class Hand:
    """The operations by hand on top of one state of the session."""

    base: Simulation | None = None  # the session's simulation they were made on
    states: list[tuple[Simulation, Done]] = field(default_factory=list)

    def current(self, session: Session) -> Simulation:
        """The simulation the explorer shows: the last state by hand, or the session's."""
        if self.base is not session.sim:
            self.base, self.states = session.sim, []
        return self.states[-1][0] if self.states else session.sim

    def active(self, session: Session) -> bool:
        """Whether operations by hand are on top of the session's current state."""
        return bool(self.states) and self.base is session.sim

    def dropped(self, session: Session) -> bool:
        """The session moved on from the state the operations were made on (they are
        gone); forgets them and says so once."""
        if self.states and self.base is not session.sim:
            self.base, self.states = session.sim, []
            return True
        return False


class _Shown:
    """The session as ``build_frame`` reads it, with the simulation by hand."""

    def __init__(self, session: Session, sim: Simulation) -> None:
        self._session = session
        self.sim = sim

    def __getattr__(self, name: str) -> Any:
        return getattr(self._session, name)


def _emit(runner: Runner, sim: Simulation, note: str) -> Frame:
    """A frame of ``sim`` in the session's place, the runner's last frame its basis."""
    before = runner.frame.as_basis() if runner.frame is not None else None
    series = runner.frame.series if runner.frame is not None else ()
    runner.serial += 1
    runner.frame = build_frame(cast(Session, _Shown(runner.session, sim)), runner.serial,
                               note=note, before=before, series=series,
                               previous=runner.frame)
    return runner.frame


def alloc(runner: Runner, hand: Hand, order: int, migratetype: MigrateType) -> tuple[Frame, Done]:
    """alloc_pages(order, migratetype) by hand, with the strategy's KMSAN hook."""
    if not 0 <= order <= MAX_ORDER:
        raise UserError(f"order {order}: alloc_pages() takes orders 0 to {MAX_ORDER}")
    sim = hand.current(runner.session)
    if not sim.zones or not sim.handed_over:
        raise UserError("the buddy allocator has no memory yet: step through "
                        "memblock_free_all() first")
    sim = copy.deepcopy(sim)
    pfn = sim.alloc_pages(order, migratetype, OWNER)
    if pfn is None:
        raise UserError(f"page allocation failure: order:{order}, mode:{migratetype.label} "
                        f"(no free block of order {order} or more)")
    done = Done("alloc", order, pfn, migratetype.label, True,
                f"alloc_pages order:{order} {migratetype.label} -> pfn {pfn:#x}")
    hand.states.append((sim, done))
    return _emit(runner, sim, f"alloc order {order}"), done


def free(runner: Runner, hand: Hand, pfn: int) -> tuple[Frame, Done]:
    """__free_pages() of the allocated block that holds ``pfn``; a page that is not
    allocated (or KMSAN's own) is refused with the kernel's bad_page() line."""
    sim = copy.deepcopy(hand.current(runner.session))
    zone = sim.zone_of(pfn)
    block = zone.allocated_block(pfn) if zone is not None else None
    head, order = (block[0], block[1]) if block is not None else (pfn, 0)
    migratetype = block[2].label if block is not None else ""
    events = len(sim.events)
    ok = sim.free_pages(head)
    bug = [e.text for e in sim.events[events:] if e.kind == "bug"]
    message = bug[0] if bug else f"free_pages pfn {head:#x} order:{order}"
    done = Done("free", order, head, migratetype, ok, message)
    hand.states.append((sim, done))
    return _emit(runner, sim, "free" if ok else "bad free"), done


def undo(runner: Runner, hand: Hand) -> tuple[Frame, Done]:
    """Take back the last operation by hand."""
    if not hand.active(runner.session):
        raise UserError("nothing done by hand to take back")
    _sim, done = hand.states.pop()
    return _emit(runner, hand.current(runner.session), f"undo {done.kind}"), done
