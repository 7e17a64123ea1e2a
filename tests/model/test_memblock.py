"""Memblock's region arrays: tools/testing/memblock/tests/basic_api.c, ported.

Each table row is one kernel scenario (the id says what the kernel test expects).
Where the suite checks ``cnt == 1`` with ``regions[0] == {0, 0}`` (the kernel's
dummy entry of an empty array), the port checks ``cnt == 0`` and no regions: the
model exposes an empty type as empty (see MemblockType) and only dump() prints the
dummy.  Addresses that the suite takes from malloc() are a fixed MEM_BASE here.

Also here: flags, nodes, queries, iterators, limits, and golden tests of the
memblock=debug lines and the "MEMBLOCK configuration:" dump against a real
v6.1 x86_64 boot log.
"""

from __future__ import annotations

import copy

import pytest

from kmsan_tui.model.constants import PAGE_SIZE
from kmsan_tui.model.memblock import (
    INIT_MEMBLOCK_REGIONS,
    MAX_NUMNODES,
    MEMBLOCK_ALLOC_ANYWHERE,
    NUMA_NO_NODE,
    PHYS_ADDR_MAX,
    SIZEOF_MEMBLOCK_REGION,
    Memblock,
    MemblockFlags,
    MemblockPanic,
    MemblockType,
)

SZ_2, SZ_64 = 2, 64
SZ_2K, SZ_4K, SZ_8K, SZ_16K, SZ_32K = (s << 10 for s in (2, 4, 8, 16, 32))
SZ_64K, SZ_128K, SZ_512K = (s << 10 for s in (64, 128, 512))
SZ_1M, SZ_2M, SZ_4M, SZ_8M, SZ_16M, SZ_32M, SZ_64M = (s << 20 for s in (1, 2, 4, 8, 16, 32, 64))
SZ_128M, SZ_256M, SZ_512M, SZ_1G, SZ_2G = (s << 20 for s in (128, 256, 512, 1024, 2048))

# tools/include/linux/cache.h: the userspace suite builds with SMP_CACHE_BYTES = 32.
SMP = 32
MEM_SIZE = SZ_32K
MEM_BASE = 0x1000_0000  # stands for the suite's malloc()ed dummy physical memory


def regions(t: MemblockType) -> list[tuple[int, int]]:
    return [(r.base, r.size) for r in t.regions]


def page_align(size: int) -> int:
    return (size + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)


# --------------------------------------------------------------------------
# memblock_initialization_check and memblock_*bottom_up checks


def test_a_new_memblock_is_empty_top_down_and_unlimited() -> None:
    m = Memblock()
    assert m.memory.name == "memory" and m.reserved.name == "reserved"
    assert m.memory.cnt == 0 and m.reserved.cnt == 0  # the kernel's cnt == 1 dummy
    assert m.memory.max == m.reserved.max == INIT_MEMBLOCK_REGIONS == 128
    assert m.bottom_up is False
    assert m.current_limit == MEMBLOCK_ALLOC_ANYWHERE == PHYS_ADDR_MAX
    assert m.get_current_limit() == MEMBLOCK_ALLOC_ANYWHERE


def test_set_bottom_up_switches_the_allocation_direction_both_ways() -> None:
    m = Memblock()
    m.set_bottom_up(False)
    assert m.bottom_up is False
    m.set_bottom_up(True)
    assert m.bottom_up is True


# --------------------------------------------------------------------------
# memblock_add / memblock_reserve / memblock_remove / memblock_free checks
#
# (ops, type, regions expected in that type afterwards); total_size must be the
# sum of the expected sizes and cnt their number.

Op = tuple[str, int, int]


def case(name: str, ops: list[Op], type_name: str, expected: list[tuple[int, int]]) -> object:
    return pytest.param(ops, type_name, expected, id=name)


