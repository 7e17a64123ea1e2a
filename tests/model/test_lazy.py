"""The lazy strategy against the design of google/kmsan (2017-2019).

mm/kmsan/kmsan_hooks.c: kmsan_alloc_page() -> kmsan_internal_alloc_meta_for_pages():
two more allocations of the same order on the same node; untracked pages when they
fail; kmsan_free_page() frees them with the data. mm/kmsan/kmsan_init.c: the kernel
image gets top-order buddy chunks after mm_init(), percpu gets memblock metadata.
"""

from __future__ import annotations

import pytest

from kmsan_tui.model import PageState, Simulation
from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.metadata import MetaLink
from kmsan_tui.model.strategies.lazy import LazyStrategy
from kmsan_tui.model.strategies.lazy_boot import IMAGE_OWNER, PERCPU_OWNER


def lazy(sim: Simulation) -> LazyStrategy:
    assert isinstance(sim.strategy, LazyStrategy)
    return sim.strategy


def test_each_allocation_takes_two_more_blocks_of_its_order_on_its_node() -> None:
    sim = Simulation("numa-2x32g", "lazy")
    sim.run()
    pfn = sim.alloc_pages(3, MigrateType.UNMOVABLE, "test", nid=1, track=True)
    assert pfn is not None
    page = sim.page(pfn)
    assert page.kmsan_shadow is not None and page.kmsan_origin is not None
    for meta in (page.kmsan_shadow, page.kmsan_origin):
        view = sim.page(meta)
        assert view.order == 3 and view.head_pfn == meta and view.meta_for == pfn
        assert view.nid == page.nid == 1
        # __GFP_NO_KMSAN_SHADOW: metadata pages have no metadata of their own.
        assert view.kmsan_shadow is None
    assert sim.check() == []


def test_the_metadata_goes_back_with_the_data() -> None:
    sim = Simulation("tiny-64m", "lazy")
    sim.run()
    free = sim.metrics().free_pages
    pfn = sim.alloc_pages(2, MigrateType.UNMOVABLE, "test", track=True)
    assert pfn is not None and sim.metrics().free_pages == free - 3 * 4
    shadow = sim.page(pfn).kmsan_shadow
    assert sim.free_pages(pfn)
    assert sim.metrics().free_pages == free
    assert sim.page(shadow).state is PageState.FREE  # type: ignore[arg-type]
    assert sim.check() == []


def test_a_failed_metadata_allocation_leaves_the_pages_untracked_and_boots_on() -> None:
    sim = Simulation("tiny-64m", "lazy", seed=3)
    sim.run()
    sim.run_workload("fragmenter", 6000)
    m = sim.metrics()
    assert m.failed_metadata_allocs > 0 and m.blind_spot_pages > 0
    blind = [e for e in sim.events if "without shadow/origin" in e.text]
    assert blind and not any("panic" in e.text for e in blind)
    assert sim.check() == []


def test_activated_at_mem_init_it_covers_the_first_allocation_and_needs_no_walk() -> None:
    sim = Simulation("qemu-8g", "lazy", lazy_activation="mem_init")
    sim.run_to("mem_init")
    m = sim.metrics()
    assert m.backfill_walked_pages == 0
    # preallocate_vmalloc_pages() is the first buddy user: covered as it allocates.
    assert sim.page(sim.boot_state.vmalloc_pgtable_pages[0]).kmsan_shadow is not None
    assert m.vmap_repairs is None  # no vmap area can exist before vmalloc_init()
    assert sim.check() == []


def test_activated_at_page_ext_init_it_walks_every_struct_page_and_back_fills() -> None:
    sim = Simulation("qemu-8g", "lazy", lazy_activation="page_ext_init")
    sim.run_to("page_ext_init")
    m = sim.metrics()
    assert m.backfill_walked_pages == sum(z.spanned_pages for z in sim.zones)
    # A public 8 GiB boot handed out ~123 pages before page_ext_init(): the model's
    # boot hands out the same order of magnitude.
    assert 50 <= lazy(sim).early_pages <= 250
    assert m.backfill_pages >= lazy(sim).early_pages
    assert m.vmap_repairs is not None  # vmalloc_init() ran: areas could exist
    assert sim.page(sim.boot_state.vmalloc_pgtable_pages[0]).kmsan_shadow is not None
    assert sim.check() == []


