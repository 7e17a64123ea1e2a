"""Page-state codes, and an exact per-page rendering of a (small) pfn range.

``STATE_CODES`` numbers the states the map draws. ``page_codes`` paints the model's
layers (memblock, buddy blocks, the KMSAN map) page by page over a range: exact but
O(pages), so it is the reference the tests hold ``mapindex.MapIndex`` (the map's
O(extents) index) and ``Simulation.page()`` against, not what the map draws with.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from kmsan_tui.model.metadata import Blind, FixedBacking, MetaBacking, MetaPattern, MetaRole
from kmsan_tui.model.pages import PageState

if TYPE_CHECKING:
    from kmsan_tui.model.simulation import Simulation

# Codes in drawing priority order: a cell shows its most common state, ties to the later.
STATE_CODES: tuple[PageState, ...] = (
    PageState.HOLE, PageState.MEMBLOCK_FREE, PageState.FREE, PageState.RESERVED,
    PageState.ALLOCATED, PageState.HELD_BACK, PageState.SHADOW, PageState.ORIGIN,
)
CODE_OF = {s: i for i, s in enumerate(STATE_CODES)}
BLIND_CODE = len(STATE_CODES)  # an extra code: data pages without metadata
NCODES = BLIND_CODE + 1


def _paint(codes: np.ndarray, base: int, start: int, end: int, code: int) -> None:
    lo, hi = max(start, base), min(end, base + len(codes))
    if hi > lo:
        codes[lo - base:hi - base] = code


def page_codes(sim: Simulation, start: int, end: int) -> np.ndarray:
    """State code of every page in [start, end) (for ranges small enough to hold per page)."""
    n = end - start
    codes = np.full(n, CODE_OF[PageState.HOLE], dtype=np.int8)
    # 1. RAM not yet handed over is memblock-free; reserved regions are reserved.
    base_code = CODE_OF[PageState.RESERVED if sim.handed_over else PageState.MEMBLOCK_FREE]
    for r in sim.memblock.memory.regions:
        _paint(codes, start, -(-r.base // 4096), r.end // 4096, base_code)
    if not sim.handed_over:
        for r in sim.memblock.reserved.regions:
            first, last = r.base // 4096, -(-r.end // 4096)
            lo, hi = max(first, start), min(last, end)
            if hi > lo:
                # Only pages that are RAM: reserved ranges may cover holes.
                seg = codes[lo - start:hi - start]
                seg[seg != CODE_OF[PageState.HOLE]] = CODE_OF[PageState.RESERVED]
    # 2. Buddy: allocated blocks, then free blocks.
    for zone in sim.zones:
        if zone.end_pfn <= start or zone.start_pfn >= end:
            continue
        for pfn, order, _mt in zone.allocated_blocks_between(start, end):
            _paint(codes, start, pfn, pfn + (1 << order), CODE_OF[PageState.ALLOCATED])
        for run in zone.free_runs_between(start, end):
            size = 1 << run.order
            first = max(0, (start - run.start_pfn - size + run.stride) // run.stride)
            last = min(run.count, (end - run.start_pfn + run.stride - 1) // run.stride)
            for i in range(first, last):
                p = run.start_pfn + i * run.stride
                _paint(codes, start, p, p + size, CODE_OF[PageState.FREE])
    # 3. KMSAN metadata and blind spots override (metadata pages are never free).
    free_code = CODE_OF[PageState.FREE]
    for s, e, value in sim.kmsan.overlapping(start, end):
        if isinstance(value, MetaBacking | FixedBacking):
            if isinstance(value, MetaBacking) and value.data_delta is None:
                code = CODE_OF[PageState.HELD_BACK]
            else:
                code = CODE_OF[PageState.SHADOW if value.role is MetaRole.SHADOW
                               else PageState.ORIGIN]
            _paint(codes, start, s, e, code)
        elif isinstance(value, MetaPattern):
            size = 1 << value.order
            lo, hi = max(s, start), min(e, end)
            p = value.base + ((lo - value.base) // size) * size
            while p < hi:
                role = value.role_of(p)[0]
                if role is not None:
                    _paint(codes, start, p, p + size, CODE_OF[
                        PageState.SHADOW if role is MetaRole.SHADOW else PageState.ORIGIN])
                p += size
        elif isinstance(value, Blind):
            lo, hi = max(s, start), min(e, end)
            seg = codes[lo - start:hi - start]
            seg[seg != free_code] = BLIND_CODE
    return codes


def ram_span(sim: Simulation) -> tuple[int, int]:
    """First and last+1 pfn of RAM (the map's default extent)."""
    regions = sim.memblock.memory.regions
    if regions:
        return regions[0].base // 4096, -(-regions[-1].end // 4096)
    usable = [e for e in sim.layout.e820 if e.type == "usable"]
    return usable[0].start // 4096, (usable[-1].end + 1) // 4096


__all__ = ["STATE_CODES", "CODE_OF", "BLIND_CODE", "NCODES", "page_codes", "ram_span"]
