"""The reference the page-state rules are held against: an exact per-page painter.

``page_codes`` paints the model's layers page by page over a (small) pfn range, the
least important first, each layer over the ones below it. It shares no code with
``pagestate.RULES`` (the table ``Simulation.page()`` and ``MapIndex`` resolve with):
the two agree only if the table says what this painter paints, so a rule lost,
added or moved in the table shows up as pages that differ. It is O(pages), so it is a
test oracle, not what the map draws with.

The painting order, bottom to top (what the rule table must say, top to bottom):
RAM memblock still owns (or, once handed over, reserved) < owned before the
hand-over = memblock-reserved < allocated by the buddy allocator < KMSAN metadata
(held back, shadow, origin) < free < hole; then a blind spot over allocated and
reserved pages.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from kmsan_tui.model.metadata import Blind, FixedBacking, MetaBacking, MetaPattern, MetaRole
from kmsan_tui.model.pagestate import BLIND_CODE, CODE_OF, PageState

PAGE = 4096
HOLE = CODE_OF[PageState.HOLE]
MEMBLOCK_FREE = CODE_OF[PageState.MEMBLOCK_FREE]
RESERVED = CODE_OF[PageState.RESERVED]
ALLOCATED = CODE_OF[PageState.ALLOCATED]
FREE = CODE_OF[PageState.FREE]
HELD_BACK = CODE_OF[PageState.HELD_BACK]
SHADOW = CODE_OF[PageState.SHADOW]
ORIGIN = CODE_OF[PageState.ORIGIN]


def _first_byte_pages(base: int, end: int) -> tuple[int, int]:
    """The pages whose first byte is in [base, end) (memblock_is_memory() of a page)."""
    return -(-base // PAGE), -(-end // PAGE)


def _paint(target: np.ndarray, origin: int, first: int, last: int, value: Any) -> None:
    lo, hi = max(first, origin), min(last, origin + len(target))
    if hi > lo:
        target[lo - origin:hi - origin] = value


def page_codes(sim: Any, start: int, end: int, *, blind: bool = True) -> np.ndarray:
    """The state code of every page in [start, end), painted layer by layer.

    With ``blind`` (the map's codes), blind spots over allocated and reserved pages are
    ``BLIND_CODE``; without it, every code is the state ``Simulation.page()`` gives.
    """
    n = end - start
    codes = np.full(n, MEMBLOCK_FREE if not sim.handed_over else RESERVED, dtype=np.int8)
    ram = np.zeros(n, dtype=bool)
    for r in sim.memblock.memory.regions:
        _paint(ram, start, *_first_byte_pages(r.base, r.base + r.size), True)
    if sim.zones:
        # Once zones exist, RAM outside every zone has no struct page either.
        in_zone = np.zeros(n, dtype=bool)
        for zone in sim.zones:
            _paint(in_zone, start, zone.start_pfn, zone.end_pfn, True)
        ram &= in_zone
    # Reserved: memblock.reserved, and before the hand-over whatever a boot step owns.
    if not sim.handed_over:
        for s, e, _owner in sim.owners.overlapping(start, end):
            _paint(codes, start, s, e, RESERVED)
    for r in sim.memblock.reserved.regions:
        _paint(codes, start, *_first_byte_pages(r.base, r.base + r.size), RESERVED)
    # The buddy allocator's blocks.
    for zone in sim.zones:
        if zone.end_pfn <= start or zone.start_pfn >= end:
            continue
        for pfn, order, _mt in zone.allocated_blocks_between(start, end):
            _paint(codes, start, pfn, pfn + (1 << order), ALLOCATED)
    # KMSAN metadata pages, whoever allocated them.
    blind_pages = np.zeros(n, dtype=bool)
    for s, e, value in sim.kmsan.overlapping(start, end):
        if isinstance(value, MetaBacking) and value.data_delta is None:
            _paint(codes, start, s, e, HELD_BACK)
        elif isinstance(value, MetaBacking | FixedBacking):
            _paint(codes, start, s, e, SHADOW if value.role is MetaRole.SHADOW else ORIGIN)
        elif isinstance(value, MetaPattern):
            size = 1 << value.order
            p = value.base + ((max(s, start) - value.base) // size) * size
            while p < min(e, end):
                role = value.role_of(p)[0]
                if role is not None:
                    _paint(codes, start, max(p, s), min(p + size, e),
                           SHADOW if role is MetaRole.SHADOW else ORIGIN)
                p += size
        elif isinstance(value, Blind):
            _paint(blind_pages, start, s, e, True)
    # Free blocks, block by block.
    for zone in sim.zones:
        if zone.end_pfn <= start or zone.start_pfn >= end:
            continue
        for run in zone.free_runs_between(start, end):
            for head in run.pfns:
                if head < end and head + (1 << run.order) > start:
                    _paint(codes, start, head, head + (1 << run.order), FREE)
    codes[~ram] = HOLE
    if blind:
        codes[blind_pages & ((codes == ALLOCATED) | (codes == RESERVED))] = BLIND_CODE
    return codes