BASIC_API_CASES = [
    # ---- memblock_add_checks
    case("add_simple_creates_one_region", [("add", SZ_1G, SZ_4M)], "memory", [(SZ_1G, SZ_4M)]),
    case(
        "add_disjoint_creates_two_regions",
        [("add", SZ_1G, SZ_8K), ("add", SZ_1G + SZ_16K, SZ_8K)],
        "memory",
        [(SZ_1G, SZ_8K), (SZ_1G + SZ_16K, SZ_8K)],
    ),
    case(
        "add_overlap_top_merges_into_one_region_starting_at_the_new_base",
        [("add", SZ_512M, SZ_1G), ("add", SZ_256M, SZ_512M)],
        "memory",
        [(SZ_256M, (SZ_512M - SZ_256M) + SZ_1G)],
    ),
    case(
        "add_overlap_bottom_merges_into_one_region_starting_at_the_old_base",
        [("add", SZ_128M, SZ_512M), ("add", SZ_256M, SZ_1G)],
        "memory",
        [(SZ_128M, (SZ_256M - SZ_128M) + SZ_1G)],
    ),
    case(
        "add_within_an_existing_region_changes_nothing",
        [("add", SZ_8M, SZ_32M), ("add", SZ_16M, SZ_1M)],
        "memory",
        [(SZ_8M, SZ_32M)],
    ),
    case(
        "add_twice_the_same_region_keeps_one_region",
        [("add", SZ_16K, SZ_2M), ("add", SZ_16K, SZ_2M)],
        "memory",
        [(SZ_16K, SZ_2M)],
    ),
    case(
        "add_between_two_regions_merges_all_three",
        [("add", SZ_1G, SZ_8K), ("add", SZ_1G + SZ_16K, SZ_8K), ("add", SZ_1G + SZ_8K, SZ_8K)],
        "memory",
        [(SZ_1G, 3 * SZ_8K)],
    ),
    case(
        "add_near_max_is_capped_at_phys_addr_max",
        [("add", PHYS_ADDR_MAX - SZ_1M, SZ_2M)],
        "memory",
        [(PHYS_ADDR_MAX - SZ_1M, SZ_1M)],
    ),
    # ---- memblock_reserve_checks
    case("reserve_simple_creates_one_region", [("reserve", SZ_2G, SZ_128M)], "reserved",
         [(SZ_2G, SZ_128M)]),
    case(
        "reserve_disjoint_creates_two_regions",
        [("reserve", SZ_256M, SZ_16M), ("reserve", SZ_512M, SZ_512M)],
        "reserved",
        [(SZ_256M, SZ_16M), (SZ_512M, SZ_512M)],
    ),
    case(
        "reserve_overlap_top_merges_into_one_region_starting_at_the_new_base",
        [("reserve", SZ_1G, SZ_1G), ("reserve", SZ_128M, SZ_1G)],
        "reserved",
        [(SZ_128M, (SZ_1G - SZ_128M) + SZ_1G)],
    ),
    case(
        "reserve_overlap_bottom_merges_into_one_region_starting_at_the_old_base",
        [("reserve", SZ_2K, SZ_128K), ("reserve", SZ_128K, SZ_128K)],
        "reserved",
        [(SZ_2K, (SZ_128K - SZ_2K) + SZ_128K)],
    ),
    case(
        "reserve_within_an_existing_region_changes_nothing",
        [("reserve", SZ_1M, SZ_8M), ("reserve", SZ_2M, SZ_64K)],
        "reserved",
        [(SZ_1M, SZ_8M)],
    ),
    case(
        "reserve_twice_the_same_region_keeps_one_region",
        [("reserve", SZ_16K, SZ_2M), ("reserve", SZ_16K, SZ_2M)],
        "reserved",
        [(SZ_16K, SZ_2M)],
    ),
    case(
        "reserve_between_two_regions_merges_all_three",
        [
            ("reserve", SZ_1G, SZ_8K),
            ("reserve", SZ_1G + SZ_16K, SZ_8K),
            ("reserve", SZ_1G + SZ_8K, SZ_8K),
        ],
        "reserved",
        [(SZ_1G, 3 * SZ_8K)],
    ),
    case(
        "reserve_near_max_is_capped_at_phys_addr_max",
        [("reserve", PHYS_ADDR_MAX - SZ_1M, SZ_2M)],
        "reserved",
        [(PHYS_ADDR_MAX - SZ_1M, SZ_1M)],
    ),
    # ---- memblock_remove_checks
    case(
        "remove_simple_leaves_the_other_region_first",
        [("add", SZ_2K, SZ_4K), ("add", SZ_128K, SZ_4M), ("remove", SZ_2K, SZ_4K)],
        "memory",
        [(SZ_128K, SZ_4M)],
    ),
    case(
        "remove_absent_region_changes_nothing",
        [("add", SZ_512K, SZ_4M), ("remove", SZ_64M, SZ_1G)],
        "memory",
        [(SZ_512K, SZ_4M)],
    ),
    case(
        "remove_overlap_top_removes_only_the_intersection",
        [("add", SZ_32M, SZ_32M), ("remove", SZ_16M, SZ_32M)],
        "memory",
        [(SZ_16M + SZ_32M, (SZ_32M + SZ_32M) - (SZ_16M + SZ_32M))],
    ),
    case(
        "remove_overlap_bottom_removes_only_the_intersection",
        [("add", SZ_2M, SZ_64M), ("remove", SZ_32M, SZ_256M)],
        "memory",
        [(SZ_2M, SZ_32M - SZ_2M)],
    ),
    case(
        "remove_within_splits_the_region_in_two",
        [("add", SZ_1M, SZ_32M), ("remove", SZ_16M, SZ_1M)],
        "memory",
        [(SZ_1M, SZ_16M - SZ_1M), (SZ_16M + SZ_1M, (SZ_1M + SZ_32M) - (SZ_16M + SZ_1M))],
    ),
    case(
        "remove_only_region_leaves_the_array_empty",  # kernel: cnt 1, dummy {0, 0}
        [("add", SZ_2K, SZ_4K), ("remove", SZ_2K, SZ_4K)],
        "memory",
        [],
    ),
    case(
        "remove_near_max_removes_up_to_phys_addr_max",
        [("add", PHYS_ADDR_MAX - SZ_2M, SZ_2M), ("remove", PHYS_ADDR_MAX - SZ_1M, SZ_2M)],
        "memory",
        [(PHYS_ADDR_MAX - SZ_2M, SZ_1M)],
    ),
    case(
        "remove_overlap_two_trims_both_regions",
        [("add", SZ_16M, SZ_32M), ("add", SZ_64M, SZ_64M), ("remove", SZ_32M, SZ_64M)],
        "memory",
        [(SZ_16M, SZ_32M - SZ_16M), (SZ_32M + SZ_64M, (SZ_64M + SZ_64M) - (SZ_32M + SZ_64M))],
    ),
    # ---- memblock_free_checks
    case(
        "free_simple_leaves_the_other_region_first",
        [("reserve", SZ_4M, SZ_1M), ("reserve", SZ_8M, SZ_1M), ("free", SZ_4M, SZ_1M)],
        "reserved",
        [(SZ_8M, SZ_1M)],
    ),
    case(
        "free_absent_region_changes_nothing",
        [("reserve", SZ_2M, SZ_8K), ("free", SZ_16M, SZ_128M)],
        "reserved",
        [(SZ_2M, SZ_8K)],
    ),
    case(
        "free_overlap_top_frees_only_the_intersection",
        [("reserve", SZ_8M, SZ_32M), ("free", SZ_1M, SZ_8M)],
        "reserved",
        [(SZ_1M + SZ_8M, (SZ_8M + SZ_32M) - (SZ_1M + SZ_8M))],
    ),
    case(
        "free_overlap_bottom_frees_only_the_intersection",
        [("reserve", SZ_8M, SZ_32M), ("free", SZ_32M, SZ_32M)],
        "reserved",
        [(SZ_8M, SZ_32M - SZ_8M)],
    ),
    case(
        "free_within_splits_the_region_in_two",
        [("reserve", SZ_1M, SZ_8M), ("free", SZ_4M, SZ_1M)],
        "reserved",
        [(SZ_1M, SZ_4M - SZ_1M), (SZ_4M + SZ_1M, (SZ_1M + SZ_8M) - (SZ_4M + SZ_1M))],
    ),
    case(
        "free_only_region_leaves_the_array_empty",  # kernel: cnt 1, dummy {0, 0}
        [("reserve", SZ_2K, SZ_4K), ("free", SZ_2K, SZ_4K)],
        "reserved",
        [],
    ),
    case(
        "free_near_max_frees_up_to_phys_addr_max",
        [("reserve", PHYS_ADDR_MAX - SZ_2M, SZ_2M), ("free", PHYS_ADDR_MAX - SZ_1M, SZ_2M)],
        "reserved",
        [(PHYS_ADDR_MAX - SZ_2M, SZ_1M)],
    ),
    case(
        "free_overlap_two_trims_both_regions",
        [("reserve", SZ_16M, SZ_32M), ("reserve", SZ_64M, SZ_64M), ("free", SZ_32M, SZ_64M)],
        "reserved",
        [(SZ_16M, SZ_32M - SZ_16M), (SZ_32M + SZ_64M, (SZ_64M + SZ_64M) - (SZ_32M + SZ_64M))],
    ),
]


