"""What a state costs: the numbers users compare strategies by.

Formulas follow the kernel where it has one: mem_init_print_info() for the Memory:
line (mm/mm_init.c), fill_contig_page_info() and the extfrag indices (mm/vmstat.c).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from kmsan_tui.model.constants import NR_PAGE_ORDERS, PAGES_PER_SECTION
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.memline import memory_line
from kmsan_tui.model.metadata import Blind, FixedBacking, MetaBacking, MetaPattern
from kmsan_tui.model.strategies.base import MetadataStrategy
from kmsan_tui.model.vmstat import fragmentation_index, unusable_free_index


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


def _metadata_pages(m: Machine) -> tuple[int, int, int]:
    """(metadata pages in use, held-back pages not yet paired, blind-spot pages)."""
    meta = held = blind = 0
    for start, end, value in m.kmsan:
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


def compute_metrics(m: Machine, kmsan: MetadataStrategy, step: str) -> Metrics:
    """The metrics of machine ``m`` under strategy ``kmsan`` after init call ``step``."""
    free = sum(z.nr_free_pages for z in m.zones)
    managed = sum(z.managed_pages for z in m.zones)
    # Every managed page is on a free list or in an allocated block (check() says so).
    allocated = managed - free
    meta, held, blind = _metadata_pages(m)
    lazy_meta = kmsan.buddy_metadata_pages() if m.kmsan_active else 0
    present = m.present_pages
    page_ext = 0
    if m.kmsan_active and kmsan.page_ext_bytes_per_page(m):
        # mm/page_ext.c: page_ext_init(): one table per present section.
        page_ext = kmsan.page_ext_bytes_per_page(m) * PAGES_PER_SECTION * m.present_sections()
    layout = kmsan.virtual_layout(m) if m.kmsan_active else None
    buddy = [0] * NR_PAGE_ORDERS
    for zone in m.zones:
        for order, count in enumerate(zone.buddyinfo()):
            buddy[order] += count
    return Metrics(
        step=step,
        strategy=kmsan.name if m.kmsan_active else "none",
        sanitizer=m.config.sanitizer,
        kernel=m.config.version,
        present_pages=present,
        totalram_pages=m.counters.totalram_pages,
        managed_pages=managed,
        free_pages=free,
        allocated_pages=allocated,
        # Every page starts PG_reserved; __free_pages_core() clears it when it hands a
        # page to the buddy allocator (held-back KMSAN blocks keep it).
        reserved_pages=present - managed,
        metadata_pages=meta,
        held_back_pages=held,
        usable_pages=managed - lazy_meta,
        struct_page_size=m.struct_page_size,
        memmap_bytes=present * m.struct_page_size,
        page_ext_bytes=page_ext,
        blind_spot_pages=blind,
        backfill_walked_pages=m.counters.backfill_walked,
        backfill_blocks=m.counters.backfill_blocks,
        vmap_repairs=m.counters.vmap_repaired,
        failed_metadata_allocs=m.counters.meta_alloc_failures,
        no_metadata_allocs=m.counters.no_metadata_allocs,
        virtual_reserved_bytes=2 * layout.size_each if layout else 0,
        fits_4level=layout.fits_4level if layout else None,
        fits_5level=layout.fits_5level if layout else None,
        pagetable_pages=m.counters.pagetable_pages,
        bad_pages=m.counters.bad_pages,
        buddyinfo=tuple(buddy),
        unusable_free_index=tuple(unusable_free_index(buddy, o) for o in range(NR_PAGE_ORDERS)),
        fragmentation_index=tuple(fragmentation_index(buddy, o) for o in range(NR_PAGE_ORDERS)),
        memory_line=memory_line(m),
    )
