"""When a zone has no free block of the requested migratetype: mm/page_alloc.c fallbacks.

``__rmqueue_smallest()`` found nothing of the request's own type, so the allocator
borrows from another type's free lists, following ``fallbacks[]``. This is the
current form (v6.15 and later): ``__rmqueue_claim()`` tries to take ownership of a
whole pageblock from the *largest* fallback block down (so future requests of the
same type stay together), then ``__rmqueue_steal()`` takes the *smallest* fallback
block and leaves its pageblock's type alone.

The zone is reached through ``FallbackZone``, the few operations the kernel code
needs, so other kernels' fallback logic can stand beside this one.
"""

from __future__ import annotations

from typing import Protocol

from kmsan_tui.model.constants import MAX_PAGE_ORDER, NR_PAGE_ORDERS, MigrateType

_UNMOVABLE = int(MigrateType.UNMOVABLE)
_MOVABLE = int(MigrateType.MOVABLE)
_RECLAIMABLE = int(MigrateType.RECLAIMABLE)
# include/linux/mmzone.h: MIGRATE_PCPTYPES; fallbacks[] has rows for these only.
PCPTYPES = int(MigrateType.HIGHATOMIC)
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

    def rmqueue_smallest(self, order: int, mt: int) -> int | None:
        """__rmqueue_smallest(): the head of the smallest non-empty list of ``mt``."""


def find_fallback_migratetype(zone: FallbackZone, order: int, mt: int) -> int:
    """The first fallbacks[mt] type with a free block of ``order``, or -1."""
    for fmt in FALLBACKS[mt]:
        if zone.nr_free_blocks(fmt, order):
            return fmt
    return -1


def rmqueue_fallback(zone: FallbackZone, order: int, mt: int, nofragment: bool) -> int | None:
    """__rmqueue_claim() then __rmqueue_steal(); the pfn taken, or None.

    ``nofragment`` is ALLOC_NOFRAGMENT: no claims below pageblock_order and no stealing.
    """
    if mt >= PCPTYPES:
        return None
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
