"""Behaviour of the buddy allocator model, one kernel behaviour per test.

Expected values are worked out by hand from mm/page_alloc.c and mm/vmstat.c.
"""

from __future__ import annotations

import copy
import pickle
import time

import pytest

from kmsan_tui.model.buddy import BadPage, FreeRun, MigrateType, Zone
from kmsan_tui.model.invariants import check_zone
from kmsan_tui.model.vmstat import fragmentation_index, unusable_free_index

M = MigrateType
U, MOV, R, HA, ISO = M.UNMOVABLE, M.MOVABLE, M.RECLAIMABLE, M.HIGHATOMIC, M.ISOLATE


def booted(nr_max_blocks: int = 4, start: int = 0) -> Zone:
    """A zone of ``nr_max_blocks`` order-10 blocks, all handed over."""
    z = Zone(0, "Normal", start, start + (nr_max_blocks << 10))
    z.free_pages_core(start, 10, nr_max_blocks)
    return z


# ------------------------------------------------------------------- expand
def test_expand_keeps_lowest_part_and_lists_upper_halves() -> None:
    p = 64
    z = Zone(0, "DMA", 0, 128)
    z.free_pages_core(p, 3)
    assert z.alloc_pages(0, MOV) == p
    assert z.free_list(2, MOV) == [p + 4]
    assert z.free_list(1, MOV) == [p + 2]
    assert z.free_list(0, MOV) == [p + 1]
    assert z.free_list(3, MOV) == []
    assert z.allocated_block(p) == (p, 0, MOV)
    assert check_zone(z) == []


def test_expand_remainders_sit_at_list_heads() -> None:
    # expand() uses list_add (head); a later FPI_TO_TAIL hand-over lands behind.
    z = Zone(0, "DMA", 0, 128)
    z.free_pages_core(64, 3)
    z.alloc_pages(0, MOV)
    z.free_pages_core(8, 2)
    z.free_pages_core(16, 1)
    assert z.free_list(2, MOV) == [68, 8]
    assert z.free_list(1, MOV) == [66, 16]


# -------------------------------------------------------------------- merge
def test_freeing_buddies_coalesces_up_to_max_order() -> None:
    z = booted(2)
    pages = [z.alloc_pages(0, MOV) for _ in range(2048)]
    assert z.nr_free_pages == 0
    for p in pages:
        assert p is not None
        z.free_pages(p, 0)
    assert z.buddyinfo() == (0,) * 10 + (2,)
    assert check_zone(z) == []


def test_max_order_blocks_never_merge_further() -> None:
    z = Zone(0, "Normal", 0, 4096)
    z.free_pages_core(0, 10)
    z.free_pages_core(1024, 10)
    assert z.buddyinfo()[10] == 2


def test_buddy_merge_likely_puts_freed_block_at_tail() -> None:
    z = Zone(0, "Normal", 0, 8192)
    z.free_pages_core(0, 10)
    assert z.alloc_pages(0, MOV) == 0
    assert z.alloc_pages(0, MOV) == 1
    z.free_pages_core(4097, 0)  # something else on the order-0 list
    z.free_pages(0, 0)
    # buddy 1 is in use, but 0|1 would merge with the free order-1 block at 2.
    assert z.free_list(0, MOV) == [4097, 0]


def test_unlikely_merge_puts_freed_block_at_head() -> None:
    z = Zone(0, "Normal", 0, 8192)
    z.free_pages_core(0, 10)
    assert [z.alloc_pages(0, MOV) for _ in range(3)] == [0, 1, 2]
    assert z.free_list(0, MOV) == [3]
    z.free_pages(0, 0)  # buddy 1 in use; 0|1's buddy 2|3 is not a free order-1 block
    assert z.free_list(0, MOV) == [0, 3]


def test_zone_boundary_stops_merging() -> None:
    z = Zone(0, "DMA", 512, 2048)
    z.free_pages_core(512, 9)  # its buddy 0..511 is outside the zone
    z.free_pages_core(1024, 10)
    assert z.buddyinfo()[9:] == (1, 1)
    p = z.alloc_pages(0, MOV)
    assert p == 512
    z.free_pages(p, 0)
    assert z.buddyinfo()[9:] == (1, 1)
    assert check_zone(z) == []


def test_boot_hand_over_goes_to_tails_in_call_order() -> None:
    z = Zone(0, "Normal", 0, 8192)
    for pfn in (1024, 3072, 2048):
        z.free_pages_core(pfn, 10)
    assert z.free_list(10, MOV) == [1024, 3072, 2048]


