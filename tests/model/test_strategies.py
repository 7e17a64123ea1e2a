"""Lazy, fixed and the no-KMSAN configurations: what each promises and what it costs."""

from __future__ import annotations

import pytest

from kmsan_tui.model import PageState, Simulation
from kmsan_tui.model.constants import MigrateType


def test_lazy_back_fills_what_was_allocated_before_mem_init() -> None:
    sim = Simulation("qemu-8g", "lazy", lazy_activation="mem_init")
    sim.run_to("mem_init")
    m = sim.metrics()
    # preallocate_vmalloc_pages ran before activation: 64 pages to back-fill.
    assert m.backfill_blocks == 64
    assert m.backfill_walked_pages == sum(z.spanned_pages for z in sim.zones)
    pfn = sim.boot_state.vmalloc_pgtable_pages[0]
    page = sim.page(pfn)
    assert page.kmsan_shadow is not None
    assert sim.page(page.kmsan_shadow).state is PageState.SHADOW
    assert sim.check() == []


def test_lazy_activated_at_page_ext_init_back_fills_more() -> None:
    early = Simulation("qemu-8g", "lazy", lazy_activation="mem_init")
    late = Simulation("qemu-8g", "lazy", lazy_activation="page_ext_init")
    early.run()
    late.run()
    assert late.metrics().backfill_blocks > early.metrics().backfill_blocks


def test_lazy_page_ext_storage_keeps_struct_page_at_64_bytes() -> None:
    sim = Simulation("qemu-8g", "lazy", lazy_storage="page_ext")
    sim.run()
    m = sim.metrics()
    assert m.struct_page_size == 64
    assert m.page_ext_bytes > 0
    assert sim.strategy.activation == "page_ext_init"  # type: ignore[attr-defined]


def test_lazy_metadata_is_same_order_as_the_data() -> None:
    sim = Simulation("tiny-64m", "lazy")
    sim.run()
    pfn = sim.alloc_pages(3, MigrateType.UNMOVABLE, "test", track=True)
    assert pfn is not None
    page = sim.page(pfn)
    assert page.kmsan_shadow is not None and page.kmsan_origin is not None
    for meta in (page.kmsan_shadow, page.kmsan_origin):
        view = sim.page(meta)
        assert view.order == 3 and view.head_pfn == meta and view.meta_for == pfn
    sim.free_pages(pfn)
    assert sim.page(page.kmsan_shadow).state is PageState.FREE
    assert sim.check() == []


def test_lazy_fragmentation_leaves_blind_spots_that_eager_does_not() -> None:
    results = {}
    for strategy in ("lazy", "eager"):
        sim = Simulation("tiny-64m", strategy, seed=3)
        sim.run()
        sim.run_workload("fragmenter", 6000)
        assert sim.check() == []
        results[strategy] = sim.metrics()
    assert results["lazy"].failed_metadata_allocs > 0
    assert results["lazy"].blind_spot_pages > 0
    assert results["eager"].blind_spot_pages == 0


def test_fixed_has_no_pointers_and_a_virtual_range() -> None:
    sim = Simulation("qemu-8g", "fixed")
    sim.run()
    m = sim.metrics()
    assert m.struct_page_size == 64
    assert m.fits_4level and m.fits_5level
    assert m.virtual_reserved_bytes == 2 * 9 * (1 << 30)  # max_pfn is at 9 GiB
    pfn = sim.boot_state.vmalloc_pgtable_pages[0]
    page = sim.page(pfn)
    assert page.metadata_in == "fixed mapping"
    assert page.shadow_vaddr == 0xFFFFEC0000000000 + (pfn << 12)
    assert sim.page(page.kmsan_shadow).state is PageState.SHADOW  # type: ignore[arg-type]
    assert m.blind_spot_pages == 0
    assert sim.check() == []


def test_fixed_does_not_fit_4level_paging_past_8_tib() -> None:
    sim = Simulation("monster-16t", "fixed")
    sim.run_to("kmsan_init_shadow")
    m = sim.metrics()
    assert m.fits_4level is False and m.fits_5level is True


@pytest.mark.parametrize("sanitizer", ["none", "kasan"])
def test_without_kmsan_there_is_no_metadata_and_struct_page_is_64_bytes(sanitizer: str) -> None:
    sim = Simulation("qemu-8g", "eager", sanitizer=sanitizer)
    sim.run()
    m = sim.metrics()
    assert m.struct_page_size == 64 and m.metadata_pages == 0
    assert "kmsan_init_shadow" in sim.steps
    assert sim.page(sim.boot_state.vmalloc_pgtable_pages[0]).kmsan_shadow is None


def test_kasan_takes_an_eighth_of_ram_for_shadow() -> None:
    plain = Simulation("qemu-8g", sanitizer="none")
    kasan = Simulation("qemu-8g", sanitizer="kasan")
    plain.run()
    kasan.run()
    assert "kasan_init" in kasan.steps and "kasan_init" not in plain.steps
    extra = plain.metrics().free_pages - kasan.metrics().free_pages
    assert abs(extra - plain.present_pages / 8) / (plain.present_pages / 8) < 0.05


@pytest.mark.parametrize("strategy", ["eager", "lazy", "fixed"])
def test_every_layout_boots_consistently(strategy: str) -> None:
    for layout in ("tiny-64m", "qemu-2g", "laptop-16g", "numa-2x32g"):
        sim = Simulation(layout, strategy)
        sim.run()
        assert sim.check() == [], layout
        assert sim.metrics().free_pages > 0
