"""The buddy model against naive references, under random command sequences.

``RefZone`` re-implements the same mm/page_alloc.c paths the simplest way: one
Python list of pfns per (migratetype, order), a dict of free blocks, one entry
per pageblock, and every hand-over freed block by block (no runs, no
shortcuts).  ``pages`` is a per-page state array.  After every command the
model must equal the reference exactly (free lists in order, pageblock types,
allocations), agree with the per-page array on which pfns are free, conserve
pages, and pass ``check()``.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsan_tui.model.buddy import BadPage, MigrateType, Zone
from kmsan_tui.model.invariants import check_zone

MAX = 10
PB = 9
FALLBACKS = {0: (2, 1), 1: (2, 0), 2: (0, 1)}

# A small zone with holes, an unaligned start and partial pageblocks at both ends.
START, END = 512 + 64, 512 + 6144 - 32
PRESENT = [(START, 2600), (3000, 4100), (4200, END)]


class RefZone:
    """Per-block reference of the same kernel algorithms."""

    def __init__(self, start: int = START, end: int = END) -> None:
        self.start, self.end = start, end
        self.lists: dict[tuple[int, int], list[int]] = {
            (mt, o): [] for mt in range(5) for o in range(MAX + 1)
        }
        self.free: dict[int, tuple[int, int]] = {}  # head -> (order, mt)
        self.pbt = {pb: 1 for pb in range(start >> PB, ((end - 1) >> PB) + 1)}
        self.alloc: dict[int, tuple[int, int]] = {}

    def add(self, pfn: int, o: int, mt: int, tail: bool) -> None:
        lst = self.lists[(mt, o)]
        lst.append(pfn) if tail else lst.insert(0, pfn)
        self.free[pfn] = (o, mt)

    def remove(self, pfn: int) -> tuple[int, int]:
        o, mt = self.free.pop(pfn)
        self.lists[(mt, o)].remove(pfn)
        return o, mt

    def is_buddy(self, pfn: int, o: int) -> bool:
        return self.free.get(pfn, (-1, 0))[0] == o

    def free_one(self, pfn: int, o: int, mt: int, to_tail: bool) -> None:
        bp = pfn
        while o < MAX:
            bp = pfn ^ (1 << o)
            if not self.is_buddy(bp, o):
                break
            if o >= PB:
                bmt = self.pbt[bp >> PB]
                if bmt != mt and (bmt >= 3 or mt >= 3):
                    break
                self.pbt[bp >> PB] = mt
            self.remove(bp)
            pfn &= bp
            o += 1
        if to_tail:
            tail = True
        elif o >= MAX - 1:
            tail = False
        else:
            tail = self.is_buddy((pfn & bp) ^ (2 << o), o + 1)
        self.add(pfn, o, mt, tail)

    def split_large(self, pfn: int, o: int, to_tail: bool) -> None:
        if o <= PB:
            self.free_one(pfn, o, self.pbt[pfn >> PB], to_tail)
        else:
            for p in range(pfn, pfn + (1 << o), 1 << PB):
                self.free_one(p, PB, self.pbt[p >> PB], to_tail)

    def hand_over(self, pfn: int, o: int, count: int, stride: int) -> None:
        for i in range(count):
            self.split_large(pfn + i * stride, o, True)

    def expand(self, pfn: int, low: int, high: int, mt: int) -> None:
        while high > low:
            high -= 1
            self.add(pfn + (1 << high), high, mt, False)

    def smallest(self, order: int, mt: int) -> int | None:
        for o in range(order, MAX + 1):
            if self.lists[(mt, o)]:
                pfn = self.lists[(mt, o)][0]
                self.remove(pfn)
                self.expand(pfn, order, o, mt)
                return pfn
        return None

    def move_block(self, pb: int, new: int) -> None:
        for pfn in range(pb << PB, (pb + 1) << PB):
            if pfn in self.free and self.free[pfn][0] <= PB:
                o, _ = self.remove(pfn)
                self.add(pfn, o, new, True)
        self.pbt[pb] = new

    def try_claim(self, pfn: int, co: int, order: int, mt: int, bmt: int) -> int | None:
        if co >= PB:
            self.remove(pfn)
            for pb in range(pfn >> PB, (pfn + (1 << co)) >> PB):
                self.pbt[pb] = mt
            self.expand(pfn, order, co, mt)
            return pfn
        s = pfn & ~((1 << PB) - 1)
        if s < self.start or s + (1 << PB) > self.end:
            return None
        free = movable = 0
        p = s
        while p < s + (1 << PB):
            if p in self.free:
                free += 1 << self.free[p][0]
                p += 1 << self.free[p][0]
            elif p in self.alloc:
                if self.alloc[p][1] == 1:
                    movable += 1 << self.alloc[p][0]
                p += 1 << self.alloc[p][0]
            else:
                p += 1
        alike = movable if mt == 1 else (512 - free - movable if bmt == 1 else 0)
        if free + alike >= 256:
            self.move_block(s >> PB, mt)
            return self.smallest(order, mt)
        return None

    def alloc_pages(self, order: int, mt: int) -> int | None:
        pfn = self.smallest(order, mt)
        if pfn is None and mt < 3:
            for co in range(MAX, order - 1, -1):
                if not (co >= 4 or mt in (0, 2)):
                    break
                fmt = next((f for f in FALLBACKS[mt] if self.lists[(f, co)]), None)
                if fmt is None:
                    continue
                pfn = self.try_claim(self.lists[(fmt, co)][0], co, order, mt, fmt)
                if pfn is not None:
                    break
            if pfn is None:
                for co in range(order, MAX + 1):
                    fmt = next((f for f in FALLBACKS[mt] if self.lists[(f, co)]), None)
                    if fmt is not None:
                        pfn = self.lists[(fmt, co)][0]
                        self.remove(pfn)
                        self.expand(pfn, order, co, fmt)
                        break
        if pfn is not None:
            self.alloc[pfn] = (order, mt)
        return pfn

    def free_pages(self, pfn: int, order: int) -> None:
        del self.alloc[pfn]
        self.split_large(pfn, order, False)

    def make_exact(self, pfn: int, nr: int) -> None:
        order, mt = self.alloc.pop(pfn)
        for p in range(pfn, pfn + nr):
            self.alloc[p] = (0, mt)
        for p in range(pfn + nr, pfn + (1 << order)):
            self.split_large(p, 0, True)

    def set_pb(self, pfn: int, mt: int) -> None:
        pb = pfn >> PB
        if self.pbt[pb] == mt:
            return
        big = pfn & ~((1 << MAX) - 1)
        if self.free.get(big, (0, 0))[0] == MAX:
            self.remove(big)
            self.pbt[pb] = mt
            for p in range(big, big + 1024, 512):
                self.free_one(p, PB, self.pbt[p >> PB], False)
            return
        self.move_block(pb, mt)
        s = pb << PB
        if self.is_buddy(s, PB) and self.is_buddy(s ^ 512, PB):
            bmt = self.pbt[pb ^ 1]
            if bmt == mt or (bmt < 3 and mt < 3):
                self.remove(s)
                self.free_one(s, PB, mt, False)


@dataclass
class World:
    zone: Zone
    ref: RefZone
    pages: dict[int, str] = field(default_factory=dict)  # pfn -> "free" | "used"
    live: list[tuple[int, int]] = field(default_factory=list)


def memblock_chunks(a: int, b: int) -> list[tuple[int, int]]:
    """__free_pages_memory(): naturally aligned chunks of [a, b), ascending."""
    out = []
    while a < b:
        o = min(MAX, (a & -a).bit_length() - 1, (b - a).bit_length() - 1)
        out.append((a, o))
        a += 1 << o
    return out


def as_runs(blocks: list[tuple[int, int]]) -> list[tuple[int, int, int, int]]:
    """Consecutive blocks of one order at a constant stride become one call."""
    calls: list[tuple[int, int, int, int]] = []
    for p, o in blocks:
        if calls and calls[-1][1] == o:
            first, _, count, stride = calls[-1]
            if count == 1 and p > first:
                calls[-1] = (first, o, 2, p - first)
                continue
            if p == first + count * stride:
                calls[-1] = (first, o, count + 1, stride)
                continue
        calls.append((p, o, 1, 1 << o))
    return calls


def boot(style: str) -> World:
    """Hand the present ranges over the way memblock_free_all() would."""
    w = World(Zone(0, "DMA32", START, END, PRESENT), RefZone())
    calls: list[tuple[int, int, int, int]] = []
    for a, b in PRESENT:
        if style == "contiguous":  # one call of order-0 pages per range
            calls.append((a, 0, b - a, 1))
        elif style == "chunks":  # __free_pages_memory() chunks, runs coalesced
            calls.extend(as_runs(memblock_chunks(a, b)))
        else:  # KMSAN eager: of every 3 chunks of one order the third is freed
            seen: dict[int, int] = {}
            kept = []
            for p, o in memblock_chunks(a, b):
                seen[o] = seen.get(o, 0) + 1
                if seen[o] % 3 == 0:
                    kept.append((p, o))
            calls.extend(as_runs(kept))
    for pfn, o, count, stride in calls:
        w.zone.free_pages_core(pfn, o, count, stride if count > 1 else None)
        w.ref.hand_over(pfn, o, count, stride)
        for i in range(count):
            for p in range(pfn + i * stride, pfn + i * stride + (1 << o)):
                assert p not in w.pages
                w.pages[p] = "free"
    return w


def expect_same_lists(z: Zone, ref: RefZone) -> None:
    assert check_zone(z) == []
    for mt in MigrateType:
        for o in range(MAX + 1):
            assert z.free_list(o, mt) == ref.lists[(mt, o)], (mt.label, o)
    for pb, t in ref.pbt.items():
        pfn = max(pb << PB, ref.start)
        assert z.pageblock_migratetype(pfn) == t, pb
    assert list(z.allocated_blocks()) == [(p, o, mt) for p, (o, mt) in sorted(ref.alloc.items())]


def expect_same(w: World) -> None:
    z = w.zone
    expect_same_lists(z, w.ref)
    free_pages = {
        p
        for mt in MigrateType
        for o in range(MAX + 1)
        for head in z.free_list(o, mt)
        for p in range(head, head + (1 << o))
    }
    assert free_pages == {p for p, s in w.pages.items() if s == "free"}
    used = sum(1 << o for _, o, _ in z.allocated_blocks())
    assert z.nr_free_pages + used == z.managed_pages == len(w.pages)


commands = st.lists(
    st.one_of(
        st.tuples(
            st.just("alloc"),
            st.one_of(st.integers(0, 3), st.integers(0, MAX)),
            st.sampled_from([0, 1, 1, 1, 2, 3]),
        ),
        st.tuples(st.just("free"), st.integers(0, 10**6), st.just(0)),
        st.tuples(st.just("setpb"), st.integers(START, END - 1), st.integers(0, 4)),
        st.tuples(st.just("exact"), st.integers(0, 10**6), st.integers(1, 1023)),
        st.tuples(st.just("copy"), st.just(0), st.just(0)),
    ),
    min_size=10,
    max_size=60,
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(style=st.sampled_from(["contiguous", "chunks", "kmsan"]), cmds=commands)
def test_random_commands_match_the_naive_references(
    style: str, cmds: list[tuple[str, int, int]]
) -> None:
    w = boot(style)
    expect_same(w)
    for op, a, b in cmds:
        if op == "alloc":
            got = w.zone.alloc_pages(a, MigrateType(b))
            assert got == w.ref.alloc_pages(a, b)
            if got is not None:
                for p in range(got, got + (1 << a)):
                    assert w.pages[p] == "free"
                    w.pages[p] = "used"
                w.live.append((got, a))
        elif op == "free" and w.live:
            pfn, order = w.live.pop(a % len(w.live))
            w.zone.free_pages(pfn, order)
            w.ref.free_pages(pfn, order)
            for p in range(pfn, pfn + (1 << order)):
                w.pages[p] = "free"
        elif op == "setpb":
            w.zone.set_pageblock_migratetype(a, MigrateType(b))
            w.ref.set_pb(a, b)
        elif op == "exact" and w.live:
            i = a % len(w.live)
            pfn, order = w.live[i]
            if order == 0:
                continue
            nr = b % (1 << order) or 1
            w.zone.make_alloc_exact(pfn, nr)
            w.ref.make_exact(pfn, nr)
            w.live[i : i + 1] = [(p, 0) for p in range(pfn, pfn + nr)]
            for p in range(pfn + nr, pfn + (1 << order)):
                w.pages[p] = "free"
        elif op == "copy":
            w.zone = copy.deepcopy(w.zone)
        expect_same(w)


# ------------------------------------------------- hand-over patterns and runs
BIG_START, BIG_END = 1024 + 512, 40 * 1024 - 512
BIG_PRESENT = [(BIG_START, 20 * 1024 + 100), (20 * 1024 + 700, BIG_END)]

hand_overs = st.lists(
    st.tuples(
        st.sampled_from([10, 10, 10, 9, 9, 4, 0]),  # order
        st.one_of(st.integers(1, 6), st.integers(0, 40)),  # first block, in 2**order units
        st.integers(1, 14),  # count
        st.sampled_from([1, 2, 3, 3, 4]),  # stride in blocks
    ),
    min_size=2,
    max_size=8,
)
retypes = st.lists(st.tuples(st.integers(BIG_START, BIG_END - 1), st.integers(0, 4)), max_size=3)
workload = st.lists(
    st.tuples(st.sampled_from(["alloc", "alloc", "free", "setpb"]), st.integers(0, 10**6),
              st.integers(0, 10)),
    min_size=5,
    max_size=40,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(calls=hand_overs, before=retypes, ops=workload)
def test_strided_and_interleaved_hand_overs_match_the_reference(
    calls: list[tuple[int, int, int, int]],
    before: list[tuple[int, int]],
    ops: list[tuple[str, int, int]],
) -> None:
    z = Zone(0, "Normal", BIG_START, BIG_END, BIG_PRESENT)
    ref = RefZone(BIG_START, BIG_END)
    for pfn, mt in before:  # pageblock types before the hand-over (mixed-type runs)
        z.set_pageblock_migratetype(pfn, MigrateType(mt))
        ref.set_pb(pfn, mt)
    handed: set[int] = set()
    for order, first, count, k in calls:
        size = 1 << order
        pfn = first * size if order >= 9 else BIG_START + first * size
        stride = k * size
        pages = {p for i in range(count) for p in range(pfn + i * stride, pfn + i * stride + size)}
        present = {p for a, b in BIG_PRESENT for p in range(a, b)}
        ok = pages <= present and not pages & handed
        try:
            z.free_pages_core(pfn, order, count, stride)
        except BadPage:
            assert not ok
            continue
        assert ok
        handed |= pages
        ref.hand_over(pfn, order, count, stride)
        expect_same_lists(z, ref)
    live: list[tuple[int, int]] = []
    for op, a, b in ops:
        if op == "alloc":
            order = b if a % 4 == 0 else b % 3
            got = z.alloc_pages(order, MigrateType(a % 3))
            assert got == ref.alloc_pages(order, a % 3)
            if got is not None:
                live.append((got, order))
        elif op == "free" and live:
            pfn, order = live.pop(a % len(live))
            z.free_pages(pfn, order)
            ref.free_pages(pfn, order)
        elif op == "setpb":
            pfn = BIG_START + a % (BIG_END - BIG_START)
            z.set_pageblock_migratetype(pfn, MigrateType(b % 5))
            ref.set_pb(pfn, b % 5)
        expect_same_lists(z, ref)
    assert z.nr_free_pages + sum(1 << o for _, o in live) == z.managed_pages == len(handed)


def test_interleaved_strided_hand_overs_match_the_reference() -> None:
    """KMSAN's held-back chunks handed over later, between the first ones."""
    z = Zone(0, "Normal", BIG_START, BIG_END, BIG_PRESENT)
    ref = RefZone(BIG_START, BIG_END)
    calls = [
        (10, 2048, 6, 3072),  # the first pass: every third max-order block
        (10, 3072, 5, 3072),  # then the blocks in between, two passes
        (9, 4096 + 512, 8, 3072),
        (4, 21 * 1024 + 16, 20, 48),  # small strided blocks next to free ones
        (4, 21 * 1024, 20, 48),
    ]
    for order, pfn, count, stride in calls:
        z.free_pages_core(pfn, order, count, stride)
        ref.hand_over(pfn, order, count, stride)
        expect_same_lists(z, ref)
    live = []
    for i in range(300):
        order = (0, 0, 1, 3, 9, 10)[i % 6]
        got = z.alloc_pages(order, MigrateType(i % 3))
        assert got == ref.alloc_pages(order, i % 3)
        if got is not None:
            live.append((got, order))
        if i % 3 == 2:
            pfn, o = live.pop((i * 7) % len(live))
            z.free_pages(pfn, o)
            ref.free_pages(pfn, o)
        expect_same_lists(z, ref)
    for pfn, o in live:
        z.free_pages(pfn, o)
        ref.free_pages(pfn, o)
    expect_same_lists(z, ref)