def test_boot_hand_over_of_contiguous_pages_merges_to_aligned_chunks() -> None:
    z = Zone(0, "Normal", 0, 4096)
    z.free_pages_core(3, 0, 4096 - 3 - 5)  # pages 3 .. 4090, one at a time
    # 3 | 4-7 | 8-15 | ... | 512-1023 | 1024-3071 (two order-10) | 3072-3583 | ...
    # ... | 4080-4087 | 4088-4089 | 4090
    assert z.buddyinfo() == (2, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2)
    assert z.free_list(10, MOV) == [1024, 2048]
    assert z.free_list(0, MOV) == [3, 4090]
    assert check_zone(z) == []


def test_highatomic_pageblock_does_not_merge_with_movable_buddy() -> None:
    z = Zone(0, "Normal", 0, 2048)
    z.set_pageblock_migratetype(0, HA)
    z.free_pages_core(0, 10)  # split_large_buddy(): each pageblock on its own
    assert z.free_list(9, HA) == [0]
    assert z.free_list(9, MOV) == [512]
    assert z.buddyinfo()[10] == 0
    assert check_zone(z) == []


def test_mergeable_buddy_takes_the_freed_block_type() -> None:
    z = Zone(0, "Normal", 0, 2048)
    z.set_pageblock_migratetype(0, U)
    z.free_pages_core(0, 9)
    z.free_pages_core(512, 9)  # MOVABLE half merges and retypes the UNMOVABLE buddy
    assert z.free_list(10, MOV) == [0]
    assert z.pageblock_migratetype(0) == MOV
    assert check_zone(z) == []


# ----------------------------------------------------------------- fallback
def test_unmovable_request_rips_apart_the_biggest_movable_block() -> None:
    z = booted(4)
    assert z.alloc_pages(0, U) == 0
    assert z.pageblock_migratetype(0) == U
    assert z.pageblock_migratetype(512) == U
    assert z.pageblock_migratetype(1024) == MOV
    byt = z.nr_free_by_type()
    assert byt[U] == [1] * 10 + [0]  # 512, 256, ..., 1 on UNMOVABLE lists
    assert z.free_list(9, U) == [512]
    assert z.free_list(0, U) == [1]
    assert z.free_list(10, MOV) == [1024, 2048, 3072]
    assert z.allocated_block(0) == (0, 0, U)
    assert check_zone(z) == []


def test_small_movable_request_steals_without_retyping() -> None:
    z = Zone(0, "Normal", 0, 1024)
    z.set_pageblock_migratetype(0, U)
    z.free_pages_core(8, 3)
    # should_try_claim_block(3, MOVABLE) is false: __rmqueue_steal() takes it whole.
    assert z.alloc_pages(0, MOV) == 8
    assert z.pageblock_migratetype(0) == U
    assert z.free_list(2, U) == [12]
    assert z.free_list(0, U) == [9]
    assert check_zone(z) == []


def test_claim_below_pageblock_order_retypes_a_half_free_pageblock() -> None:
    z = booted(1)
    assert z.alloc_pages(8, MOV) == 0
    assert z.alloc_pages(9, MOV) == 512
    # Pageblock 0: 256 pages MOVABLE in use, 256 free (order 8 at 256).
    # UNMOVABLE: free 256 + alike (512 - 256 - 256) = 256 >= 256 -> claim it.
    assert z.alloc_pages(0, U) == 256
    assert z.pageblock_migratetype(0) == U
    assert z.free_list(7, U) == [384]
    assert z.nr_free_by_type()[MOV] == [0] * 11
    assert check_zone(z) == []


def test_claim_below_pageblock_order_refused_for_a_movable_pageblock() -> None:
    z = Zone(0, "Normal", 0, 1024)
    z.free_pages_core(0, 10)
    movable = [z.alloc_pages(5, MOV) for _ in range(32)]  # the whole block, 32 pieces
    z.free_pages(movable[3], 5)  # one free order-5 hole in pageblock 0
    # UNMOVABLE: free 32 + alike (512 - 32 - 480 movable) = 32 < 256 -> no claim,
    # __rmqueue_steal() takes the block and leaves the pageblock MOVABLE.
    assert z.alloc_pages(0, U) == movable[3]
    assert z.pageblock_migratetype(0) == MOV
    assert z.nr_free_by_type()[MOV][:5] == [1, 1, 1, 1, 1]
    assert check_zone(z) == []


