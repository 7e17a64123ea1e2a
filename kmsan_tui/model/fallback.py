"""When a zone has no free block of the requested migratetype: mm/page_alloc.c fallbacks.

``__rmqueue_smallest()`` found nothing of the request's own type, so the allocator
borrows from another type's free lists, following ``fallbacks[]``. Two generations
of that code stand here, and the kernel profile picks one (``Zone.fallback``):

- ``"rmqueue_fallback"`` (up to v6.14; v6.1 and v6.8): ``__rmqueue_fallback()``
  scans from the largest order down for a fallback block; ``can_steal_fallback()``
  says whether the whole pageblock may be stolen; a movable request that may not
  steal takes the *smallest* block instead. ``steal_suitable_fallback()`` then
  moves the block (or all free pages of its pageblock) to the request's lists and
  retypes the pageblock when at least half of it is free or alike, and
  ``__rmqueue()`` retries ``__rmqueue_smallest()``.
- ``"claim_steal"`` (v6.15 and later): ``__rmqueue_claim()`` tries to take ownership
  of a whole pageblock from the *largest* fallback block down (so future requests of
  the same type stay together), then ``__rmqueue_steal()`` takes the *smallest*
  fallback block and leaves its pageblock's type alone.

The zone is reached through ``FallbackZone``, the few operations the kernel code
needs.
"""

from __future__ import annotations

from typing import Protocol

from kmsan_tui.model.constants import MAX_PAGE_ORDER, NR_PAGE_ORDERS, MigrateType

_UNMOVABLE = int(MigrateType.UNMOVABLE)
_MOVABLE = int(MigrateType.MOVABLE)
_RECLAIMABLE = int(MigrateType.RECLAIMABLE)
# include/linux/mmzone.h: MIGRATE_PCPTYPES; fallbacks[] has rows for these only.
PCPTYPES = int(MigrateType.HIGHATOMIC)
FALLBACK_VARIANTS = ("rmqueue_fallback", "claim_steal")
# mm/page_alloc.c fallbacks[MIGRATE_PCPTYPES][MIGRATE_PCPTYPES - 1], in search order.
FALLBACKS: tuple[tuple[int, int], ...] = (
    (_RECLAIMABLE, _MOVABLE),  # MIGRATE_UNMOVABLE
    (_RECLAIMABLE, _UNMOVABLE),  # MIGRATE_MOVABLE
    (_UNMOVABLE, _MOVABLE),  # MIGRATE_RECLAIMABLE
)


class FallbackZone(Protocol):
    """What the fallback paths read and do to one zone."""

    start_pfn: int
    end_pfn: int

    @property
    def pageblock_order(self) -> int:
        """pageblock_order of this kernel build."""

    def nr_free_blocks(self, mt: int, order: int) -> int:
        """Blocks on free_area[order].free_list[mt]."""

    def take_list_head(self, mt: int, order: int) -> int:
        """Take the head block off free_area[order].free_list[mt]; return its pfn."""

    def list_head(self, mt: int, order: int) -> int:
        """The pfn of the head block of free_area[order].free_list[mt] (non-empty)."""

    def expand(self, pfn: int, low: int, high: int, mt: int) -> None:
        """expand(): put the upper halves of an order-``high`` block back on ``mt`` lists."""

    def set_pageblock_range(self, pfn: int, nr_pages: int, mt: int) -> None:
        """set_pageblock_migratetype() on every pageblock of [pfn, pfn + nr_pages)."""

    def free_pages_in(self, start: int, end: int) -> int:
        """Pages in free blocks whose head lies in [start, end)."""

    def movable_pages_in(self, start: int, end: int) -> int:
        """Pages of [start, end) in blocks allocated MOVABLE (PageLRU/__PageMovable)."""

    def move_freepages_block(self, start: int, mt: int) -> None:
        """__move_freepages_block() + set_pageblock_migratetype() for one pageblock."""

    def move_freepages(self, lo: int, hi: int, mt: int) -> int:
        """Free blocks with head in [lo, hi) to the tails of ``mt`` lists; pages moved."""

    def move_to_free_list(self, pfn: int, order: int, mt: int) -> None:
        """One free block to the tail of ``mt``'s list of its order."""

    def pageblock_migratetype(self, pfn: int) -> int:
        """get_pfnblock_migratetype()."""

    def rmqueue_smallest(self, order: int, mt: int) -> int | None:
        """__rmqueue_smallest(): the head of the smallest non-empty list of ``mt``."""


