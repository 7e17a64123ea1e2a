"""Memblock allocations: tools/testing/memblock/tests/alloc_api.c,
alloc_helpers_api.c, alloc_nid_api.c and alloc_exact_nid_api.c, ported as tables.

Every row is one kernel scenario: the direction, what is reserved first, the
request, and the outcome -- the address returned (``at``; None when the kernel
returns NULL) and the whole reserved array afterwards.  The suite runs each
scenario through several entry points (memblock_alloc and memblock_alloc_raw;
memblock_alloc_try_nid, _try_nid_raw and _exact_nid_raw); so do these tests.

The suite's memory is MEM_SIZE bytes of malloc(), 32-byte aligned; here it is
MEM_BASE (page aligned).  The suite builds with tools/include/linux/cache.h, where
SMP_CACHE_BYTES is 32, so SMP below is 32 (the model's x86 SMP_CACHE_BYTES is 64).
The suite's memblock_reserve_kern() (KHO-era kernels) is memblock_reserve() here:
the model follows the pre-KHO code, where allocations reserve without node or flags.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from kmsan_tui.model.constants import PAGE_SIZE
from kmsan_tui.model.memblock import (
    MAX_NUMNODES,
    NUMA_NO_NODE,
    SMP_CACHE_BYTES,
    Memblock,
    MemblockFlags,
)

SZ_2, SZ_8, SZ_16, SZ_32, SZ_64, SZ_128, SZ_256, SZ_512 = 2, 8, 16, 32, 64, 128, 256, 512
SZ_1K, SZ_2K, SZ_4K, SZ_8K, SZ_16K, SZ_32K = (s << 10 for s in (1, 2, 4, 8, 16, 32))
SZ_1M, SZ_1G = 1 << 20, 1 << 30

SMP = 32  # the suite's SMP_CACHE_BYTES
MEM_SIZE = SZ_32K
MEM_BASE = 0x1000_0000
S = MEM_BASE  # memblock_start_of_DRAM() after setup_memblock()
E = MEM_BASE + MEM_SIZE  # memblock_end_of_DRAM() after setup_memblock()
TD, BU = "top-down", "bottom-up"

# alloc_nid_api.c: node_fractions[], in basis points of MEM_SIZE.
NODE_FRACTIONS = (2500, 625, 1250, 1250, 625, 625, 2500, 625)


def _nodes() -> list[tuple[int, int]]:
    nodes, base = [], MEM_BASE
    for frac in NODE_FRACTIONS:
        size = MEM_SIZE * frac // 10000
        nodes.append((base, size))
        base += size
    return nodes


NODES = _nodes()
B = [base for base, _ in NODES]  # memblock.memory.regions[nid].base
N_END = [base + size for base, size in NODES]  # region_end(&memblock.memory.regions[nid])


def setup_memblock(direction: str) -> Memblock:
    """setup_memblock(): MEM_SIZE bytes of memory, no node."""
    m = Memblock()
    m.set_bottom_up(direction == BU)
    m.add(MEM_BASE, MEM_SIZE)
    return m


def setup_numa_memblock(direction: str) -> Memblock:
    """setup_numa_memblock(node_fractions): nodes 0..7, HOTPLUG as without movable_node."""
    m = Memblock()
    m.set_bottom_up(direction == BU)
    for nid, (base, size) in enumerate(NODES):
        m.add_node(base, size, nid, MemblockFlags.HOTPLUG)
    return m


@dataclass(frozen=True)
class Alloc:
    """One scenario: reserve, then ask; ``at`` None means the allocation fails."""

    direction: str
    size: int
    at: int | None
    reserved: tuple[tuple[int, int], ...] = ()  # the reserved array afterwards
    reserve: tuple[tuple[int, int], ...] = ()  # reserved before the call
    align: int = SMP
    min_addr: int = 0
    max_addr: int = 0
    nid: int = NUMA_NO_NODE


def both(name: str, **kw: object) -> list[object]:
    """The same scenario run top-down and bottom-up (run_top_down/run_bottom_up)."""
    return [
        pytest.param(Alloc(direction=TD, **kw), id=f"{name}[top-down]"),  # type: ignore[arg-type]
        pytest.param(Alloc(direction=BU, **kw), id=f"{name}[bottom-up]"),  # type: ignore[arg-type]
    ]


def one(name: str, **kw: object) -> object:
    return pytest.param(Alloc(**kw), id=name)  # type: ignore[arg-type]


def check(m: Memblock, case: Alloc, call: Callable[[Memblock], int | None]) -> None:
    for base, size in case.reserve:
        m.reserve(base, size)
    before = [(r.base, r.size) for r in m.reserved.regions]
    got = call(m)
    after = [(r.base, r.size) for r in m.reserved.regions]
    if case.at is None:
        assert got is None
        assert after == before
        return
    assert got == case.at
    assert after == list(case.reserved)
    assert m.reserved.cnt == len(case.reserved)
    assert m.reserved.total_size == sum(size for _, size in case.reserved)


# --------------------------------------------------------------------------
# alloc_api.c: memblock_alloc() and memblock_alloc_raw()


def _small_gaps() -> tuple[tuple[int, int], ...]:
    """alloc_small_gaps_generic_check: 1 KiB reservations with 256-byte gaps."""
    out, region_end = [], S
    while region_end < E:
        out.append((region_end + SZ_256, SZ_1K))
        region_end += SZ_256 + SZ_1K
    return tuple(out)


RGN = (MEM_SIZE - (2 * SMP + SZ_64)) // 2  # alloc_in_between_generic_check's rgn_size

ALLOC_API = [
    one("top_down_simple_allocates_at_the_aligned_end", direction=TD, size=SZ_2,
        at=E - SMP, reserved=((E - SMP, SZ_2),)),
    one("bottom_up_simple_allocates_at_the_start", direction=BU, size=SZ_2,
        at=S, reserved=((S, SZ_2),)),
    one("top_down_disjoint_aligns_below_a_misaligned_reservation", direction=TD,
        reserve=((E - SZ_2, SZ_2),), size=SZ_16, align=SMP * 2,
        at=E - SMP * 2, reserved=((E - SMP * 2, SZ_16), (E - SZ_2, SZ_2))),
    one("bottom_up_disjoint_aligns_above_a_misaligned_reservation", direction=BU,
        reserve=((S + SZ_2, SZ_2),), size=SZ_16, align=SMP * 2,
        at=S + SMP * 2, reserved=((S + SZ_2, SZ_2), (S + SMP * 2, SZ_16))),
    one("top_down_before_fits_after_the_reservation_and_merges", direction=TD,
        reserve=((E - (SMP + SZ_512), SMP),), size=SZ_512,
        at=E - SZ_512, reserved=((E - (SMP + SZ_512), SMP + SZ_512),)),
    one("bottom_up_before_fits_below_the_reservation_and_merges", direction=BU,
        reserve=((S + SZ_512, SZ_128),), size=SZ_512,
        at=S, reserved=((S, SZ_512 + SZ_128),)),
    one("top_down_after_goes_below_the_reservation_and_merges", direction=TD,
        reserve=((E - SMP, SZ_8),), size=SZ_512,
        at=E - SMP - SZ_512, reserved=((E - SMP - SZ_512, SZ_8 + SZ_512),)),
    one("bottom_up_after_goes_above_the_reservation_and_merges", direction=BU,
        reserve=((S + SMP, SZ_64),), size=SZ_512,
        at=S + SMP + SZ_64, reserved=((S + SMP, SZ_64 + SZ_512),)),
    one("top_down_second_fit_skips_a_small_gap", direction=TD,
        reserve=((E - SZ_512, SZ_512), (E - SZ_1K, SZ_256)), size=SZ_1K,
        at=E - SZ_1K - SZ_1K,
        reserved=((E - SZ_2K, SZ_256 + SZ_1K), (E - SZ_512, SZ_512))),
    one("bottom_up_second_fit_skips_a_small_gap", direction=BU,
        reserve=((S, SZ_512), (S + SZ_1K, SZ_256)), size=SZ_1K,
        at=S + SZ_1K + SZ_256,
        reserved=((S, SZ_512), (S + SZ_1K, SZ_256 + SZ_1K))),
    *both("in_between_fills_the_only_gap_that_fits_and_merges_all",
          reserve=((E - (SMP + RGN), RGN), (S + SMP, RGN)), size=SZ_64,
          at=S + SMP + RGN, reserved=((S + SMP, 2 * RGN + SZ_64),)),
    *both("small_gaps_everywhere_fail", reserve=_small_gaps(), size=SZ_1K, at=None),
    *both("all_memory_reserved_fails", reserve=((S, MEM_SIZE),), size=SZ_256, at=None),
    *both("no_space_left_fails", reserve=((S, MEM_SIZE - SZ_256),), size=SZ_1K, at=None),
    *both("limited_space_just_fits_and_merges", reserve=((S, MEM_SIZE - SZ_256),),
          size=SZ_256, at=E - SZ_256, reserved=((S, MEM_SIZE),)),
    *both("too_large_for_memory_fails", size=MEM_SIZE + SZ_2, at=None),
]


@pytest.mark.parametrize("func", ["alloc", "alloc_raw"])
@pytest.mark.parametrize("case", ALLOC_API)
def test_alloc_api(case: Alloc, func: str) -> None:
    check(setup_memblock(case.direction), case,
          lambda m: getattr(m, func)(case.size, case.align))


@pytest.mark.parametrize("func", ["alloc", "alloc_raw"])
@pytest.mark.parametrize("direction", [TD, BU])
def test_alloc_with_no_memory_registered_fails(direction: str, func: str) -> None:
    m = Memblock()
    m.set_bottom_up(direction == BU)
    assert getattr(m, func)(SZ_1K, SMP) is None
    assert m.reserved.cnt == 0 and m.reserved.total_size == 0  # kernel: dummy {0, 0}


# --------------------------------------------------------------------------
# alloc_helpers_api.c: memblock_alloc_from()

ALLOC_FROM = [
    *both("simple_allocates_at_an_aligned_min_addr", min_addr=E - SMP, size=SZ_16,
          at=E - SMP, reserved=((E - SMP, SZ_16),)),
    *both("misaligned_min_addr_rounds_to_the_next_boundary",
          min_addr=E - (SMP * 2 - 1), size=SZ_32, at=E - SMP, reserved=((E - SMP, SZ_32),)),
    one("top_down_high_addr_drops_min_addr_and_allocates_at_the_end", direction=TD,
        min_addr=E - SZ_16, size=SZ_32, at=E - SMP, reserved=((E - SMP, SZ_32),)),
    one("top_down_no_space_above_drops_min_addr_and_merges_below", direction=TD,
        min_addr=E - SMP * 2, reserve=((E - SMP * 2, SZ_2),), size=SZ_64,
        at=E - SMP * 2 - SZ_64, reserved=((E - SMP * 2 - SZ_64, SZ_64 + SZ_2),)),
    one("top_down_min_addr_below_memory_is_capped_at_its_start", direction=TD,
        min_addr=S - SMP * 3, reserve=((S + SZ_64, MEM_SIZE - SZ_64),), size=SZ_64,
        at=S, reserved=((S, MEM_SIZE),)),
    one("bottom_up_high_addr_drops_min_addr_and_allocates_at_the_start", direction=BU,
        min_addr=E - SZ_8, size=SZ_32, at=S, reserved=((S, SZ_32),)),
    one("bottom_up_no_space_above_drops_min_addr_and_allocates_at_the_start", direction=BU,
        min_addr=S + SZ_128, reserve=((S + SZ_128 - SMP, E - (S + SZ_128)),), size=SZ_64,
        at=S, reserved=((S, SZ_64), (S + SZ_128 - SMP, E - (S + SZ_128)))),
    one("bottom_up_min_addr_below_memory_is_capped_at_its_start", direction=BU,
        min_addr=S - SMP * 3, size=SZ_64, at=S, reserved=((S, SZ_64),)),
]


@pytest.mark.parametrize("case", ALLOC_FROM)
def test_alloc_from(case: Alloc) -> None:
    check(setup_memblock(case.direction), case,
          lambda m: m.alloc_from(case.size, case.align, case.min_addr))


# --------------------------------------------------------------------------
# alloc_nid_api.c range checks (NUMA_NO_NODE), for all three entry points

NID_FUNCS = ["alloc_try_nid", "alloc_try_nid_raw", "alloc_exact_nid_raw"]

# reserved_with_space / reserved_no_space / full_merge layouts: r1 near the end,
# r2 below it with a gap (min_addr = r2's end, max_addr = r1's base).
R1 = (E - SMP * 2, SMP)
R2_SPACE = (R1[0] - (SZ_64 + SMP + SZ_128), SZ_128)
R2_EXACT = (R1[0] - (SZ_64 + SZ_128), SZ_128)
R2_NO_SPACE = (R1[0] - (SZ_128 + SMP), SZ_128)

ALLOC_NID_RANGE = [
    one("top_down_simple_ends_at_max_addr", direction=TD, size=SZ_128,
        min_addr=S + SMP * 2, max_addr=S + SMP * 2 + SZ_512,
        at=S + SMP * 2 + SZ_512 - SZ_128, reserved=((S + SMP * 2 + SZ_512 - SZ_128, SZ_128),)),
    one("bottom_up_simple_starts_at_min_addr", direction=BU, size=SZ_128,
        min_addr=S + SMP * 2, max_addr=S + SMP * 2 + SZ_512,
        at=S + SMP * 2, reserved=((S + SMP * 2, SZ_128),)),
    one("top_down_misaligned_max_addr_ends_at_the_boundary_below", direction=TD, size=SZ_128,
        min_addr=S + SMP * 2, max_addr=S + SMP * 2 + SZ_512 + SZ_2,
        at=S + SMP * 2 + SZ_512 - SZ_128,
        reserved=((S + SMP * 2 + SZ_512 - SZ_128, SZ_128),)),
    one("bottom_up_misaligned_min_addr_starts_at_the_boundary_above", direction=BU,
        size=SZ_128, min_addr=S + SZ_2, max_addr=S + SZ_2 + SZ_512,
        at=S + SMP, reserved=((S + SMP, SZ_128),)),
    *both("exact_address_fills_the_whole_range", size=SZ_1K,
          min_addr=S + SMP, max_addr=S + SMP + SZ_1K, at=S + SMP, reserved=((S + SMP, SZ_1K),)),
    one("top_down_narrow_range_drops_min_addr_and_ends_at_max_addr", direction=TD,
        size=SZ_256, min_addr=S + SZ_512, max_addr=S + SZ_512 + SMP,
        at=S + SZ_512 + SMP - SZ_256, reserved=((S + SZ_512 + SMP - SZ_256, SZ_256),)),
    one("bottom_up_narrow_range_drops_min_addr_and_starts_at_memory_start", direction=BU,
        size=SZ_256, min_addr=S + SZ_512, max_addr=S + SZ_512 + SMP,
        at=S, reserved=((S, SZ_256),)),
    *both("max_addr_too_close_to_the_start_fails", size=SZ_1K,
          min_addr=S, max_addr=S + SMP, at=None),
    *both("min_addr_next_to_a_reservation_merges_with_it", size=SZ_64,
          reserve=((E - SZ_64 - SZ_128, SZ_128),), min_addr=E - SZ_64, max_addr=E,
          at=E - SZ_64, reserved=((E - SZ_64 - SZ_128, SZ_128 + SZ_64),)),
    *both("max_addr_next_to_a_reservation_merges_with_it", size=SZ_128,
          reserve=((E - SZ_64, SZ_64),), min_addr=E - SZ_64 - SZ_128, max_addr=E - SZ_64,
          at=E - SZ_64 - SZ_128, reserved=((E - SZ_64 - SZ_128, SZ_128 + SZ_64),)),
    one("top_down_reserved_with_space_merges_with_the_upper_reservation", direction=TD,
        size=SZ_64, reserve=(R1, R2_SPACE), min_addr=R2_SPACE[0] + SZ_128, max_addr=R1[0],
        at=R1[0] - SZ_64, reserved=(R2_SPACE, (R1[0] - SZ_64, SMP + SZ_64))),
    one("bottom_up_reserved_with_space_merges_with_the_lower_reservation", direction=BU,
        size=SZ_64, reserve=(R1, R2_SPACE), min_addr=R2_SPACE[0] + SZ_128, max_addr=R1[0],
        at=R2_SPACE[0] + SZ_128, reserved=((R2_SPACE[0], SZ_128 + SZ_64), R1)),
    *both("reserved_gap_of_exactly_the_size_merges_all_three", size=SZ_64,
          reserve=(R1, R2_EXACT), min_addr=R2_EXACT[0] + SZ_128, max_addr=R1[0],
          at=R2_EXACT[0] + SZ_128, reserved=((R2_EXACT[0], SZ_128 + SZ_64 + SMP),)),
    one("top_down_reserved_no_space_drops_min_addr_and_merges_below", direction=TD,
        size=SZ_256, reserve=(R1, R2_NO_SPACE), min_addr=R2_NO_SPACE[0] + SZ_128,
        max_addr=R1[0], at=R2_NO_SPACE[0] - SZ_256,
        reserved=((R2_NO_SPACE[0] - SZ_256, SZ_256 + SZ_128), R1)),
    one("bottom_up_reserved_no_space_drops_min_addr_and_starts_at_memory_start",
        direction=BU, size=SZ_256, reserve=(R1, R2_NO_SPACE),
        min_addr=R2_NO_SPACE[0] + SZ_128, max_addr=R1[0],
        at=S, reserved=((S, SZ_256), R2_NO_SPACE, R1)),
    *both("everything_reserved_but_a_small_gap_fails", size=SZ_256,
          reserve=((E - SMP, SMP), (S, MEM_SIZE - (SMP + SMP))),
          min_addr=E - 2 * SMP, max_addr=E - SMP, at=None),
    one("top_down_max_addr_above_memory_is_capped_at_its_end", direction=TD, size=SZ_256,
        min_addr=E - SZ_1K, max_addr=E + SZ_256, at=E - SZ_256, reserved=((E - SZ_256, SZ_256),)),
    one("bottom_up_max_addr_above_memory_still_starts_at_min_addr", direction=BU,
        size=SZ_256, min_addr=S + SZ_1K, max_addr=E + SZ_256,
        at=S + SZ_1K, reserved=((S + SZ_1K, SZ_256),)),
    one("top_down_min_addr_below_memory_still_ends_at_max_addr", direction=TD, size=SZ_1K,
        min_addr=S - SZ_256, max_addr=E, at=E - SZ_1K, reserved=((E - SZ_1K, SZ_1K),)),
    one("bottom_up_min_addr_at_memory_start_starts_there", direction=BU, size=SZ_1K,
        min_addr=S, max_addr=E - SZ_256, at=S, reserved=((S, SZ_1K),)),
]


def nid_call(func: str, case: Alloc) -> Callable[[Memblock], int | None]:
    return lambda m: getattr(m, func)(case.size, case.align, case.min_addr, case.max_addr,
                                      case.nid)


@pytest.mark.parametrize("func", NID_FUNCS)
@pytest.mark.parametrize("case", ALLOC_NID_RANGE)
def test_alloc_nid_range(case: Alloc, func: str) -> None:
    check(setup_memblock(case.direction), case, nid_call(func, case))


# --------------------------------------------------------------------------
# alloc_nid_api.c NUMA checks (falling back to other nodes)

NUMA_FALLBACK = [
    one("top_down_numa_simple_ends_at_the_requested_node_end", direction=TD, nid=3,
        size=NODES[3][1] // 4, min_addr=S, max_addr=E,
        at=N_END[3] - NODES[3][1] // 4, reserved=((N_END[3] - NODES[3][1] // 4, SZ_1K),)),
    one("bottom_up_numa_simple_starts_at_the_requested_node_base", direction=BU, nid=3,
        size=NODES[3][1] // 4, min_addr=S, max_addr=E, at=B[3], reserved=((B[3], SZ_1K),)),
    one("top_down_numa_small_node_falls_back_to_the_last_node_that_fits", direction=TD,
        nid=1, size=2 * NODES[1][1], min_addr=S, max_addr=E,
        at=N_END[6] - SZ_4K, reserved=((N_END[6] - SZ_4K, SZ_4K),)),
    one("bottom_up_numa_small_node_falls_back_to_the_first_node_that_fits", direction=BU,
        nid=1, size=2 * NODES[1][1], min_addr=S, max_addr=E, at=B[0], reserved=((B[0], SZ_4K),)),
    one("top_down_numa_node_reserved_falls_back_to_the_last_node_that_fits", direction=TD,
        nid=2, reserve=(NODES[2],), size=NODES[2][1], min_addr=S, max_addr=E,
        at=N_END[6] - SZ_4K, reserved=(NODES[2], (N_END[6] - SZ_4K, SZ_4K))),
    one("bottom_up_numa_node_reserved_falls_back_to_the_first_node", direction=BU,
        nid=2, reserve=(NODES[2],), size=NODES[2][1], min_addr=S, max_addr=E,
        at=B[0], reserved=((B[0], SZ_4K), NODES[2])),
    one("top_down_numa_part_reserved_allocates_at_the_node_end", direction=TD, nid=4,
        reserve=((B[4], SZ_1K),), size=SZ_256, min_addr=S, max_addr=E,
        at=N_END[4] - SZ_256, reserved=((B[4], SZ_1K), (N_END[4] - SZ_256, SZ_256))),
    one("bottom_up_numa_part_reserved_merges_after_the_reservation", direction=BU, nid=4,
        reserve=((B[4], SZ_1K),), size=SZ_256, min_addr=S, max_addr=E,
        at=B[4] + SZ_1K, reserved=((B[4], SZ_1K + SZ_256),)),
    one("top_down_numa_part_reserved_fallback_uses_the_last_node", direction=TD, nid=4,
        reserve=((B[4] + SZ_512, SZ_1K),), size=SZ_1K, min_addr=S, max_addr=E,
        at=N_END[7] - SZ_1K, reserved=((B[4] + SZ_512, SZ_1K), (N_END[7] - SZ_1K, SZ_1K))),
    one("bottom_up_numa_part_reserved_fallback_uses_the_first_node", direction=BU, nid=4,
        reserve=((B[4] + SZ_512, SZ_1K),), size=SZ_1K, min_addr=S, max_addr=E,
        at=B[0], reserved=((B[0], SZ_1K), (B[4] + SZ_512, SZ_1K))),
    one("top_down_numa_split_range_low_drops_min_addr_ends_at_requested_node_end",
        direction=TD, nid=2, size=SZ_512, min_addr=N_END[2] - SZ_256,
        max_addr=N_END[2] + SZ_256, at=N_END[2] - SZ_512, reserved=((N_END[2] - SZ_512, SZ_512),)),
    one("bottom_up_numa_split_range_low_drops_min_addr_starts_at_requested_node",
        direction=BU, nid=2, size=SZ_512, min_addr=N_END[2] - SZ_256,
        max_addr=N_END[2] + SZ_256, at=B[2], reserved=((B[2], SZ_512),)),
    one("top_down_numa_split_range_high_ends_at_the_previous_node_end", direction=TD,
        nid=3, size=SZ_512, min_addr=B[3] - SZ_256, max_addr=B[3] + SZ_256,
        at=N_END[2] - SZ_512, reserved=((N_END[2] - SZ_512, SZ_512),)),
    one("bottom_up_numa_split_range_high_starts_at_the_first_node", direction=BU,
        nid=3, size=SZ_512, min_addr=B[3] - SZ_256, max_addr=B[3] + SZ_256,
        at=B[0], reserved=((B[0], SZ_512),)),
    one("top_down_numa_no_overlap_split_ends_at_requested_node_end", direction=TD, nid=2,
        size=SZ_512, min_addr=B[6] - SZ_256, max_addr=B[6] + SZ_256,
        at=N_END[2] - SZ_512, reserved=((N_END[2] - SZ_512, SZ_512),)),
    one("bottom_up_numa_no_overlap_split_starts_at_requested_node", direction=BU, nid=2,
        size=SZ_512, min_addr=B[6] - SZ_256, max_addr=B[6] + SZ_256,
        at=B[2], reserved=((B[2], SZ_512),)),
    *[
        case
        for nid in (0, 7)
        for case in (
            one(f"top_down_numa_no_overlap_{'low' if nid == 0 else 'high'}_falls_back_in_range",
                direction=TD, nid=nid, size=SZ_64, min_addr=B[2], max_addr=N_END[5],
                at=N_END[5] - SZ_64, reserved=((N_END[5] - SZ_64, SZ_64),)),
            one(f"bottom_up_numa_no_overlap_{'low' if nid == 0 else 'high'}_falls_back_in_range",
                direction=BU, nid=nid, size=SZ_64, min_addr=B[2], max_addr=N_END[5],
                at=B[2], reserved=((B[2], SZ_64),)),
        )
    ],
]

NUMA_COMMON = [
    *both("numa_large_region_fits_no_node_and_fails", nid=3, size=MEM_SIZE // 2,
          min_addr=S, max_addr=E, at=None),
    *both("numa_reserved_full_merge_fills_the_node_between_reservations", nid=6,
          reserve=((B[7], SZ_128), (B[7] - (NODES[6][1] + SZ_128), SZ_128)),
          size=NODES[6][1], min_addr=B[6], max_addr=B[7],
          at=B[6], reserved=((B[6] - SZ_128, NODES[6][1] + 2 * SZ_128),)),
    *both("numa_split_all_reserved_range_split_between_nodes_fails", nid=NUMA_NO_NODE,
          reserve=((B[7] + SZ_128, E - (B[7] + SZ_128)),
                   (S, MEM_SIZE - (E - (B[7] + SZ_128) + SZ_256))),
          size=SZ_256, min_addr=B[7] - SZ_128, max_addr=B[7] + SZ_128, at=None),
]


@pytest.mark.parametrize("func", ["alloc_try_nid", "alloc_try_nid_raw"])
@pytest.mark.parametrize("case", NUMA_FALLBACK + NUMA_COMMON)
def test_alloc_nid_numa(case: Alloc, func: str) -> None:
    check(setup_numa_memblock(case.direction), case, nid_call(func, case))


@pytest.mark.parametrize("direction", [TD, BU])
def test_alloc_node_allocates_on_the_requested_node(direction: str) -> None:
    m = setup_numa_memblock(direction)
    found = m.alloc_node(SZ_512, SMP, 2)
    assert found is not None
    assert B[2] <= found and found + SZ_512 <= N_END[2]
    assert m.memory.regions[2].nid == 2


# --------------------------------------------------------------------------
# alloc_exact_nid_api.c: no fallback to other nodes

EXACT_NID = [
    one("top_down_exact_numa_simple_ends_at_the_node_end", direction=TD, nid=3,
        size=SZ_1K, min_addr=S, max_addr=E, at=N_END[3] - SZ_1K,
        reserved=((N_END[3] - SZ_1K, SZ_1K),)),
    one("bottom_up_exact_numa_simple_starts_at_the_node_base", direction=BU, nid=3,
        size=SZ_1K, min_addr=S, max_addr=E, at=B[3], reserved=((B[3], SZ_1K),)),
    one("top_down_exact_part_reserved_allocates_at_the_node_end", direction=TD, nid=4,
        reserve=((B[4], SZ_1K),), size=SZ_256, min_addr=S, max_addr=E,
        at=N_END[4] - SZ_256, reserved=((B[4], SZ_1K), (N_END[4] - SZ_256, SZ_256))),
    one("bottom_up_exact_part_reserved_merges_after_the_reservation", direction=BU, nid=4,
        reserve=((B[4], SZ_1K),), size=SZ_256, min_addr=S, max_addr=E,
        at=B[4] + SZ_1K, reserved=((B[4], SZ_1K + SZ_256),)),
    one("top_down_exact_split_range_low_ends_at_the_node_end", direction=TD, nid=2,
        size=SZ_512, min_addr=N_END[2] - SZ_256, max_addr=N_END[2] + SZ_256,
        at=N_END[2] - SZ_512, reserved=((N_END[2] - SZ_512, SZ_512),)),
    one("bottom_up_exact_split_range_low_starts_at_the_node", direction=BU, nid=2,
        size=SZ_512, min_addr=N_END[2] - SZ_256, max_addr=N_END[2] + SZ_256,
        at=B[2], reserved=((B[2], SZ_512),)),
    one("top_down_exact_no_overlap_split_ends_at_the_node_end", direction=TD, nid=2,
        size=SZ_512, min_addr=B[6] - SZ_256, max_addr=B[6] + SZ_256,
        at=N_END[2] - SZ_512, reserved=((N_END[2] - SZ_512, SZ_512),)),
    one("bottom_up_exact_no_overlap_split_starts_at_the_node", direction=BU, nid=2,
        size=SZ_512, min_addr=B[6] - SZ_256, max_addr=B[6] + SZ_256,
        at=B[2], reserved=((B[2], SZ_512),)),
    one("top_down_exact_no_overlap_low_drops_min_addr_ends_at_the_node_end", direction=TD,
        nid=0, size=SZ_64, min_addr=B[2], max_addr=N_END[5],
        at=N_END[0] - SZ_64, reserved=((N_END[0] - SZ_64, SZ_64),)),
    one("bottom_up_exact_no_overlap_low_drops_min_addr_starts_at_the_node", direction=BU,
        nid=0, size=SZ_64, min_addr=B[2], max_addr=N_END[5],
        at=B[0], reserved=((B[0], SZ_64),)),
    *both("exact_small_node_fails", nid=1, size=2 * NODES[1][1], min_addr=S, max_addr=E,
          at=None),
    *both("exact_node_fully_reserved_fails", nid=2, reserve=(NODES[2],), size=NODES[2][1],
          min_addr=S, max_addr=E, at=None),
    *both("exact_part_reserved_without_contiguous_space_fails", nid=4,
          reserve=((B[4] + SZ_512, SZ_1K),), size=SZ_1K, min_addr=S, max_addr=E, at=None),
    *both("exact_split_range_high_fails", nid=3, size=SZ_512,
          min_addr=B[3] - SZ_256, max_addr=B[3] + SZ_256, at=None),
    *both("exact_no_overlap_high_fails", nid=7, size=SZ_64,
          min_addr=B[2], max_addr=N_END[5], at=None),
]


@pytest.mark.parametrize("case", EXACT_NID + NUMA_COMMON)
def test_alloc_exact_nid_raw(case: Alloc) -> None:
    check(setup_numa_memblock(case.direction), case, nid_call("alloc_exact_nid_raw", case))


def test_alloc_exact_nid_is_alloc_exact_nid_raw() -> None:
    m = setup_numa_memblock(TD)
    assert m.alloc_exact_nid(SZ_1K, SMP, S, E, 3) == N_END[3] - SZ_1K
    assert m.alloc_exact_nid(2 * NODES[1][1], SMP, S, E, 1) is None


# --------------------------------------------------------------------------
# mm/memblock.c behaviour outside the suite


def test_the_first_page_is_never_allocated() -> None:
    m = Memblock()
    m.set_bottom_up(True)
    m.add(0, SZ_1M)
    assert m.alloc(SZ_64, SZ_64) == PAGE_SIZE
    assert m.phys_alloc_range(SZ_64, SZ_64, 0, PAGE_SIZE) is None


def test_allocations_stay_below_current_limit() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1G)
    m.set_current_limit(SZ_1M * 16)
    assert m.alloc(SZ_4K, SZ_4K) == SZ_1M * 16 - SZ_4K
    # memblock_alloc_internal() also caps an explicit max_addr.
    assert m.alloc_try_nid(SZ_4K, SZ_4K, 0, SZ_1G) == SZ_1M * 16 - 2 * SZ_4K
    assert m.phys_alloc(SZ_4K, SZ_4K) == SZ_1M * 16 - 3 * SZ_4K


def test_phys_alloc_range_never_drops_its_lower_bound() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1M)
    m.reserve(SZ_1M + SZ_512 * 1024, SZ_512 * 1024)
    assert m.phys_alloc_range(SZ_4K, SZ_4K, SZ_1M + SZ_512 * 1024, SZ_1G) is None
    assert m.alloc_from(SZ_4K, SZ_4K, SZ_1M + SZ_512 * 1024) == SZ_1M + SZ_512 * 1024 - SZ_4K


def test_alloc_low_stays_below_4g() -> None:
    m = Memblock()
    m.add(SZ_1M, 8 * SZ_1G)
    assert m.alloc_low(SZ_4K, SZ_4K) == 0xFFFFFFFF + 1 - 2 * SZ_4K  # round_down(limit - size)
    assert m.alloc(SZ_4K, SZ_4K) == SZ_1M + 8 * SZ_1G - SZ_4K


def test_align_zero_warns_and_uses_smp_cache_bytes() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_1M)
    assert m.alloc(SZ_2, 0) == SZ_2 * SZ_1M - SMP_CACHE_BYTES
    assert SMP_CACHE_BYTES == 64
    assert any("align 0" in w for w in m.warnings)


def test_max_numnodes_as_nid_warns_once_and_means_any_node() -> None:
    m = Memblock()
    m.add_node(SZ_1M, SZ_1M, 0)
    assert m.alloc_node(SZ_4K, SZ_4K, MAX_NUMNODES) == SZ_2 * SZ_1M - SZ_4K
    assert m.alloc_node(SZ_4K, SZ_4K, MAX_NUMNODES) is not None
    assert m.warnings == ["Usage of MAX_NUMNODES is deprecated. Use NUMA_NO_NODE instead"]


def test_phys_alloc_try_nid_falls_back_to_any_node() -> None:
    m = Memblock()
    m.add_node(SZ_1M, SZ_1M, 0)
    m.add_node(SZ_2 * SZ_1M, SZ_1M, 1)
    assert m.phys_alloc_try_nid(SZ_4K, SZ_4K, 0) == SZ_2 * SZ_1M - SZ_4K
    assert m.phys_alloc_try_nid(SZ_4K, SZ_4K, 5) == 3 * SZ_1M - SZ_4K


def test_nomap_memory_is_never_allocated() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_2 * SZ_1M)
    m.mark_nomap(SZ_2 * SZ_1M, SZ_1M)
    assert m.alloc(SZ_4K, SZ_4K) == SZ_2 * SZ_1M - SZ_4K


def test_mirrored_memory_is_preferred_then_falls_back_with_a_warning() -> None:
    m = Memblock()
    m.add(SZ_1M, 3 * SZ_1M)
    m.mark_mirror(SZ_1M, SZ_1M)
    assert m.alloc(SZ_512 * 1024, SZ_4K) == SZ_1M + SZ_512 * 1024
    assert m.alloc(SZ_512 * 1024, SZ_4K) == SZ_1M
    assert m.warnings == []
    assert m.alloc(SZ_4K, SZ_4K) == 4 * SZ_1M - SZ_4K
    assert m.warnings == ["Could not allocate 0x0000000000001000 bytes of mirrored memory"]


def test_a_failed_allocation_logs_only_its_request() -> None:
    m = Memblock(debug=True)
    m.add(SZ_1M, SZ_4K)
    m.log.clear()
    assert m.alloc(SZ_1G, SZ_4K, caller="c") is None
    assert m.log == [
        "memblock_alloc_try_nid: 1073741824 bytes align=0x1000 nid=-1 "
        "from=0x0000000000000000 max_addr=0x0000000000000000 c"
    ]
    assert m.reserved.cnt == 0


def test_find_in_range_node_returns_zero_on_failure() -> None:
    m = Memblock()
    m.add(SZ_1M, SZ_4K)
    assert m.find_in_range_node(SZ_4K, SZ_4K, 0, 0, NUMA_NO_NODE, MemblockFlags.NONE) == SZ_1M
    assert m.find_in_range_node(SZ_1M, SZ_4K, 0, 0, NUMA_NO_NODE, MemblockFlags.NONE) == 0
    assert m.find_in_range(0, SZ_1G, SZ_4K, SZ_4K) == SZ_1M
    assert m.reserved.cnt == 0  # finding reserves nothing
