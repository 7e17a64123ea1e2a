"""Blocks allocated and freed by hand in the explorer (``a`` and ``X``), no Textual.

Each is a session command (``AllocPages``, ``FreePages``): a unit of the state like a
boot step, so ``u`` takes it back, a strategy switch re-runs it and a save keeps it.
This module turns what the command did into what the explorer says about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.events import Event
from kmsan_tui.session import AllocPages, FreePages
from kmsan_tui.session.commands import HAND_ORDERS, HAND_TYPES
from kmsan_tui.session.replay import HAND_OWNER
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.runner import Runner

OWNER = HAND_OWNER
"""The owner the inspector shows for a block allocated with ``a``."""

MAX_ORDER = max(HAND_ORDERS)
"""MAX_PAGE_ORDER: the largest block alloc_pages() hands out."""

TYPES = tuple(mt for mt in MigrateType if mt.label in HAND_TYPES)
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


def _last(events: list[Event], kinds: tuple[str, ...]) -> Event | None:
    """The command's own line: the last of these kinds (the KMSAN hook logs before it)."""
    return next((e for e in reversed(events) if e.kind in kinds), None)


def alloc(runner: Runner, order: int, migratetype: MigrateType) -> tuple[Frame, Done]:
    """alloc_pages(order, migratetype) by hand, with the strategy's KMSAN hook."""
    if not 0 <= order <= MAX_ORDER:
        raise UserError(f"order {order}: alloc_pages() takes orders 0 to {MAX_ORDER}")
    frame = runner.by_hand(AllocPages(order, migratetype.label))
    line = _last(runner.session.sim.events, ("alloc", "warn"))
    if line is None or line.kind != "alloc" or line.pfn is None:
        message = line.text if line is not None else "page allocation failure"
        return frame, Done("alloc", order, -1, migratetype.label, False, message)
    return frame, Done("alloc", order, line.pfn, migratetype.label, True,
                       line.text.removeprefix(f"{OWNER}: "))


def free(runner: Runner, pfn: int) -> tuple[Frame, Done]:
    """__free_pages() of the allocated block that holds ``pfn``; a page that is not
    allocated (or KMSAN's own) is refused with the kernel's bad_page() line."""
    sim = runner.session.sim
    zone = sim.zone_of(pfn)
    block = zone.allocated_block(pfn) if zone is not None else None
    head, order = (block[0], block[1]) if block is not None else (pfn, 0)
    migratetype = block[2].label if block is not None else ""
    frame = runner.by_hand(FreePages(pfn))
    line = _last(runner.session.sim.events, ("free", "bug"))
    ok = line is not None and line.kind == "free"
    message = line.text if line is not None else f"free_pages pfn {head:#x} order:{order}"
    return frame, Done("free", order, head, migratetype, ok, message)