def find_fallback_migratetype(zone: FallbackZone, order: int, mt: int) -> int:
    """The first fallbacks[mt] type with a free block of ``order``, or -1."""
    for fmt in FALLBACKS[mt]:
        if zone.nr_free_blocks(fmt, order):
            return fmt
    return -1


def rmqueue_fallback(zone: FallbackZone, order: int, mt: int, nofragment: bool,
                     variant: str = "claim_steal") -> int | None:
    """The fallback of ``variant``; the pfn allocated, or None.

    ``nofragment`` is ALLOC_NOFRAGMENT: no fallback below pageblock_order (and, for
    claim_steal, no stealing).
    """
    if mt >= PCPTYPES:
        return None
    if variant == "rmqueue_fallback":
        return rmqueue_fallback_v61(zone, order, mt, nofragment)
    return rmqueue_claim_steal(zone, order, mt, nofragment)


def can_steal_fallback(order: int, start_mt: int, pbo: int) -> bool:
    """can_steal_fallback() (up to v6.14): whether the whole pageblock may be stolen:
    for big blocks, and for unmovable/reclaimable requests, which fragment anyway."""
    return order >= pbo // 2 or start_mt in (_UNMOVABLE, _RECLAIMABLE)


def rmqueue_fallback_v61(zone: FallbackZone, order: int, mt: int, nofragment: bool
                         ) -> int | None:
    """__rmqueue_fallback() + steal_suitable_fallback(), then __rmqueue_smallest() again."""
    pbo = zone.pageblock_order
    min_order = pbo if nofragment else order
    found = None
    # Find the largest available free block in the other lists: roughly the
    # pageblock with the most free pages, which would cost too much to find exactly.
    for co in range(MAX_PAGE_ORDER, min_order - 1, -1):
        fmt = find_fallback_migratetype(zone, co, mt)
        if fmt < 0:
            continue
        can_steal = can_steal_fallback(co, mt, pbo)
        if not can_steal and mt == _MOVABLE and co > order:
            # A movable request that cannot steal the pageblock splits the smallest
            # block instead: the next movable fallback may go elsewhere without
            # fragmenting for good (find_smallest).
            for so in range(order, NR_PAGE_ORDERS):
                fmt = find_fallback_migratetype(zone, so, mt)
                if fmt >= 0:
                    found = (so, fmt, can_steal_fallback(so, mt, pbo))
                    break
        else:
            found = (co, fmt, can_steal)
        break
    if found is None:
        return None
    co, fmt, whole_block = found
    steal_suitable_fallback(zone, zone.list_head(fmt, co), co, mt, whole_block)
    return zone.rmqueue_smallest(order, mt)


