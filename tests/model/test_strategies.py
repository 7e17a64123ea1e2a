"""What every strategy promises: its reference cited, a consistent boot on every
layout, and KMSAN's own pages never freed as data; and the no-KMSAN builds."""

from __future__ import annotations

import pytest

from kmsan_tui.model import Simulation
from kmsan_tui.model.layout import parse_layout
from kmsan_tui.model.layout_types import KernelConfig
from kmsan_tui.model.metadata import FixedBacking, MetaBacking
from kmsan_tui.model.strategies import eager, fixed, lazy
from kmsan_tui.model.strategies.registry import REGISTRY, STRATEGIES

BASE = '[machine]\ne820 = [{ start = 0x100000, size = "512M" }]\n'


@pytest.mark.parametrize(("module", "cited"), [
    (eager, ("mm/kmsan/init.c", "kmsan_memblock_free_pages()", "kmsan_memblock_discard()")),
    (lazy, ("google/kmsan", "kmsan_alloc_page()", "kmsan_internal_alloc_meta_for_pages()")),
    (fixed, ("freebsd/freebsd-src", "pmap_san_enter()", "NetBSD/src sys/kern/subr_msan.c")),
])
def test_each_strategy_module_cites_the_implementation_it_follows(
        module: object, cited: tuple[str, ...]) -> None:
    doc = module.__doc__ or ""
    for reference in cited:
        assert reference in doc


def test_the_registry_offers_the_three_designs_in_order() -> None:
    assert STRATEGIES == ("eager", "lazy", "fixed")
    assert "google/kmsan" in REGISTRY["lazy"].summary
    assert "FreeBSD" in REGISTRY["fixed"].summary


def test_every_strategy_option_is_a_kernel_config_field_and_a_layout_key() -> None:
    """The layout loader, the CLI (--lazy-activation, --fixed-backing) and
    Layout.with_kernel() all go through the field."""
    fields = KernelConfig.__dataclass_fields__
    for info in REGISTRY.values():
        for opt in info.options:
            assert opt.key in fields and fields[opt.key].default == opt.default
            for value in opt.choices:
                text = f'[kernel]\nstrategy = "{info.name}"\n{opt.key} = "{value}"\n'
                layout = parse_layout(BASE + text, "t", "t")
                assert getattr(layout.kernel, opt.key) == value


@pytest.mark.parametrize("sanitizer", ["none", "kasan"])
def test_without_kmsan_there_is_no_metadata_and_struct_page_is_64_bytes(sanitizer: str) -> None:
    sim = Simulation("qemu-8g", "eager", sanitizer=sanitizer)
    sim.run()
    m = sim.metrics()
    assert m.struct_page_size == 64 and m.metadata_pages == 0 and m.strategy == "none"
    assert "kmsan_init_shadow" in sim.steps
    assert sim.page(sim.boot_state.vmalloc_pgtable_pages[0]).kmsan_shadow is None
    assert sum(m.classes().values()) == m.present_pages


def test_kasan_takes_an_eighth_of_ram_for_shadow() -> None:
    plain = Simulation("qemu-8g", sanitizer="none")
    kasan = Simulation("qemu-8g", sanitizer="kasan")
    plain.run()
    kasan.run()
    assert "kasan_init" in kasan.steps and "kasan_init" not in plain.steps
    extra = plain.metrics().free_pages - kasan.metrics().free_pages
    assert abs(extra - plain.present_pages / 8) / (plain.present_pages / 8) < 0.05


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_every_layout_boots_consistently(strategy: str) -> None:
    for layout in ("tiny-64m", "qemu-2g", "laptop-16g", "numa-2x32g"):
        sim = Simulation(layout, strategy)
        sim.run()
        assert sim.check() == [], layout
        m = sim.metrics()
        assert m.free_pages > 0
        assert sum(m.classes().values()) == m.present_pages


def _kmsan_block_in_buddy(sim: Simulation) -> int:
    """The head of the first KMSAN page the buddy allocator handed out."""
    for start, _end, value in sim.kmsan:
        if isinstance(value, MetaBacking | FixedBacking):
            zone = sim.zone_of(start)
            block = zone.allocated_block(start) if zone else None
            if block is not None:
                return block[0]
    raise AssertionError("no KMSAN block in the buddy allocator")


@pytest.mark.parametrize("strategy", ["lazy", "fixed"])
def test_freeing_a_metadata_block_is_refused_like_bad_page_and_changes_nothing(
        strategy: str) -> None:
    sim = Simulation("tiny-64m", strategy)
    sim.run()
    pfn = _kmsan_block_in_buddy(sim)
    before, bad = sim.memory_digest(), sim.counters.bad_pages
    assert sim.free_pages(pfn) is False
    assert sim.memory_digest() == before
    assert sim.counters.bad_pages == bad + 1
    assert "BUG: Bad page state" in sim.events[-1].text and "KMSAN" in sim.events[-1].text
    assert sim.check() == []


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_freeing_what_is_not_a_live_allocation_is_reported_and_changes_nothing(
        strategy: str) -> None:
    sim = Simulation("qemu-2g", strategy)
    sim.run()
    zone = sim.zones[-1]
    image = sim.config.image_base >> 12  # PG_reserved: the kernel image
    free = next(p for p in range(zone.start_pfn, zone.end_pfn, 512)
                if zone.find_free_block(p) is not None) + 1
    tail = next(p + 1 for z in sim.zones for p, o, _mt in z.allocated_blocks() if o > 0)
    for pfn in (image, free, tail):
        before, bad = sim.memory_digest(), sim.counters.bad_pages
        assert sim.free_pages(pfn) is False, hex(pfn)
        assert sim.memory_digest() == before
        assert sim.counters.bad_pages == bad + 1
    assert sim.check() == []
