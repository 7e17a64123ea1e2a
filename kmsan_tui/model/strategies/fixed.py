"""Fixed addresses, like KASAN: no pointers, a reserved virtual range.

shadow(addr) = addr - PAGE_OFFSET + KMSAN_SHADOW_START, likewise for origin, so
struct page stays 64 bytes. The virtual range is backed only where data lives: at
kmsan_init_shadow() each node gives two thirds of its RAM, from memblock, as backing
pages mapped behind the shadow and origin ranges; every other page is data and has
metadata from the start, whatever allocator hands it out later. A mapping makes
scattered backing pages contiguous, so there is no same-order constraint
(arch/x86/mm/kasan_init_64.c maps KASAN's shadow the same way).

Where the range goes (Documentation/arch/x86/x86_64/mm.rst): KMSAN excludes KASAN,
so KASAN's 16 TB slot at 0xffffec0000000000 is free on 4-level paging: 8 TB of
shadow and 8 TB of origin cap the direct map span at 8 TB. With 5-level paging the
KASAN slot is about 8 PB.
"""

from __future__ import annotations

from typing import Any

from kmsan_tui.model.constants import PAGE_SHIFT, PAGE_SIZE, pfn_down, pfn_up
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import Blind, FixedBacking, MetaLink, MetaRole
from kmsan_tui.model.strategies.base import StrategyBase, VirtualLayout

KASAN_SLOT_4LEVEL = 0xFFFFEC0000000000
KASAN_SLOT_4LEVEL_SIZE = 16 << 40
KASAN_SLOT_5LEVEL = 0xFFDF000000000000
KASAN_SLOT_5LEVEL_SIZE = 8 << 50
SZ_1G = 1 << 30
OWNER = "kmsan_init_shadow (fixed backing)"


class FixedStrategy(StrategyBase):
    name = "fixed"
    struct_page_size = 64
    metadata_in = "fixed mapping"

    def __init__(self) -> None:
        self.backing_pages = 0
        self.mapping_pagetable_pages = 0

    def virtual_layout(self, m: Machine) -> VirtualLayout:
        span = -(-(m.max_pfn << PAGE_SHIFT) // SZ_1G) * SZ_1G
        fits4 = span <= KASAN_SLOT_4LEVEL_SIZE // 2
        fits5 = span <= KASAN_SLOT_5LEVEL_SIZE // 2
        if m.layout.paging_levels == 5:
            base, slot = KASAN_SLOT_5LEVEL, "5-level KASAN slot (8 PB)"
            half = KASAN_SLOT_5LEVEL_SIZE // 2
        else:
            base, slot = KASAN_SLOT_4LEVEL, "4-level KASAN slot (16 TB)"
            half = KASAN_SLOT_4LEVEL_SIZE // 2
        return VirtualLayout(base, base + half, span, fits4, fits5, m.layout.paging_levels, slot)

    def init_shadow(self, m: Machine) -> None:
        layout = self.virtual_layout(m)
        fits = layout.fits_5level if layout.paging_levels == 5 else layout.fits_4level
        m.log(f"kmsan: fixed shadow [{layout.shadow_start:#x}-"
              f"{layout.shadow_start + layout.size_each - 1:#x}], origin "
              f"[{layout.origin_start:#x}-{layout.origin_start + layout.size_each - 1:#x}] "
              f"({layout.size_each >> 30} GiB each, {layout.slot}"
              f"{'' if fits else ': DOES NOT FIT'})", "meta")
        for node in m.layout.nodes:
            self._back_node(m, node.nid, node.start, node.end)

    def _back_node(self, m: Machine, nid: int, start: int, end: int) -> None:
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
        self.backing_pages += sum(e - s for s, e in pieces)
        # Data = node memory minus backing; pair data pages in order with the first half
        # of the backing (shadow) and the second half (origin).
        data = _subtract(memory, pieces)
        total_data = sum(e - s for s, e in data)
        backing = _flatten(pieces)
        shadow_pool = _take(backing, 0, total_data)
        origin_pool = _take(backing, total_data, total_data)
        self._link(m, data, shadow_pool, origin_pool)
        # The mapping itself: one PMD page per GiB of shadow and of origin (2 MiB pages).
        pt = -(-(total_data * PAGE_SIZE) // SZ_1G) * 2
        if pt and m.mb_alloc(pt * PAGE_SIZE, PAGE_SIZE, "kmsan fixed mapping page tables",
                             nid=nid, caller="kmsan_init_shadow") is not None:
            self.mapping_pagetable_pages += pt
            m.counters.pagetable_pages += pt
        m.log(f"kmsan: node {nid}: {self.backing_pages} backing pages for {total_data} data "
              "pages", "meta")

    def _link(self, m: Machine, data: list[tuple[int, int]],
              shadow: list[tuple[int, int]], origin: list[tuple[int, int]]) -> None:
        si = oi = 0
        soff = ooff = 0
        for dstart, dend in data:
            pfn = dstart
            while pfn < dend:
                if si >= len(shadow) or oi >= len(origin):
                    m.kmsan.assign(pfn, dend, Blind("fixed: not enough memory for backing"))
                    m.counters.meta_alloc_failures += 1
                    break
                s_start, s_end = shadow[si]
                o_start, o_end = origin[oi]
                n = min(dend - pfn, s_end - s_start - soff, o_end - o_start - ooff)
                spfn, opfn = s_start + soff, o_start + ooff
                m.kmsan.assign(pfn, pfn + n, MetaLink(spfn - pfn, opfn - pfn, OWNER))
                m.kmsan.assign(spfn, spfn + n, FixedBacking(MetaRole.SHADOW, pfn - spfn))
                m.kmsan.assign(opfn, opfn + n, FixedBacking(MetaRole.ORIGIN, pfn - opfn))
                pfn += n
                soff += n
                ooff += n
                if soff == s_end - s_start:
                    si, soff = si + 1, 0
                if ooff == o_end - o_start:
                    oi, ooff = oi + 1, 0

    def describe_metadata(self, m: Machine, pfn: int, shadow: int | None,
                          origin: int | None) -> tuple[int | None, int | None, dict[str, Any]]:
        layout = self.virtual_layout(m)
        extra: dict[str, Any] = {"metadata_in": self.metadata_in if shadow is not None else None}
        if shadow is not None:
            extra["shadow_vaddr"] = layout.shadow_start + (pfn << PAGE_SHIFT)
            extra["origin_vaddr"] = layout.origin_start + (pfn << PAGE_SHIFT)
        return shadow, origin, extra

    def state_tuple(self) -> tuple[Any, ...]:
        return (self.name, self.backing_pages, self.mapping_pagetable_pages)


def _subtract(ranges: list[tuple[int, int]], holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out = []
    for s, e in ranges:
        cur = s
        for hs, he in holes:
            if he <= cur or hs >= e:
                continue
            if hs > cur:
                out.append((cur, hs))
            cur = max(cur, he)
        if cur < e:
            out.append((cur, e))
    return out


def _flatten(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    return [p for p in pieces if p[1] > p[0]]


def _take(pieces: list[tuple[int, int]], skip: int, count: int) -> list[tuple[int, int]]:
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
