"""The lazy strategy's boot side: what google/kmsan did for memory in use before its
allocation hook could cover it.

Reference: google/kmsan mm/kmsan/kmsan_init.c (2017-2019):
- kmsan_init_percpu_metadata(): mm/percpu.c allocates shadow and origin for each
  first-chunk unit from memblock ("it may be too early to allocate memory using
  alloc_pages()") and points the unit's struct pages at them;
- kmsan_initialize_shadow_for_text(): after mm_init(), the kernel image mapping
  (``__START_KERNEL_map`` up to ``__bss_stop``, i.e. from physical 0 to the end of
  the image) gets metadata in chunks of order MAX_ORDER - 1 from the buddy
  allocator, to keep the shadow of the image as contiguous as possible; its
  direct-map alias shares the pointers;
- kmsan_initialize_shadow_range() over the recorded ranges (NODE_DATA of each
  node): one order-0 shadow and origin page per page that has none.

And the back-fill a page_ext-based scheme needs (LKML, Potapenko, 31 Jan 2023:
"walk every allocated struct page"): every block the buddy allocator handed out
before the pointers could be stored gets its metadata after the fact.
"""

from __future__ import annotations

from typing import Protocol

from kmsan_tui.model.constants import MAX_PAGE_ORDER, PAGE_SIZE, MigrateType, pfn_down, pfn_up
from kmsan_tui.model.extents import subtract_ranges
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import Blind, MetaBacking, MetaLedger, MetaLink, MetaRole
from kmsan_tui.model.strategies.base import alloc_pages_reserve, atomic_min

PERCPU_OWNER = "kmsan_init_percpu_metadata"
IMAGE_OWNER = "kmsan_initialize_shadow_for_text"
RANGE_OWNER = "kmsan_initialize_shadow_range"
ORPHANED = "kmsan_initialize_shadow_for_text (pointers replaced by kmsan_alloc_page)"
UNUSED = "kmsan_initialize_shadow_for_text (no page to describe)"
# include/linux/mmzone.h of that tree: MAX_ORDER 11, so the top order was 10.
TEXT_ORDER = MAX_PAGE_ORDER


class LazyState(Protocol):
    """What these functions read and update of the lazy strategy."""

    ledger: MetaLedger
    image_end_pfn: int
    early_pages: int

    def give_metadata(self, m: Machine, pfn: int, order: int, reason: str,
                      owner: str = ...) -> bool: ...

    def forget_metadata(self, m: Machine, first: int, last: int) -> None: ...



# ---------------------------------------------------------------------- percpu


def percpu_metadata(m: Machine, lazy: LazyState, base: int, size: int) -> None:
    """kmsan_init_percpu_metadata(): memblock shadow and origin for one unit."""
    first, last = pfn_down(base), pfn_up(base + size)
    n = last - first
    if n <= 0:
        return
    shadow = m.mb_alloc(n * PAGE_SIZE, PAGE_SIZE, "kmsan percpu shadow", caller="pcpu_fc_alloc")
    origin = m.mb_alloc(n * PAGE_SIZE, PAGE_SIZE, "kmsan percpu origin", caller="pcpu_fc_alloc")
    if shadow is None or origin is None:
        m.log(f"kmsan: no memblock memory for percpu metadata at {base:#x}", "warn", first, n)
        for addr, role in ((shadow, MetaRole.SHADOW), (origin, MetaRole.ORIGIN)):
            if addr is not None:
                s = pfn_down(addr)
                m.kmsan.assign(s, s + n, MetaBacking(role, None, PERCPU_OWNER))
                lazy.ledger.reserved_held += n
        return
    s, o = pfn_down(shadow), pfn_down(origin)
    m.kmsan.assign(first, last, MetaLink(s - first, o - first, PERCPU_OWNER))
    m.kmsan.assign(s, s + n, MetaBacking(MetaRole.SHADOW, first - s, PERCPU_OWNER))
    m.kmsan.assign(o, o + n, MetaBacking(MetaRole.ORIGIN, first - o, PERCPU_OWNER))
    lazy.ledger.reserved_meta += 2 * n


def percpu_metadata_from_owners(m: Machine, lazy: LazyState) -> None:
    """The percpu units setup_per_cpu_areas() left in the owner map, each given its
    metadata (until the boot step calls ``percpu_first_chunk`` itself)."""
    units = [(s, e) for s, e, owner in m.owners if owner == "percpu first chunk"]
    for start, end in units:
        percpu_metadata(m, lazy, start * PAGE_SIZE, (end - start) * PAGE_SIZE)
    if units:
        pages = sum(e - s for s, e in units)
        m.log(f"kmsan: percpu: {pages} page(s) of first chunk get shadow and origin from "
              "memblock (kmsan_init_percpu_metadata)", "meta")