@pytest.mark.parametrize(("ops", "type_name", "expected"), BASIC_API_CASES)
def test_basic_api(ops: list[Op], type_name: str, expected: list[tuple[int, int]]) -> None:
    m = Memblock()
    for op, base, size in ops:
        assert getattr(m, op)(base, size) == 0
    t = getattr(m, type_name)
    assert regions(t) == expected
    assert t.cnt == len(expected)
    assert t.total_size == sum(size for _, size in expected)


def test_add_node_keeps_the_node_and_flags_it_was_given() -> None:
    m = Memblock()
    m.add_node(SZ_1M, SZ_16M, 1, MemblockFlags.HOTPLUG)
    (rgn,) = m.memory.regions
    assert (rgn.base, rgn.size, rgn.nid, rgn.flags) == (SZ_1M, SZ_16M, 1, MemblockFlags.HOTPLUG)
    assert m.memory.total_size == SZ_16M


def test_add_and_reserve_leave_the_node_unset_as_max_numnodes() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1M)
    m.reserve(SZ_1M, SZ_4K)
    assert m.memory.regions[0].nid == MAX_NUMNODES
    assert m.reserved.regions[0].nid == MAX_NUMNODES


def test_add_with_nid_or_flags_is_add_node() -> None:
    m = Memblock(debug=True)
    m.add(SZ_1M, SZ_1M, 2, MemblockFlags.NONE, caller="c")
    assert m.memory.regions[0].nid == 2
    assert m.log == ["memblock_add_node: [0x0000000000100000-0x00000000001fffff] nid=2 flags=0 c"]


def test_regions_of_different_nodes_or_flags_touch_without_merging() -> None:
    m = Memblock()
    m.add_node(0x1000, 0x1000, 0)
    m.add_node(0x2000, 0x1000, 1)
    m.add_node(0x3000, 0x1000, 1, MemblockFlags.NOMAP)
    m.add_node(0x4000, 0x1000, 1, MemblockFlags.NOMAP)
    assert regions(m.memory) == [(0x1000, 0x1000), (0x2000, 0x1000), (0x3000, 0x2000)]


def test_add_over_a_region_of_another_node_fills_only_the_holes_and_warns() -> None:
    m = Memblock()
    m.add_node(0x2000, 0x1000, 1)
    m.add_node(0x1000, 0x3000, 0)
    assert [(r.base, r.size, r.nid) for r in m.memory.regions] == [
        (0x1000, 0x1000, 0),
        (0x2000, 0x1000, 1),
        (0x3000, 0x1000, 0),
    ]
    assert m.memory.total_size == 0x3000
    assert any("memblock_add_range" in w for w in m.warnings)


# --------------------------------------------------------------------------
# memblock_double_array(): memblock_add_many_check, memblock_reserve_many_check,
# memblock_reserve_all_locations_check

NEW_ARRAY_SIZE = page_align(INIT_MEMBLOCK_REGIONS * 2 * SIZEOF_MEMBLOCK_REGION)  # 8 KiB


def test_add_many_doubles_the_memory_array_and_reserves_the_new_array() -> None:
    m = Memblock()
    m.allow_resize()
    base = MEM_BASE
    # A page-aligned block big enough for the doubled array, then 128 small
    # blocks with gaps so that they do not merge.
    m.add(base, NEW_ARRAY_SIZE)
    base += NEW_ARRAY_SIZE + SZ_64
    for i in range(INIT_MEMBLOCK_REGIONS):
        m.add(base, SZ_64)
        base += 2 * SZ_64
        assert m.memory.cnt == i + 2
        assert m.memory.total_size == NEW_ARRAY_SIZE + (i + 1) * SZ_64
    assert m.memory.max == INIT_MEMBLOCK_REGIONS * 2
    # The new array came from the only block that fits it, and was reserved.
    assert regions(m.reserved) == [(MEM_BASE, NEW_ARRAY_SIZE)]
    assert m.memory.array_addr == MEM_BASE
    # memblock_add() still works after doubling.
    m.add(SZ_16K, SZ_16K)
    assert regions(m.memory)[0] == (SZ_16K, SZ_16K)
    assert m.memory.cnt == INIT_MEMBLOCK_REGIONS + 2
    assert m.memory.total_size == INIT_MEMBLOCK_REGIONS * SZ_64 + NEW_ARRAY_SIZE + SZ_16K
    assert m.memory.max == INIT_MEMBLOCK_REGIONS * 2


