"""The eager strategy, block by block, against a plain re-statement of mm/kmsan/init.c."""

from __future__ import annotations

import pytest

from kmsan_tui.model import PageState, Simulation
from kmsan_tui.model.boot import chunk_runs
from kmsan_tui.model.constants import MAX_PAGE_ORDER
from kmsan_tui.model.profiles import KERNELS


def reference_hold_back(chunks: list[tuple[int, int]]) -> tuple[
        dict[int, tuple[int, int, int]], list[list[int | None]]]:
    """kmsan_memblock_free_pages() one chunk at a time: data pfn -> (shadow, origin, order)."""
    held: list[list[int | None]] = [[None, None] for _ in range(MAX_PAGE_ORDER + 1)]
    data: dict[int, tuple[int, int, int]] = {}
    for pfn, order in chunks:
        slot = held[order]
        if slot[0] is None:
            slot[0] = pfn
        elif slot[1] is None:
            slot[1] = pfn
        else:
            data[pfn] = (slot[0], slot[1], order)
            slot[0] = slot[1] = None
    return data, held


def reference_discard(held: list[list[int | None]]) -> dict[int, tuple[int, int, int]]:
    """kmsan_memblock_discard(): collect triples (data, shadow, origin popped), split the rest."""
    stack: list[int] = []
    data: dict[int, tuple[int, int, int]] = {}
    order = MAX_PAGE_ORDER
    for i in range(MAX_PAGE_ORDER, -1, -1):
        stack += [b for b in held[i] if b is not None]
        while len(stack) >= 3:
            d, s, o = stack.pop(), stack.pop(), stack.pop()
            data[d] = (s, o, order)
        if order == 0:
            break
        tmp: list[int] = []
        while stack:
            b = stack.pop()
            tmp += [b, b + (1 << (order - 1))]
        stack, order = tmp, order - 1
    return data


def boot_chunks(sim: Simulation) -> list[tuple[int, int]]:
    chunks = []
    for start, end, _ in sim.memblock.free_ranges():
        first, last = -(-start // 4096), end // 4096
        for pfn, order, count in chunk_runs(first, last) if last > first else []:
            chunks += [(pfn + i * (1 << order), order) for i in range(count)]
    return chunks


def test_chunks_are_naturally_aligned_and_grow_then_shrink() -> None:
    # kernel-facts.md: pfn 0x40200..0x40600 -> order 9 @0x40200, order 9 @0x40400.
    assert chunk_runs(0x40200, 0x40600) == [(0x40200, 9, 1), (0x40400, 9, 1)]
    assert chunk_runs(0x3, 0x10) == [(0x3, 0, 1), (0x4, 2, 1), (0x8, 3, 1)]
    assert chunk_runs(0x400, 0x1400) == [(0x400, 10, 4)]


def test_every_data_chunk_points_at_the_two_chunks_held_before_it() -> None:
    sim = Simulation("qemu-2g", "eager")
    sim.run_to("stack_depot_early_init")
    chunks = boot_chunks(sim)
    want, _held = reference_hold_back(chunks)
    sim.run_to("memblock_free_all")
    assert len(want) > 100
    for data, (shadow, origin, order) in want.items():
        size = 1 << order
        for pfn in (data, data + size - 1):
            page = sim.page(pfn)
            assert page.kmsan_shadow == shadow + (pfn - data), hex(pfn)
            assert page.kmsan_origin == origin + (pfn - data), hex(pfn)
        assert sim.page(shadow).state is PageState.SHADOW
        assert sim.page(shadow).meta_for == data
        assert sim.page(origin + size - 1).state is PageState.ORIGIN
        assert sim.page(origin + size - 1).meta_for == data + size - 1


def test_held_back_chunks_never_reach_the_free_lists() -> None:
    sim = Simulation("qemu-2g", "eager")
    sim.run_to("stack_depot_early_init")
    chunks = boot_chunks(sim)
    want, held = reference_hold_back(chunks)
    sim.run_to("memblock_free_all")
    freed = sum(1 << o for _, (_, _, o) in want.items())
    assert sum(z.nr_free_pages for z in sim.zones) == freed
    for order, slot in enumerate(held):
        for block in slot:
            if block is not None:
                assert sim.page(block).state is PageState.HELD_BACK, (order, hex(block))
    assert sim.strategy.held_back == held  # type: ignore[attr-defined]


def test_discard_pairs_the_leftovers_as_the_kernel_does() -> None:
    sim = Simulation("qemu-2g", "eager")
    sim.run_to("memblock_free_all")
    held = [list(s) for s in sim.strategy.held_back]  # type: ignore[attr-defined]
    want = reference_discard(held)
    free_before = sum(z.nr_free_pages for z in sim.zones)
    sim.run_to("kmsan_init_runtime")
    for data, (shadow, origin, _order) in want.items():
        page = sim.page(data)
        assert (page.kmsan_shadow, page.kmsan_origin) == (shadow, origin), hex(data)
        assert sim.page(shadow).state is PageState.SHADOW
    gained = sum(1 << o for _, (_, _, o) in want.items())
    # Nothing was allocated at memblock_free_all; what was since came out of free pages.
    allocated_since = sum(1 << o for z in sim.zones for _p, o, _m in z.allocated_blocks())
    assert sum(z.nr_free_pages for z in sim.zones) + allocated_since == free_before + gained
    assert sim.check() == []


def test_a_third_of_freed_memory_reaches_the_buddy_allocator() -> None:
    sim = Simulation("qemu-8g", "eager")
    sim.run_to("memblock_free_all")
    m = sim.metrics()
    freed = sim.counters.memblock_freed_pages
    assert abs(m.free_pages - freed / 3) / freed < 0.01
    assert m.struct_page_size == 80


@pytest.mark.parametrize("kernel", KERNELS)
def test_totalram_counts_held_back_chunks_as_the_kernel_profile_says(kernel: str) -> None:
    sim = Simulation("qemu-2g", "eager", kernel=kernel)
    sim.run_to("memblock_free_all")
    freed = sim.counters.memblock_freed_pages
    managed = sum(z.managed_pages for z in sim.zones)
    if sim.machine.profile.totalram_counts_held_back:  # before the Sept 2025 fix
        assert sim.counters.totalram_pages == freed
    else:
        assert sim.counters.totalram_pages == managed
    assert sim.metrics().memory_line_reserved_pages == (
        sim.present_pages - sim.counters.totalram_pages)


def test_the_discard_frees_pages_without_adding_them_to_totalram() -> None:
    sim = Simulation("qemu-2g", "eager")
    sim.run_to("memblock_free_all")
    totalram, managed = sim.counters.totalram_pages, sim.metrics().managed_pages
    sim.run_to("kmsan_init_runtime")
    m = sim.metrics()
    assert m.totalram_pages == totalram and m.managed_pages > managed
    # The metadata of every page is in exactly one class: nothing counted twice.
    assert sum(m.classes().values()) == m.present_pages
    assert m.held_back_pages <= 2  # kmsan_memblock_discard() leaves <= 2 order-0 pages
