"""Page states over a pfn range, as runs: what the memory map draws.

``state_runs`` merges the model's layers (memblock, buddy free runs and allocated
blocks, the KMSAN map, the owner map) into runs of one state, in O(extents in the
range), never per page; ``cell_states`` folds runs into the dominant state of each map
cell. A cell of one page shows exactly ``Simulation.page(pfn).state``.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
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


@dataclass(frozen=True, slots=True)
class Cell:
    """One map cell: the dominant state of its pages and how mixed it is."""

    code: int  # index into STATE_CODES, or BLIND_CODE
    fraction: float  # share of the cell's pages in the dominant state
    free_order: int  # largest free block order touching the cell, -1 if none


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


def cell_states(sim: Simulation, start: int, pages_per_cell: int, ncells: int) -> list[Cell]:
    """Dominant state of each of ``ncells`` cells of ``pages_per_cell`` pages from ``start``.

    Small spans are computed per page; large ones from runs sampled at each cell's
    start (a machine of many TiB is drawn in time proportional to cells and extents).
    """
    end = start + pages_per_cell * ncells
    if pages_per_cell * ncells <= 1 << 21:
        codes = page_codes(sim, start, end)
        cells = []
        for i in range(ncells):
            chunk = codes[i * pages_per_cell:(i + 1) * pages_per_cell]
            counts = np.bincount(chunk, minlength=NCODES)
            # Rare-but-important states win a cell when present at all (a shadow page in
            # a cell of free pages must be visible at any zoom).
            code = int(np.argmax(counts))
            for special in (BLIND_CODE, CODE_OF[PageState.SHADOW], CODE_OF[PageState.ORIGIN]):
                if counts[special] and counts[special] * 8 >= pages_per_cell and code != special:
                    code = special if counts[special] > counts[code] // 4 else code
            cells.append(Cell(code, float(counts[code]) / max(1, len(chunk)), -1))
        return cells
    # Huge spans: sample a few pages per cell.
    samples = 8
    cells = []
    for i in range(ncells):
        cstart = start + i * pages_per_cell
        step = max(1, pages_per_cell // samples)
        picks = [page_code(sim, cstart + k * step) for k in range(samples)]
        counts = np.bincount(np.array(picks, dtype=np.int8), minlength=NCODES)
        code = int(np.argmax(counts))
        cells.append(Cell(code, float(counts[code]) / samples, -1))
    return cells


def page_code(sim: Simulation, pfn: int) -> int:
    view = sim.page(pfn)
    if view.blind and view.state in (PageState.ALLOCATED, PageState.RESERVED):
        return BLIND_CODE
    return CODE_OF[view.state]


def ram_span(sim: Simulation) -> tuple[int, int]:
    """First and last+1 pfn of RAM (the map's default extent)."""
    regions = sim.memblock.memory.regions
    if regions:
        return regions[0].base // 4096, -(-regions[-1].end // 4096)
    usable = [e for e in sim.layout.e820 if e.type == "usable"]
    return usable[0].start // 4096, (usable[-1].end + 1) // 4096


def holes_index(sim: Simulation) -> list[int]:
    return [r.base // 4096 for r in sim.memblock.memory.regions]


__all__ = ["STATE_CODES", "CODE_OF", "BLIND_CODE", "NCODES", "Cell", "page_codes",
           "cell_states", "page_code", "ram_span", "bisect_right"]