def memory_base(idx: int) -> int:
    """MEMORY_BASE(idx) of basic_api.c: 32 KiB blocks with 32 KiB gaps from 128 KiB."""
    return SZ_128K + (MEM_SIZE * 2) * idx


def test_reserve_many_doubles_the_reserved_array_and_reserves_the_new_array() -> None:
    m = Memblock(debug=True)
    m.allow_resize()
    m.add(MEM_BASE, MEM_SIZE)
    for i in range(INIT_MEMBLOCK_REGIONS):
        m.reserve(memory_base(i), MEM_SIZE)
        assert m.reserved.cnt == i + 1
        assert m.reserved.total_size == (i + 1) * MEM_SIZE
    m.log.clear()
    m.reserve(memory_base(INIT_MEMBLOCK_REGIONS), MEM_SIZE)
    # One more region: the doubled array itself, at the top of memory (top-down).
    assert m.reserved.cnt == INIT_MEMBLOCK_REGIONS + 2
    assert m.reserved.total_size == (INIT_MEMBLOCK_REGIONS + 1) * MEM_SIZE + NEW_ARRAY_SIZE
    assert m.reserved.max == INIT_MEMBLOCK_REGIONS * 2
    new_array = MEM_BASE + MEM_SIZE - NEW_ARRAY_SIZE
    assert (new_array, NEW_ARRAY_SIZE) in regions(m.reserved)
    assert m.log == [
        "memblock_reserve: [0x0000000000820000-0x0000000000827fff]",
        "memblock: reserved is doubled to 256 at [0x0000000010006000-0x00000000100077ff]",
        "memblock_reserve: [0x0000000010006000-0x0000000010007fff] memblock_double_array",
    ]
    m.reserve(SZ_16K, SZ_16K)
    assert regions(m.reserved)[0] == (SZ_16K, SZ_16K)
    assert m.reserved.cnt == INIT_MEMBLOCK_REGIONS + 3
    assert m.reserved.max == INIT_MEMBLOCK_REGIONS * 2


def test_reserve_the_129th_region_at_every_position_doubles_the_array_once() -> None:
    for skip in range(INIT_MEMBLOCK_REGIONS + 1):
        m = Memblock()
        m.allow_resize()
        m.add(MEM_BASE, MEM_SIZE)
        for i in range(INIT_MEMBLOCK_REGIONS + 1):
            if i != skip:
                m.reserve(memory_base(i), MEM_SIZE)
        m.reserve(memory_base(skip), MEM_SIZE)
        assert m.reserved.cnt == INIT_MEMBLOCK_REGIONS + 2
        assert m.reserved.total_size == (INIT_MEMBLOCK_REGIONS + 1) * MEM_SIZE + NEW_ARRAY_SIZE
        assert m.reserved.max == INIT_MEMBLOCK_REGIONS * 2


def test_a_second_doubling_frees_the_previous_array() -> None:
    m = Memblock()
    m.allow_resize()
    m.add(MEM_BASE, SZ_1M)
    for i in range(2 * INIT_MEMBLOCK_REGIONS + 1):
        m.reserve(memory_base(i), SZ_4K)
    assert m.reserved.max == 4 * INIT_MEMBLOCK_REGIONS
    first_array = MEM_BASE + SZ_1M - NEW_ARRAY_SIZE
    second_size = page_align(4 * INIT_MEMBLOCK_REGIONS * SIZEOF_MEMBLOCK_REGION)
    assert m.reserved.array_addr == first_array - second_size
    assert m.is_region_reserved(m.reserved.array_addr, second_size)
    assert not m.is_region_reserved(first_array, NEW_ARRAY_SIZE)


def test_a_full_array_without_allow_resize_panics_like_newer_kernels() -> None:
    m = Memblock()
    for i in range(INIT_MEMBLOCK_REGIONS):
        m.add(i * 2 * SZ_4K, SZ_4K)
    with pytest.raises(MemblockPanic, match="cannot resize memory array"):
        m.add(SZ_1G, SZ_4K)


def test_isolating_in_an_array_two_slots_from_full_doubles_it() -> None:
    m = Memblock()
    m.allow_resize()
    m.add(MEM_BASE, SZ_1M)
    for i in range(INIT_MEMBLOCK_REGIONS - 1):
        m.reserve(i * 2 * SZ_4K + SZ_4K, SZ_4K)
    assert m.reserved.max == INIT_MEMBLOCK_REGIONS
    # memblock_isolate_range() wants room for two more regions before it splits.
    m.phys_free(SZ_4K, 1)
    assert m.reserved.max == 2 * INIT_MEMBLOCK_REGIONS


def test_doubling_reserved_looks_below_the_new_area_when_nothing_fits_above() -> None:
    m = Memblock(debug=True)
    m.allow_resize()
    m.add(MEM_BASE, SZ_1M)
    for i in range(INIT_MEMBLOCK_REGIONS):
        m.reserve(memory_base(i), SZ_4K)
    m.log.clear()
    # The 129th reservation is the top of memory: nothing above it is free.
    m.reserve(MEM_BASE + SZ_1M - SZ_4K, SZ_4K)
    assert m.reserved.array_addr == MEM_BASE + SZ_1M - SZ_4K - NEW_ARRAY_SIZE
    assert m.log[1].startswith("memblock: reserved is doubled to 256 at [0x00000000100fd000-")


