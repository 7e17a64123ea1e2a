"""The buddy allocator of one zone, after mainline mm/page_alloc.c.

What is modelled, per zone: the memblock hand-over (``__free_pages_core`` with
``FPI_TO_TAIL`` and ``split_large_buddy``), ``__free_one_page`` merging with
the pageblock merge rules and ``buddy_merge_likely`` placement, and
``__rmqueue``: ``__rmqueue_smallest`` with ``page_del_and_expand``, then the
fallbacks (:mod:`kmsan_tui.model.fallback`), plus the pageblock migratetypes
these move around. The free lists are changed only through
:class:`kmsan_tui.model.freearea.FreeArea`'s operations; ``check_zone()`` in
:mod:`kmsan_tui.model.invariants` holds the zone to its invariants.

The zone carries its watermarks and ``lowmem_reserve[]`` (set by
``init_per_zone_wmark_min``) and answers ``zone_watermark_ok()``; the zonelist
walk that asks it is the machine's (``Machine.alloc_pages_raw``).  Which
fallback ``__rmqueue`` runs is the kernel profile's: v6.1's
``__rmqueue_fallback`` or the v6.15 claim/steal split.

Not modelled: per-cpu (pcp) lists, watermark boosting, page shuffling, CMA,
compaction and capture, the highatomic reserve accounting, guard pages
(debug_pagealloc), page reporting, memory hot(un)plug (``ALLOC_NOFRAGMENT`` is
a keyword of :meth:`Zone.alloc_pages`).  ``alloc_pages`` of
HIGHATOMIC or ISOLATE only takes from that type's own lists, since
``fallbacks[]`` has rows for MIGRATE_PCPTYPES only.

Cost is proportional to runs of blocks, never to pages: see
:mod:`kmsan_tui.model.freearea` for the storage.  A hand-over of ``count``
blocks at a fixed stride is O(log runs) when its blocks cannot merge.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from operator import itemgetter
from typing import Any

from kmsan_tui.model.buddy_types import (
    FPI_MEMINIT,
    FPI_NONE,
    FPI_TO_TAIL,
    BadPage,
    FpiFlags,
    FreeRun,
    alloc_record,
    record_mt,
    record_order,
)
from kmsan_tui.model.constants import (
    MAX_PAGE_ORDER,
    NR_PAGE_ORDERS,
    PAGEBLOCK_ORDER,
    PAGES_PER_SECTION,
    MigrateType,
)
from kmsan_tui.model.fallback import FALLBACK_VARIANTS, PCPTYPES, rmqueue_fallback
from kmsan_tui.model.freearea import (
    NR_MIGRATETYPES,
    FreeArea,
    PageblockMap,
    RunNode,
    canonical_runs,
)
from kmsan_tui.model.handover import HandOverLedger

__all__ = [
    "FPI_NONE",
    "FPI_TO_TAIL",
    "BadPage",
    "FreeRun",
    "MigrateType",
    "Zone",
]

_MT = tuple(MigrateType)
_MOVABLE = int(MigrateType.MOVABLE)
_MAX = MAX_PAGE_ORDER
_SECTION_SHIFT = PAGES_PER_SECTION.bit_length() - 1
_sort_key = itemgetter(0, 1)  # (pfn, order) of tuples built for sorting


class Zone:
    """One ``struct zone``: free lists, pageblock types and the blocks handed out."""

    def __init__(
        self,
        nid: int,
        name: str,
        start_pfn: int,
        end_pfn: int,
        present_ranges: Sequence[tuple[int, int]] | None = None,
        pageblock_order: int = PAGEBLOCK_ORDER,
        fallback: str = "claim_steal",
    ) -> None:
        """Zone spanning ``[start_pfn, end_pfn)``; RAM only in ``present_ranges``.

        Every pageblock starts MIGRATE_MOVABLE (mm/mm_init.c memmap_init_range)
        and nothing is free until :meth:`free_pages_core` hands pages over.
        ``fallback`` names the kernel's __rmqueue fallback (fallback.py).
        """
        self._setup(nid, name, start_pfn, end_pfn, present_ranges, pageblock_order, fallback)

    def _setup(
        self,
        nid: int,
        name: str,
        start_pfn: int,
        end_pfn: int,
        present_ranges: Sequence[tuple[int, int]] | None,
        pageblock_order: int = PAGEBLOCK_ORDER,
        fallback: str = "claim_steal",
    ) -> None:
        if start_pfn < 0 or end_pfn < start_pfn:
            raise ValueError(f"bad zone span [{start_pfn:#x}, {end_pfn:#x})")
        # pageblock_order: HUGETLB_PAGE_ORDER (9) on x86_64, or MAX_PAGE_ORDER (10) in
        # kernels built without CONFIG_HUGETLB_PAGE (the tinyconfig of the 6.1 logs).
        if not 1 <= pageblock_order <= MAX_PAGE_ORDER:
            raise ValueError(f"bad pageblock_order {pageblock_order}")
        if fallback not in FALLBACK_VARIANTS:
            raise ValueError(f"unknown fallback {fallback!r}")
        self.fallback = fallback
        # _watermark[WMARK_MIN/LOW/HIGH] and lowmem_reserve[ZONE_DMA..ZONE_MOVABLE]:
        # zero until init_per_zone_wmark_min() runs, as in early boot.
        self.watermark: tuple[int, int, int] = (0, 0, 0)
        self.lowmem_reserve: tuple[int, ...] = (0, 0, 0, 0)
        self._pbo = pageblock_order
        self._pbn = 1 << pageblock_order
        self.nid = nid
        self.name = name
        self.start_pfn = start_pfn
        self.end_pfn = end_pfn
        self.spanned_pages = end_pfn - start_pfn
        ranges = [(start_pfn, end_pfn)] if present_ranges is None else present_ranges
        merged: list[tuple[int, int]] = []
        for a, b in sorted((max(a, start_pfn), min(b, end_pfn)) for a, b in ranges):
            if a >= b:
                continue
            if merged and a <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(b, merged[-1][1]))
            else:
                merged.append((a, b))
        self._present = merged
        self._present_starts = [a for a, _ in merged]
        self.present_pages = sum(b - a for a, b in merged)
        self.managed_pages = 0
        self.comm = "swapper/0"
        self._area = FreeArea()
        last_pb = ((end_pfn - 1) >> self._pbo) + 1 if end_pfn > start_pfn else start_pfn >> self._pbo
        self._pb = PageblockMap(start_pfn >> self._pbo, last_pb, _MOVABLE)
        # head pfn -> alloc_record(order, migratetype), for every block handed out
        self._alloc: dict[int, int] = {}
        self._alloc_keys: list[int] | None = []  # sorted heads, None = stale (rebuilt lazily)
        self._handed = HandOverLedger()  # what free_pages_core() handed over

    # ================================================================ queries
    @property
    def pageblock_order(self) -> int:
        """pageblock_order of this kernel build."""
        return self._pbo

    @property
    def freelists_follow_pageblocks(self) -> bool:
        """Every free block sits on its pageblock's type list: true since v6.10
        ("mm: page_alloc: consolidate free page accounting"); the older fallback moves
        a pageblock's free pages without retyping it."""
        return self.fallback != "rmqueue_fallback"

    @property
    def free_area(self) -> FreeArea:
        """The free lists (read them; change them only through the zone)."""
        return self._area

    @property
    def pageblocks(self) -> PageblockMap:
        """The pageblock migratetypes (read them; change them only through the zone)."""
        return self._pb

    @property
    def present_ranges(self) -> tuple[tuple[int, int], ...]:
        """The zone's RAM as sorted, disjoint [start, end) pfn ranges."""
        return tuple(self._present)

    @property
    def handed_over_pages(self) -> int:
        """Pages free_pages_core() handed to the zone (what managed_pages must equal)."""
        return self._handed.total_pages

    def allocation_records(self) -> Iterator[tuple[int, int, int]]:
        """(head pfn, order, migratetype) of every allocated block, in no order."""
        for pfn, record in self._alloc.items():
            yield pfn, record_order(record), record_mt(record)

    @property
    def nr_free_pages(self) -> int:
        """NR_FREE_PAGES: pages on the free lists."""
        return self._area.nr_pages

    def watermark_ok(self, order: int, mark: int, highest_zoneidx: int) -> bool:
        """mm/page_alloc.c __zone_watermark_ok(): after the request, free pages stay
        above ``mark`` plus the reserve kept for allocations that could have used a
        higher zone, and (order > 0) a block of ``order`` or more is free on a list
        of a fallback-capable type."""
        free = self._area.nr_pages - ((1 << order) - 1)
        if free <= mark + self.lowmem_reserve[highest_zoneidx]:
            return False
        if not order:
            return True
        for row in self._area.lists[:PCPTYPES]:
            for o in range(order, NR_PAGE_ORDERS):
                if row[o].nr:
                    return True
        return False

    def buddyinfo(self) -> tuple[int, ...]:
        """``free_area[order].nr_free`` for each order (mm/vmstat.c frag_show_print)."""
        lists = self._area.lists
        return tuple(sum(row[o].nr for row in lists) for o in range(NR_PAGE_ORDERS))

    def nr_free_by_type(self) -> list[list[int]]:
        """[migratetype][order] block counts (pagetypeinfo_showfree_print)."""
        return [[fl.nr for fl in row] for row in self._area.lists]

    def free_list(
        self, order: int, migratetype: MigrateType, limit: int | None = None
    ) -> list[int]:
        """Head pfns on ``free_area[order].free_list[migratetype]``, head first."""
        out: list[int] = []
        if limit is not None and limit <= 0:
            return out
        for n in FreeArea.nodes(self._area.lists[migratetype][order]):
            for k in range(n.count):
                out.append(n.start + k * n.stride)
                if limit is not None and len(out) >= limit:
                    return out
        return out

    def free_list_runs(self, order: int, migratetype: MigrateType) -> Iterator[FreeRun]:
        """That list as maximal runs of equally spaced blocks, head first."""
        mt = _MT[migratetype]
        nodes = FreeArea.nodes(self._area.lists[migratetype][order])
        for s, c, t in canonical_runs(nodes, 1 << order):
            yield FreeRun(s, c, t, order, mt)

    def pageblock_migratetype(self, pfn: int) -> MigrateType:
        """get_pfnblock_migratetype() for a pfn of the zone."""
        self._require_in_zone(pfn)
        return _MT[self._pb.get(pfn >> self._pbo)]

    def pageblock_counts(self) -> dict[MigrateType, int]:
        """"Number of blocks type" (mm/vmstat.c pagetypeinfo_showblockcount_print)."""
        counts = self._pb.sampled_counts(self.start_pfn, self.end_pfn, self._pbo,
                                         self._present, _SECTION_SHIFT)
        return {mt: counts[mt] for mt in MigrateType}

    def find_free_block(self, pfn: int) -> tuple[int, int, MigrateType] | None:
        """(head pfn, order, migratetype) of the free block containing ``pfn``."""
        if not self.start_pfn <= pfn < self.end_pfn:
            return None
        hit = self._area.find_containing(pfn)
        if hit is None:
            return None
        n, k = hit
        return n.start + k * n.stride, n.order, _MT[n.fl.mt]

    def allocated_block(self, pfn: int) -> tuple[int, int, MigrateType] | None:
        """(head pfn, order, migratetype) of the allocated block containing ``pfn``."""
        alloc = self._alloc
        for o in range(NR_PAGE_ORDERS):
            head = pfn & -(1 << o)
            record = alloc.get(head)
            if record is not None and record_order(record) == o:
                return head, o, _MT[record_mt(record)]
        return None

    def allocated_order(self, head: int) -> int | None:
        """The order of the allocated block that starts at ``head`` (None: none does);
        one lookup, what __free_pages() is given."""
        record = self._alloc.get(head)
        return None if record is None else record_order(record)

    def allocated_blocks(self) -> Iterator[tuple[int, int, MigrateType]]:
        """Every block handed out by :meth:`alloc_pages`, ascending pfn."""
        alloc = self._alloc
        for pfn in sorted(alloc):
            record = alloc[pfn]
            yield pfn, record_order(record), _MT[record_mt(record)]

    def allocated_blocks_between(
        self, start_pfn: int, end_pfn: int
    ) -> Iterator[tuple[int, int, MigrateType]]:
        """Allocated blocks overlapping ``[start_pfn, end_pfn)``, ascending.

        O(log n + k) once the sorted heads are current (rebuilt lazily after
        allocations changed).  A block overlapping ``start_pfn`` has its head
        at most one max-order block earlier.
        """
        keys = self._alloc_keys
        if keys is None:
            keys = self._alloc_keys = sorted(self._alloc)
        alloc = self._alloc
        i = bisect_left(keys, start_pfn & -(1 << _MAX))
        while i < len(keys) and keys[i] < end_pfn:
            pfn = keys[i]
            order = record_order(alloc[pfn])
            if pfn + (1 << order) > start_pfn:
                yield pfn, order, _MT[record_mt(alloc[pfn])]
            i += 1

    def free_runs_between(self, start_pfn: int, end_pfn: int) -> Iterator[FreeRun]:
        """Free blocks overlapping ``[start_pfn, end_pfn)`` as runs, by start pfn.

        O(log n + k) once the sorted bucket keys are current (they are
        rebuilt lazily, once, after the free lists changed).
        """
        area = self._area
        out: list[tuple[int, int, FreeRun]] = []
        for n in area.singles_between(start_pfn, end_pfn):
            size = 1 << n.order
            out.append((n.start, n.order, FreeRun(n.start, 1, size, n.order, _MT[n.fl.mt])))
        for n, k0, k1 in area.runs_between(start_pfn, end_pfn):
            s = n.start + k0 * n.stride
            st = n.stride if k1 - k0 > 1 else 1 << n.order
            out.append((s, n.order, FreeRun(s, k1 - k0, st, n.order, _MT[n.fl.mt])))
        out.sort(key=_sort_key)
        for item in out:
            yield item[2]

    # ============================================================== hand-over
    def free_pages_core(
        self, pfn: int, order: int, count: int = 1, stride: int | None = None
    ) -> None:
        """mm/page_alloc.c __free_pages_core(): memblock hands ``count`` blocks over.

        Blocks of ``order`` at ``pfn + i*stride`` (default ``2**order``),
        ascending, each freed with FPI_TO_TAIL through __free_one_page.  The
        whole call is checked first; on BadPage nothing changes.
        """
        if not 0 <= order <= _MAX:
            raise ValueError(f"order {order} out of range")
        if count <= 0:
            if count < 0:
                raise ValueError("negative count")
            return
        size = 1 << order
        st = size if stride is None or count == 1 else stride
        if st < size or st % size:
            raise ValueError(f"stride {st:#x} is not a positive multiple of {size:#x}")
        if pfn & (size - 1):
            raise BadPage(pfn, "misaligned", self.comm)
        last_end = pfn + (count - 1) * st + size
        if pfn < self.start_pfn:
            raise BadPage(pfn, "outside zone", self.comm)
        if last_end > self.end_pfn:
            first_out = max(0, (self.end_pfn - size - pfn) // st + 1)
            raise BadPage(pfn + first_out * st, "outside zone", self.comm)
        hole = self.first_not_present(pfn, count, st, size)
        if hole is not None:
            raise BadPage(pfn + hole * st, "page not present (memory hole)", self.comm)
        taken = self._handed.first_overlap(pfn, count, st, size)
        if taken is not None:
            p = pfn + taken * st
            raise BadPage(p, self._in_use_reason(p, size), self.comm)
        self._handed.register(pfn, count, st, size)
        self.managed_pages += count << order
        if st == size and count > 1 and order < _MAX:
            self._hand_over_contiguous(pfn, last_end)
        else:
            self._hand_over_run(pfn, order, count, st)

    def _hand_over_contiguous(self, lo: int, hi: int) -> None:
        # Freeing 2**k consecutive blocks ascending, each merging with the last,
        # ends exactly like freeing their naturally aligned chunks in ascending
        # order (what memblock's __free_pages_memory does), and the max-order
        # chunks form one contiguous run.
        p = lo
        while p < hi:
            o = min(_MAX, (p & -p).bit_length() - 1 if p else _MAX, (hi - p).bit_length() - 1)
            if o == _MAX:
                n = (hi - p) >> _MAX
                self._hand_over_run(p, _MAX, n, 1 << _MAX)
                p += n << _MAX
            else:
                self._hand_over_block(p, o)
                p += 1 << o

    def _hand_over_run(self, pfn: int, order: int, count: int, stride: int) -> None:
        if count == 1:
            self._hand_over_block(pfn, order)
            return
        size = 1 << order
        last = pfn + (count - 1) * stride
        mt = self._pb.uniform(pfn >> self._pbo, ((last + size - 1) >> self._pbo) + 1)
        # No block can merge when the order is MAX_PAGE_ORDER (split_large_buddy's
        # pageblock halves re-merge as both have type mt) or when no free block
        # sits within a buddy's reach; then the run goes to the tail in one step.
        if mt >= 0 and (
            order == _MAX or not self._area.any_between(pfn - size, last + 2 * size)
        ):
            self._area.add_run(self._area.lists[mt][order], pfn, count, stride, True)
            return
        for i in range(count):
            self._hand_over_block(pfn + i * stride, order)

    def _hand_over_block(self, pfn: int, order: int) -> None:
        """__free_pages_ok(FPI_TO_TAIL) -> split_large_buddy() -> __free_one_page()."""
        self._split_large_buddy(pfn, order, FPI_TO_TAIL | FPI_MEMINIT)

    def _split_large_buddy(self, pfn: int, order: int, fpi: FpiFlags) -> None:
        # mm/page_alloc.c split_large_buddy(): a block larger than a pageblock is
        # freed one pageblock at a time, each with its own pageblock's type.
        pb = self._pb
        if order <= self._pbo:
            self._free_one(pfn, order, self._block_mt(pfn), fpi)
            return
        mt = pb.uniform(pfn >> self._pbo, (pfn + (1 << order)) >> self._pbo)
        if mt >= 0:
            # Halves of one type re-merge at once: skip the detour.
            self._free_one(pfn, order, mt, fpi)
            return
        for p in range(pfn, pfn + (1 << order), self._pbn):
            self._free_one(p, self._pbo, pb.get(p >> self._pbo), fpi)

    def _block_mt(self, pfn: int) -> int:
        """get_pfnblock_migratetype() (one interval: no search)."""
        pb = self._pb
        return pb.single if pb.single >= 0 else pb.get(pfn >> self._pbo)

    # =================================================================== free
    def free_pages(self, pfn: int, order: int) -> None:
        """Free a block :meth:`alloc_pages` returned (__free_pages_ok, FPI_NONE).

        It goes to its pageblock's current type (get_pfnblock_migratetype).
        """
        record = self._alloc.get(pfn)
        if record is None or record_order(record) != order:
            raise BadPage(pfn, self._bad_free_reason(pfn, order, record), self.comm)
        del self._alloc[pfn]
        self._alloc_keys = None
        if order > self._pbo:
            self._split_large_buddy(pfn, order, FPI_NONE)
        else:
            self._free_one(pfn, order, self._block_mt(pfn), FPI_NONE)

    def make_alloc_exact(self, pfn: int, nr_pages: int) -> None:
        """mm/page_alloc.c make_alloc_exact(): keep ``nr_pages`` of an allocated block.

        split_page() turns the block into order-0 pages (each recorded as an
        allocated order-0 block of the same migratetype); the pages past
        ``nr_pages`` are freed one by one, ascending, with FPI_TO_TAIL.
        """
        record = self._alloc.get(pfn)
        if record is None:
            raise BadPage(pfn, self._bad_free_reason(pfn, 0, None), self.comm)
        if nr_pages <= 0:
            raise ValueError(f"nr_pages {nr_pages} must be positive")
        size = 1 << record_order(record)
        keep = min(nr_pages, size)
        del self._alloc[pfn]
        self._alloc_keys = None
        single = alloc_record(0, record_mt(record))
        for p in range(pfn, pfn + keep):
            self._alloc[p] = single
        # Freeing consecutive pages ascending, each merging with what came before,
        # ends like freeing their naturally aligned chunks ascending.
        p, end = pfn + keep, pfn + size
        while p < end:
            o = min((p & -p).bit_length() - 1, (end - p).bit_length() - 1)
            self._split_large_buddy(p, o, FPI_TO_TAIL)
            p += 1 << o

    def _free_one(self, pfn: int, order: int, mt: int, fpi: FpiFlags) -> None:
        """mm/page_alloc.c __free_one_page(): merge with free buddies, then list it."""
        area = self._area
        pb = self._pb
        pbo = self._pbo
        while order < _MAX:
            # find_buddy_page_pfn(): buddy_pfn = pfn ^ (1 << order); it must be a free
            # block of exactly this order in this zone (page_is_buddy()).
            buddy = pfn ^ (1 << order)
            hit = area.lookup(order, buddy)
            if hit is None:
                break
            if order >= pbo:
                # Below pageblock_order buddies merge whatever their migratetype.
                # Above, never merge a pageblock without fallbacks (HIGHATOMIC,
                # ISOLATE) with one of another type; a mergeable buddy takes our
                # type ("Match buddy type" in __free_one_page).
                bmt = self._block_mt(buddy)
                if bmt != mt:
                    if bmt >= PCPTYPES or mt >= PCPTYPES:
                        break
                    pb.set_range(buddy >> pbo, (buddy >> pbo) + 1, mt)
            area.take_block(*hit)
            pfn &= buddy
            order += 1
        fl = area.lists[mt][order]
        if fpi & FPI_MEMINIT:
            area.add_run(fl, pfn, 1, 1 << order, True)
            return
        tail = bool(fpi & FPI_TO_TAIL) or self._buddy_merge_likely(pfn, order)
        area.put_block(fl, pfn, tail)

    def _buddy_merge_likely(self, pfn: int, order: int) -> bool:
        """buddy_merge_likely(): if the block one order up would merge with its own
        buddy once our buddy is freed, keep us at the tail so we are less likely to be
        allocated before that happens."""
        if order >= _MAX - 1:
            return False
        higher = pfn & ~(1 << order)
        return self._area.lookup(order + 1, higher ^ (1 << (order + 1))) is not None

    # ================================================================== alloc
    def alloc_pages(
        self, order: int, migratetype: MigrateType, *, nofragment: bool = False
    ) -> int | None:
        """mm/page_alloc.c __rmqueue(): a block of ``order``, or None.

        ``nofragment`` is ALLOC_NOFRAGMENT: no claims below pageblock_order and
        no stealing.  The block is recorded as allocated with ``migratetype``.
        """
        if order > _MAX:
            return None  # __alloc_pages: WARN_ON_ONCE(order > MAX_PAGE_ORDER)
        if order < 0 or not 0 <= migratetype < NR_MIGRATETYPES:
            raise ValueError(f"bad request order={order} migratetype={migratetype}")
        if self._area.nr_pages < 1 << order:
            # zone_watermark_ok() fails for a zone without enough free pages: the
            # allocator moves on to the next zone without searching this one.
            return None
        pfn = self.rmqueue_smallest(order, migratetype)
        if pfn is None:
            pfn = rmqueue_fallback(self, order, migratetype, nofragment, self.fallback)
            if pfn is None:
                return None
        self._alloc[pfn] = alloc_record(order, migratetype)
        self._alloc_keys = None
        return pfn

    def rmqueue_smallest(self, order: int, mt: int) -> int | None:
        """__rmqueue_smallest(): the head block of the smallest non-empty list of
        ``mt`` at ``order`` or above, split down to ``order`` (page_del_and_expand)."""
        area = self._area
        lists = area.lists[mt]
        for o in range(order, NR_PAGE_ORDERS):
            fl = lists[o]
            if fl.nr:
                pfn = area.take_block(fl.next, 0)
                if o > order:
                    self.expand(pfn, order, o, mt)
                return pfn
        return None

    def expand(self, pfn: int, low: int, high: int, mt: int) -> None:
        """expand(): from ``high-1`` down to ``low`` the upper half goes to the head of
        that order's list; the caller keeps the lowest 2**low pages."""
        area = self._area
        while high > low:
            high -= 1
            area.add_single(area.lists[mt][high], pfn + (1 << high), False)

    # The fallback paths (kmsan_tui.model.fallback) work through these.

    def nr_free_blocks(self, mt: int, order: int) -> int:
        """Blocks on free_area[order].free_list[mt]."""
        return self._area.lists[mt][order].nr

    def list_head(self, mt: int, order: int) -> int:
        """The head block's pfn of a non-empty free_area[order].free_list[mt]."""
        return self._area.lists[mt][order].next.start

    def take_list_head(self, mt: int, order: int) -> int:
        """Take the head block off free_area[order].free_list[mt]; return its pfn."""
        return self._area.take_block(self._area.lists[mt][order].next, 0)

    def set_pageblock_range(self, pfn: int, nr_pages: int, mt: int) -> None:
        """change_pageblock_range(): set every pageblock of [pfn, pfn + nr_pages) to mt."""
        self._pb.set_range(pfn >> self._pbo, (pfn + nr_pages) >> self._pbo, mt)

    def free_pages_in(self, start: int, end: int) -> int:
        """Pages in free blocks whose head lies in [start, end)."""
        return sum(1 << o for _, o, _, _ in self._free_blocks_in(start, end))

    def movable_pages_in(self, start: int, end: int) -> int:
        """Pages of [start, end) in blocks allocated MOVABLE: the kernel counts
        PageLRU/__PageMovable pages."""
        movable = 0
        alloc = self._alloc
        p = start
        while p < end:
            record = alloc.get(p)
            if record is None:
                p += 1
                continue
            if record_mt(record) == _MOVABLE:
                movable += 1 << record_order(record)
            p += 1 << record_order(record)
        return movable

    def _free_blocks_in(self, lo: int, hi: int) -> list[tuple[int, int, RunNode, int]]:
        """Free blocks with head in ``[lo, hi)``: (pfn, order, node, index), ascending."""
        area = self._area
        out = [(n.start, n.order, n, 0) for n in area.singles_between(lo, hi) if n.start >= lo]
        for n, k0, k1 in area.runs_between(lo, hi):
            for k in range(k0, k1):
                p = n.start + k * n.stride
                if lo <= p < hi:
                    out.append((p, n.order, n, k))
        out.sort(key=_sort_key)
        return out

    def move_freepages(self, lo: int, hi: int, new_mt: int) -> int:
        """move_freepages(): free blocks with head in ``[lo, hi)`` move, ascending, to
        the tails of ``new_mt`` lists (move_to_free_list() is a list_move_tail());
        returns the pages moved. Pageblock types are left alone."""
        area = self._area
        moved = 0
        for p, o, _, _ in self._free_blocks_in(lo, hi):
            hit = area.lookup(o, p)  # earlier moves may have split the run
            if hit is not None:
                area.take_block(*hit)
                area.add_single(area.lists[new_mt][o], p, True)
                moved += 1 << o
        return moved

    def move_to_free_list(self, pfn: int, order: int, new_mt: int) -> None:
        """move_to_free_list(): one free block to the tail of ``new_mt``'s list."""
        hit = self._area.lookup(order, pfn)
        if hit is not None:
            self._area.take_block(*hit)
            self._area.add_single(self._area.lists[new_mt][order], pfn, True)

    def move_freepages_block(self, start: int, new_mt: int) -> None:
        """__move_freepages_block() + set_pageblock_migratetype() for one pageblock."""
        self.move_freepages(max(start, self.start_pfn), start + self._pbn, new_mt)
        pb = start >> self._pbo
        self._pb.set_range(pb, pb + 1, new_mt)

    def set_pageblock_migratetype(self, pfn: int, mt: MigrateType) -> None:
        """Retype the pageblock holding ``pfn``, moving its free pages along.

        Follows move_freepages_block_isolate(): a free buddy larger than a
        pageblock is split and its pageblocks freed again through
        __free_one_page, so two mergeable types re-merge under one type (the
        later pageblock's); ISOLATE/HIGHATOMIC stay apart.  Smaller free blocks
        move to the tails of the new type's lists.
        """
        self._require_in_zone(pfn)
        if not 0 <= mt < NR_MIGRATETYPES:
            raise ValueError(f"bad migratetype {mt}")
        pb = pfn >> self._pbo
        if self._pb.get(pb) == mt:
            return
        start = pb << self._pbo
        hit = self._area.find_containing(max(start, self.start_pfn))
        if hit is not None and hit[0].order > self._pbo:
            n, k = hit
            head = n.start + k * n.stride
            size = 1 << n.order
            self._area.take_block(n, k)
            self._pb.set_range(pb, pb + 1, int(mt))
            for p in range(head, head + size, self._pbn):
                self._free_one(p, self._pbo, self._pb.get(p >> self._pbo), FPI_NONE)
            return
        self.move_freepages_block(start, int(mt))
        # mm/page_isolation.c unset_migratetype_isolate(): a free pageblock-sized
        # buddy kept apart by the old type is taken off and freed again, so it
        # merges now that the types allow it.
        area = self._area
        hit = area.lookup(self._pbo, start)
        if hit is not None and area.lookup(self._pbo, start ^ self._pbn) is not None:
            bmt = self._pb.get((start >> self._pbo) ^ 1)
            if bmt == mt or (bmt < PCPTYPES and mt < PCPTYPES):
                area.take_block(*hit)
                self._free_one(start, self._pbo, int(mt), FPI_NONE)

    # ============================================================= validation
    def _require_in_zone(self, pfn: int) -> None:
        if not self.start_pfn <= pfn < self.end_pfn:
            raise ValueError(f"pfn {pfn:#x} outside zone {self.name}")

    def _bad_free_reason(self, pfn: int, order: int, record: int | None) -> str:
        if not self.start_pfn <= pfn < self.end_pfn:
            return "outside zone"
        if not 0 <= order <= _MAX:
            return "order mismatch"
        if pfn & ((1 << order) - 1):
            return "misaligned"
        if record is not None:
            return "order mismatch"
        if self.find_free_block(pfn) is not None:
            return "page already free"
        return "not the head of an allocated block"

    def _in_use_reason(self, pfn: int, size: int) -> str:
        for p in range(pfn, pfn + size):
            if self.find_free_block(p) is not None:
                return "page already free"
            if self.allocated_block(p) is not None:
                return "page already allocated"
        return "page already handed over"

    def first_not_present(self, start: int, count: int, stride: int, size: int) -> int | None:
        """Index of the first block not wholly inside one present range."""
        ranges = self._present
        j = 0
        while j < count:
            p = start + j * stride
            r = bisect_right(self._present_starts, p) - 1
            if r < 0 or p + size > ranges[r][1]:
                return j
            j = (ranges[r][1] - size - start) // stride + 1
        return None

    # ============================================================== snapshots
    def state_tuple(self) -> tuple[Any, ...]:
        """Deterministic, hashable summary of the whole allocator state."""
        lists = tuple(
            tuple(tuple(canonical_runs(FreeArea.nodes(fl), 1 << fl.order)) for fl in row)
            for row in self._area.lists
        )
        allocs = tuple((p, record_order(r), record_mt(r)) for p, r in sorted(self._alloc.items()))
        pbmap = tuple(zip(self._pb.keys, self._pb.types, strict=True))
        return (
            self.nid,
            self.name,
            self.start_pfn,
            self.end_pfn,
            tuple(self._present),
            self.managed_pages,
            lists,
            allocs,
            pbmap,
            self.fallback,
            self.watermark,
            self.lowmem_reserve,
        )

    def __getstate__(self) -> dict[str, Any]:
        """Plain data only: the linked lists are rebuilt by __setstate__ (no recursion)."""
        return {
            "nid": self.nid,
            "name": self.name,
            "start_pfn": self.start_pfn,
            "end_pfn": self.end_pfn,
            "present": tuple(self._present),
            "managed_pages": self.managed_pages,
            "comm": self.comm,
            "pageblock_order": self._pbo,
            "fallback": self.fallback,
            "watermark": self.watermark,
            "lowmem_reserve": self.lowmem_reserve,
            "area": self._area.export(),
            "pb": (self._pb.first, self._pb.end, tuple(self._pb.keys), tuple(self._pb.types)),
            "alloc": dict(self._alloc),
            "reg": self._handed.export(),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild from :meth:`__getstate__` output."""
        self._setup(
            state["nid"], state["name"], state["start_pfn"], state["end_pfn"], state["present"],
            state["pageblock_order"], state["fallback"],
        )
        self.watermark = state["watermark"]
        self.lowmem_reserve = state["lowmem_reserve"]
        self.managed_pages = state["managed_pages"]
        self.comm = state["comm"]
        self._area = FreeArea.restore(state["area"])
        first, end, keys, types = state["pb"]
        self._pb = PageblockMap(first, end, types[0])
        self._pb.keys = list(keys)
        self._pb.types = list(types)
        self._pb.single = types[0] if len(types) == 1 else -1
        self._alloc = dict(state["alloc"])
        self._alloc_keys = None
        self._handed = HandOverLedger.restore(state["reg"])

    def __deepcopy__(self, memo: dict[int, Any]) -> Zone:
        """O(runs) copy for undo checkpoints; shares nothing with ``self``."""
        new = Zone.__new__(Zone)
        memo[id(self)] = new
        new.__setstate__(self.__getstate__())
        return new
