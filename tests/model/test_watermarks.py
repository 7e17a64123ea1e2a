"""Watermarks, lowmem_reserve and the zonelist walk (mm/page_alloc.c), and the
workloads' reclaim that they drive (mm/vmscan.c)."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsan_tui.model import Simulation
from kmsan_tui.model.boot.watermarks import setup_per_zone_lowmem_reserve, setup_per_zone_wmarks
from kmsan_tui.model.buddy import Zone
from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.layout import load_layout
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.workloads import kswapd
from tests.conftest import shared_file

MiB = 1 << 20


def zoneinfo(path: str) -> dict[str, dict[str, object]]:
    """min/low/high and protection per zone of a /proc/zoneinfo sample."""
    out: dict[str, dict[str, object]] = {}
    zone = ""
    for line in shared_file(path).read_text().splitlines():
        head = re.match(r"Node \d+, zone\s+(\w+)", line)
        if head:
            zone = head[1]
            out[zone] = {}
        fields = line.split()
        if len(fields) == 2 and fields[0] in ("min", "low", "high", "managed"):
            out[zone][fields[0]] = int(fields[1])
        if line.strip().startswith("protection:"):
            out[zone]["protection"] = tuple(int(x) for x in re.findall(r"\d+", line))
    return out


@pytest.mark.parametrize(("layout", "path"), [
    ("qemu-4g", "procfs/qemu-4g-linux-6.1-kmsan.zoneinfo.txt"),
    ("qemu-q35-ovmf-4g", "bootlogs/qemu-q35-ovmf-4g-linux-6.1-kmsan.zoneinfo.txt"),
])
def test_watermarks_and_protection_are_the_real_kernels(layout: str, path: str) -> None:
    real = zoneinfo(path)
    sim = Simulation(layout, "eager", kernel="v6.1")
    sim.run()
    for zone in sim.zones:
        want = real[zone.name]
        assert zone.watermark == (want["min"], want["low"], want["high"]), zone.name
        assert zone.lowmem_reserve == want["protection"], zone.name


def test_watermarks_are_zero_until_init_per_zone_wmark_min() -> None:
    sim = Simulation("qemu-2g", "eager")
    sim.run_to("page_alloc_init_late")
    assert all(z.watermark == (0, 0, 0) for z in sim.zones)
    sim.run_to("init_per_zone_wmark_min")
    assert all(z.watermark[0] < z.watermark[1] < z.watermark[2] for z in sim.zones
               if z.managed_pages > 1000)


def machine_with_two_zones() -> Machine:
    """8 MiB of DMA and 8 MiB of DMA32 handed over, nothing allocated, no KMSAN."""
    m = Machine(load_layout("tiny-64m"))
    m.memblock.add(8 * MiB, 16 * MiB)
    m.build_zones()
    for zone in m.zones:
        m.free_pages_core(zone.start_pfn, 9, (zone.end_pfn - zone.start_pfn) >> 9)
    return m


def test_an_allocation_skips_a_zone_below_its_low_watermark() -> None:
    m = machine_with_two_zones()
    dma, dma32 = m.zones
    dma32.watermark = (100, dma32.nr_free_pages, dma32.nr_free_pages + 10)
    pfn = m.alloc_pages_raw(0, MigrateType.UNMOVABLE)
    # DMA32 would fall below low: the zonelist walk moves on to ZONE_DMA.
    assert pfn is not None and m.zone_of(pfn) is dma


def test_the_slowpath_allocates_down_to_the_min_watermark_then_fails() -> None:
    m = machine_with_two_zones()
    for zone in m.zones:
        free = zone.nr_free_pages
        zone.watermark = (free - 2, free + 5, free + 10)
    got = [m.alloc_pages_raw(0, MigrateType.UNMOVABLE) for _ in range(3)]
    assert None not in got[:2] and all(m.zone_of(p) is m.zones[1] for p in got[:1])
    while m.alloc_pages_raw(0, MigrateType.UNMOVABLE) is not None:
        pass
    for zone in m.zones:
        assert zone.nr_free_pages - 1 <= zone.watermark[0]


def test_lowmem_reserve_keeps_a_lower_zone_for_lower_allocations() -> None:
    m = machine_with_two_zones()
    dma = m.zones[0]
    dma.lowmem_reserve = (0, 0, dma.nr_free_pages, dma.nr_free_pages)
    # A GFP_KERNEL request (highest zone NORMAL) may not touch DMA's reserve.
    assert not dma.watermark_ok(0, 0, 2)
    assert dma.watermark_ok(0, 0, 0)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 10), st.integers(0, 3000), st.integers(0, 3000))
def test_watermark_ok_is_free_above_mark_plus_reserve_and_a_big_enough_block(
        order: int, mark: int, reserve: int) -> None:
    zone = Zone(0, "DMA32", 0x1000, 0x2000)
    zone.free_pages_core(0x1000, 10, 4)
    zone.lowmem_reserve = (0, 0, reserve, reserve)
    free = zone.nr_free_pages
    want = free - ((1 << order) - 1) > mark + reserve
    assert zone.watermark_ok(order, mark, 2) is want


def test_setup_per_zone_wmarks_shares_min_free_kbytes_by_managed_pages() -> None:
    m = machine_with_two_zones()
    setup_per_zone_wmarks(m, 1024)  # 256 pages over two zones of 2048 pages
    for zone in m.zones:
        wmin, low, high = zone.watermark
        assert wmin == 256 * zone.managed_pages // sum(z.managed_pages for z in m.zones)
        assert low - wmin == high - low == max(wmin >> 2, zone.managed_pages * 10 // 10000)


def test_lowmem_reserve_is_cleared_for_a_zone_that_manages_nothing() -> None:
    m = Machine(load_layout("tiny-64m"))
    m.memblock.add(8 * MiB, 16 * MiB)
    m.build_zones()
    m.free_pages_core(m.zones[1].start_pfn, 9, 4)  # only DMA32 gets pages
    setup_per_zone_lowmem_reserve(m)
    assert m.zones[0].lowmem_reserve == (0, 0, 0, 0)
    assert m.zones[1].lowmem_reserve == (0, 0, 0, 0)  # nothing above DMA32 here


def test_fallback_order_puts_the_local_node_first_then_round_robin() -> None:
    sim = Simulation("server-1t")
    sim.run_to("free_area_init")
    assert sim.machine.fallback_order() == {0: [0, 1, 2, 3], 1: [1, 2, 3, 0],
                                            2: [2, 3, 0, 1], 3: [3, 0, 1, 2]}
    two = Simulation("numa-2x32g")
    two.run_to("build_all_zonelists")
    lines = [e.text for e in two.events if e.text.startswith("Fallback order")]
    assert lines == ["Fallback order for Node 0: 0 1 ", "Fallback order for Node 1: 1 0 "]


def test_kswapd_reclaims_until_the_zone_is_above_its_high_watermark() -> None:
    sim = Simulation("tiny-64m", "eager")
    sim.run()
    m = sim.machine
    zone = m.zones[-1]
    while zone.nr_free_pages >= zone.watermark[1]:
        if m.alloc_pages(0, MigrateType.MOVABLE, "test", track=True, quiet=True) is None:
            break
    assert zone.nr_free_pages < zone.watermark[1]
    kswapd(m, zone, m.rng)
    assert zone.nr_free_pages >= zone.watermark[2]
    assert m.counters.reclaimed_allocations > 0
    assert sim.check() == []


def test_a_workload_under_pressure_reclaims_and_keeps_zones_above_min() -> None:
    sim = Simulation("tiny-64m", "eager")
    sim.run()
    sim.run_workload("slab", 6000)
    m = sim.machine
    assert m.counters.reclaimed_allocations > 0
    assert "allocations reclaimed" in sim.events[-1].text
    for zone in m.zones:
        assert zone.nr_free_pages >= zone.watermark[0] - (1 << 3)
        assert zone.nr_free_pages <= zone.managed_pages
    assert sim.check() == []


def test_before_the_watermarks_kswapd_never_wakes() -> None:
    """With zero watermarks no zone is ever "below low": only an allocation that finds
    every zone empty reclaims (directly)."""
    sim = Simulation("tiny-64m", "eager")
    sim.run_to("mm_cache_init")
    m = sim.machine
    free = sum(z.nr_free_pages for z in m.zones)
    while sum(z.nr_free_pages for z in m.zones) > free // 8:
        assert m.alloc_pages(0, MigrateType.MOVABLE, "t", track=True, quiet=True) is not None
    sim.run_workload("pagecache", 200)
    assert m.counters.workload_failures == 0
    assert m.counters.reclaimed_allocations == 0