def test_a_failed_doubling_fails_the_add_with_enomem() -> None:
    m = Memblock()
    m.allow_resize()
    for i in range(INIT_MEMBLOCK_REGIONS):
        m.add(MEM_BASE + i * 2 * SZ_64, SZ_64)  # no room anywhere for an 8 KiB array
    assert m.add(SZ_1G, SZ_4K) == -12
    assert m.memory.cnt == INIT_MEMBLOCK_REGIONS and m.memory.max == INIT_MEMBLOCK_REGIONS
    assert m.warnings == ["memblock: Failed to double memory array from 128 to 256 entries !"]
    assert m.remove(MEM_BASE + 1, 1) == -12  # isolation needs two free slots too


def test_doubling_with_mirror_falls_back_to_unmirrored_memory() -> None:
    m = Memblock()
    m.allow_resize()
    m.add(MEM_BASE, SZ_1M)
    m.mark_mirror(MEM_BASE, SZ_4K)
    for i in range(INIT_MEMBLOCK_REGIONS - 1):
        m.add(SZ_1G + i * 2 * SZ_64, SZ_64)
    assert m.memory.max == 2 * INIT_MEMBLOCK_REGIONS
    assert m.warnings == ["Could not allocate 0x0000000000002000 bytes of mirrored memory"]


# --------------------------------------------------------------------------
# memblock_trim_memory checks (alignment = the suite's SMP_CACHE_BYTES)

TRIM_CASES = [
    pytest.param(
        [(SMP, SMP * 4)], [(SMP, SMP * 4)], id="trim_aligned_region_is_kept"
    ),
    pytest.param(
        [(SMP, SMP * 2), (SMP * 4, SMP - SZ_2)],
        [(SMP, SMP * 2)],
        id="trim_region_smaller_than_the_alignment_is_removed",
    ),
    pytest.param(
        [(SMP, SMP * 2), (SMP * 4 + SZ_2, SMP * 2 - SZ_2)],
        [(SMP, SMP * 2), (SMP * 5, SMP)],
        id="trim_unaligned_base_is_rounded_up",
    ),
    pytest.param(
        [(SMP, SMP * 2), (SMP * 4, SMP * 2 - SZ_2)],
        [(SMP, SMP * 2), (SMP * 4, SMP)],
        id="trim_unaligned_end_is_rounded_down",
    ),
]


@pytest.mark.parametrize(("added", "expected"), TRIM_CASES)
def test_trim_memory(added: list[tuple[int, int]], expected: list[tuple[int, int]]) -> None:
    m = Memblock()
    for base, size in added:
        m.add(base, size)
    m.trim_memory(SMP)
    assert regions(m.memory) == expected
    assert m.memory.cnt == len(expected)


def test_trim_memory_leaves_total_size_stale_like_the_kernel() -> None:
    # mm/memblock.c: memblock_trim_memory() shrinks r->size but never total_size;
    # only regions it removes are subtracted.  A real dump shows the stale sum.
    m = Memblock()
    m.add(0x1000, 0x9FC00 - 0x1000)
    m.add(0x200000, 0x100)
    m.trim_memory(PAGE_SIZE)
    assert regions(m.memory) == [(0x1000, 0x9E000)]
    assert m.phys_mem_size() == 0x9FC00 - 0x1000


def test_trimming_everything_away_warns_and_the_next_add_resets_the_total() -> None:
    m = Memblock()
    m.add(0x1001, 0x800)
    m.trim_memory(PAGE_SIZE)
    assert m.memory.cnt == 0 and m.memory.total_size == 0
    m.add(0x1000, 0x1800)
    m.trim_memory(PAGE_SIZE)  # shrinks to one page: total stays 0x1800
    m.remove(0x1000, 0x1000)  # subtracts 0x1000 only: the kernel WARNs on the rest
    assert m.memory.cnt == 0 and m.memory.total_size == 0x800
    assert m.warnings == ["WARNING: memblock_remove_region: memory empty, total_size != 0"]
    m.add(SZ_1M, SZ_4K)
    assert m.memory.total_size == SZ_4K
    assert m.warnings[-1] == "WARNING: memblock_add_range: memory empty with total_size"


# --------------------------------------------------------------------------
# flags and nodes


def test_mark_nomap_splits_a_region_and_clear_nomap_merges_it_back() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_4M)
    assert m.mark_nomap(SZ_2M, SZ_1M) == 0
    assert [(r.base, r.size, r.flags) for r in m.memory.regions] == [
        (SZ_1M, SZ_1M, MemblockFlags.NONE),
        (SZ_2M, SZ_1M, MemblockFlags.NOMAP),
        (SZ_2M + SZ_1M, SZ_2M, MemblockFlags.NONE),
    ]
    assert m.memory.total_size == SZ_4M
    assert m.is_memory(SZ_2M) and not m.is_map_memory(SZ_2M) and m.is_map_memory(SZ_1M)
    m.clear_nomap(0, PHYS_ADDR_MAX)
    assert regions(m.memory) == [(SZ_1M, SZ_4M)]


def test_mark_and_clear_hotplug_and_mirror_set_and_clear_only_their_bit() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1M)
    m.mark_hotplug(SZ_1M, SZ_1M)
    m.mark_mirror(SZ_1M, SZ_1M)
    assert m.memory.regions[0].flags == MemblockFlags.HOTPLUG | MemblockFlags.MIRROR
    assert m.system_has_some_mirror
    m.clear_hotplug(SZ_1M, SZ_1M)
    assert m.memory.regions[0].flags == MemblockFlags.MIRROR


def test_reserved_mark_noinit_flags_reserved_regions() -> None:
    m = Memblock()
    m.reserve(SZ_1M, SZ_1M)
    m.reserved_mark_noinit(SZ_1M, SZ_4K)
    assert [r.flags for r in m.reserved.regions] == [
        MemblockFlags.RSRV_NOINIT,
        MemblockFlags.NONE,
    ]