def test_nofragment_neither_claims_small_blocks_nor_steals() -> None:
    z = Zone(0, "Normal", 0, 1024)
    z.set_pageblock_migratetype(0, U)
    z.free_pages_core(8, 3)
    assert z.alloc_pages(0, MOV, nofragment=True) is None
    assert z.alloc_pages(0, MOV) == 8


def test_highatomic_request_uses_only_its_own_lists() -> None:
    z = booted(1)
    assert z.alloc_pages(0, HA) is None
    z.set_pageblock_migratetype(0, HA)
    assert z.alloc_pages(0, HA) == 0


def test_allocation_fails_when_nothing_fits() -> None:
    z = Zone(0, "Normal", 0, 1024)
    z.free_pages_core(0, 0, 16)
    assert z.alloc_pages(5, MOV) is None
    assert z.alloc_pages(11, MOV) is None


# ----------------------------------------------------------------- bad_page
@pytest.fixture
def used() -> tuple[Zone, int]:
    z = booted(2)
    p = z.alloc_pages(2, MOV)
    assert p is not None
    return z, p


def _refused(z: Zone, call: object, reason: str) -> BadPage:
    before = z.state_tuple()
    with pytest.raises(BadPage) as info:
        call()  # type: ignore[operator]
    assert info.value.reason == reason
    assert z.state_tuple() == before
    assert check_zone(z) == []
    return info.value


def test_double_free_is_a_bad_page(used: tuple[Zone, int]) -> None:
    z, p = used
    z.free_pages(p, 2)
    _refused(z, lambda: z.free_pages(p, 2), "page already free")


def test_freeing_a_never_allocated_pfn_is_a_bad_page(used: tuple[Zone, int]) -> None:
    z, p = used
    _refused(z, lambda: z.free_pages(p + 1, 0), "not the head of an allocated block")


def test_freeing_with_the_wrong_order_is_a_bad_page(used: tuple[Zone, int]) -> None:
    z, p = used
    _refused(z, lambda: z.free_pages(p, 1), "order mismatch")


def test_freeing_a_misaligned_pfn_is_a_bad_page(used: tuple[Zone, int]) -> None:
    z, p = used
    _refused(z, lambda: z.free_pages(p + 2, 2), "misaligned")


def test_freeing_outside_the_zone_is_a_bad_page(used: tuple[Zone, int]) -> None:
    z, _ = used
    _refused(z, lambda: z.free_pages(1 << 20, 0), "outside zone")


def test_handing_over_a_free_page_again_is_a_bad_page() -> None:
    z = booted(2)
    _refused(z, lambda: z.free_pages_core(1024, 0, 3), "page already free")


def test_handing_over_an_allocated_page_is_a_bad_page(used: tuple[Zone, int]) -> None:
    z, p = used
    e = _refused(z, lambda: z.free_pages_core(p, 0), "page already allocated")
    assert e.pfn == p


def test_handing_over_a_hole_or_outside_the_zone_is_a_bad_page() -> None:
    z = Zone(0, "DMA", 0, 4096, [(0, 1000), (2048, 4096)])
    _refused(z, lambda: z.free_pages_core(0, 0, 1024), "page not present (memory hole)")
    _refused(z, lambda: z.free_pages_core(3072, 10, 2), "outside zone")
    _refused(z, lambda: z.free_pages_core(2049, 1), "misaligned")


def test_bad_page_report_line() -> None:
    e = BadPage(0x2A, "page already free")
    assert str(e) == ("BUG: Bad page state in process swapper/0  pfn:0002a (page dumped "
                      "because: page already free)")
    assert pickle.loads(pickle.dumps(e)).reason == "page already free"


# ------------------------------------------------------------ strided runs
KMSAN_STRIDE = 3 << 10


def test_strided_hand_over_of_a_million_blocks_is_fast() -> None:
    z = Zone(0, "Normal", 0, 3 << 30)
    p = 1 << 10
    t = time.perf_counter()
    z.free_pages_core(p, 10, 1_000_000, KMSAN_STRIDE)
    elapsed = time.perf_counter() - t
    assert elapsed < 0.2
    assert z.free_list(10, MOV, limit=3) == [p, p + 3072, p + 6144]
    assert list(z.free_list_runs(10, MOV)) == [FreeRun(p, 1_000_000, KMSAN_STRIDE, 10, MOV)]
    assert z.managed_pages == 1_000_000 << 10