def steal_suitable_fallback(zone: FallbackZone, pfn: int, co: int, start_mt: int,
                            whole_block: bool) -> None:
    """steal_suitable_fallback() (up to v6.14) for the free block at ``pfn``.

    Unlike v6.10 and later, the free pages of a pageblock that is not claimed still
    move to the request's lists: up to v6.9 a free block's list need not match its
    pageblock's type (``Zone.freelists_follow_pageblocks`` is False)."""
    pbo = zone.pageblock_order
    nr_pb = 1 << pbo
    old_mt = int(zone.pageblock_migratetype(pfn))
    if old_mt == PCPTYPES:  # MIGRATE_HIGHATOMIC: keep its accounting intact
        zone.move_to_free_list(pfn, co, start_mt)
        return
    if co >= pbo:
        # Take ownership for orders >= pageblock_order: change_pageblock_range().
        zone.set_pageblock_range(pfn, 1 << co, start_mt)
        zone.move_to_free_list(pfn, co, start_mt)
        return
    if not whole_block:
        zone.move_to_free_list(pfn, co, start_mt)
        return
    start = pfn & -nr_pb
    end = start + nr_pb
    # move_freepages_block(): never past the zone's end; a pageblock starting before
    # the zone is moved from the block itself.
    if end > zone.end_pfn:
        zone.move_to_free_list(pfn, co, start_mt)
        return
    lo = start if start >= zone.start_pfn else pfn
    movable = zone.movable_pages_in(lo, end)
    free_pages = zone.move_freepages(lo, end, start_mt)
    if start_mt == _MOVABLE:
        alike = movable
    elif old_mt == _MOVABLE:
        # Unmovable/reclaimable falling back to a movable pageblock: every
        # non-movable page in it is compatible.
        alike = nr_pb - (free_pages + movable)
    else:
        alike = 0
    if not free_pages:
        zone.move_to_free_list(pfn, co, start_mt)
        return
    if free_pages + alike >= nr_pb // 2:
        zone.set_pageblock_range(start, nr_pb, start_mt)


def rmqueue_claim_steal(zone: FallbackZone, order: int, mt: int, nofragment: bool
                        ) -> int | None:
    """__rmqueue_claim() then __rmqueue_steal() (v6.15 and later)."""
    pbo = zone.pageblock_order
    # __rmqueue_claim(): the largest fallback block first, to take ownership of whole
    # pageblocks and keep future requests of our type together.
    min_order = pbo if nofragment and order < pbo else order
    for co in range(MAX_PAGE_ORDER, min_order - 1, -1):
        # should_try_claim_block(): a claim is worth it for big blocks or for
        # unmovable/reclaimable requests, which fragment permanently.
        if not (co >= pbo // 2 or mt == _UNMOVABLE or mt == _RECLAIMABLE):
            break
        fmt = find_fallback_migratetype(zone, co, mt)
        if fmt < 0:
            continue
        got = try_to_claim_block(zone, co, order, mt, fmt)
        if got is not None:
            return got
    if nofragment:
        return None
    # __rmqueue_steal(): the smallest fallback block, left in its pageblock type.
    for co in range(order, NR_PAGE_ORDERS):
        fmt = find_fallback_migratetype(zone, co, mt)
        if fmt < 0:
            continue
        pfn = zone.take_list_head(fmt, co)
        zone.expand(pfn, order, co, fmt)
        return pfn
    return None


def try_to_claim_block(zone: FallbackZone, co: int, order: int, start_mt: int,
                       block_mt: int) -> int | None:
    """mm/page_alloc.c try_to_claim_block() for the head block of free_list[block_mt][co]."""
    pbo = zone.pageblock_order
    nr_pb = 1 << pbo
    if co >= pbo:
        # Take ownership for orders >= pageblock_order: change_pageblock_range().
        pfn = zone.take_list_head(block_mt, co)
        zone.set_pageblock_range(pfn, 1 << co, start_mt)
        zone.expand(pfn, order, co, start_mt)
        return pfn
    start = zone.list_head(block_mt, co) & -nr_pb
    end = start + nr_pb
    # prep_move_freepages_block(): never touch a pageblock straddling the zone.
    if start < zone.start_pfn or end > zone.end_pfn:
        return None
    free_pages = zone.free_pages_in(start, end)
    movable = zone.movable_pages_in(start, end)
    if start_mt == _MOVABLE:
        alike = movable
    elif block_mt == _MOVABLE:
        # Unmovable/reclaimable falling back to a movable block: every non-movable
        # page in it is compatible.
        alike = nr_pb - (free_pages + movable)
    else:
        alike = 0
    if free_pages + alike >= nr_pb // 2:
        zone.move_freepages_block(start, start_mt)
        return zone.rmqueue_smallest(order, start_mt)
    return None