def test_set_node_splits_at_the_range_and_merges_equal_neighbours() -> None:
    m = Memblock()
    m.add(0, SZ_4M)
    m.set_node(0, SZ_1M, m.memory, 0)
    m.set_node(SZ_1M, SZ_1M, m.memory, 1)
    assert [(r.base, r.size, r.nid) for r in m.memory.regions] == [
        (0, SZ_1M, 0),
        (SZ_1M, SZ_1M, 1),
        (SZ_2M, SZ_2M, MAX_NUMNODES),
    ]
    m.set_node(SZ_1M, SZ_4M, m.memory, 0)
    assert [(r.base, r.size, r.nid) for r in m.memory.regions] == [(0, SZ_4M, 0)]
    assert m.memory.total_size == SZ_4M


def test_set_node_also_works_on_reserved() -> None:
    m = Memblock()
    m.reserve(SZ_1M, SZ_2M)
    m.set_node(0, SZ_2M, m.reserved, 3)
    assert [(r.base, r.size, r.nid) for r in m.reserved.regions] == [
        (SZ_1M, SZ_1M, 3),
        (SZ_2M, SZ_1M, MAX_NUMNODES),
    ]


# --------------------------------------------------------------------------
# queries


def test_memory_queries_follow_the_region_boundaries() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1M)
    m.add(SZ_4M, SZ_1M)
    assert m.start_of_DRAM() == m.start_of_dram() == SZ_1M
    assert m.end_of_DRAM() == m.end_of_dram() == SZ_4M + SZ_1M
    assert m.is_memory(SZ_1M) and m.is_memory(SZ_2M - 1) and not m.is_memory(SZ_2M)
    assert m.is_region_memory(SZ_1M, SZ_1M)
    assert not m.is_region_memory(SZ_1M, SZ_1M + 1)  # must fit in one region
    assert not m.is_region_memory(SZ_2M, 1)
    assert m.phys_mem_size() == SZ_2M
    assert m.search_pfn_nid(SZ_4M >> 12) == (MAX_NUMNODES, SZ_4M >> 12, (SZ_4M + SZ_1M) >> 12)
    assert m.search_pfn_nid(0) is None


def test_reserved_queries_use_intersection_for_ranges() -> None:
    m = Memblock()
    m.reserve(SZ_1M, SZ_1M)
    assert m.is_reserved(SZ_1M) and not m.is_reserved(SZ_2M)
    assert m.is_region_reserved(0, SZ_1M + 1)
    assert not m.is_region_reserved(0, SZ_1M)
    assert m.is_region_reserved(SZ_2M - 1, SZ_1G)
    assert not m.is_region_reserved(SZ_2M, SZ_1G)
    assert m.reserved_size() == SZ_1M


def test_an_empty_memblock_reports_the_dummy_regions_values() -> None:
    m = Memblock()
    assert m.start_of_DRAM() == 0 and m.end_of_DRAM() == 0
    assert not m.is_memory(0) and not m.is_reserved(0)
    assert not m.is_region_reserved(0, SZ_1G)


def test_current_limit_is_set_and_read_back() -> None:
    m = Memblock()
    m.set_current_limit(SZ_1G)
    assert m.get_current_limit() == m.current_limit == SZ_1G


# --------------------------------------------------------------------------
# limits (mem=)


def test_enforce_memory_limit_truncates_memory_and_reserved_after_limit_bytes() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1M)
    m.add(SZ_4M, SZ_4M)
    m.reserve(SZ_4M + SZ_2M, SZ_1M)
    m.enforce_memory_limit(SZ_1M + SZ_2M)
    assert regions(m.memory) == [(SZ_1M, SZ_1M), (SZ_4M, SZ_2M)]
    assert regions(m.reserved) == []
    m.enforce_memory_limit(SZ_1G)  # more than there is: nothing happens
    assert m.phys_mem_size() == SZ_1M + SZ_2M


def test_cap_memory_range_keeps_the_range_and_nomap_regions() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1M)
    m.add(SZ_4M, SZ_4M)
    m.add(SZ_16M, SZ_1M)
    m.mark_nomap(SZ_16M, SZ_1M)
    m.reserve(SZ_1M, SZ_8M)
    m.cap_memory_range(SZ_4M + SZ_1M, SZ_2M)
    assert regions(m.memory) == [(SZ_4M + SZ_1M, SZ_2M), (SZ_16M, SZ_1M)]
    assert regions(m.reserved) == [(SZ_4M + SZ_1M, SZ_2M)]


def test_mem_limit_remove_map_caps_to_the_first_limit_bytes() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1M)
    m.add(SZ_4M, SZ_4M)
    m.mem_limit_remove_map(SZ_2M)
    assert regions(m.memory) == [(SZ_1M, SZ_1M), (SZ_4M, SZ_1M)]


def test_limits_of_zero_or_beyond_memory_change_nothing() -> None:
    m = Memblock()
    m.cap_memory_range(0, SZ_1M)
    assert m.warnings == ["memblock_cap_memory_range: No memory registered yet"]
    m.add(SZ_1M, SZ_1M)
    m.reserve(SZ_1M, SZ_4K)
    before = m.state_tuple()
    m.enforce_memory_limit(0)
    m.enforce_memory_limit(SZ_1G)
    m.mem_limit_remove_map(0)
    m.mem_limit_remove_map(SZ_1G)
    m.cap_memory_range(0, 0)
    assert m.state_tuple() == before


# --------------------------------------------------------------------------
# iterators


def test_free_ranges_are_memory_minus_reserved_in_both_directions() -> None:
    m = Memblock()
    m.add_node(SZ_1M, SZ_4M, 0)
    m.add_node(SZ_8M, SZ_1M, 1)
    m.reserve(0, SZ_2M)
    m.reserve(SZ_4M, SZ_4M + SZ_512K)
    forward = [(SZ_2M, SZ_4M, 0), (SZ_4M + SZ_4M + SZ_512K, SZ_8M + SZ_1M, 1)]
    assert list(m.free_ranges()) == forward
    assert list(m.free_ranges(reverse=True)) == forward[::-1]
    assert list(m.free_ranges(nid=1)) == forward[1:]