def test_allocation_from_a_strided_run_takes_its_head() -> None:
    z = Zone(0, "Normal", 0, 1 << 24)
    z.free_pages_core(0, 10, 5000, KMSAN_STRIDE)
    assert z.alloc_pages(10, MOV) == 0
    assert z.free_list(10, MOV, limit=2) == [3072, 6144]


def test_freeing_the_head_back_restores_the_run() -> None:
    z = Zone(0, "Normal", 0, 1 << 24)
    z.free_pages_core(0, 10, 5000, KMSAN_STRIDE)
    before = z.state_tuple()
    p = z.alloc_pages(10, MOV)
    assert p is not None
    z.free_pages(p, 10)
    assert z.state_tuple() == before
    assert list(z.free_list_runs(10, MOV)) == [FreeRun(0, 5000, KMSAN_STRIDE, 10, MOV)]


def test_order0_split_of_a_run_head_merges_back_into_the_run() -> None:
    z = Zone(0, "Normal", 0, 1 << 24)
    z.free_pages_core(0, 10, 5000, KMSAN_STRIDE)
    before = z.state_tuple()
    pages = [z.alloc_pages(0, MOV) for _ in range(5)]
    for p in pages:
        assert p is not None
        z.free_pages(p, 0)
    assert z.state_tuple() == before
    assert check_zone(z) == []


def test_a_run_splits_where_a_middle_block_merges_away() -> None:
    z = Zone(0, "Normal", 0, 1 << 16)
    z.free_pages_core(0, 9, 10, 2048)  # order 9 at 0, 2048, 4096, ...: no buddies free
    z.free_pages_core(4096 + 512, 9)  # the buddy of the third block: they merge
    assert list(z.free_list_runs(9, MOV)) == [
        FreeRun(0, 2, 2048, 9, MOV),
        FreeRun(6144, 7, 2048, 9, MOV),
    ]
    assert z.free_list(10, MOV) == [4096]
    assert check_zone(z) == []


def test_booting_16_tib_contiguous_is_fast_and_small() -> None:
    pages = 1 << 32  # 16 TiB of 4 KiB pages
    z = Zone(0, "Normal", 0, pages)
    t = time.perf_counter()
    z.free_pages_core(0, 10, pages >> 10)
    assert time.perf_counter() - t < 0.1
    assert z.buddyinfo()[10] == 1 << 22
    t = time.perf_counter()
    c = copy.deepcopy(z)
    assert time.perf_counter() - t < 0.1
    assert c.state_tuple() == z.state_tuple()


# ----------------------------------------------------------------- vmstat
# /proc/buddyinfo:
# Node 0, zone    DMA32      1      2      0      2      1      3      4      2      2      1    743
DMA32 = (1, 2, 0, 2, 1, 3, 4, 2, 2, 1, 743)
# free pages: 1 + 4 + 0 + 16 + 16 + 96 + 256 + 256 + 512 + 512 + 743*1024 = 762501


def test_unusable_free_index_from_a_buddyinfo_line() -> None:
    assert unusable_free_index(DMA32, 0) == 0
    # order 5: pages in blocks >= 32 = 762464; (37 * 1000) // 762501 = 0
    assert unusable_free_index(DMA32, 5) == 0
    # order 9: 1487 blocks of 512 = 761344; (1157 * 1000) // 762501 = 1
    assert unusable_free_index(DMA32, 9) == 1
    # order 10: 743 blocks = 760832; (1669 * 1000) // 762501 = 2  -> "0.002"
    assert unusable_free_index(DMA32, 10) == 2
    assert unusable_free_index((0,) * 11, 3) == 1000


def test_fragmentation_index_from_buddyinfo_lines() -> None:
    assert fragmentation_index(DMA32, 10) == -1000  # a suitable block exists
    assert fragmentation_index((0,) * 11, 4) == 0  # nothing free at all
    normal = (4391, 2039, 605, 50, 0, 0, 0, 0, 0, 0, 0)
    # free = 4391 + 4078 + 2420 + 400 = 11289 pages in 7085 blocks; order 4:
    # 1000 - (1000 + 11289000 // 16) // 7085 = 1000 - 706562 // 7085 = 1000 - 99
    assert fragmentation_index(normal, 4) == 901
    # order 10: 1000 - (1000 + 11289000 // 1024) // 7085 = 1000 - 12024 // 7085 = 999
    assert fragmentation_index(normal, 10) == 999


