"""The v6.1 buddy fallback (__rmqueue_fallback with steal_suitable_fallback), one kernel
behaviour per test, beside the v6.15 claim/steal split that test_buddy.py covers.

Expected values are worked out by hand from mm/page_alloc.c of Linux 6.1.
"""

from __future__ import annotations

import pytest

from kmsan_tui.model import Simulation
from kmsan_tui.model.buddy import MigrateType, Zone
from kmsan_tui.model.fallback import can_steal_fallback

U, MOV, R = MigrateType.UNMOVABLE, MigrateType.MOVABLE, MigrateType.RECLAIMABLE
V61 = "rmqueue_fallback"


def zone61(nr_max_blocks: int = 1) -> Zone:
    """A v6.1 zone of ``nr_max_blocks`` order-10 blocks (pageblock_order 9), nothing
    handed over yet."""
    return Zone(0, "Normal", 0, nr_max_blocks << 10, fallback=V61)


@pytest.mark.parametrize(("order", "mt", "want"), [
    (9, MOV, True), (10, MOV, True),  # a whole pageblock or more: always
    (4, MOV, True), (3, MOV, False),  # movable: from pageblock_order / 2
    (0, U, True), (0, R, True),  # unmovable and reclaimable fragment anyway
])
def test_can_steal_fallback(order: int, mt: MigrateType, want: bool) -> None:
    assert can_steal_fallback(order, mt, 9) is want


def test_unmovable_request_takes_over_the_largest_movable_block() -> None:
    z = zone61(4)
    z.free_pages_core(0, 10, 4)
    assert z.alloc_pages(0, U) == 0
    # Order 10 >= pageblock_order: change_pageblock_range() retypes both pageblocks.
    assert (z.pageblock_migratetype(0), z.pageblock_migratetype(512)) == (U, U)
    assert z.pageblock_migratetype(1024) == MOV
    assert z.nr_free_by_type()[U] == [1] * 10 + [0]
    assert z.free_list(10, MOV) == [1024, 2048, 3072]


def test_movable_request_that_cannot_steal_splits_the_smallest_block_onto_its_own_lists() -> None:
    z = zone61()
    z.set_pageblock_migratetype(0, U)
    z.free_pages_core(8, 3)
    # can_steal_fallback(3, MOVABLE) is false and 3 > 0: find_smallest, single_page:
    # the block moves to the MOVABLE list, and expand() leaves its halves there too,
    # inside a pageblock that stays UNMOVABLE.
    assert z.alloc_pages(0, MOV) == 8
    assert z.pageblock_migratetype(0) == U
    assert z.free_list(2, MOV) == [12]
    assert z.free_list(1, MOV) == [10]
    assert z.free_list(0, MOV) == [9]
    assert not z.freelists_follow_pageblocks


def test_a_half_free_pageblock_is_claimed() -> None:
    z = zone61()
    z.free_pages_core(0, 10)
    assert z.alloc_pages(8, MOV) == 0
    assert z.alloc_pages(9, MOV) == 512
    # Pageblock 0: 256 pages MOVABLE in use, 256 free. UNMOVABLE: free 256 + alike
    # (512 - 256 - 256) = 256 >= 256: set_pageblock_migratetype().
    assert z.alloc_pages(0, U) == 256
    assert z.pageblock_migratetype(0) == U
    assert z.free_list(7, U) == [384]


def test_a_mostly_movable_pageblock_keeps_its_type_but_loses_its_free_pages() -> None:
    z = zone61()
    z.free_pages_core(0, 10)
    movable = [z.alloc_pages(5, MOV) for _ in range(32)]
    z.free_pages(movable[3], 5)  # one free order-5 hole in pageblock 0
    # UNMOVABLE: move_freepages_block() moves the 32 free pages to the UNMOVABLE lists;
    # free 32 + alike (512 - 32 - 480 movable) = 32 < 256, so the pageblock stays
    # MOVABLE, and the request is served from the UNMOVABLE lists.
    assert z.alloc_pages(0, U) == movable[3]
    assert z.pageblock_migratetype(0) == MOV
    assert z.nr_free_by_type()[U][:5] == [1, 1, 1, 1, 1]
    assert z.nr_free_by_type()[MOV][:5] == [0, 0, 0, 0, 0]


def test_a_freed_page_goes_back_to_its_pageblocks_type() -> None:
    z = zone61()
    z.free_pages_core(0, 10)
    movable = [z.alloc_pages(5, MOV) for _ in range(32)]
    z.free_pages(movable[3], 5)
    pfn = z.alloc_pages(0, U)
    assert pfn is not None
    z.free_pages(pfn, 0)
    # __free_one_page(): merged back to order 5 on the pageblock's (MOVABLE) list.
    assert z.free_list(5, MOV) == [movable[3]]
    assert z.nr_free_by_type()[U] == [0] * 11


def test_nofragment_only_falls_back_to_whole_pageblocks() -> None:
    z = zone61()
    z.set_pageblock_migratetype(0, U)
    z.free_pages_core(8, 3)
    assert z.alloc_pages(0, MOV, nofragment=True) is None
    assert z.alloc_pages(0, MOV) == 8


def test_the_zones_of_a_boot_follow_the_kernel_profile() -> None:
    for kernel, variant in (("v6.1", V61), ("v6.8", V61), ("mainline", "claim_steal")):
        sim = Simulation("tiny-64m", kernel=kernel)
        sim.run_to("free_area_init")
        assert {z.fallback for z in sim.zones} == {variant}


def test_an_unknown_fallback_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown fallback"):
        Zone(0, "Normal", 0, 1024, fallback="__rmqueue_fallback_v4")
