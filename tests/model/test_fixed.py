"""The fixed strategy against FreeBSD's and NetBSD's KMSAN: shadow and origin at fixed
offsets, backed on demand by pmap_san_enter() (sys/amd64/amd64/pmap.c): a 2 MiB page
when one is free, else a page-table page and 4 KiB pages; never given back."""

from __future__ import annotations

import pytest

from kmsan_tui.model import PageState, Simulation
from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.strategies.fixed import FixedStrategy
from kmsan_tui.model.strategies.fixed_layout import KASAN_SLOT_4LEVEL, VMALLOC_START

TB = 1 << 40


def fixed(sim: Simulation) -> FixedStrategy:
    assert isinstance(sim.strategy, FixedStrategy)
    return sim.strategy


def boot_backed(layout: str) -> Simulation:
    """A simulation whose fixed strategy backs everything at boot (fixed_backing)."""
    sim = Simulation(layout, "fixed", fixed_backing="boot")
    assert fixed(sim).backing == "boot"
    return sim


def test_on_demand_backs_2_mib_of_shadow_and_origin_when_memory_is_handed_out() -> None:
    sim = Simulation("qemu-8g", "fixed")
    sim.run_to("memblock_free_all")
    before = sim.metrics()
    assert before.metadata_pages == before.kmsan_pagetable_pages  # only the PDP pages
    pfn = sim.alloc_pages(0, MigrateType.UNMOVABLE, "test", track=True)
    assert pfn is not None
    after = sim.metrics()
    # One 2 MiB shadow page, one 2 MiB origin page, a page-directory page for each.
    assert after.metadata_pages - before.metadata_pages == 2 * 512 + 2
    page = sim.page(pfn)
    assert page.metadata_in == "fixed mapping"
    assert page.shadow_vaddr == KASAN_SLOT_4LEVEL + (pfn << 12)
    shadow = sim.page(page.kmsan_shadow)  # type: ignore[arg-type]
    assert shadow.state is PageState.SHADOW and shadow.order == 9
    # The neighbour in the same 2 MiB costs nothing more.
    sim.alloc_pages(0, MigrateType.UNMOVABLE, "test", track=True)
    assert sim.metrics().metadata_pages == after.metadata_pages
    assert sim.check() == []


def test_before_any_workload_it_leaves_far_more_memory_usable_than_eager() -> None:
    usable = {}
    for strategy in ("eager", "fixed"):
        sim = Simulation("qemu-8g", strategy)
        sim.run()
        usable[strategy] = sim.metrics().usable_pages
    assert usable["fixed"] > 2.5 * usable["eager"]


def test_backed_at_boot_it_costs_what_eager_costs() -> None:
    eager = Simulation("qemu-8g", "eager")
    boot = boot_backed("qemu-8g")
    eager.run()
    boot.run()
    a, b = eager.metrics().usable_pages, boot.metrics().usable_pages
    assert abs(a - b) / a < 0.05
    assert boot.check() == []


def test_memory_in_use_before_the_buddy_allocator_is_not_tracked() -> None:
    sim = Simulation("qemu-8g", "fixed")
    sim.run()
    image = sim.config.image_base >> 12
    assert sim.page(image).kmsan_shadow is None
    assert sim.page(image).state is PageState.RESERVED


def _take_blocks(sim: Simulation, order: int = 9) -> list[int]:
    """Take every free block of ``order`` or more straight from the zones (no KMSAN
    hook: a test's stand-in for memory some other user holds)."""
    taken = []
    for zone in sim.zones:
        while (pfn := zone.alloc_pages(order, MigrateType.MOVABLE)) is not None:
            taken.append(pfn)
    return taken


def _give_back(sim: Simulation, blocks: list[int]) -> None:
    for pfn in blocks:
        zone = sim.zone_of(pfn)
        assert zone is not None
        got = zone.allocated_block(pfn)
        if got is not None and got[0] == pfn and got[1] > 0:
            zone.free_pages(pfn, got[1])
        else:
            for p in range(pfn, pfn + 512):
                if zone.allocated_block(p) is not None:
                    zone.free_pages(p, 0)


