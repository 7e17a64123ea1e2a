"""The simulation as a whole: stepping, page views, determinism, invariants."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsan_tui.model import PageFlags, PageState, Simulation, UserError
from kmsan_tui.model.constants import PAGES_PER_SECTION, MigrateType
from kmsan_tui.model.pagestate import CODE_OF
from tests.model.reference_pages import page_codes

MAINLINE_MM = ["pci_iommu_alloc", "hugetlb_bootmem_alloc", "build_all_zonelists",
               "page_alloc_init_cpuhp", "alloc_tag_sec_init", "page_ext_init_flatmem",
               "mem_debugging_and_hardening_init", "kfence_alloc_pool_and_metadata",
               "report_meminit", "kmsan_init_shadow", "stack_depot_early_init",
               "kho_memory_init", "memblock_free_all", "mem_init", "kmem_cache_init"]


def test_steps_follow_the_kernel_order() -> None:
    mainline = Simulation("qemu-8g").steps
    v61 = Simulation("qemu-8g", kernel="v6.1").steps
    assert mainline[0] == "early_reserve_memory"
    i = mainline.index("pci_iommu_alloc")
    assert mainline[i:i + len(MAINLINE_MM)] == MAINLINE_MM
    # v6.1: swiotlb inside mem_init(), after kmsan_init_shadow; Memory: printed right after.
    assert v61.index("kmsan_init_shadow") < v61.index("pci_iommu_alloc") < v61.index(
        "memblock_free_all") < v61.index("mem_init") < v61.index("mem_init_print_info")
    # v6.1: page_ext_init() from kernel_init_freeable(), after KMSAN started.
    assert v61.index("vmalloc_init") < v61.index("kmsan_init_runtime") < v61.index(
        "page_alloc_init_late") < v61.index("page_ext_init")
    # mainline: the Memory: line comes after SMP bring-up.
    assert mainline.index("smp_init") < mainline.index("mem_init_print_info")


def test_every_step_has_a_source_reference_and_an_explanation() -> None:
    for info in Simulation("qemu-8g").step_info:
        assert ":" in info.source and info.source.split(":")[0].endswith((".c", ".h", "arch"))
        assert len(info.explanation) > 30


def test_run_to_runs_up_to_and_including_the_step() -> None:
    sim = Simulation("tiny-64m")
    sim.run_to("mem_init")
    assert sim.steps[sim.current - 1] == "mem_init"
    with pytest.raises(UserError, match="unknown step"):
        sim.run_to("start_kernel")


def test_stepping_past_the_end_is_a_user_error() -> None:
    sim = Simulation("tiny-64m")
    sim.run()
    with pytest.raises(UserError):
        sim.step()


def test_page_answers_for_any_pfn_including_holes() -> None:
    sim = Simulation("qemu-8g")
    sim.run()
    hole = sim.page(0xC0000)  # the PCI hole at 3 GiB
    assert hole.state is PageState.HOLE
    image = sim.page(0x1000)  # the kernel image at 16 MiB
    assert image.state is PageState.RESERVED and image.flags & PageFlags.PG_reserved
    assert image.owner == "kernel image" and image.kmsan_shadow is not None
    beyond = sim.page(1 << 40)
    assert beyond.state is PageState.HOLE


def test_page_before_the_hand_over_is_memblock_free() -> None:
    sim = Simulation("qemu-8g")
    sim.run_to("free_area_init")
    assert sim.page(0x50000).state is PageState.MEMBLOCK_FREE
    sim.run_to("memblock_free_all")
    assert sim.page(0x50000).state in (PageState.FREE, PageState.SHADOW, PageState.ORIGIN)


def test_same_inputs_same_digest_and_events() -> None:
    runs = []
    for _ in range(2):
        sim = Simulation("tiny-64m", "lazy", seed=11)
        sim.run()
        sim.run_workload("fragmenter", 2000)
        runs.append((sim.digest(), [e.text for e in sim.events]))
    assert runs[0] == runs[1]
    other = Simulation("tiny-64m", "lazy", seed=12)
    other.run()
    other.run_workload("fragmenter", 2000)
    assert other.digest() != runs[0][0]


def test_deepcopy_is_an_independent_checkpoint() -> None:
    sim = Simulation("tiny-64m")
    sim.run_to("memblock_free_all")
    saved = copy.deepcopy(sim)
    digest = saved.digest()
    sim.run()
    assert saved.digest() == digest != sim.digest()


@pytest.mark.parametrize("strategy", ["eager", "lazy", "fixed"])
@pytest.mark.parametrize("step", ["free_area_init", "memblock_free_all", "kmsan_init_runtime"])
def test_map_codes_agree_with_page_views(strategy: str, step: str) -> None:
    sim = Simulation("tiny-64m", strategy)
    sim.run_to(step)
    codes = page_codes(sim, 0, 0x4000)
    for pfn in range(0, 0x4000, 7):
        view = sim.page(pfn)
        want = CODE_OF[view.state]
        if view.blind and view.state is not PageState.FREE:
            continue
        assert codes[pfn] == want, (hex(pfn), view)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(strategy=st.sampled_from(["eager", "lazy", "fixed"]),
       ops=st.lists(st.tuples(st.sampled_from(["alloc", "free", "step", "badfree"]),
                              st.integers(0, 10), st.sampled_from(list(MigrateType)[:3]),
                              st.floats(0, 1)), max_size=40))
def test_invariants_hold_after_every_command(
        strategy: str, ops: list[tuple[str, int, MigrateType, float]]) -> None:
    sim = Simulation("tiny-64m", strategy)
    sim.run_to("memblock_free_all")
    assert sim.check() == []
    present = sim.present_pages
    for kind, order, mt, pick in ops:
        if kind == "alloc":
            sim.alloc_pages(order, mt, "property test", track=True, quiet=True)
        elif kind == "free" and len(sim.live):
            sim.free_pages(sim.live.pfns[int(pick * len(sim.live)) % len(sim.live)])
        elif kind == "badfree":
            pfn = int(pick * 0x3000) | 1
            zone = sim.zone_of(pfn)
            block = zone.allocated_block(pfn) if zone else None
            if block is None or block[0] != pfn:  # not a block it may legitimately free
                before = sim.memory_digest()
                assert sim.free_pages(pfn) is False
                assert sim.counters.bad_pages >= 1
                assert sim.memory_digest() == before
        elif kind == "step" and not sim.done:
            sim.step()
        assert sim.check() == [], (kind, order, mt)
        assert sim.present_pages == present


def test_double_free_is_reported_like_bad_page_and_changes_nothing() -> None:
    sim = Simulation("tiny-64m", "eager")
    sim.run()
    pfn = sim.alloc_pages(0, MigrateType.MOVABLE, "test", track=True)
    assert pfn is not None
    assert sim.free_pages(pfn)
    free_before = sum(z.nr_free_pages for z in sim.zones)
    assert sim.free_pages(pfn) is False
    assert "Bad page state" in sim.events[-1].text
    assert sum(z.nr_free_pages for z in sim.zones) == free_before
    assert sim.check() == []


def test_memory_digest_ignores_steps_that_only_print() -> None:
    sim = Simulation("tiny-64m")
    sim.run_to("mem_debugging_and_hardening_init")
    before, full = sim.memory_digest(), sim.digest()
    sim.step()  # kfence_alloc_pool: disabled, prints one line
    assert sim.memory_digest() == before and sim.digest() != full


@pytest.mark.parametrize("layout", ["qemu-4g", "numa-2x32g", "server-1t"])
def test_present_sections_count_each_touched_section_once(layout: str) -> None:
    """mm/sparse.c: memblocks_present(): a section counts once, however many regions
    touch it (checked against a section-by-section count)."""
    sim = Simulation(layout)
    sim.run_to("sparse_init")
    every = set()
    for nid in {node.nid for node in sim.layout.nodes}:
        mine = set()
        for r in sim.memblock.memory.regions:
            if sim.machine.region_nid(r.base, r.nid) == nid:
                first, last = -(-r.base // 4096), r.end // 4096
                if last > first:
                    mine.update(range(first // PAGES_PER_SECTION,
                                      (last - 1) // PAGES_PER_SECTION + 1))
        assert sim.machine.present_sections(nid) == len(mine)
        every |= mine
    assert sim.machine.present_sections() == len(every)
