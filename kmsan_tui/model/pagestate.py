"""Which state a page is in: one priority-ordered rule table, for the inspector and the map.

``Simulation.page()`` (``pages.page_view``) answers for one page and the memory map
(``mapindex.MapIndex``) for thousands of pages at once. Both gather the same per-page
facts (``PageFacts``: is it RAM, on a free list, KMSAN metadata, allocated, ...) from
the model's layers and resolve them with ``RULES`` here, so a one-page cell of the map
shows exactly the state the inspector shows, and a new state or a change of priority
is one edit to the table.

This module also numbers the states the map draws (``STATE_CODES``), and declares
``PageSource``: what the lookups read of a machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from enum import Enum
from typing import Protocol

import numpy as np

from kmsan_tui.model.blockmap import BlockMap
from kmsan_tui.model.buddy import Zone
from kmsan_tui.model.memblock import Memblock
from kmsan_tui.model.metadata import MetaValue


class PageState(Enum):
    """What a page is being used for, one value per map colour."""

    HOLE = "hole"  # no RAM (e820 reserved or absent): no struct page is initialised
    MEMBLOCK_FREE = "memblock"  # RAM memblock has not handed to the buddy allocator yet
    RESERVED = "reserved"  # memblock-reserved: PG_reserved after memmap_init_reserved_pages
    FREE = "free"  # on a buddy free list
    ALLOCATED = "allocated"  # handed out by the buddy allocator
    SHADOW = "shadow"  # KMSAN shadow page
    ORIGIN = "origin"  # KMSAN origin page
    HELD_BACK = "held back"  # eager: kept in held_back[order], not yet paired with data


# ---------------------------------------------------------------------- the input


class E820Line(Protocol):
    """One line of the firmware memory map (layout.E820Entry)."""

    @property
    def type(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...  # inclusive, as the kernel prints it


class HasE820(Protocol):
    @property
    def e820(self) -> Sequence[E820Line]: ...


class PageSource(Protocol):
    """What the page-state lookups read of a machine (a ``Simulation`` or a ``Machine``):
    read-only, so any object with these attributes will do."""

    @property
    def memblock(self) -> Memblock: ...
    @property
    def zones(self) -> Sequence[Zone]: ...
    def zone_of(self, pfn: int) -> Zone | None: ...
    @property
    def owners(self) -> BlockMap[str]: ...
    @property
    def kmsan(self) -> BlockMap[MetaValue]: ...
    @property
    def handed_over(self) -> bool: ...
    @property
    def layout(self) -> HasE820: ...


# ---------------------------------------------------------------------- the rules


@dataclass(frozen=True, slots=True)
class PageFacts:
    """What the model's layers say about pages: one boolean array per fact, one entry
    per page (a 1-element array for one page; ``handed_over`` may be 0-d: it holds for
    the whole machine)."""

    ram: np.ndarray  # memblock memory (the page's first byte) and, once zones exist, in a zone
    free: np.ndarray  # in a block on a buddy free list
    held_back: np.ndarray  # KMSAN metadata kept back (eager's held_back[]), not paired with data yet
    shadow: np.ndarray  # a KMSAN shadow page (held back or in use)
    origin: np.ndarray  # a KMSAN origin page (held back or in use)
    allocated: np.ndarray  # in a block the buddy allocator handed out
    reserved: np.ndarray  # in memblock.reserved (the page's first byte)
    owned: np.ndarray  # in the owner map: a boot step or workload reserved or allocated it
    handed_over: np.ndarray  # memblock_free_all() has run
    blind: np.ndarray  # a data page that should have KMSAN metadata and has none

    @classmethod
    def of_page(cls, **facts: bool) -> PageFacts:
        """The facts of one page, as 1-element arrays."""
        return cls(**{name: np.array([value]) for name, value in facts.items()})


FACT_NAMES = tuple(f.name for f in fields(PageFacts))


@dataclass(frozen=True, slots=True)
class Rule:
    """A page whose facts have these values is in ``state`` (unless an earlier rule holds)."""

    state: PageState
    when: tuple[tuple[str, bool], ...]  # (fact name, required value); all must hold

    def holds(self, facts: PageFacts) -> np.ndarray:
        cond: np.ndarray | None = None
        for name, want in self.when:
            value = getattr(facts, name)
            term = value if want else ~value
            cond = term if cond is None else cond & term
        assert cond is not None
        return cond

    def __str__(self) -> str:
        when = " and ".join(name if want else f"not {name}" for name, want in self.when)
        return f"{when} -> {self.state.name}"


def rule(state: PageState, **when: bool) -> Rule:
    unknown = set(when) - set(FACT_NAMES)
    if unknown or not when:
        raise ValueError(f"a rule for {state} needs facts among {FACT_NAMES}, not {unknown}")
    return Rule(state, tuple(when.items()))


# Highest priority first: the first rule that holds gives the page's state. The order
# is the order the kernel would answer in: no struct page, the buddy allocator's own
# lists (PageBuddy), KMSAN's metadata, buddy allocations, then memblock's view.
RULES: tuple[Rule, ...] = (
    # mm/mm_init.c: holes (not memblock memory, or outside every zone once zones
    # exist) have no usable struct page.
    rule(PageState.HOLE, ram=False),
    rule(PageState.FREE, free=True),
    # mm/kmsan/init.c: held_back[] blocks are both shadow or origin and not yet paired.
    rule(PageState.HELD_BACK, held_back=True),
    rule(PageState.SHADOW, shadow=True),
    rule(PageState.ORIGIN, origin=True),
    rule(PageState.ALLOCATED, allocated=True),
    # memblock.reserved pages stay PG_reserved; before the hand-over, pages a boot step
    # owns are reserved whatever memblock's arrays say (partial pages of an allocation).
    rule(PageState.RESERVED, reserved=True),
    rule(PageState.RESERVED, owned=True, handed_over=False),
    rule(PageState.MEMBLOCK_FREE, handed_over=False),
)
# Handed over and none of the above: a partial page at the edge of a reserved range,
# which memblock_free_all() leaves PG_reserved.
OTHERWISE = PageState.RESERVED

# The map draws a blind spot (a data page without metadata) over these states only:
# free, hole and metadata pages have no metadata to miss.
BLIND_OVER: tuple[PageState, ...] = (PageState.ALLOCATED, PageState.RESERVED)

# ---------------------------------------------------------------------- the codes

# Codes in drawing priority order: a cell shows its most common state, ties to the later.
STATE_CODES: tuple[PageState, ...] = (
    PageState.HOLE, PageState.MEMBLOCK_FREE, PageState.FREE, PageState.RESERVED,
    PageState.ALLOCATED, PageState.HELD_BACK, PageState.SHADOW, PageState.ORIGIN,
)
CODE_OF = {s: i for i, s in enumerate(STATE_CODES)}
BLIND_CODE = len(STATE_CODES)  # an extra code: data pages without metadata
NCODES = BLIND_CODE + 1


def state_codes(facts: PageFacts) -> np.ndarray:
    """The state code (a ``STATE_CODES`` index, int8) of each page, by ``RULES``."""
    shape = np.broadcast_shapes(*(np.shape(getattr(facts, name)) for name in FACT_NAMES))
    conds = [np.broadcast_to(r.holds(facts), shape) for r in RULES]
    choices = [np.int8(CODE_OF[r.state]) for r in RULES]
    return np.select(conds, choices, default=np.int8(CODE_OF[OTHERWISE])).astype(np.int8, copy=False)


def map_codes(facts: PageFacts) -> np.ndarray:
    """``state_codes``, with blind spots drawn as ``BLIND_CODE`` over ``BLIND_OVER``."""
    codes = state_codes(facts)
    shown = np.isin(codes, [CODE_OF[s] for s in BLIND_OVER])
    return np.where(facts.blind & shown, np.int8(BLIND_CODE), codes)


def state_of(facts: PageFacts) -> PageState:
    """The state of one page (facts of one element)."""
    return STATE_CODES[int(state_codes(facts)[0])]


__all__ = [
    "BLIND_CODE", "BLIND_OVER", "CODE_OF", "FACT_NAMES", "NCODES", "OTHERWISE", "RULES",
    "STATE_CODES", "PageFacts", "PageSource", "PageState", "Rule", "map_codes", "rule",
    "state_codes", "state_of",
]