@settings(max_examples=60, deadline=None)
@given(
    start=st.integers(0, 70_000),
    length=st.integers(1, 200_000),
    holes=st.lists(st.tuples(st.integers(0, 270_000), st.integers(1, 80_000)), max_size=4),
    retypes=st.lists(st.tuples(st.integers(0, 10**9), st.integers(0, 4)), max_size=6),
)
def test_pageblock_counts_match_sampling_every_pageblock(
    start: int, length: int, holes: list[tuple[int, int]], retypes: list[tuple[int, int]]
) -> None:
    end = start + length
    present = [(start, end)]
    for h, n in holes:  # punch holes
        present = [r for a, b in present for r in ((a, min(b, h)), (max(a, h + n), b)) if r[0] < r[1]]
    z = Zone(0, "Normal", start, end, present)
    for where, mt in retypes:
        z.set_pageblock_migratetype(start + where % length, MigrateType(mt))
    section = 1 << 15
    expected = dict.fromkeys(MigrateType, 0)
    for pfn in range(start, end, 1 << PB):  # pagetypeinfo_showblockcount_print()
        s0 = pfn & -section
        if any(a < s0 + section and b > s0 for a, b in present):  # pfn_to_online_page()
            expected[z.pageblock_migratetype(pfn)] += 1
    assert z.pageblock_counts() == expected