# ---------------------------------------------------------------------- after mm_init


def initialize_shadow(m: Machine, lazy: LazyState) -> None:
    """kmsan_initialize_shadow(): the kernel image, then the recorded ranges."""
    _shadow_for_text(m, lazy)
    _shadow_for_node_data(m, lazy)


def _linkable(m: Machine, start: int, end: int) -> list[tuple[int, int]]:
    """Pages of [start, end) in RAM, not in an allocated buddy block (those keep
    the metadata kmsan_alloc_page() gave them; the tree overwrote their pointers and
    leaked it, which the model does not copy) and not KMSAN's own shadow or origin
    (percpu's, from memblock: the tree wrote pointers into their struct pages too,
    but nothing instrumented reads metadata through them, and a page is either
    data or metadata here)."""
    out: list[tuple[int, int]] = []
    for lo, hi in _in_ram_unallocated(m, start, end):
        own = [(s, e) for s, e, value in m.kmsan.overlapping(lo, hi)
               if isinstance(value, MetaBacking)]
        out += subtract_ranges([(lo, hi)], own)
    return out


def _in_ram_unallocated(m: Machine, start: int, end: int) -> list[tuple[int, int]]:
    """Pages of [start, end) in RAM and not in an allocated buddy block."""
    out: list[tuple[int, int]] = []
    for r in m.memblock.memory.regions:
        lo, hi = max(start, pfn_up(r.base)), min(end, pfn_down(r.end))
        if hi <= lo:
            continue
        cur = lo
        for zone in m.zones:
            if zone.end_pfn <= lo or zone.start_pfn >= hi:
                continue
            for p, o, _mt in zone.allocated_blocks_between(lo, hi):
                if p > cur:
                    out.append((cur, min(p, hi)))
                cur = max(cur, p + (1 << o))
        if cur < hi:
            out.append((cur, hi))
    return [(s, e) for s, e in out if e > s]


