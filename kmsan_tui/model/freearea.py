"""Free-list storage behind :mod:`kmsan_tui.model.buddy` (internal to it).

The kernel keeps one ``struct list_head`` per (order, migratetype) in
``zone->free_area[order].free_list[mt]`` (include/linux/mmzone.h) threaded
through one ``struct page`` per pfn.  A 16 TiB machine has 4 Gi pages and
4 Mi order-10 blocks, so this module never stores anything per page or per
block of a bulk hand-over.  A free-list entry is a :class:`RunNode`:
``count`` blocks of one order whose heads are ``start + i*stride``, lying
next to each other in list order.

Three kinds of node live on the lists:

* ``SINGLE``: one block, created by the hot paths (expand(), frees).  Singles
  are indexed by pfn in ``buckets``, one small dict per max-order-aligned
  region (``pfn >> MAX_PAGE_ORDER``): every block of order <= MAX_PAGE_ORDER
  lies inside one such region, so a whole merge or split chain touches a
  single bucket.
* ``INDEXED``: a run created by the memblock hand-over.  Runs of one order
  are kept in a sorted index of their span starts (``starts``/``runs``) whose
  spans ``[start, last head + 2**order)`` never overlap, so a bisect finds
  the only run that can hold a pfn.
* ``OVERFLOW``: a run whose span would overlap another run of its order
  (interleaved hand-overs); these are scanned linearly, which stays cheap
  because only pathological hand-over patterns produce them.

The lists are circular and doubly linked through the nodes (``prev``/
``next``) with a :class:`FreeList` sentinel, so unlinking from the middle
(a buddy merge, the kernel's ``__del_page_from_free_list``) is O(1).

:class:`PageblockMap` is the sorted interval map that replaces the
``pageblock_flags`` bitmap (mm/page_alloc.c ``set_pfnblock_flags_mask``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from kmsan_tui.model.constants import MAX_PAGE_ORDER, NR_PAGE_ORDERS

NR_MIGRATETYPES = 5  # include/linux/mmzone.h MIGRATE_TYPES without CMA, with ISOLATE

SENTINEL = -1
SINGLE = 0
INDEXED = 1
OVERFLOW = 2

# A run's serialised form: (start, count, stride, kind), in list order.
NodeState = tuple[int, int, int, int]
AreaState = tuple[tuple[tuple[NodeState, ...], ...], ...]


class RunNode:
    """One free-list entry: ``count`` blocks of ``order`` at ``start + i*stride``.

    Blocks are in list order (head first).  ``stride`` is a multiple of
    ``2**order`` and at least ``2**order``; ``fl`` is the list the node is on.
    A SINGLE's ``stride`` is not maintained (the hot paths skip the store):
    read ``2**order`` for it instead.
    """

    __slots__ = ("start", "count", "stride", "order", "kind", "fl", "prev", "next")

    start: int
    count: int
    stride: int
    order: int
    kind: int
    fl: FreeList
    prev: RunNode
    next: RunNode

    def __init__(
        self, start: int, count: int, stride: int, order: int, kind: int, fl: FreeList
    ) -> None:
        """Create an unlinked node (``prev``/``next`` point at itself)."""
        self.start = start
        self.count = count
        self.stride = stride
        self.order = order
        self.kind = kind
        self.fl = fl
        self.prev = self
        self.next = self

    @property
    def span_end(self) -> int:
        """First pfn past the last block of the run."""
        return self.start + (self.count - 1) * self.stride + (1 << self.order)


class FreeList(RunNode):
    """Sentinel of one ``free_area[order].free_list[mt]``; ``nr`` counts its blocks."""

    __slots__ = ("nr", "mt")

    nr: int
    mt: int

    def __init__(self, order: int, mt: int) -> None:
        """An empty list for (order, mt)."""
        super().__init__(-1, 0, 0, order, SENTINEL, self)
        self.nr = 0
        self.mt = mt


def link_head(fl: FreeList, n: RunNode) -> None:
    """list_add(): put ``n`` first on ``fl``."""
    h = fl.next
    n.prev = fl
    n.next = h
    h.prev = n
    fl.next = n


def link_tail(fl: FreeList, n: RunNode) -> None:
    """list_add_tail(): put ``n`` last on ``fl``."""
    t = fl.prev
    n.next = fl
    n.prev = t
    t.next = n
    fl.prev = n


def link_after(a: RunNode, n: RunNode) -> None:
    """Put ``n`` right after ``a`` (used when a run is split in two)."""
    b = a.next
    n.prev = a
    n.next = b
    b.prev = n
    a.next = n


def unlink(n: RunNode) -> None:
    """list_del()."""
    p = n.prev
    x = n.next
    p.next = x
    x.prev = p


def clip(n: RunNode, lo: int, hi: int) -> tuple[int, int]:
    """Index range ``[k0, k1)`` of the blocks of ``n`` that overlap ``[lo, hi)``."""
    size = 1 << n.order
    st = n.stride
    k0 = max(0, (lo - size - n.start) // st + 1)
    k1 = min(n.count, -((n.start - hi) // st))
    return k0, k1


def overlap_first(
    b: int, nb: int, sb: int, zb: int, a: int, na: int, sa: int, za: int
) -> int | None:
    """Smallest j such that block j of run B overlaps some block of run A, else None.

    Runs are (first pfn, count, stride, block size).  Equal strides (or a lone
    block) are solved in closed form: B_j - A_i = d + m*s must lie in
    (-zb, za) for some m = j - i.  Unequal strides fall back to a walk over
    B's blocks inside A's span (only interleaved hand-overs get there).
    """
    a_end = a + (na - 1) * sa + za
    b_end = b + (nb - 1) * sb + zb
    if a_end <= b or b_end <= a:
        return None
    if na == 1 or nb == 1 or sa == sb:
        s = sb if na == 1 else sa
        d = b - a
        m_lo = max(-(na - 1), (-zb - d) // s + 1)
        m_hi = min(nb - 1, -((d - za) // s) - 1)
        if m_lo > m_hi:
            return None
        return max(0, m_lo)
    j = max(0, (a - zb - b) // sb + 1)
    while j < nb:
        p = b + j * sb
        if p >= a_end:
            return None
        if overlap_first(p, 1, sb, zb, a, na, sa, za) is not None:
            return j
        j += 1
    return None


def canonical_runs(nodes: Iterator[RunNode], size: int) -> Iterator[tuple[int, int, int]]:
    """Greedy maximal runs (start, count, stride) of a list, independent of storage."""
    cs = cc = ct = 0
    have = False
    for n in nodes:
        s, c = n.start, n.count
        t = n.stride if c > 1 else size
        if not have:
            cs, cc, ct, have = s, c, t, True
            continue
        if cc == 1:
            d = s - cs
            if d >= size and d % size == 0:
                if c == 1 or t == d:
                    cc, ct = c + 1, d
                    continue
                yield cs, 2, d
                cs, cc, ct = s + t, c - 1, t if c > 2 else size
                continue
        elif s == cs + cc * ct:
            if c == 1 or t == ct:
                cc += c
                continue
            yield cs, cc + 1, ct
            cs, cc, ct = s + t, c - 1, t if c > 2 else size
            continue
        yield cs, cc, ct
        cs, cc, ct = s, c, t
    if have:
        yield cs, cc, ct


class FreeArea:
    """All free lists of one zone plus the indexes that find a free block by pfn.

    ``lists[mt][order]`` are the kernel's free lists; ``nr_pages`` is the zone's
    NR_FREE_PAGES (kept as the kernel keeps it, so reading it costs nothing).
    Change the lists only through the methods.
    """

    __slots__ = ("lists", "buckets", "bucket_keys", "starts", "runs", "overflow", "nruns", "pool",
                 "nr_pages")

    def __init__(self) -> None:
        """Empty lists and indexes."""
        self.lists: list[list[FreeList]] = [
            [FreeList(o, mt) for o in range(NR_PAGE_ORDERS)] for mt in range(NR_MIGRATETYPES)
        ]
        self.buckets: dict[int, dict[int, RunNode]] = {}
        # Sorted bucket keys for range queries; None = stale, rebuilt on demand so
        # the hot paths only pay a store when a bucket appears or disappears.
        self.bucket_keys: list[int] | None = []
        self.starts: list[list[int]] = [[] for _ in range(NR_PAGE_ORDERS)]
        self.runs: list[list[RunNode]] = [[] for _ in range(NR_PAGE_ORDERS)]
        self.overflow: list[list[RunNode]] = [[] for _ in range(NR_PAGE_ORDERS)]
        self.nruns = [0] * NR_PAGE_ORDERS
        # Recycled SINGLE nodes: allocating a slotted object costs more than a pop.
        self.pool: list[RunNode] = []
        self.nr_pages = 0  # pages in free blocks, all lists

    # ---------------------------------------------------------------- singles
    def add_single(self, fl: FreeList, pfn: int, tail: bool) -> RunNode:
        """Put one block on ``fl`` as a SINGLE node (head or tail)."""
        order = fl.order
        pool = self.pool
        if pool:
            n = pool.pop()
            n.start = pfn
            n.order = order
            n.stride = 1 << order
            n.fl = fl
        else:
            n = RunNode(pfn, 1, 1 << order, order, SINGLE, fl)
        if tail:  # list_add_tail() / list_add(), inlined: a hot path
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
        self.nr_pages += 1 << order
        key = pfn >> MAX_PAGE_ORDER
        b = self.buckets.get(key)
        if b is None:
            b = self.buckets[key] = {}
            self.bucket_keys = None
        b[pfn] = n
        return n

    def put_block(self, fl: FreeList, pfn: int, tail: bool) -> None:
        """__add_to_free_list(): one freed block at the tail or head of ``fl``.

        It extends the neighbouring run when it continues the run's pattern (so a
        run freed back block by block stays one node), else it becomes a SINGLE.
        """
        neighbour = fl.prev if tail else fl.next
        if neighbour.kind <= SINGLE or not self.extend(fl, pfn, 1, 1 << fl.order, tail):
            self.add_single(fl, pfn, tail)

    # ------------------------------------------------------------------- runs
    def extend(self, fl: FreeList, start: int, count: int, stride: int, tail: bool) -> bool:
        """Grow the run at the tail (or head) of ``fl`` by blocks continuing its pattern.

        Returns False, changing nothing, when the neighbour is not a run, the
        pattern does not continue, or the grown span would overlap another run.
        """
        x = fl.prev if tail else fl.next
        if x.kind <= SINGLE:
            return False
        size = 1 << fl.order
        if tail:
            st = x.stride if x.count > 1 else start - x.start
            if not (count == 1 or stride == st) or st < size or st % size:
                return False
            if start != x.start + x.count * st:
                return False
            if x.kind == INDEXED:
                starts = self.starts[x.order]
                i = bisect_left(starts, x.start) + 1
                if i < len(starts) and starts[i] < start + (count - 1) * st + size:
                    return False
        else:
            last = start + (count - 1) * stride
            st = x.stride if x.count > 1 else x.start - last
            if not (count == 1 or stride == st) or st < size or st % size:
                return False
            if last + st != x.start:
                return False
            if x.kind == INDEXED:
                starts = self.starts[x.order]
                i = bisect_left(starts, x.start)
                if i:
                    prev = self.runs[x.order][i - 1]
                    if prev.start + (prev.count - 1) * prev.stride + size > start:
                        return False
                starts[i] = start
            x.start = start
        x.stride = st
        x.count += count
        fl.nr += count
        self.nr_pages += count << fl.order
        return True

    def add_run(self, fl: FreeList, start: int, count: int, stride: int, tail: bool) -> None:
        """Put ``count`` blocks at ``start + i*stride`` on ``fl`` (they must not merge).

        Extends the neighbouring run when the pattern continues, else adds an
        INDEXED node (OVERFLOW if its span overlaps a run of the same order; a
        lone block that cannot be indexed becomes a SINGLE instead).
        """
        if count == 1:
            stride = 1 << fl.order
        if self.extend(fl, start, count, stride, tail):
            return
        n = RunNode(start, count, stride, fl.order, INDEXED, fl)
        if not self._index_insert(n):
            if count == 1:
                self.add_single(fl, start, tail)
                return
            n.kind = OVERFLOW
            self.overflow[n.order].append(n)
            self.nruns[n.order] += 1
        if tail:
            link_tail(fl, n)
        else:
            link_head(fl, n)
        fl.nr += count
        self.nr_pages += count << fl.order

    def take_block(self, n: RunNode, k: int) -> int:
        """Unlink block ``k`` of ``n`` from its list and return its pfn.

        mm/page_alloc.c __del_page_from_free_list(): for a run this shrinks it
        from the front (k == 0, the allocation case), from the back, or splits
        it in two around the block (a buddy merge into the middle of a run).
        """
        fl = n.fl
        fl.nr -= 1
        self.nr_pages -= 1 << n.order
        if n.kind == SINGLE:
            pfn = n.start
            p, x = n.prev, n.next  # unlink(), inlined: the allocator's hottest path
            p.next = x
            x.prev = p
            key = pfn >> MAX_PAGE_ORDER
            b = self.buckets[key]
            del b[pfn]
            if not b:
                del self.buckets[key]
                self.bucket_keys = None
            self.pool.append(n)
            return pfn
        stride = n.stride
        pfn = n.start + k * stride
        if n.count == 1:
            unlink(n)
            self._index_remove(n)
        elif k == 0:
            self._restart(n, pfn + stride)
            n.count -= 1
        elif k == n.count - 1:
            n.count -= 1
        else:
            rest = RunNode(pfn + stride, n.count - k - 1, stride, n.order, n.kind, fl)
            n.count = k
            link_after(n, rest)
            if rest.kind == INDEXED:
                i = bisect_left(self.starts[n.order], n.start) + 1
                self.starts[n.order].insert(i, rest.start)
                self.runs[n.order].insert(i, rest)
            else:
                self.overflow[n.order].append(rest)
            self.nruns[n.order] += 1
        return pfn

    # ---------------------------------------------------------------- lookups
    def lookup_run(self, order: int, pfn: int) -> tuple[RunNode, int] | None:
        """The run holding a free block of ``order`` with head ``pfn``, and its index."""
        starts = self.starts[order]
        if starts:
            i = bisect_right(starts, pfn) - 1
            if i >= 0:
                n = self.runs[order][i]
                d = pfn - n.start
                if d % n.stride == 0 and d // n.stride < n.count:
                    return n, d // n.stride
        for n in self.overflow[order]:
            d = pfn - n.start
            if d >= 0 and d % n.stride == 0 and d // n.stride < n.count:
                return n, d // n.stride
        return None

    def lookup(self, order: int, pfn: int) -> tuple[RunNode, int] | None:
        """The node holding a free block of exactly ``order`` at ``pfn`` (PageBuddy test)."""
        b = self.buckets.get(pfn >> MAX_PAGE_ORDER)
        if b is not None:
            n = b.get(pfn)
            if n is not None:
                # Another order at the same head cannot share the pfn with a run block.
                return (n, 0) if n.order == order else None
        if self.nruns[order]:
            return self.lookup_run(order, pfn)
        return None

    def find_containing(self, pfn: int) -> tuple[RunNode, int] | None:
        """The free block (node, index) that contains ``pfn``, whatever its order."""
        b = self.buckets.get(pfn >> MAX_PAGE_ORDER)
        for o in range(NR_PAGE_ORDERS):
            head = pfn & -(1 << o)
            if b is not None:
                n = b.get(head)
                if n is not None and n.order == o:
                    return n, 0
            if self.nruns[o]:
                hit = self.lookup_run(o, head)
                if hit is not None:
                    return hit
        return None

    def sorted_bucket_keys(self) -> list[int]:
        """Keys of the non-empty buckets, ascending (rebuilt lazily)."""
        keys = self.bucket_keys
        if keys is None:
            keys = self.bucket_keys = sorted(self.buckets)
        return keys

    def singles_between(self, lo: int, hi: int) -> Iterator[RunNode]:
        """SINGLE nodes whose block overlaps ``[lo, hi)``, ascending."""
        if hi <= lo:
            return
        keys = self.sorted_bucket_keys()
        i = bisect_left(keys, lo >> MAX_PAGE_ORDER)
        j = bisect_right(keys, (hi - 1) >> MAX_PAGE_ORDER)
        buckets = self.buckets
        for key in keys[i:j]:
            b = buckets[key]
            for pfn in sorted(b):
                n = b[pfn]
                if pfn < hi and pfn + (1 << n.order) > lo:
                    yield n

    def runs_between(self, lo: int, hi: int) -> Iterator[tuple[RunNode, int, int]]:
        """(run, k0, k1) for every run with blocks ``k0..k1-1`` overlapping ``[lo, hi)``."""
        for o in range(NR_PAGE_ORDERS):
            if not self.nruns[o]:
                continue
            starts = self.starts[o]
            runs = self.runs[o]
            i = max(0, bisect_right(starts, lo) - 1)
            while i < len(starts) and starts[i] < hi:
                k0, k1 = clip(runs[i], lo, hi)
                if k0 < k1:
                    yield runs[i], k0, k1
                i += 1
            for n in self.overflow[o]:
                k0, k1 = clip(n, lo, hi)
                if k0 < k1:
                    yield n, k0, k1

    def any_between(self, lo: int, hi: int) -> bool:
        """Conservative: False only if no free block can overlap ``[lo, hi)``."""
        keys = self.sorted_bucket_keys()
        i = bisect_left(keys, lo >> MAX_PAGE_ORDER)
        if i < len(keys) and keys[i] <= (hi - 1) >> MAX_PAGE_ORDER:
            return True
        for o in range(NR_PAGE_ORDERS):
            if not self.nruns[o]:
                continue
            starts = self.starts[o]
            i = bisect_right(starts, lo) - 1
            if i >= 0 and self.runs[o][i].span_end > lo:
                return True
            if i + 1 < len(starts) and starts[i + 1] < hi:
                return True
            for n in self.overflow[o]:
                if n.start < hi and n.span_end > lo:
                    return True
        return False

    @staticmethod
    def nodes(fl: FreeList) -> Iterator[RunNode]:
        """The nodes of ``fl``, head first (do not mutate the list while iterating)."""
        n = fl.next
        while n is not fl:
            yield n
            n = n.next

    # ------------------------------------------------------- index internals
    def _index_insert(self, n: RunNode) -> bool:
        """Add an INDEXED run to the sorted index if its span overlaps no other run."""
        o = n.order
        starts = self.starts[o]
        runs = self.runs[o]
        i = bisect_right(starts, n.start)
        if i > 0 and runs[i - 1].span_end > n.start:
            return False
        if i < len(starts) and starts[i] < n.span_end:
            return False
        starts.insert(i, n.start)
        runs.insert(i, n)
        self.nruns[o] += 1
        return True

    def _index_remove(self, n: RunNode) -> None:
        o = n.order
        if n.kind == INDEXED:
            i = bisect_left(self.starts[o], n.start)
            del self.starts[o][i]
            del self.runs[o][i]
        else:
            self.overflow[o].remove(n)
        self.nruns[o] -= 1

    def _restart(self, n: RunNode, start: int) -> None:
        """Move the first block of ``n`` to ``start`` keeping the index sorted."""
        if n.kind == INDEXED:
            starts = self.starts[n.order]
            starts[bisect_left(starts, n.start)] = start
        n.start = start

    # ------------------------------------------------------------ persistence
    def export(self) -> AreaState:
        """Every list as (start, count, stride, kind) tuples, head first."""
        return tuple(
            tuple(
                tuple(
                    (n.start, n.count, n.stride if n.kind != SINGLE else 1 << n.order, n.kind)
                    for n in self.nodes(fl)
                )
                for fl in row
            )
            for row in self.lists
        )

    @classmethod
    def restore(cls, state: AreaState) -> FreeArea:
        """Rebuild a FreeArea from :meth:`export` output (O(nodes))."""
        area = cls()
        for mt, row in enumerate(state):
            for o, nodes in enumerate(row):
                fl = area.lists[mt][o]
                for start, count, stride, kind in nodes:
                    if kind == SINGLE:
                        area.add_single(fl, start, True)
                        continue
                    n = RunNode(start, count, stride, o, kind, fl)
                    link_tail(fl, n)
                    fl.nr += count
                    area.nr_pages += count << o
                    (area.runs if kind == INDEXED else area.overflow)[o].append(n)
                    area.nruns[o] += 1
        for o in range(NR_PAGE_ORDERS):
            area.runs[o].sort(key=lambda n: n.start)
            area.starts[o] = [n.start for n in area.runs[o]]
        return area

    # ------------------------------------------------------------- integrity
    def check(self) -> list[str]:
        """Structural invariants of lists and indexes (not kernel semantics)."""
        errs: list[str] = []
        seen_singles = 0
        indexed: list[set[int]] = [set() for _ in range(NR_PAGE_ORDERS)]
        overflow: list[set[int]] = [set() for _ in range(NR_PAGE_ORDERS)]
        for mt, row in enumerate(self.lists):
            for o, fl in enumerate(row):
                total = 0
                prev: RunNode = fl
                for n in self.nodes(fl):
                    where = f"free_list[{o}][{mt}] pfn {n.start:#x}"
                    if n.prev is not prev:
                        errs.append(f"{where}: broken prev link")
                    prev = n
                    if n.fl is not fl or n.order != o:
                        errs.append(f"{where}: node claims another list")
                    bad_stride = n.kind != SINGLE and (n.stride < (1 << o) or n.stride % (1 << o))
                    if n.count < 1 or bad_stride:
                        errs.append(f"{where}: malformed run {n.count}x{n.stride}")
                    total += max(n.count, 0)
                    if n.kind == SINGLE:
                        seen_singles += 1
                        if n.count != 1:
                            errs.append(f"{where}: single with count {n.count}")
                        if self.buckets.get(n.start >> MAX_PAGE_ORDER, {}).get(n.start) is not n:
                            errs.append(f"{where}: single missing from its bucket")
                    elif n.kind == INDEXED:
                        indexed[o].add(id(n))
                    elif n.kind == OVERFLOW:
                        overflow[o].add(id(n))
                    else:
                        errs.append(f"{where}: bad node kind {n.kind}")
                if fl.prev is not prev:
                    errs.append(f"free_list[{o}][{mt}]: broken tail link")
                if total != fl.nr:
                    errs.append(f"free_list[{o}][{mt}]: nr {fl.nr} but lists hold {total}")
        pages = sum(fl.nr << fl.order for row in self.lists for fl in row)
        if pages != self.nr_pages:
            errs.append(f"nr_pages {self.nr_pages} but the lists hold {pages} pages")
        if sum(len(b) for b in self.buckets.values()) != seen_singles:
            errs.append("buckets hold singles that are not on any list")
        if any(not b for b in self.buckets.values()):
            errs.append("empty bucket left behind")
        if self.bucket_keys is not None and self.bucket_keys != sorted(self.buckets):
            errs.append("stale sorted bucket keys")
        for o in range(NR_PAGE_ORDERS):
            runs = self.runs[o]
            if self.starts[o] != [n.start for n in runs]:
                errs.append(f"order {o}: run index keys out of step")
            if {id(n) for n in runs} != indexed[o] or len(runs) != len(indexed[o]):
                errs.append(f"order {o}: run index does not match the lists")
            if {id(n) for n in self.overflow[o]} != overflow[o]:
                errs.append(f"order {o}: overflow runs do not match the lists")
            if self.nruns[o] != len(runs) + len(self.overflow[o]):
                errs.append(f"order {o}: nruns {self.nruns[o]} is wrong")
            for a, b in zip(runs, runs[1:], strict=False):
                if a.span_end > b.start:
                    errs.append(f"order {o}: indexed runs at {a.start:#x} and {b.start:#x} overlap")
        return errs


class PageblockMap:
    """Migratetype of every pageblock as a sorted interval map of pageblock indices.

    Replaces the zone's ``pageblock_flags`` bitmap: O(intervals) memory.
    ``keys[i]`` is the first pageblock of interval i, which runs to
    ``keys[i+1]`` (or ``end``); adjacent intervals always differ in type.
    """

    __slots__ = ("first", "end", "keys", "types", "single")

    def __init__(self, first: int, end: int, mt: int) -> None:
        """Pageblocks ``[first, end)`` all of type ``mt`` (memmap_init: MIGRATE_MOVABLE)."""
        self.first = first
        self.end = end
        self.keys = [first]
        self.types = [mt]
        self.single = mt  # the type when there is one interval, else -1 (hot-path shortcut)

    def get(self, pb: int) -> int:
        """get_pfnblock_migratetype() for pageblock index ``pb``."""
        return self.types[bisect_right(self.keys, pb) - 1]

    def set_range(self, lo: int, hi: int, mt: int) -> None:
        """Set pageblocks ``[lo, hi)`` (clipped to the map) to ``mt``."""
        lo = max(lo, self.first)
        hi = min(hi, self.end)
        if lo >= hi:
            return
        keys = self.keys
        types = self.types
        i = bisect_left(keys, lo)
        j = bisect_right(keys, hi)
        after = types[j - 1]
        new_keys = [lo]
        new_types = [mt]
        if hi < self.end:
            new_keys.append(hi)
            new_types.append(after)
        keys[i:j] = new_keys
        types[i:j] = new_types
        # Coalesce around the two new boundaries, higher one first.
        for k in (i + 1, i):
            if 0 < k < len(keys) and types[k] == types[k - 1]:
                del keys[k]
                del types[k]
        self.single = types[0] if len(types) == 1 else -1

    def uniform(self, lo: int, hi: int) -> int:
        """The type of pageblocks ``[lo, hi)`` if they all share one, else -1."""
        keys = self.keys
        i = bisect_right(keys, lo) - 1
        if i + 1 < len(keys) and keys[i + 1] < hi:
            return -1
        return self.types[i]

    def intervals(self, lo: int, hi: int) -> Iterator[tuple[int, int, int]]:
        """(first, end, type) for the intervals overlapping ``[lo, hi)``, clipped."""
        keys = self.keys
        i = max(0, bisect_right(keys, lo) - 1)
        while i < len(keys) and keys[i] < hi:
            end = keys[i + 1] if i + 1 < len(keys) else self.end
            a, b = max(keys[i], lo), min(end, hi)
            if a < b:
                yield a, b, self.types[i]
            i += 1

    def sampled_counts(self, start: int, end: int, order: int,
                       present: list[tuple[int, int]], section_shift: int) -> list[int]:
        """Pageblocks per type as mm/vmstat.c pagetypeinfo_showblockcount_print() counts
        them: it samples ``start + k * pageblock_nr_pages`` and skips pfns without a
        memmap (a section with no RAM at all). Per interval and section run, not per
        pageblock."""
        counts = [0] * NR_MIGRATETYPES
        if end <= start:
            return counts
        nsamples = (end - start + (1 << order) - 1) >> order
        valid: list[tuple[int, int]] = []  # sample indices k inside sections with RAM
        for a, b in present:
            sa = (a >> section_shift) << section_shift
            sb = (((b - 1) >> section_shift) + 1) << section_shift
            ka = max(0, -((start - sa) >> order))
            kb = min(nsamples, -((start - sb) >> order))
            if valid and ka <= valid[-1][1]:
                valid[-1] = (valid[-1][0], max(kb, valid[-1][1]))
            elif ka < kb:
                valid.append((ka, kb))
        pb0 = start >> order
        types = list(self.intervals(pb0, pb0 + nsamples))
        i = j = 0
        while i < len(types) and j < len(valid):  # intersect two sorted interval lists
            lo, hi, mt = types[i]
            ka, kb = valid[j]
            a, b = max(lo - pb0, ka), min(hi - pb0, kb)
            if a < b:
                counts[mt] += b - a
            if hi - pb0 < kb:
                i += 1
            else:
                j += 1
        return counts