# --------------------------------------------------------------- pageblocks
def test_pageblock_counts_skip_sections_without_memory() -> None:
    section = 1 << 15
    # RAM in sections 0 and 2 only; the zone starts mid-pageblock.
    z = Zone(0, "Normal", 100, 3 * section, [(100, 1000), (2 * section + 5, 3 * section)])
    counts = z.pageblock_counts()
    # samples 100 + 512k: section 0 holds k = 0..63, section 2 k = 128..191
    assert counts[MOV] == 128
    z.set_pageblock_migratetype(2 * section, U)
    assert z.pageblock_counts()[U] == 1
    assert z.pageblock_counts()[MOV] == 127


def test_set_pageblock_migratetype_moves_free_pages_to_new_lists() -> None:
    z = Zone(0, "Normal", 0, 1024)
    z.free_pages_core(0, 0, 512)  # merges to one order-9 block in pageblock 0
    z.free_pages_core(512, 3)
    z.set_pageblock_migratetype(0, R)
    assert z.free_list(9, R) == [0]
    assert z.free_list(9, MOV) == []
    assert z.pageblock_migratetype(700) == MOV
    assert check_zone(z) == []


def test_isolating_half_of_a_free_max_order_block_splits_it() -> None:
    z = booted(1)
    z.set_pageblock_migratetype(512, ISO)
    assert z.free_list(9, MOV) == [0]
    assert z.free_list(9, ISO) == [512]
    z.set_pageblock_migratetype(512, MOV)
    assert z.free_list(10, MOV) == [0]
    assert check_zone(z) == []


# -------------------------------------------------------- queries and copies
def test_find_free_block_and_allocated_block() -> None:
    z = booted(1)
    p = z.alloc_pages(3, R)  # claims the whole order-10 block for RECLAIMABLE
    assert p == 0
    assert z.find_free_block(9) == (8, 3, R)
    assert z.find_free_block(700) == (512, 9, R)
    assert z.find_free_block(5) is None
    assert z.allocated_block(5) == (0, 3, R)
    assert z.allocated_block(8) is None
    assert list(z.allocated_blocks()) == [(0, 3, R)]


def test_free_runs_between_clips_runs_to_the_window() -> None:
    z = Zone(0, "Normal", 0, 1 << 20)
    z.free_pages_core(0, 10, 100, KMSAN_STRIDE)
    p = z.alloc_pages(0, MOV)
    assert p == 0
    runs = list(z.free_runs_between(1000, 7000))
    assert runs == [
        FreeRun(512, 1, 512, 9, MOV),
        FreeRun(3072, 2, KMSAN_STRIDE, 10, MOV),
    ]
    assert list(z.free_runs_between(2, 3)) == [FreeRun(2, 1, 2, 1, MOV)]


def test_allocated_blocks_between_finds_overlapping_blocks() -> None:
    z = booted(2)
    a = z.alloc_pages(10, MOV)
    b = z.alloc_pages(0, MOV)
    assert (a, b) == (0, 1024)
    assert list(z.allocated_blocks_between(1000, 1025)) == [(0, 10, MOV), (1024, 0, MOV)]
    assert list(z.allocated_blocks_between(1025, 2048)) == []


def test_make_alloc_exact_keeps_pages_and_frees_the_tail() -> None:
    z = booted(1)
    p = z.alloc_pages(3, U)
    assert p == 0
    z.make_alloc_exact(p, 3)
    assert [b for b in z.allocated_blocks()] == [(0, 0, U), (1, 0, U), (2, 0, U)]
    # page 3 and 4..7 go back (FPI_TO_TAIL): 3 stays order 0, 4..7 order 2
    assert z.free_list(0, U) == [3]
    assert z.free_list(2, U) == [4]
    assert check_zone(z) == []


def test_deepcopy_is_independent() -> None:
    z = booted(2)
    c = copy.deepcopy(z)
    p = c.alloc_pages(0, MOV)
    assert p is not None
    assert z.nr_free_pages == 2048
    assert c.nr_free_pages == 2047
    assert check_zone(c) == [] and check_zone(z) == []


def test_pickle_round_trip_keeps_the_state() -> None:
    z = Zone(0, "Normal", 0, 1 << 20)
    z.free_pages_core(0, 10, 300, KMSAN_STRIDE)
    z.alloc_pages(0, U)
    z.alloc_pages(4, MOV)
    again = pickle.loads(pickle.dumps(z))
    assert again.state_tuple() == z.state_tuple()
    assert check_zone(again) == []
    assert again.alloc_pages(0, U) == z.alloc_pages(0, U)


def test_check_reports_broken_accounting() -> None:
    z = booted(1)
    z.managed_pages += 1
    assert any("managed" in msg for msg in check_zone(z))