def _shadow_for_text(m: Machine, lazy: LazyState) -> None:
    """kmsan_initialize_shadow_for_text(): order-10 shadow and origin per 4 MiB of
    [0, end of the kernel image), from the buddy allocator (NUMA_NO_NODE)."""
    image_end = m.config.image_base + m.image.reserved
    size = 1 << TEXT_ORDER
    end_pfn = -(-pfn_up(image_end) // size) * size
    chunks = linked = 0
    for chunk in range(0, end_pfn, size):
        # GFP_ATOMIC | __GFP_ZERO, NUMA_NO_NODE (the boot CPU's node)
        shadow = alloc_pages_reserve(m, TEXT_ORDER, MigrateType.UNMOVABLE, 0, atomic_min)
        origin = alloc_pages_reserve(m, TEXT_ORDER, MigrateType.UNMOVABLE, 0, atomic_min) \
            if shadow is not None else None
        for block in (shadow, origin):
            if block is not None and block < lazy.image_end_pfn:
                orphan_image_links(m, lazy, block, size)  # linked by an earlier chunk
        pieces = _linkable(m, chunk, chunk + size)
        if shadow is None or origin is None:
            # BUG_ON(kmsan_internal_alloc_meta_for_pages(...)): the tree panicked here.
            m.counters.meta_alloc_failures += 1
            m.log(f"kernel BUG at mm/kmsan/kmsan_init.c: no order-{TEXT_ORDER} block for the "
                  f"metadata of the kernel image at pfn {chunk:#x}", "bug", chunk, size)
            if shadow is not None:
                zone = m.zone_of(shadow)
                assert zone is not None
                zone.free_pages(shadow, TEXT_ORDER)
            # The reserved pages of the chunk (the image itself) never get any; free
            # pages will, when kmsan_alloc_page() hands them out. On failure
            # kmsan_internal_alloc_meta_for_pages() clears every page's pointers
            # (set_no_shadow_page()), so a percpu unit in the chunk loses the metadata
            # kmsan_init_percpu_metadata() gave it: that stays allocated, backing nothing.
            for r in m.memblock.reserved.regions:
                lo, hi = max(chunk, pfn_down(r.base)), min(chunk + size, pfn_up(r.end))
                for plo, phi in _linkable(m, lo, hi) if hi > lo else []:
                    lazy.forget_metadata(m, plo, phi)
                    m.kmsan.assign(plo, phi, Blind("kernel image metadata allocation failed"))
                    lazy.ledger.blind += phi - plo
            continue
        # Pages of the chunk that are holes or already allocated back nothing.
        m.kmsan.assign_block(shadow, TEXT_ORDER, MetaBacking(MetaRole.SHADOW, None, UNUSED))
        m.kmsan.assign_block(origin, TEXT_ORDER, MetaBacking(MetaRole.ORIGIN, None, UNUSED))
        used = 0
        for lo, hi in pieces:
            # kmsan_internal_alloc_meta_for_pages() points every page of the chunk at the
            # new blocks: metadata a page had (a percpu unit's, from memblock) backs
            # nothing from now on.
            lazy.forget_metadata(m, lo, hi)
            m.kmsan.assign(lo, hi, MetaLink(shadow - chunk, origin - chunk, IMAGE_OWNER))
            for meta, role in ((shadow, MetaRole.SHADOW), (origin, MetaRole.ORIGIN)):
                m.kmsan.assign(meta + lo - chunk, meta + hi - chunk,
                               MetaBacking(role, chunk - meta, IMAGE_OWNER))
            used += hi - lo
        lazy.ledger.buddy_meta += 2 * used
        lazy.ledger.buddy_held += 2 * (size - used)
        linked += used
        chunks += 1
        lazy.image_end_pfn = chunk + size
    lazy.image_end_pfn = end_pfn
    lazy.ledger.backfill_pages += linked
    m.counters.backfill_blocks += chunks
    m.log(f"kmsan: kernel image [mem {0:#x}-{end_pfn * PAGE_SIZE - 1:#x}]: {chunks} order-"
          f"{TEXT_ORDER} shadow/origin pair(s) from the buddy allocator for {linked} pages",
          "meta", 0, end_pfn)


def _shadow_for_node_data(m: Machine, lazy: LazyState) -> None:
    """kmsan_initialize_shadow_range() over NODE_DATA: order 0, page by page."""
    done = 0
    for start, end, owner in list(m.owners):
        if not owner.startswith("NODE_DATA("):
            continue
        for p in range(start, end):
            if m.kmsan.get(p) is not None:
                continue  # "if (page->shadow)": already has metadata
            if lazy.give_metadata(m, p, 0, "NODE_DATA metadata allocation failed", RANGE_OWNER):
                lazy.ledger.backfill_pages += 1
                m.counters.backfill_blocks += 1
                done += 1
    if done:
        m.log(f"kmsan: {done} NODE_DATA page(s) given order-0 shadow and origin", "meta")


def orphan_image_links(m: Machine, lazy: LazyState, pfn: int, nr_pages: int) -> None:
    """kmsan_alloc_page() on pages the image chunks cover: the new metadata replaces
    the pointers, and the chunk's pages for them back nothing from now on."""
    # Image links, and the chunk pages behind them, are range extents (assign()),
    # never blocks: they are edited in the ranges directly, which spares the block
    # index a rebuild on every allocation in low memory.
    ranges = m.kmsan.ranges
    for start, end, value in list(ranges.overlapping(pfn, pfn + nr_pages)):
        if not isinstance(value, MetaLink) or value.owner != IMAGE_OWNER:
            continue
        lo, hi = max(start, pfn), min(end, pfn + nr_pages)
        ranges.remove(lo, hi)
        for delta, role in ((value.shadow_delta, MetaRole.SHADOW),
                            (value.origin_delta, MetaRole.ORIGIN)):
            ranges.assign(lo + delta, hi + delta, MetaBacking(role, None, ORPHANED))
        lazy.ledger.buddy_meta -= 2 * (hi - lo)
        lazy.ledger.buddy_held += 2 * (hi - lo)


# ---------------------------------------------------------------------- back-fill


def backfill_walk(m: Machine, lazy: LazyState, step: str) -> None:
    """Walk every struct page for blocks handed out before activation, and give each
    the metadata kmsan_alloc_page() would have given it."""
    walked = sum(z.spanned_pages for z in m.zones)
    m.counters.backfill_walked += walked
    blocks = sorted((pfn, order) for z in m.zones for pfn, order, _mt in z.allocated_blocks()
                    if m.kmsan.get(pfn) is None)
    filled = 0
    for pfn, order in blocks:
        lazy.early_pages += 1 << order
        if lazy.give_metadata(m, pfn, order, "back-fill failed"):
            filled += 1
            lazy.ledger.backfill_pages += 1 << order
    m.counters.backfill_blocks += len(blocks)
    m.log(f"kmsan: lazy metadata active at {step}: walked {walked} struct pages, "
          f"back-filled {filled}/{len(blocks)} blocks ({lazy.early_pages} pages handed out "
          "before)", "meta")