def test_without_a_free_2_mib_run_it_maps_4_kib_pages_and_a_page_table() -> None:
    sim = Simulation("tiny-64m", "fixed")
    sim.run()
    taken = _take_blocks(sim)
    for pfn in taken:  # keep the lower half: 2 MiB runs are gone, order-8 ones are free
        zone = sim.zone_of(pfn)
        assert zone is not None
        zone.make_alloc_exact(pfn, 256)
    s = fixed(sim)
    pts = sim.metrics().kmsan_pagetable_pages
    pfn = next(p for p in (sim.alloc_pages(0, MigrateType.UNMOVABLE, "test", quiet=True)
                           for _ in range(512)) if p is not None and (p >> 9) in s.small[0])
    assert sim.metrics().kmsan_pagetable_pages >= pts + 2  # a PT page for shadow and origin
    shadow = sim.page(pfn).kmsan_shadow
    assert shadow is not None and sim.page(shadow).order == 0
    _give_back(sim, taken)
    assert sim.check() == []


def test_the_shadow_stays_mapped_after_the_data_is_freed() -> None:
    sim = Simulation("qemu-8g", "fixed")
    sim.run()
    pfn = sim.alloc_pages(4, MigrateType.MOVABLE, "test", track=True)
    assert pfn is not None
    meta = sim.metrics().metadata_pages
    assert sim.free_pages(pfn)
    assert sim.metrics().metadata_pages == meta
    assert sim.page(pfn).kmsan_shadow is not None  # the kernel map never shrinks
    assert sim.check() == []


def test_when_nothing_is_left_for_the_shadow_map_it_panics_and_the_pages_are_blind() -> None:
    sim = Simulation("tiny-64m", "fixed")
    sim.run()
    taken = _take_blocks(sim)
    runs = [taken.pop(), taken.pop()]
    scraps = _take_blocks(sim, 5)  # what is left is too little for 512 4 KiB pages
    for run in runs:  # 2 MiB for the data, 2 MiB for its shadow, none for its origin
        zone = sim.zone_of(run)
        assert zone is not None
        zone.free_pages(run, 9)
    pfn = sim.alloc_pages(9, MigrateType.MOVABLE, "test", track=True)
    assert pfn in runs
    m = sim.metrics()
    assert m.failed_metadata_allocs == 1 and m.blind_spot_pages == 512
    assert "no memory to grow shadow map" in sim.events[-2].text
    assert sim.free_pages(pfn)
    assert sim.metrics().blind_spot_pages == 0
    _give_back(sim, taken)
    for pfn in scraps:
        zone = sim.zone_of(pfn)
        assert zone is not None
        zone.free_pages(pfn, zone.allocated_block(pfn)[1])  # type: ignore[index]
    assert sim.check() == []


@pytest.mark.parametrize(("layout", "fits"), [
    # (4-level, 5-level, 4-level + RANDOMIZE_MEMORY, 5-level + RANDOMIZE_MEMORY)
    ("qemu-8g", (True, True, True, True)),
    ("server-1t", (True, True, False, False)),
    ("monster-16t", (False, True, False, False)),
])
def test_whether_the_ranges_fit_each_paging_mode_with_and_without_kaslr(
        layout: str, fits: tuple[bool, bool, bool, bool]) -> None:
    sim = Simulation(layout, "fixed")
    sim.run_to("kmsan_init_shadow")
    m = sim.metrics()
    assert (m.fits_4level, m.fits_5level, m.fits_4level_kaslr, m.fits_5level_kaslr) == fits


def test_the_virtual_range_is_twice_the_direct_map_and_vmalloc_keeps_upstreams_quarters() -> None:
    sim = Simulation("qemu-8g", "fixed")
    sim.run_to("kmsan_init_shadow")
    layout = sim.virtual_layout()
    assert layout is not None
    assert sim.metrics().virtual_reserved_bytes == 2 * 9 * (1 << 30)  # max_pfn is at 9 GiB
    assert layout.vmalloc_size == 8 * TB
    assert layout.vmalloc_shadow_start == VMALLOC_START[4] + 8 * TB
    assert layout.vmalloc_origin_start == VMALLOC_START[4] + 16 * TB
    assert layout.modules_shadow_start == VMALLOC_START[4] + 24 * TB
    assert "not shadowed" in layout.direct_map
