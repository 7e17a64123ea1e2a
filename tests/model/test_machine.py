"""Strategies and the allocator on a hand-built Machine: no Simulation, no boot."""

from __future__ import annotations

from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.invariants import check_machine
from kmsan_tui.model.layout import load_layout
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import MetaLink, MetaPattern, MetaRole
from kmsan_tui.model.strategies.eager import EagerStrategy
from kmsan_tui.model.strategies.lazy import LazyStrategy

MiB = 1 << 20


def tiny_machine(hooks: EagerStrategy | LazyStrategy) -> Machine:
    """32 MiB of RAM from 1 MiB, one node, zones built; nothing handed over yet."""
    m = Machine(load_layout("tiny-64m"), hooks=hooks, struct_page_size=hooks.struct_page_size)
    m.memblock.add(MiB, 32 * MiB)
    m.build_zones()
    return m


def test_eager_holds_back_two_chunks_of_an_order_as_metadata_for_the_third() -> None:
    kmsan = EagerStrategy("mainline")
    m = tiny_machine(kmsan)
    # mm/kmsan/init.c: kmsan_memblock_free_pages(): shadow, origin, then data.
    kmsan.memblock_free_pages(m, 0x1000, 3, 3)
    assert m.zone_of(0x1000).nr_free_pages == 8  # type: ignore[union-attr]
    # A whole triple is one MetaPattern extent: S, O, D.
    ext = m.kmsan.get(0x1010)
    assert ext is not None and isinstance(ext[2], MetaPattern)
    assert ext[2].role_of(0x1010) == (None, 0x1000, 0x1008, 0x1010)
    assert ext[2].role_of(0x1000)[0] is MetaRole.SHADOW
    assert ext[2].role_of(0x1008)[0] is MetaRole.ORIGIN
    assert check_machine(m, kmsan) == []


def test_lazy_gives_each_allocation_same_order_shadow_and_origin_and_frees_them_with_it() -> None:
    kmsan = LazyStrategy()
    m = tiny_machine(kmsan)
    kmsan.memblock_free_pages(m, 0x1000, 10, 4)  # 16 MiB of DMA32 to the buddy allocator
    zone = m.zone_of(0x1000)
    assert zone is not None and zone.name == "DMA32"
    free_before = zone.nr_free_pages
    kmsan.at_step(m, "mem_init")  # activation: nothing allocated yet to back-fill
    kmsan.ready = True  # kmsan_ready: before it, kmsan_free_page() leaks the metadata
    pfn = m.alloc_pages(2, MigrateType.UNMOVABLE, "test", quiet=True)
    assert pfn is not None
    link = m.kmsan.get(pfn)
    assert link is not None and isinstance(link[2], MetaLink)
    shadow, origin = link[2].resolve(pfn)
    for block in (shadow, origin):
        assert zone.allocated_block(block) == (block, 2, MigrateType.UNMOVABLE)
    assert zone.nr_free_pages == free_before - 3 * 4
    assert check_machine(m, kmsan) == []
    assert m.free_pages(pfn, quiet=True)
    assert zone.nr_free_pages == free_before
    assert m.kmsan.get(pfn) is None and m.kmsan.get(shadow) is None
    assert check_machine(m, kmsan) == []