def test_free_ranges_report_the_empty_gap_between_unmerged_reserved_regions() -> None:
    # __next_mem_range() walks the gaps between reserved regions; two touching
    # regions that do not merge (different nid) leave an empty gap it reports.
    m = Memblock()
    m.add(0x1000, 0x4000)
    m.reserve(0x2000, 0x1000, nid=0)
    m.reserve(0x3000, 0x1000, nid=1)
    assert list(m.free_ranges()) == [
        (0x1000, 0x2000, MAX_NUMNODES),
        (0x3000, 0x3000, MAX_NUMNODES),
        (0x4000, 0x5000, MAX_NUMNODES),
    ]


def test_free_ranges_skip_nomap_unless_asked_and_filter_mirror() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1M)
    m.add(SZ_4M, SZ_1M)
    m.mark_nomap(SZ_1M, SZ_1M)
    m.mark_mirror(SZ_4M, SZ_1M)
    assert [r[:2] for r in m.free_ranges()] == [(SZ_4M, SZ_4M + SZ_1M)]
    assert [r[:2] for r in m.free_ranges(flags=MemblockFlags.NOMAP)] == [
        (SZ_1M, SZ_2M),
        (SZ_4M, SZ_4M + SZ_1M),
    ]
    assert [r[:2] for r in m.free_ranges(flags=MemblockFlags.MIRROR)] == [(SZ_4M, SZ_4M + SZ_1M)]


def test_free_ranges_skip_hotplug_memory_only_with_movable_node() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1M, flags=MemblockFlags.HOTPLUG)
    assert len(list(m.free_ranges())) == 1
    m.movable_node_enabled = True
    assert list(m.free_ranges()) == []
    assert len(list(m.free_ranges(flags=MemblockFlags.HOTPLUG))) == 1


def test_free_ranges_with_max_numnodes_warn_once_and_mean_any_node() -> None:
    m = Memblock()
    m.add_node(SZ_1M, SZ_1M, 0)
    assert len(list(m.free_ranges(nid=MAX_NUMNODES))) == 1
    assert len(list(m.free_ranges(nid=MAX_NUMNODES))) == 1
    assert m.warnings == ["Usage of MAX_NUMNODES is deprecated. Use NUMA_NO_NODE instead"]


def test_mem_ranges_skip_nomap_and_mem_pfn_ranges_keep_whole_pages() -> None:
    m = Memblock()
    m.add_node(0x1000, 0x9EC00, 0)  # ends mid-page
    m.add_node(0xA0800, 0x400, 0)  # no whole page: no pfn range
    m.add_node(SZ_1M, SZ_1M, 0, MemblockFlags.NOMAP)
    m.add_node(SZ_4M, SZ_1M, 1)
    assert list(m.mem_ranges()) == [
        (0x1000, 0x9FC00, 0),
        (0xA0800, 0xA0C00, 0),
        (SZ_4M, SZ_4M + SZ_1M, 1),
    ]
    assert list(m.mem_ranges(nid=1, reverse=True)) == [(SZ_4M, SZ_4M + SZ_1M, 1)]
    assert list(m.mem_pfn_ranges()) == [(1, 0x9F, 0), (0x100, 0x200, 0), (0x400, 0x500, 1)]
    assert list(m.mem_pfn_ranges(nid=1)) == [(0x400, 0x500, 1)]
    m.reserve(SZ_4M, SZ_4K)
    assert list(m.reserved_ranges()) == [(SZ_4M, SZ_4M + SZ_4K)]


# --------------------------------------------------------------------------
# state, copies


def test_state_tuple_is_hashable_and_survives_deepcopy() -> None:
    m = Memblock(debug=True)
    m.allow_resize()
    m.add(SZ_1M, SZ_4M)
    m.reserve(SZ_2M, SZ_4K)
    m.alloc(SZ_4K, SZ_4K)
    clone = copy.deepcopy(m)
    assert clone.state_tuple() == m.state_tuple()
    assert hash(clone.state_tuple()) == hash(m.state_tuple())
    clone.alloc(SZ_4K, SZ_4K)
    assert clone.state_tuple() != m.state_tuple()
    assert m.reserved.cnt == 2 and clone.log != m.log


def test_regions_is_an_immutable_snapshot() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1M)
    before = m.memory.regions
    m.add(SZ_4M, SZ_1M)
    assert len(before) == 1 and len(m.memory.regions) == 2
    assert m.memory.regions[1].end == SZ_4M + SZ_1M


# --------------------------------------------------------------------------
# golden: memblock=debug lines and the MEMBLOCK configuration dump (v6.1 x86_64)


def test_debug_lines_of_add_reserve_remove_and_free_match_the_kernel_format() -> None:
    m = Memblock(debug=True)
    m.reserve(0x1000000, 0xE08000, caller="setup_arch+0x4a1/0xd0f")
    m.add(0x1000, 0x9EC00, caller="e820__memblock_setup+0x6b/0x92")
    m.remove(0x9F000, 0xC00, caller="c")
    m.phys_free(0x1000000, 0x1000, caller="c")
    m.free(0x1001000, 0x1000)
    assert m.log == [
        "memblock_reserve: [0x0000000001000000-0x0000000001e07fff] setup_arch+0x4a1/0xd0f",
        "memblock_add: [0x0000000000001000-0x000000000009fbff] e820__memblock_setup+0x6b/0x92",
        "memblock_remove: [0x000000000009f000-0x000000000009fbff] c",
        "memblock_phys_free: [0x0000000001000000-0x0000000001000fff] c",
        "memblock_phys_free: [0x0000000001001000-0x0000000001001fff]",
    ]


