"""The fixed strategy's ``boot`` backing: every RAM page's shadow and origin backed at
kmsan_init_shadow(), from memblock.

As arch/x86/mm/kasan_init_64.c: kasan_init() maps KASAN's shadow for all of RAM
(node-local memblock allocations mapped with 2 MiB pages), scaled to KMSAN's 1:1
shadow and 1:1 origin: each node gives two thirds of its RAM as backing and the
other third is data that has metadata from the start, whatever allocator hands it
out later. Physically this costs what eager costs; it is kept to show that the
virtual layout alone saves nothing (``on-demand`` is the FreeBSD/NetBSD design).
"""

from __future__ import annotations

from typing import Protocol

from kmsan_tui.model.constants import PAGE_SIZE, pfn_down, pfn_up
from kmsan_tui.model.extents import subtract_ranges
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import (
    Blind,
    FixedBacking,
    MetaBacking,
    MetaLedger,
    MetaLink,
    MetaRole,
)
from kmsan_tui.model.strategies.base import KMSAN_PT_OWNER

OWNER = "kmsan_init_shadow (fixed backing)"
SZ_1G = 1 << 30


class FixedState(Protocol):
    ledger: MetaLedger
    backing_pages: int


def back_node(m: Machine, fixed: FixedState, nid: int, start: int, end: int) -> None:
    """Back node ``nid``'s shadow and origin from its own memory, top-down."""
    memory = [(pfn_up(max(r.base, start)), pfn_down(min(r.end, end)))
              for r in m.memblock.memory.regions if r.base < end and r.end > start]
    memory = [(s, e) for s, e in memory if e > s]
    present = sum(e - s for s, e in memory)
    need = -(-2 * present // 3)  # backing B for data D = present - B, with B >= 2D
    pieces: list[tuple[int, int]] = []
    # Take free memory top-down, one memblock allocation per free range.
    for fstart, fend, _ in sorted(m.memblock.free_ranges(nid=nid), key=lambda r: -r[0]):
        if need <= 0:
            break
        first, last = pfn_up(max(fstart, start)), pfn_down(min(fend, end))
        take = min(need, last - first)
        if take <= 0:
            continue
        base = m.mb_alloc(take * PAGE_SIZE, PAGE_SIZE, OWNER, min_addr=first * PAGE_SIZE,
                          max_addr=last * PAGE_SIZE, nid=nid, api="alloc_exact_nid_raw",
                          caller="kmsan_init_shadow")
        if base is None:
            continue
        pieces.append((pfn_down(base), pfn_down(base) + take))
        need -= take
    pieces.sort()
    got = sum(e - s for s, e in pieces)
    fixed.backing_pages += got
    # Data = node memory minus backing; pair data pages in order with the first half
    # of the backing (shadow) and the second half (origin).
    data = subtract_ranges(memory, pieces)
    total_data = sum(e - s for s, e in data)
    shadow_pool = take_pages(pieces, 0, total_data)
    origin_pool = take_pages(pieces, total_data, total_data)
    linked = link(m, fixed, data, shadow_pool, origin_pool)
    fixed.ledger.reserved_meta += 2 * linked
    # Backing past 2 x data (rounding) is allocated and backs nothing.
    for s, e in take_pages(pieces, 2 * linked, got):
        m.kmsan.assign(s, e, MetaBacking(MetaRole.SHADOW, None, OWNER))
        fixed.ledger.reserved_held += e - s
    # The mapping itself: one page-directory page per GiB of shadow and of origin
    # (2 MiB pages), and a PDP page per 512 GiB of each.
    size = total_data * PAGE_SIZE
    pt = 2 * (-(-size // SZ_1G) + -(-size // (512 * SZ_1G)))
    if pt and m.mb_alloc(pt * PAGE_SIZE, PAGE_SIZE, KMSAN_PT_OWNER, nid=nid,
                         caller="kmsan_init_shadow") is not None:
        fixed.ledger.reserved_pt += pt
    m.log(f"kmsan: node {nid}: {got} backing pages for {total_data} data pages", "meta")


def link(m: Machine, fixed: FixedState, data: list[tuple[int, int]],
         shadow: list[tuple[int, int]], origin: list[tuple[int, int]]) -> int:
    """Point data pages at their backing in order; returns the data pages linked."""
    si = oi = 0
    soff = ooff = 0
    linked = 0
    for dstart, dend in data:
        pfn = dstart
        while pfn < dend:
            if si >= len(shadow) or oi >= len(origin):
                m.kmsan.assign(pfn, dend, Blind("fixed: not enough memory for backing"))
                fixed.ledger.blind += dend - pfn
                m.counters.meta_alloc_failures += 1
                break
            s_start, s_end = shadow[si]
            o_start, o_end = origin[oi]
            n = min(dend - pfn, s_end - s_start - soff, o_end - o_start - ooff)
            spfn, opfn = s_start + soff, o_start + ooff
            m.kmsan.assign(pfn, pfn + n, MetaLink(spfn - pfn, opfn - pfn, OWNER))
            m.kmsan.assign(spfn, spfn + n, FixedBacking(MetaRole.SHADOW, pfn - spfn, OWNER))
            m.kmsan.assign(opfn, opfn + n, FixedBacking(MetaRole.ORIGIN, pfn - opfn, OWNER))
            linked += n
            pfn += n
            soff += n
            ooff += n
            if soff == s_end - s_start:
                si, soff = si + 1, 0
            if ooff == o_end - o_start:
                oi, ooff = oi + 1, 0
    return linked


def take_pages(pieces: list[tuple[int, int]], skip: int, count: int) -> list[tuple[int, int]]:
    """``count`` pages of ``pieces`` after the first ``skip``, as ranges."""
    out = []
    for s, e in pieces:
        n = e - s
        if skip >= n:
            skip -= n
            continue
        s += skip
        skip = 0
        take = min(count, e - s)
        if take <= 0:
            break
        out.append((s, s + take))
        count -= take
    return out