def test_page_ext_pointers_keep_struct_page_at_64_bytes_and_start_at_page_ext_init() -> None:
    sim = Simulation("qemu-8g", "lazy", lazy_storage="page_ext")
    sim.run()
    m = sim.metrics()
    assert m.struct_page_size == 64 and m.page_ext_bytes > 0
    assert lazy(sim).activation == "page_ext_init"


def test_the_kernel_image_gets_order_10_chunks_from_the_buddy_allocator_after_mm_init() -> None:
    sim = Simulation("qemu-8g", "lazy")
    image = sim.config.image_base >> 12
    sim.run_to("vmalloc_init")
    assert sim.page(image).kmsan_shadow is None
    sim.run_to("kmsan_init_runtime")
    page = sim.page(image)
    assert page.kmsan_shadow is not None
    shadow = sim.page(page.kmsan_shadow)
    assert shadow.state is PageState.SHADOW and shadow.order == 10
    link = sim.kmsan.get(image)
    assert link is not None and isinstance(link[2], MetaLink) and link[2].owner == IMAGE_OWNER
    assert sim.check() == []


def test_percpu_metadata_comes_from_memblock() -> None:
    sim = Simulation("qemu-8g", "lazy")
    sim.run_to("kmsan_init_shadow")
    unit = next(s for s, _e, owner in sim.owners if owner == "percpu first chunk")
    page = sim.page(unit)
    assert page.kmsan_shadow is not None
    link = sim.kmsan.get(unit)
    assert link is not None and link[2].owner == PERCPU_OWNER  # type: ignore[union-attr]
    assert sim.page(page.kmsan_shadow).state is PageState.SHADOW
    assert sim.metrics().buddy_metadata_pages == 0  # no buddy allocator yet


def test_nothing_is_held_back_at_memblock_free_all() -> None:
    sim = Simulation("qemu-8g", "lazy")
    sim.run_to("memblock_free_all")
    m = sim.metrics()
    assert m.held_back_pages == 0
    assert m.managed_pages == sim.counters.memblock_freed_pages


def test_a_free_before_kmsan_ready_leaks_the_metadata() -> None:
    # kmsan_free_page(): before kmsan_ready only the pointers are cleared.
    sim = Simulation("qemu-8g", "lazy")
    sim.run_to("mem_init")
    pfn = sim.alloc_pages(1, MigrateType.UNMOVABLE, "test", track=True)
    assert pfn is not None
    held = sim.metrics().held_back_pages
    assert sim.free_pages(pfn)
    assert sim.metrics().held_back_pages == held + 4
    assert sim.check() == []


@pytest.mark.parametrize("ready", [False, True])
def test_alloc_pages_exact_splits_the_metadata_like_the_data(ready: bool) -> None:
    sim = Simulation("tiny-64m", "lazy")
    sim.run_to("kmsan_init_runtime" if ready else "mem_init")
    pfn = sim.alloc_pages(3, MigrateType.UNMOVABLE, "test")
    assert pfn is not None
    shadow = sim.page(pfn).kmsan_shadow
    sim.machine.trim_exact(pfn, 3, 5)  # make_alloc_exact(): keep 5 of 8 pages
    assert sim.page(pfn + 4).kmsan_shadow == shadow + 4  # type: ignore[operator]
    assert sim.page(pfn + 5).kmsan_shadow is None
    tail = sim.page(shadow + 5)  # type: ignore[operator]
    assert tail.state is (PageState.FREE if ready else PageState.HELD_BACK)
    assert sim.check() == []
    assert sim.free_pages(pfn + 1)  # one kept page, freed on its own later
    assert sim.page(shadow + 1).state is (  # type: ignore[operator]
        PageState.FREE if ready else PageState.HELD_BACK)
    assert sim.check() == []


def test_vmap_areas_made_before_page_ext_init_are_counted_for_repair() -> None:
    # v6.1 runs page_ext_init() late, from kernel_init_freeable(): vmalloc has been in
    # use for a while (on two nodes vfs_caches_init() vmallocs its hash tables), and
    # every area mapped so far needs its shadow remapped.
    sim = Simulation("numa-2x32g", "lazy", lazy_activation="page_ext_init", kernel="v6.1")
    sim.run_to("page_ext_init")
    assert sim.counters.vmap_areas > 0
    assert sim.metrics().vmap_repairs == sim.counters.vmap_areas
    assert sim.check() == []