def test_an_allocation_logs_its_own_line_then_its_reserve() -> None:
    m = Memblock(debug=True)
    m.add(0x100000, 0x13FF00000)
    m.reserve(0x13FFF9000, 0x7000)
    m.log.clear()
    m.alloc_reserve_caller = "0xffffffff82840669"
    found = m.alloc_try_nid(32768, 0x40, caller="0xffffffff82845db9")
    assert found == 0x13FFF1000
    assert m.log == [
        "memblock_alloc_try_nid: 32768 bytes align=0x40 nid=-1 from=0x0000000000000000 "
        "max_addr=0x0000000000000000 0xffffffff82845db9",
        "memblock_reserve: [0x000000013fff1000-0x000000013fff8fff] 0xffffffff82840669",
    ]


def test_allocator_debug_lines_name_the_kernel_entry_points() -> None:
    m = Memblock(debug=True)
    m.add(0x1000, 0x9E000)
    m.log.clear()
    m.alloc_reserve_caller = "r"
    m.phys_alloc_range(24576, 0x1000, 0, 0x100000, caller="reserve_real_mode+0x3d/0x80")
    m.alloc_try_nid_raw(64, 64, 0x2000, 0x80000, 0, caller="c")
    m.alloc_exact_nid_raw(64, 64, 0, 0, NUMA_NO_NODE, caller="c")
    m.phys_alloc(64, 64, caller="c")
    m.alloc_low(64, 0, caller="c")
    assert m.log[0] == (
        "memblock_phys_alloc_range: 24576 bytes align=0x1000 from=0x0000000000000000 "
        "max_addr=0x0000000000100000 reserve_real_mode+0x3d/0x80"
    )
    assert m.log[1] == "memblock_reserve: [0x0000000000099000-0x000000000009efff] r"
    assert m.log[2] == (
        "memblock_alloc_try_nid_raw: 64 bytes align=0x40 nid=0 from=0x0000000000002000 "
        "max_addr=0x0000000000080000 c"
    )
    assert m.log[4].startswith("memblock_alloc_exact_nid_raw: 64 bytes align=0x40 nid=-1 ")
    assert m.log[6].startswith("memblock_phys_alloc_range: 64 bytes align=0x40 from=")
    assert m.log[8] == (
        "memblock_alloc_try_nid: 64 bytes align=0x0 nid=-1 from=0x0000000000000000 "
        "max_addr=0x00000000ffffffff c"
    )


def test_no_debug_lines_without_memblock_debug() -> None:
    m = Memblock()
    m.add(0x1000, 0x9E000)
    m.alloc(64, 64)
    m.dump_all()
    assert m.log == []


# The memory layout of the v6.1 boot whose log the samples come from: e820
# usable ranges added byte-exact, trimmed to pages, then numa_init() put them all
# on node 0.  Reserved: six regions with the sample's total and fifth region.
SAMPLE_DUMP = [
    "MEMBLOCK configuration:",
    " memory size = 0x00000000fff7ec00 reserved size = 0x000000000101cb33",
    " memory.cnt  = 0x3",
    " memory[0x0]\t[0x0000000000001000-0x000000000009efff], 0x000000000009e000 bytes on node 0"
    " flags: 0x0",
    " reserved.cnt  = 0x6",
    " reserved[0x4]\t[0x000000013fff9000-0x000000013fffcfff], 0x0000000000004000 bytes"
    " flags: 0x0",
]


def test_dump_matches_the_v6_1_boot_log_lines() -> None:
    m = Memblock(debug=True)
    m.add(0x1000, 0x9FC00 - 0x1000)
    m.add(0x100000, 0xBFFE0000 - 0x100000)
    m.add(0x100000000, 0x40000000)
    m.trim_memory(PAGE_SIZE)
    m.set_node(0, PHYS_ADDR_MAX, m.memory, 0)
    for base, size in [
        (0x0, 0x1000),
        (0x9F000, 0x61000),
        (0x1000000, 0xF8CB33),
        (0x13FFD0000, 0x28000),
        (0x13FFF9000, 0x4000),
        (0x13FFFE000, 0x2000),
    ]:
        m.reserve(base, size)
    lines = m.dump()
    # header, sizes, memory.cnt, 3 memory regions, reserved.cnt, 6 reserved regions
    assert len(lines) == 2 + 1 + 3 + 1 + 6
    assert lines[:4] == SAMPLE_DUMP[:4]
    assert lines[6] == SAMPLE_DUMP[4]
    assert lines[7 + 4] == SAMPLE_DUMP[5]
    m.log.clear()
    m.dump_all()
    assert m.log == lines


def test_dump_of_an_empty_memblock_prints_the_dummy_regions() -> None:
    assert Memblock().dump() == [
        "MEMBLOCK configuration:",
        " memory size = 0x0000000000000000 reserved size = 0x0000000000000000",
        " memory.cnt  = 0x1",
        " memory[0x0]\t[0x0000000000000000-0xffffffffffffffff], 0x0000000000000000 bytes"
        " flags: 0x0",
        " reserved.cnt  = 0x1",
        " reserved[0x0]\t[0x0000000000000000-0xffffffffffffffff], 0x0000000000000000 bytes"
        " flags: 0x0",
    ]


def test_dump_prints_flags_in_hex_and_nodes_only_when_set() -> None:
    m = Memblock()
    m.add_node(0x1000, 0x1000, 3, MemblockFlags.NOMAP | MemblockFlags.HOTPLUG)
    m.reserve(0x1000, 0x10)
    m.reserved_mark_noinit(0x1000, 0x10)
    lines = m.dump()
    assert lines[3] == (
        " memory[0x0]\t[0x0000000000001000-0x0000000000001fff], 0x0000000000001000 bytes"
        " on node 3 flags: 0x5"
    )
    assert lines[5].endswith("0x0000000000000010 bytes flags: 0x10")
