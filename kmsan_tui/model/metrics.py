"""What a state costs: the numbers users compare strategies by.

Formulas follow the kernel where it has one: mem_init_print_info() for the Memory:
line (mm/mm_init.c), fill_contig_page_info() and the extfrag indices (mm/vmstat.c).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from kmsan_tui.model.boot.setup_arch import present_sections
from kmsan_tui.model.constants import NR_PAGE_ORDERS, PAGES_PER_SECTION
from kmsan_tui.model.metadata import Blind, FixedBacking, MetaBacking, MetaPattern
from kmsan_tui.model.vmstat import fragmentation_index, unusable_free_index

if TYPE_CHECKING:
    from kmsan_tui.model.simulation import Simulation


@dataclass(frozen=True, slots=True)
class Metrics:
    """The cost of the current state. Counts are pages unless the name says bytes."""

    step: str
    strategy: str
    sanitizer: str
    kernel: str
    present_pages: int
    totalram_pages: int
    managed_pages: int
    free_pages: int
    allocated_pages: int
    reserved_pages: int
    metadata_pages: int
    held_back_pages: int
    usable_pages: int
    struct_page_size: int
    memmap_bytes: int
    page_ext_bytes: int
    blind_spot_pages: int
    backfill_walked_pages: int
    backfill_blocks: int
    vmap_repairs: int
    failed_metadata_allocs: int
    no_metadata_allocs: int
    virtual_reserved_bytes: int
    fits_4level: bool | None
    fits_5level: bool | None
    pagetable_pages: int
    bad_pages: int
    buddyinfo: tuple[int, ...]
    unusable_free_index: tuple[int, ...]  # thousandths, per order, whole machine
    fragmentation_index: tuple[int, ...]  # thousandths, per order, whole machine
    memory_line: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _metadata_pages(sim: Simulation) -> tuple[int, int, int]:
    """(metadata pages in use, held-back pages not yet paired, blind-spot pages)."""
    meta = held = blind = 0
    for start, end, value in sim.kmsan:
        n = end - start
        if isinstance(value, MetaPattern):
            meta += _pattern_meta(value, start, end)
        elif isinstance(value, MetaBacking):
            if value.data_delta is None:
                held += n
            else:
                meta += n
        elif isinstance(value, FixedBacking):
            meta += n
        elif isinstance(value, Blind):
            blind += n
    return meta, held, blind


def _pattern_meta(value: MetaPattern, start: int, end: int) -> int:
    """Shadow and origin pages of a (possibly clipped) S, O, D pattern extent."""
    size = 1 << value.order
    first = (start - value.base) // size
    last = -(-(end - value.base) // size)  # exclusive block index
    data_blocks = last // 3 - first // 3  # indices k with k % 3 == 2 in [first, last)
    return (last - first - data_blocks) * size


def memory_line(sim: Simulation) -> str:
    """mm/mm_init.c: mem_init_print_info()."""
    image = sim.image
    physpages = sim.present_pages
    free = sum(z.nr_free_pages for z in sim.zones)
    reserved = physpages - sim.counters.totalram_pages

    def k(pages: int) -> int:
        return pages << 2

    return (f"Memory: {k(free)}K/{k(physpages)}K available ({image.code >> 10}K kernel code, "
            f"{image.rwdata >> 10}K rwdata, {image.rodata >> 10}K rodata, {image.init >> 10}K init, "
            f"{image.bss >> 10}K bss, {k(reserved)}K reserved, 0K cma-reserved)")


def compute_metrics(sim: Simulation) -> Metrics:
    free = sum(z.nr_free_pages for z in sim.zones)
    managed = sum(z.managed_pages for z in sim.zones)
    allocated = sum(1 << order for z in sim.zones for _p, order, _m in z.allocated_blocks())
    meta, held, blind = _metadata_pages(sim)
    lazy_meta = 0
    meta_blocks = getattr(sim.strategy, "meta_blocks", None)
    if meta_blocks:
        lazy_meta = sum(2 << order for _s, _o, order in meta_blocks.values())
    present = sim.present_pages
    page_ext = 0
    if sim.kmsan_active and sim.strategy.page_ext_bytes_per_page(sim):
        # mm/page_ext.c: page_ext_init(): one table per present section.
        page_ext = (sim.strategy.page_ext_bytes_per_page(sim) * PAGES_PER_SECTION
                    * present_sections(sim))
    layout = sim.strategy.virtual_layout(sim) if sim.kmsan_active else None
    buddy = [0] * NR_PAGE_ORDERS
    for zone in sim.zones:
        for order, count in enumerate(zone.buddyinfo()):
            buddy[order] += count
    step = sim.steps[sim.current - 1] if sim.current else "(before boot)"
    return Metrics(
        step=step,
        strategy=sim.strategy.name if sim.kmsan_active else "none",
        sanitizer=sim.config.sanitizer,
        kernel=sim.config.version,
        present_pages=present,
        totalram_pages=sim.counters.totalram_pages,
        managed_pages=managed,
        free_pages=free,
        allocated_pages=allocated,
        # Every page starts PG_reserved; __free_pages_core() clears it when it hands a
        # page to the buddy allocator (held-back KMSAN blocks keep it).
        reserved_pages=present - managed,
        metadata_pages=meta,
        held_back_pages=held,
        usable_pages=managed - lazy_meta,
        struct_page_size=sim.struct_page_size,
        memmap_bytes=present * sim.struct_page_size,
        page_ext_bytes=page_ext,
        blind_spot_pages=blind,
        backfill_walked_pages=sim.counters.backfill_walked,
        backfill_blocks=sim.counters.backfill_blocks,
        vmap_repairs=sim.counters.vmap_repaired,
        failed_metadata_allocs=sim.counters.meta_alloc_failures,
        no_metadata_allocs=sim.counters.no_metadata_allocs,
        virtual_reserved_bytes=2 * layout.size_each if layout else 0,
        fits_4level=layout.fits_4level if layout else None,
        fits_5level=layout.fits_5level if layout else None,
        pagetable_pages=sim.counters.pagetable_pages,
        bad_pages=sim.counters.bad_pages,
        buddyinfo=tuple(buddy),
        unusable_free_index=tuple(unusable_free_index(buddy, o) for o in range(NR_PAGE_ORDERS)),
        fragmentation_index=tuple(fragmentation_index(buddy, o) for o in range(NR_PAGE_ORDERS)),
        memory_line=memory_line(sim),
    )
