"""Properties of Memblock under random operation sequences (hypothesis).

After every operation both arrays must be sorted, non-overlapping and fully
merged (no two touching regions with the same nid and flags), with total_size the
sum of the sizes.  Every successful allocation must lie inside one usable memory
region, outside what was reserved before, aligned, at or above PAGE_SIZE and
below the limit -- and be exactly the address an independent oracle computes.

The oracle walks the arrays the way mm/memblock.c's __next_mem_range() and
__next_mem_range_rev() do: two indices in lockstep over full arrays, with the
kernel's dummy ``[0, 0)`` entry standing in for an empty array.  The model skips
ahead by bisection and has no dummy; the oracle checks that this changes nothing.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsan_tui.model.constants import PAGE_SIZE
from kmsan_tui.model.memblock import (
    MAX_NUMNODES,
    MEMBLOCK_ALLOC_ACCESSIBLE,
    NUMA_NO_NODE,
    PHYS_ADDR_MAX,
    SMP_CACHE_BYTES,
    Memblock,
    MemblockFlags,
    MemblockRegion,
    MemblockType,
)

F = MemblockFlags
DUMMY = MemblockRegion(0, 0, MAX_NUMNODES, F.NONE)


@dataclass(frozen=True)
class Snapshot:
    memory: tuple[MemblockRegion, ...]
    reserved: tuple[MemblockRegion, ...]
    bottom_up: bool
    limit: int
    mirror: bool
    movable: bool


def snap(m: Memblock) -> Snapshot:
    return Snapshot(m.memory.regions, m.reserved.regions, m.bottom_up, m.current_limit,
                    m.system_has_some_mirror, m.movable_node_enabled)


# ------------------------------------------------------------------ the oracle


def skip(s: Snapshot, rgn: MemblockRegion, nid: int, flags: F) -> bool:
    if nid != NUMA_NO_NODE and nid != rgn.nid:
        return True
    if s.movable and rgn.flags & F.HOTPLUG and not flags & F.HOTPLUG:
        return True
    if flags & F.MIRROR and not rgn.flags & F.MIRROR:
        return True
    if not flags & F.NOMAP and rgn.flags & F.NOMAP:
        return True
    return bool(not flags & F.DRIVER_MANAGED and rgn.flags & F.DRIVER_MANAGED)


def oracle_free(s: Snapshot, nid: int, flags: F, reverse: bool) -> list[tuple[int, int, int]]:
    """for_each_free_mem_range(_reverse) as the lockstep walk over dummy-padded arrays."""
    a = list(s.memory) or [DUMMY]
    b = list(s.reserved) or [DUMMY]
    out: list[tuple[int, int, int]] = []

    def gap(k: int) -> tuple[int, int]:
        return (b[k - 1].end if k else 0), (b[k].base if k < len(b) else PHYS_ADDR_MAX)

    if not reverse:
        ia = ib = 0
        while ia < len(a):
            m = a[ia]
            if skip(s, m, nid, flags):
                ia += 1
                continue
            emitted = False
            while ib < len(b) + 1:
                r_start, r_end = gap(ib)
                if r_start >= m.end:
                    break
                if m.base < r_end:
                    out.append((max(m.base, r_start), min(m.end, r_end), m.nid))
                    if m.end <= r_end:
                        ia += 1
                    else:
                        ib += 1
                    emitted = True
                    break
                ib += 1
            if not emitted:
                ia += 1
    else:
        ia, ib = len(a) - 1, len(b)
        while ia >= 0:
            m = a[ia]
            if skip(s, m, nid, flags):
                ia -= 1
                continue
            emitted = False
            while ib >= 0:
                r_start, r_end = gap(ib)
                if r_end <= m.base:
                    break
                if m.end > r_start:
                    out.append((max(m.base, r_start), min(m.end, r_end), m.nid))
                    if m.base >= r_start:
                        ia -= 1
                    else:
                        ib -= 1
                    emitted = True
                    break
                ib -= 1
            if not emitted:
                ia -= 1
    return out


def oracle_find(s: Snapshot, size: int, align: int, start: int, end: int, nid: int,
                flags: F) -> int:
    """memblock_find_in_range_node() over the whole oracle walk (no windowing)."""
    if end in (0, 1):
        end = s.limit
    start = max(start, PAGE_SIZE)
    end = max(start, end)
    mask = PHYS_ADDR_MAX
    for this_start, this_end, _ in oracle_free(s, nid, flags, reverse=not s.bottom_up):
        lo = min(max(this_start, start), end)
        hi = min(max(this_end, start), end)
        if s.bottom_up:
            cand = ((((lo - 1) & mask) | (align - 1)) + 1) & mask
            if cand < hi and hi - cand >= size:
                return cand
        else:
            if hi < size:
                continue
            cand = (hi - size) & ~(align - 1)
            if cand >= lo:
                return cand
    return 0


def oracle_alloc(s: Snapshot, size: int, align: int, start: int, end: int, nid: int,
                 exact: bool) -> int:
    """memblock_alloc_range_nid() without the reservation."""
    flags = F.MIRROR if s.mirror else F.NONE
    if nid == MAX_NUMNODES:
        nid = NUMA_NO_NODE
    align = align or SMP_CACHE_BYTES
    while True:
        found = oracle_find(s, size, align, start, end, nid, flags)
        if found:
            return found
        if nid != NUMA_NO_NODE and not exact:
            found = oracle_find(s, size, align, start, end, NUMA_NO_NODE, flags)
            if found:
                return found
        if flags & F.MIRROR:
            flags = F.NONE
            continue
        return 0


def oracle_alloc_internal(s: Snapshot, size: int, align: int, min_addr: int, max_addr: int,
                          nid: int, exact: bool) -> int:
    max_addr = min(max_addr, s.limit)
    found = oracle_alloc(s, size, align, min_addr, max_addr, nid, exact)
    if not found and min_addr:
        found = oracle_alloc(s, size, align, 0, max_addr, nid, exact)
    return found


# ------------------------------------------------------------------ invariants


def check_type(t: MemblockType) -> None:
    regs = t.regions
    assert t.cnt == len(regs) <= t.max
    assert t.total_size == sum(r.size for r in regs)
    for r in regs:
        assert r.size > 0 and r.end <= PHYS_ADDR_MAX
    for a, b in zip(regs, regs[1:], strict=False):
        assert a.end <= b.base, "sorted and non-overlapping"
        assert not (a.end == b.base and a.nid == b.nid and a.flags == b.flags), "merged"


def check_iterators(m: Memblock) -> None:
    s = snap(m)
    for nid, flags in ((NUMA_NO_NODE, F.NONE), (0, F.NONE), (NUMA_NO_NODE, F.NOMAP),
                       (NUMA_NO_NODE, F.MIRROR)):
        for reverse in (False, True):
            assert list(m.free_ranges(nid, flags, reverse)) == oracle_free(s, nid, flags, reverse)


# ------------------------------------------------------------------ strategies

addr = st.one_of(st.integers(0, 48).map(lambda k: k * 1024), st.integers(0, 49152))
size = st.one_of(st.integers(0, 12).map(lambda k: k * 1024), st.integers(0, 12288))
nid = st.sampled_from([MAX_NUMNODES, 0, 1])
alloc_nid = st.sampled_from([NUMA_NO_NODE, NUMA_NO_NODE, 0, 1, MAX_NUMNODES])
align = st.sampled_from([0, 1, 2, 8, 64, 256, 4096, 8192])
limit = st.one_of(st.just(PHYS_ADDR_MAX), st.integers(1, 48).map(lambda k: k * 1024))

op = st.one_of(
    st.tuples(st.just("add"), addr, size, nid,
              st.sampled_from([F.NONE, F.NONE, F.NONE, F.HOTPLUG, F.NOMAP])),
    st.tuples(st.just("reserve"), addr, size, st.sampled_from([MAX_NUMNODES, MAX_NUMNODES, 0])),
    st.tuples(st.just("remove"), addr, size),
    st.tuples(st.just("phys_free"), addr, size),
    st.tuples(st.just("alloc_try_nid"), size, align, addr, st.one_of(st.just(0), addr),
              alloc_nid),
    st.tuples(st.just("alloc_exact_nid_raw"), size, align, addr, st.one_of(st.just(0), addr),
              alloc_nid),
    st.tuples(st.just("phys_alloc_range"), size, align, addr, st.one_of(st.just(0), addr)),
    st.tuples(st.just("bottom_up"), st.booleans()),
    st.tuples(st.just("limit"), limit),
    st.tuples(st.just("flag"), addr, size,
              st.sampled_from(["mark_nomap", "clear_nomap", "mark_hotplug", "mark_mirror"])),
    st.tuples(st.just("set_node"), addr, size, st.sampled_from([0, 1])),
)


Op = tuple[Any, ...]


def do_alloc(m: Memblock, o: Op) -> None:
    kind: str = o[0]
    sz, al, lo, hi = o[1:5]
    s = snap(m)
    total_before = m.reserved.total_size
    if kind == "phys_alloc_range":
        found = m.phys_alloc_range(sz, al, lo, hi)
        req_nid, exact = NUMA_NO_NODE, False
        expected = oracle_alloc(s, sz, al, lo, hi, NUMA_NO_NODE, False)
        eff_end = s.limit if hi in (0, 1) else hi
    else:
        req_nid = o[5]
        exact = kind == "alloc_exact_nid_raw"
        found = getattr(m, kind)(sz, al, lo, hi, req_nid)
        expected = oracle_alloc_internal(s, sz, al, lo, hi, req_nid, exact)
        capped = min(hi, s.limit)
        eff_end = s.limit if capped in (0, 1) else capped
    assert (found or 0) == expected
    if found is None:
        assert m.reserved.regions == s.reserved
        return
    eff_align = al or SMP_CACHE_BYTES
    assert found >= PAGE_SIZE
    assert found % eff_align == 0
    assert found + sz <= max(eff_end, lo, PAGE_SIZE)
    if sz == 0:
        # A zero-sized request "succeeds" at a clamped point, even outside memory,
        # exactly as in the kernel (the oracle agreed above); nothing is reserved.
        assert m.reserved.regions == s.reserved
        return
    home = [r for r in s.memory if r.base <= found and found + sz <= r.end]
    assert len(home) == 1 and not home[0].flags & F.NOMAP
    if exact and req_nid not in (NUMA_NO_NODE, MAX_NUMNODES):
        assert home[0].nid == req_nid
    assert not any(r.base < found + sz and found < r.end for r in s.reserved)
    assert m.reserved.total_size == total_before + sz
    assert sz == 0 or m.is_region_reserved(found, sz)


def apply(m: Memblock, o: Op) -> None:
    kind: str = o[0]
    if kind == "add":
        m.add(o[1], o[2], o[3], o[4])
    elif kind == "reserve":
        m.reserve(o[1], o[2], o[3])
    elif kind in ("remove", "phys_free"):
        getattr(m, kind)(o[1], o[2])
    elif kind in ("alloc_try_nid", "alloc_exact_nid_raw", "phys_alloc_range"):
        do_alloc(m, o)
    elif kind == "bottom_up":
        m.set_bottom_up(o[1])
    elif kind == "limit":
        m.set_current_limit(o[1])
    elif kind == "flag":
        getattr(m, o[3])(o[1], o[2])
    elif kind == "set_node":
        m.set_node(o[1], o[2], m.memory, o[3])


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(ops=st.lists(op, max_size=30), movable=st.booleans())
def test_random_operations_keep_the_arrays_canonical_and_allocations_sound(
    ops: list[Op], movable: bool
) -> None:
    m = Memblock()
    m.allow_resize()
    m.movable_node_enabled = movable
    for o in ops:
        apply(m, o)
        check_type(m.memory)
        check_type(m.reserved)
    check_iterators(m)
    clone = copy.deepcopy(m)
    assert clone.state_tuple() == m.state_tuple()


@settings(max_examples=200, deadline=None, database=None)
@given(
    ops=st.lists(st.tuples(st.sampled_from(["add", "reserve", "remove", "phys_free"]), addr,
                           size), max_size=20),
    bottom_up=st.booleans(),
    sz=size,
    al=st.sampled_from([1, 64, 4096]),
    lo=addr,
    hi=st.one_of(st.just(MEMBLOCK_ALLOC_ACCESSIBLE), addr),
    req_nid=st.sampled_from([NUMA_NO_NODE, MAX_NUMNODES, 0]),
)
def test_find_in_range_node_matches_the_unwindowed_kernel_walk(
    ops: list[tuple[str, int, int]], bottom_up: bool, sz: int, al: int, lo: int, hi: int,
    req_nid: int
) -> None:
    # The model only walks free ranges that intersect [start, end) when size > 0;
    # the oracle walks everything, including the size-0 corner cases.
    m = Memblock()
    m.set_bottom_up(bottom_up)
    for kind, base, length in ops:
        getattr(m, kind)(base, length)
    nid = NUMA_NO_NODE if req_nid == MAX_NUMNODES else req_nid
    got = m.find_in_range_node(sz, al, lo, hi, nid, F.NONE)
    assert got == oracle_find(snap(m), sz, al, lo, hi, nid, F.NONE)


def covered(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(i for i in intervals if i[0] < i[1]):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def subtract(a: list[tuple[int, int]], s: int, e: int) -> list[tuple[int, int]]:
    out = []
    for x, y in a:
        out += [(x, min(y, s)), (max(x, e), y)]
    return covered(out)


@settings(max_examples=200, deadline=None, database=None)
@given(st.lists(st.tuples(st.booleans(), addr, size), max_size=25))
def test_memory_covers_exactly_what_was_added_and_not_removed(
    ops: list[tuple[bool, int, int]]
) -> None:
    m = Memblock()
    ref: list[tuple[int, int]] = []
    for is_add, base, length in ops:
        if is_add:
            m.add(base, length)
            ref = covered(ref + [(base, base + length)])
        else:
            m.remove(base, length)
            ref = subtract(ref, base, base + length)
        assert [(r.base, r.end) for r in m.memory.regions] == ref
