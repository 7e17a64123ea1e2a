"""The buddy allocator of one zone, after mainline mm/page_alloc.c.

What is modelled, per zone: the memblock hand-over (``__free_pages_core`` with
``FPI_TO_TAIL`` and ``split_large_buddy``), ``__free_one_page`` merging with
the pageblock merge rules and ``buddy_merge_likely`` placement, and
``__rmqueue``: ``__rmqueue_smallest`` with ``page_del_and_expand``, then
``__rmqueue_claim`` (``should_try_claim_block``/``try_to_claim_block``) and
``__rmqueue_steal`` over the ``fallbacks[]`` table, plus the pageblock
migratetypes these move around and the mm/vmstat.c indices.

Not modelled: per-cpu (pcp) lists, watermarks and watermark boosting, page
shuffling, CMA, compaction and capture, the highatomic reserve accounting,
guard pages (debug_pagealloc), page reporting, memory hot(un)plug, and the
zonelist walk (``ALLOC_NOFRAGMENT`` is a keyword of :meth:`Zone.alloc_pages`;
whether to pass it is the zonelist's business).  ``alloc_pages`` of
HIGHATOMIC or ISOLATE only takes from that type's own lists, since
``fallbacks[]`` has rows for MIGRATE_PCPTYPES only.

Cost is proportional to runs of blocks, never to pages: see
:mod:`kmsan_tui.model.freearea` for the storage.  A hand-over of ``count``
blocks at a fixed stride is O(log runs) when its blocks cannot merge.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from kmsan_tui.model.constants import (
    MAX_PAGE_ORDER,
    NR_PAGE_ORDERS,
    PAGEBLOCK_ORDER,
    PAGES_PER_SECTION,
    MigrateType,
)
from kmsan_tui.model.freearea import (
    NR_MIGRATETYPES,
    SINGLE,
    FreeArea,
    FreeList,
    PageblockMap,
    RunNode,
    canonical_runs,
    overlap_first,
)

__all__ = [
    "BadPage",
    "FreeRun",
    "MigrateType",
    "Zone",
]

_MT = tuple(MigrateType)
_UNMOVABLE = int(MigrateType.UNMOVABLE)
_MOVABLE = int(MigrateType.MOVABLE)
_RECLAIMABLE = int(MigrateType.RECLAIMABLE)
# include/linux/mmzone.h: MIGRATE_PCPTYPES; migratetype_is_mergeable() is mt < it.
_PCPTYPES = int(MigrateType.HIGHATOMIC)
# mm/page_alloc.c fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1], in search order.
_FALLBACKS: tuple[tuple[int, int], ...] = (
    (_RECLAIMABLE, _MOVABLE),  # MIGRATE_UNMOVABLE
    (_RECLAIMABLE, _UNMOVABLE),  # MIGRATE_MOVABLE
    (_UNMOVABLE, _MOVABLE),  # MIGRATE_RECLAIMABLE
)
_MAX = MAX_PAGE_ORDER
_SECTION_SHIFT = PAGES_PER_SECTION.bit_length() - 1
_sort_key = itemgetter(0, 1)  # (pfn, order) of tuples built for sorting


class BadPage(Exception):
    """mm/page_alloc.c bad_page(): a free or hand-over the allocator refuses.

    The zone is left unchanged.  ``str(e)`` is the report line.
    """

    def __init__(self, pfn: int, reason: str, comm: str = "swapper/0") -> None:
        """``pfn`` of the offending page, ``reason`` as dump_page() would print it."""
        super().__init__(pfn, reason, comm)
        self.pfn = pfn
        self.reason = reason
        self.comm = comm

    def __str__(self) -> str:
        """bad_page(): "BUG: Bad page state in process %s  pfn:%05lx", then the reason."""
        head = f"BUG: Bad page state in process {self.comm}  pfn:{self.pfn:05x}"
        return f"{head} reason: {self.reason}"


@dataclass(frozen=True, slots=True)
class FreeRun:
    """``count`` free blocks of ``order`` at ``start_pfn + i*stride``, in list order."""

    start_pfn: int
    count: int
    stride: int
    order: int
    migratetype: MigrateType

    @property
    def pfns(self) -> range:
        """Head pfns of the blocks."""
        return range(self.start_pfn, self.start_pfn + self.count * self.stride, self.stride)

    @property
    def nr_pages(self) -> int:
        """Pages in the run's blocks."""
        return self.count << self.order

    @property
    def end_pfn(self) -> int:
        """First pfn past the last block."""
        return self.start_pfn + (self.count - 1) * self.stride + (1 << self.order)


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
    ) -> None:
        """Zone spanning ``[start_pfn, end_pfn)``; RAM only in ``present_ranges``.

        Every pageblock starts MIGRATE_MOVABLE (mm/mm_init.c memmap_init_range)
        and nothing is free until :meth:`free_pages_core` hands pages over.
        """
        self._setup(nid, name, start_pfn, end_pfn, present_ranges, pageblock_order)

    def _setup(
        self,
        nid: int,
        name: str,
        start_pfn: int,
        end_pfn: int,
        present_ranges: Sequence[tuple[int, int]] | None,
        pageblock_order: int = PAGEBLOCK_ORDER,
    ) -> None:
        if start_pfn < 0 or end_pfn < start_pfn:
            raise ValueError(f"bad zone span [{start_pfn:#x}, {end_pfn:#x})")
        # pageblock_order: HUGETLB_PAGE_ORDER (9) on x86_64, or MAX_PAGE_ORDER (10) in
        # kernels built without CONFIG_HUGETLB_PAGE (the tinyconfig of the 6.1 logs).
        if not 1 <= pageblock_order <= MAX_PAGE_ORDER:
            raise ValueError(f"bad pageblock_order {pageblock_order}")
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
        # head pfn -> order | migratetype << 4, for every block alloc_pages handed out
        self._alloc: dict[int, int] = {}
        self._alloc_keys: list[int] | None = []  # sorted heads, None = stale (rebuilt lazily)
        # Pages handed over by free_pages_core, as runs (start, count, stride, size)
        # sorted by start, with the running maximum of span ends for overlap scans.
        self._reg: list[tuple[int, int, int, int]] = []
        self._reg_starts: list[int] = []
        self._reg_maxend: list[int] = []

    # ================================================================ queries
    @property
    def pageblock_order(self) -> int:
        """pageblock_order of this kernel build."""
        return self._pbo

    @property
    def nr_free_pages(self) -> int:
        """NR_FREE_PAGES: pages on the free lists."""
        return sum(fl.nr << fl.order for row in self._area.lists for fl in row)

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
        """"Number of blocks type" (mm/vmstat.c pagetypeinfo_showblockcount_print).

        The kernel samples ``zone_start_pfn + k*pageblock_nr_pages`` and skips
        pfns without a memmap (pfn_to_online_page): a section with no RAM at
        all.  Counted here per pageblock interval and valid section run.
        """
        counts = {mt: 0 for mt in MigrateType}
        start, end = self.start_pfn, self.end_pfn
        if end <= start:
            return counts
        nsamples = (end - start + self._pbn - 1) >> self._pbo
        # Sample k is pfn start + k*pageblock_nr_pages, in pageblock pb0 + k.  The
        # samples inside sections that hold RAM, as sorted k intervals:
        valid: list[tuple[int, int]] = []
        for a, b in self._present:
            sa = (a >> _SECTION_SHIFT) << _SECTION_SHIFT
            sb = (((b - 1) >> _SECTION_SHIFT) + 1) << _SECTION_SHIFT
            ka = max(0, -((start - sa) >> self._pbo))
            kb = min(nsamples, -((start - sb) >> self._pbo))
            if valid and ka <= valid[-1][1]:
                valid[-1] = (valid[-1][0], max(kb, valid[-1][1]))
            elif ka < kb:
                valid.append((ka, kb))
        pb0 = start >> self._pbo
        types = list(self._pb.intervals(pb0, pb0 + nsamples))
        i = j = 0
        while i < len(types) and j < len(valid):  # intersect two sorted interval lists
            lo, hi, mt = types[i]
            ka, kb = valid[j]
            a, b = max(lo - pb0, ka), min(hi - pb0, kb)
            if a < b:
                counts[_MT[mt]] += b - a
            if hi - pb0 < kb:
                i += 1
            else:
                j += 1
        return counts

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
            code = alloc.get(head)
            if code is not None and code & 15 == o:
                return head, o, _MT[code >> 4]
        return None

    def allocated_blocks(self) -> Iterator[tuple[int, int, MigrateType]]:
        """Every block handed out by :meth:`alloc_pages`, ascending pfn."""
        alloc = self._alloc
        for pfn in sorted(alloc):
            code = alloc[pfn]
            yield pfn, code & 15, _MT[code >> 4]

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
            code = alloc[pfn]
            if pfn + (1 << (code & 15)) > start_pfn:
                yield pfn, code & 15, _MT[code >> 4]
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
        hole = self._first_not_present(pfn, count, st, size)
        if hole is not None:
            raise BadPage(pfn + hole * st, "page not present (memory hole)", self.comm)
        taken = self._first_handed_over(pfn, count, st, size)
        if taken is not None:
            p = pfn + taken * st
            raise BadPage(p, self._in_use_reason(p, size), self.comm)
        self._register(pfn, count, st, size)
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
        self._split_large_buddy(pfn, order, True, True)

    def _split_large_buddy(self, pfn: int, order: int, to_tail: bool, boot: bool) -> None:
        # mm/page_alloc.c split_large_buddy(): a block larger than a pageblock is
        # freed one pageblock at a time, each with its own pageblock's type.
        pb = self._pb
        if order <= self._pbo:
            mt = pb.single if pb.single >= 0 else pb.get(pfn >> self._pbo)
            self._free_one(pfn, order, mt, to_tail, boot)
            return
        mt = pb.uniform(pfn >> self._pbo, (pfn + (1 << order)) >> self._pbo)
        if mt >= 0:
            # Halves of one type re-merge at once: skip the detour.
            self._free_one(pfn, order, mt, to_tail, boot)
            return
        for p in range(pfn, pfn + (1 << order), self._pbn):
            self._free_one(p, self._pbo, pb.get(p >> self._pbo), to_tail, boot)

    # =================================================================== free
    def free_pages(self, pfn: int, order: int) -> None:
        """Free a block :meth:`alloc_pages` returned (__free_pages_ok, FPI_NONE).

        It goes to its pageblock's current type (get_pfnblock_migratetype).
        """
        code = self._alloc.get(pfn)
        if code is None or code & 15 != order:
            raise BadPage(pfn, self._bad_free_reason(pfn, order, code), self.comm)
        del self._alloc[pfn]
        self._alloc_keys = None
        if order > self._pbo:
            self._split_large_buddy(pfn, order, False, False)
            return
        pb = self._pb
        mt = pb.single if pb.single >= 0 else pb.get(pfn >> self._pbo)
        self._free_one(pfn, order, mt, False, False)

    def make_alloc_exact(self, pfn: int, nr_pages: int) -> None:
        """mm/page_alloc.c make_alloc_exact(): keep ``nr_pages`` of an allocated block.

        split_page() turns the block into order-0 pages (each recorded as an
        allocated order-0 block of the same migratetype); the pages past
        ``nr_pages`` are freed one by one, ascending, with FPI_TO_TAIL.
        """
        code = self._alloc.get(pfn)
        if code is None:
            raise BadPage(pfn, self._bad_free_reason(pfn, 0, None), self.comm)
        if nr_pages <= 0:
            raise ValueError(f"nr_pages {nr_pages} must be positive")
        size = 1 << (code & 15)
        keep = min(nr_pages, size)
        del self._alloc[pfn]
        self._alloc_keys = None
        single = code & ~15  # order 0, same migratetype
        for p in range(pfn, pfn + keep):
            self._alloc[p] = single
        # Freeing consecutive pages ascending, each merging with what came before,
        # ends like freeing their naturally aligned chunks ascending.
        p, end = pfn + keep, pfn + size
        while p < end:
            o = min((p & -p).bit_length() - 1, (end - p).bit_length() - 1)
            self._split_large_buddy(p, o, True, False)
            p += 1 << o

    def _free_one(self, pfn: int, order: int, mt: int, to_tail: bool, boot: bool) -> None:
        """mm/page_alloc.c __free_one_page(): merge with free buddies, then list it."""
        area = self._area
        buckets = area.buckets
        key = pfn >> _MAX
        got = buckets.get(key)
        # All merges below MAX_PAGE_ORDER stay inside one max-order region, so one
        # bucket serves the whole chain; an unregistered empty dict stands in.
        b = {} if got is None else got
        nruns = area.nruns
        pool_append = area.pool.append
        size = 1 << order
        bp = pfn
        # find_buddy_page_pfn(): buddy_pfn = pfn ^ (1 << order); it must be a free
        # block of exactly this order in this zone (page_is_buddy()).  Below
        # pageblock_order buddies merge whatever their migratetype.
        while order < self._pbo:
            bp = pfn ^ size
            n = b.get(bp)
            if n is None:
                if not nruns[order]:
                    break
                hit = area.lookup_run(order, bp)
                if hit is None:
                    break
                area.take_block(*hit)
            elif n.order != order:
                break
            else:
                p = n.prev
                x = n.next
                p.next = x
                x.prev = p
                n.fl.nr -= 1
                del b[bp]
                pool_append(n)
            pfn &= bp
            order += 1
            size <<= 1
        else:
            pb = self._pb
            while order < _MAX:
                bp = pfn ^ size
                k = 0
                n = b.get(bp)
                if n is None:
                    hit = area.lookup_run(order, bp) if nruns[order] else None
                    if hit is None:
                        break
                    n, k = hit
                elif n.order != order:
                    break
                # Never merge a pageblock without fallbacks (HIGHATOMIC, ISOLATE)
                # with one of another type; a mergeable buddy takes our type
                # ("Match buddy type" in __free_one_page).
                bmt = pb.single if pb.single >= 0 else pb.get(bp >> self._pbo)
                if bmt != mt:
                    if bmt >= _PCPTYPES or mt >= _PCPTYPES:
                        break
                    pb.set_range(bp >> self._pbo, (bp >> self._pbo) + 1, mt)
                if n.kind == SINGLE:
                    p = n.prev
                    x = n.next
                    p.next = x
                    x.prev = p
                    n.fl.nr -= 1
                    del b[bp]
                    pool_append(n)
                else:
                    area.take_block(n, k)
                pfn &= bp
                order += 1
                size <<= 1
        fl = area.lists[mt][order]
        if boot:
            area.add_run(fl, pfn, 1, size, True)
        else:
            if to_tail:
                tail = True
            elif order >= _MAX - 1:
                tail = False
            else:
                # buddy_merge_likely(): if the block one order up would merge with
                # its own buddy once our buddy is freed, keep us at the tail so we
                # are less likely to be allocated before that happens.
                hb = (pfn & bp) ^ (size << 1)
                m = b.get(hb)
                if m is not None:
                    tail = m.order == order + 1
                else:
                    tail = bool(nruns[order + 1]) and area.lookup_run(order + 1, hb) is not None
            x = fl.prev if tail else fl.next
            if x.kind <= SINGLE or not area.extend(fl, pfn, 1, size, tail):
                pool = area.pool
                if pool:
                    n = pool.pop()
                    n.start = pfn
                    n.order = order
                    n.fl = fl
                else:
                    n = RunNode(pfn, 1, size, order, SINGLE, fl)
                if tail:
                    t = fl.prev
                    n.next = fl
                    n.prev = t
                    t.next = n
                    fl.prev = n
                else:
                    h = fl.next
                    n.prev = fl
                    n.next = h
                    h.prev = n
                    fl.next = n
                fl.nr += 1
                if got is None:
                    buckets[key] = b
                    area.bucket_keys = None
                b[pfn] = n
                return
        if got is not None and not b:
            del buckets[key]
            area.bucket_keys = None

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
        area = self._area
        lists = area.lists[migratetype]
        # __rmqueue_smallest(), inlined: the hot path.
        o = order
        while o <= _MAX:
            fl = lists[o]
            n = fl.next
            if n is not fl:
                break
            o += 1
        else:
            got = self._fallback(order, migratetype, nofragment)
            if got is None:
                return None
            self._alloc[got] = order | migratetype << 4
            self._alloc_keys = None
            return got
        buckets = area.buckets
        if n.kind == SINGLE:
            pfn = n.start
            x = n.next
            fl.next = x
            x.prev = fl
            fl.nr -= 1
            key = pfn >> _MAX
            b = buckets[key]
            del b[pfn]
            area.pool.append(n)
            if o == order and not b:
                del buckets[key]
                area.bucket_keys = None
        else:
            pfn = area.take_block(n, 0)
            if o > order:
                key = pfn >> _MAX
                got_b = buckets.get(key)
                if got_b is None:
                    got_b = buckets[key] = {}
                    area.bucket_keys = None
                b = got_b
        if o > order:
            # expand(): from high-1 down to low the upper half goes to the head of
            # that order's list; the caller keeps the lowest part.
            pool = area.pool
            size = 1 << o
            while o > order:
                o -= 1
                size >>= 1
                q = pfn + size
                fl = lists[o]
                if pool:
                    n = pool.pop()
                    n.start = q
                    n.order = o
                    n.fl = fl
                else:
                    n = RunNode(q, 1, size, o, SINGLE, fl)
                h = fl.next
                n.prev = fl
                n.next = h
                h.prev = n
                fl.next = n
                fl.nr += 1
                b[q] = n
        self._alloc[pfn] = order | migratetype << 4
        self._alloc_keys = None
        return pfn

    def _smallest(self, order: int, mt: int) -> int | None:
        """__rmqueue_smallest(): head of the smallest non-empty list of ``mt``."""
        lists = self._area.lists[mt]
        for o in range(order, NR_PAGE_ORDERS):
            fl = lists[o]
            if fl.next is not fl:
                pfn = self._area.take_block(fl.next, 0)
                self._expand(pfn, order, o, mt)
                return pfn
        return None

    def _expand(self, pfn: int, low: int, high: int, mt: int) -> None:
        """expand(): the upper halves from ``high-1`` down to ``low`` go to list heads."""
        area = self._area
        while high > low:
            high -= 1
            area.add_single(area.lists[mt][high], pfn + (1 << high), False)

    def _first_fallback(self, order: int, mt: int) -> int:
        """find_fallback_migratetype(): first fallbacks[mt] type with a block of ``order``."""
        lists = self._area.lists
        for fmt in _FALLBACKS[mt]:
            if lists[fmt][order].nr:
                return fmt
        return -1

    def _fallback(self, order: int, mt: int, nofragment: bool) -> int | None:
        """__rmqueue_claim() then __rmqueue_steal()."""
        if mt >= _PCPTYPES:
            return None
        lists = self._area.lists
        # __rmqueue_claim(): the largest fallback block first, to take ownership
        # of whole pageblocks and keep future requests of our type together.
        min_order = self._pbo if nofragment and order < self._pbo else order
        for co in range(_MAX, min_order - 1, -1):
            # should_try_claim_block(): a claim is worth it for big blocks or for
            # unmovable/reclaimable requests, which fragment permanently.
            if not (co >= self._pbo // 2 or mt == _UNMOVABLE or mt == _RECLAIMABLE):
                break
            fmt = self._first_fallback(co, mt)
            if fmt < 0:
                continue
            got = self._try_to_claim_block(lists[fmt][co], co, order, mt, fmt)
            if got is not None:
                return got
        if nofragment:
            return None
        # __rmqueue_steal(): the smallest fallback block, left in its pageblock type.
        for co in range(order, NR_PAGE_ORDERS):
            fmt = self._first_fallback(co, mt)
            if fmt < 0:
                continue
            fl = lists[fmt][co]
            pfn = self._area.take_block(fl.next, 0)
            self._expand(pfn, order, co, fmt)
            return pfn
        return None

    def _try_to_claim_block(
        self, fl: FreeList, co: int, order: int, start_mt: int, block_mt: int
    ) -> int | None:
        """mm/page_alloc.c try_to_claim_block() for the head block of ``fl``."""
        area = self._area
        head = fl.next
        pfn = head.start
        if co >= self._pbo:
            # Take ownership for orders >= pageblock_order: change_pageblock_range().
            area.take_block(head, 0)
            self._pb.set_range(pfn >> self._pbo, (pfn + (1 << co)) >> self._pbo, start_mt)
            self._expand(pfn, order, co, start_mt)
            return pfn
        start = pfn & -self._pbn
        end = start + self._pbn
        # prep_move_freepages_block(): never touch a pageblock straddling the zone.
        if start < self.start_pfn or end > self.end_pfn:
            return None
        free_pages = sum(1 << o for _, o, _, _ in self._free_blocks_in(start, end))
        movable = 0
        alloc = self._alloc
        p = start
        while p < end:
            code = alloc.get(p)
            if code is None:
                p += 1
                continue
            # The kernel counts PageLRU/__PageMovable pages: blocks allocated MOVABLE.
            if code >> 4 == _MOVABLE:
                movable += 1 << (code & 15)
            p += 1 << (code & 15)
        if start_mt == _MOVABLE:
            alike = movable
        elif block_mt == _MOVABLE:
            # Unmovable/reclaimable falling back to a movable block: every
            # non-movable page in it is compatible.
            alike = self._pbn - (free_pages + movable)
        else:
            alike = 0
        if free_pages + alike >= self._pbn // 2:
            self._move_freepages_block(start, start_mt)
            return self._smallest(order, start_mt)
        return None

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

    def _move_freepages_block(self, start: int, new_mt: int) -> None:
        """__move_freepages_block() + set_pageblock_migratetype() for one pageblock.

        Free blocks inside it move, ascending, to the tails of ``new_mt`` lists
        (move_to_free_list() is a list_move_tail()).
        """
        area = self._area
        lo = max(start, self.start_pfn)
        for p, o, _, _ in self._free_blocks_in(lo, start + self._pbn):
            hit = area.lookup(o, p)  # earlier moves may have split the run
            if hit is not None:
                area.take_block(*hit)
                area.add_single(area.lists[new_mt][o], p, True)
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
                self._free_one(p, self._pbo, self._pb.get(p >> self._pbo), False, False)
            return
        self._move_freepages_block(start, int(mt))
        # mm/page_isolation.c unset_migratetype_isolate(): a free pageblock-sized
        # buddy kept apart by the old type is taken off and freed again, so it
        # merges now that the types allow it.
        area = self._area
        hit = area.lookup(self._pbo, start)
        if hit is not None and area.lookup(self._pbo, start ^ self._pbn) is not None:
            bmt = self._pb.get((start >> self._pbo) ^ 1)
            if bmt == mt or (bmt < _PCPTYPES and mt < _PCPTYPES):
                area.take_block(*hit)
                self._free_one(start, self._pbo, int(mt), False, False)

    # ============================================================= validation
    def _require_in_zone(self, pfn: int) -> None:
        if not self.start_pfn <= pfn < self.end_pfn:
            raise ValueError(f"pfn {pfn:#x} outside zone {self.name}")

    def _bad_free_reason(self, pfn: int, order: int, code: int | None) -> str:
        if not self.start_pfn <= pfn < self.end_pfn:
            return "outside zone"
        if not 0 <= order <= _MAX:
            return "order mismatch"
        if pfn & ((1 << order) - 1):
            return "misaligned"
        if code is not None:
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

    def _first_not_present(self, start: int, count: int, stride: int, size: int) -> int | None:
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

    def _first_handed_over(self, start: int, count: int, stride: int, size: int) -> int | None:
        """Index of the first block overlapping pages already handed over."""
        end = start + (count - 1) * stride + size
        reg = self._reg
        maxend = self._reg_maxend
        best: int | None = None
        i = bisect_left(self._reg_starts, end) - 1
        while i >= 0 and maxend[i] > start:
            a, na, sa, za = reg[i]
            j = overlap_first(start, count, stride, size, a, na, sa, za)
            if j is not None and (best is None or j < best):
                best = j
            i -= 1
        return best

    def _register(self, start: int, count: int, stride: int, size: int) -> None:
        reg = self._reg
        i = bisect_right(self._reg_starts, start)
        if i == len(reg) and reg:
            a, na, sa, za = reg[-1]
            st = sa if na > 1 else start - a
            if za == size and st >= size and st % size == 0 and start == a + na * st:
                if count == 1 or stride == st:
                    reg[-1] = (a, na + count, st, za)
                    end = start + (count - 1) * st + size
                    self._reg_maxend[-1] = max(self._reg_maxend[-1], end)
                    return
        reg.insert(i, (start, count, stride, size))
        self._reg_starts.insert(i, start)
        end = start + (count - 1) * stride + size
        maxend = self._reg_maxend
        maxend.insert(i, max(end, maxend[i - 1] if i else 0))
        # The running maximum after i only changes until it already exceeds end.
        k = i + 1
        while k < len(maxend) and maxend[k] < end:
            maxend[k] = end
            k += 1

    # ============================================================= invariants
    def check(self) -> list[str]:
        """Every invariant violated, one message each; [] when consistent."""
        errs = self._area.check()
        pb = self._pb
        items: list[tuple[int, int, int, int, str]] = []
        free_total = 0
        for mt, row in enumerate(self._area.lists):
            for o, fl in enumerate(row):
                size = 1 << o
                for n in FreeArea.nodes(fl):
                    s, c, st = n.start, n.count, n.stride if n.count > 1 else size
                    where = f"free block {s:#x} order {o} ({_MT[mt].label})"
                    free_total += c << o
                    items.append((s, c, st, size, where))
                    if s & (size - 1):
                        errs.append(f"{where}: misaligned")
                    if s < self.start_pfn or n.span_end > self.end_pfn:
                        errs.append(f"{where}: outside zone")
                    if self._first_not_present(s, c, st, size) is not None:
                        errs.append(f"{where}: covers a memory hole")
                    errs.extend(self._check_free_run(n, mt, where))
        alloc_total = 0
        for p, code in self._alloc.items():
            o = code & 15
            size = 1 << o
            where = f"allocated block {p:#x} order {o}"
            alloc_total += size
            items.append((p, 1, size, size, where))
            if o > _MAX or code >> 4 >= NR_MIGRATETYPES:
                errs.append(f"{where}: bad record {code}")
            if p & (size - 1):
                errs.append(f"{where}: misaligned")
            if p < self.start_pfn or p + size > self.end_pfn:
                errs.append(f"{where}: outside zone")
            if self._first_not_present(p, 1, size, size) is not None:
                errs.append(f"{where}: covers a memory hole")
        items.sort(key=lambda it: it[0])
        active: list[tuple[int, int, int, int, str]] = []
        for it in items:
            active = [a for a in active if a[0] + (a[1] - 1) * a[2] + a[3] > it[0]]
            for a in active:
                if overlap_first(it[0], it[1], it[2], it[3], a[0], a[1], a[2], a[3]) is not None:
                    errs.append(f"{it[4]} overlaps {a[4]}")
            active.append(it)
        handed = sum(na * za for _, na, _, za in self._reg)
        if handed != self.managed_pages:
            errs.append(f"managed_pages {self.managed_pages} but {handed} pages handed over")
        if free_total + alloc_total != self.managed_pages:
            errs.append(
                f"free {free_total} + allocated {alloc_total} != managed {self.managed_pages}"
            )
        keys = pb.keys
        if keys[0] != pb.first or any(a >= b for a, b in zip(keys, keys[1:], strict=False)):
            errs.append("pageblock map keys out of order")
        if any(a == b for a, b in zip(pb.types, pb.types[1:], strict=False)):
            errs.append("pageblock map not coalesced")
        if pb.single != (pb.types[0] if len(pb.types) == 1 else -1):
            errs.append("pageblock map shortcut stale")
        return errs

    def _check_free_run(self, n: RunNode, mt: int, where: str) -> list[str]:
        errs: list[str] = []
        pb = self._pb
        size = 1 << n.order
        span_pbs = (n.start >> self._pbo, ((n.span_end - 1) >> self._pbo) + 1)
        uniform = pb.uniform(*span_pbs)
        if uniform == mt and n.order == _MAX:
            return errs  # one type throughout and nothing to coalesce with
        for k in range(n.count):
            p = n.start + k * n.stride
            if uniform != mt and pb.uniform(p >> self._pbo, ((p + size - 1) >> self._pbo) + 1) != mt:
                errs.append(f"{where}: block {p:#x} is not on its pageblock's type list")
            if n.order < _MAX:
                hit = self._area.lookup(n.order, p ^ size)
                if hit is not None:
                    bmt = hit[0].fl.mt
                    refused = n.order >= self._pbo and bmt != mt and (bmt >= _PCPTYPES or mt >= _PCPTYPES)
                    if not refused:
                        errs.append(f"{where}: block {p:#x} not coalesced with its free buddy")
        return errs

    # ============================================================== snapshots
    def state_tuple(self) -> tuple[Any, ...]:
        """Deterministic, hashable summary of the whole allocator state."""
        lists = tuple(
            tuple(tuple(canonical_runs(FreeArea.nodes(fl), 1 << fl.order)) for fl in row)
            for row in self._area.lists
        )
        allocs = tuple((p, code & 15, code >> 4) for p, code in sorted(self._alloc.items()))
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
            "area": self._area.export(),
            "pb": (self._pb.first, self._pb.end, tuple(self._pb.keys), tuple(self._pb.types)),
            "alloc": dict(self._alloc),
            "reg": tuple(self._reg),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        """Rebuild from :meth:`__getstate__` output."""
        self._setup(
            state["nid"], state["name"], state["start_pfn"], state["end_pfn"], state["present"],
            state["pageblock_order"],
        )
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
        for start, count, stride, size in state["reg"]:
            self._register(start, count, stride, size)

    def __deepcopy__(self, memo: dict[int, Any]) -> Zone:
        """O(runs) copy for undo checkpoints; shares nothing with ``self``."""
        new = Zone.__new__(Zone)
        memo[id(self)] = new
        new.__setstate__(self.__getstate__())
        return new
