"""What a state costs: every number users compare strategies by, defined once.

``METRICS`` is the one table of definitions: the field of ``Metrics`` (and its JSON
key), the label the text and the explorer print, the unit, and one line saying what
it counts. The CLI summary, ``--json`` (``Metrics.as_dict()``), the explorer's
Metrics tab and docs/metrics.md all come from it (a test keeps the document in step).

Every present page is in exactly one of five classes, which sum to ``present_pages``:
free, data, KMSAN metadata, held back, other reserved. The kernel's own counters
(totalram_pages, managed pages, the ``Memory:`` line) are shown beside them, because
they do not add up the same way: see their definitions.

Cost per call: O(zones + memblock regions). The KMSAN totals come from the strategy's
running ``MetaLedger``, never from a walk of the allocations or the metadata map
(``invariants.check_machine()`` recounts them). Formulas follow the kernel where it
has one: mem_init_print_info() for the Memory: line (mm/mm_init.c),
fill_contig_page_info() and the extfrag indices (mm/vmstat.c).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from kmsan_tui.model.constants import NR_PAGE_ORDERS, PAGES_PER_SECTION
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.memline import memory_line
from kmsan_tui.model.metadata import MetaLedger
from kmsan_tui.model.strategies.base import MetadataStrategy
from kmsan_tui.model.vmstat import fragmentation_index, unusable_free_index

# The groups a metric belongs to, in the order the reports print them.
GROUPS = {
    "state": "what was measured",
    "class": "page classes (they sum to present pages)",
    "kernel": "kernel counters",
    "kmsan": "KMSAN costs",
    "layout": "virtual layout (fixed strategy)",
    "frag": "fragmentation (debugfs extfrag/, whole machine)",
}


@dataclass(frozen=True, slots=True)
class MetricDef:
    """One metric: its ``Metrics`` field and JSON key, label, unit and meaning."""

    name: str
    label: str
    unit: str  # pages, bytes, count, flag, text, list: the JSON value's unit
    group: str  # a GROUPS key
    definition: str


def _m(name: str, label: str, unit: str, group: str, definition: str) -> MetricDef:
    return MetricDef(name, label, unit, group, definition)


METRICS: tuple[MetricDef, ...] = (
    _m("step", "step", "text", "state", "the last boot step that ran ((before boot) at first)"),
    _m("strategy", "strategy", "text", "state",
       "KMSAN metadata strategy (none without CONFIG_KMSAN)"),
    _m("mode", "settings", "text", "state", "the strategy's settings (activation, backing)"),
    _m("sanitizer", "sanitizer", "text", "state", "kmsan, kasan or none"),
    _m("kernel", "kernel", "text", "state", "the kernel profile booted"),
    # -------- the five classes
    _m("free_pages", "free", "pages", "class",
       "on a buddy free list (NR_FREE_PAGES, the sum of nr_free x 2^order)"),
    _m("data_pages", "allocated for data", "pages", "class",
       "handed out by the buddy allocator for anything but KMSAN (slabs, page tables, "
       "page_ext, workloads)"),
    _m("metadata_pages", "KMSAN metadata", "pages", "class",
       "shadow and origin pages backing data, and the page tables mapping them, "
       "wherever they came from (memblock, held-back chunks, the buddy allocator)"),
    _m("held_back_pages", "held back, backing nothing", "pages", "class",
       "KMSAN pages that back no data: eager's held_back[] before pairing and its "
       "order-0 leftovers, lazy metadata leaked by a free before kmsan_ready"),
    _m("other_reserved_pages", "other reserved", "pages", "class",
       "PG_reserved pages that are not KMSAN's: memblock allocations (kernel image, "
       "memmap, page tables, percpu, hash tables...), and before memblock_free_all() "
       "everything not yet handed over"),
    _m("usable_pages", "usable (not KMSAN's)", "pages", "class",
       "free + allocated for data: what the kernel has for itself; lazy and fixed "
       "on-demand take their metadata out of it as data is allocated"),
    # -------- kernel counters
    _m("present_pages", "present", "pages", "kernel",
       "whole pages of RAM memblock knows (physpages in the Memory: line)"),
    _m("managed_pages", "managed", "pages", "kernel",
       "pages the buddy allocator owns, free or allocated (sum of zone->managed_pages)"),
    _m("totalram_pages", "totalram_pages", "pages", "kernel",
       "what memblock_free_all() accounted; kmsan_memblock_discard() frees pages without "
       "adding to it, and kernels before Sept 2025 count eager's held-back chunks in it"),
    _m("pg_reserved_pages", "PG_reserved", "pages", "kernel",
       "present - managed: struct pages still PG_reserved (metadata outside the buddy "
       "allocator included)"),
    _m("memory_line_reserved_pages", "Memory-line reserved", "pages", "kernel",
       "present - totalram_pages: the Memory: line's 'reserved' (printed there in KiB, x4)"),
    _m("memory_line", "the Memory line now", "text", "kernel",
       "mem_init_print_info()'s formula applied to the state now (available = free "
       "pages): what the kernel would print if it printed here"),
    _m("printed_memory_line", "the Memory line printed", "text", "kernel",
       "the Memory: line as mem_init_print_info() printed it during this boot, the one "
       "to hold against a real dmesg (empty before that step runs)"),
    _m("pagetable_pages", "kernel page tables", "pages", "kernel",
       "page-table pages the kernel itself allocated (preallocate_vmalloc_pages)"),
    _m("bad_pages", "bad pages", "count", "kernel",
       "frees refused as bad_page() would refuse them"),
    # -------- KMSAN costs
    _m("struct_page_size", "struct page size", "bytes", "kmsan",
       "sizeof(struct page): 64, or 80 with kmsan_shadow and kmsan_origin"),
    _m("memmap_bytes", "memmap", "bytes", "kmsan", "present pages x struct page size"),
    _m("page_ext_bytes", "page_ext", "bytes", "kmsan",
       "page_ext tables KMSAN asks for (16 bytes per page per present section)"),
    _m("buddy_metadata_pages", "metadata from buddy", "pages", "kmsan",
       "of KMSAN's pages, those allocated from the buddy allocator (inside managed)"),
    _m("kmsan_pagetable_pages", "shadow page tables", "pages", "kmsan",
       "of the metadata, page-table pages mapping the fixed shadow and origin"),
    _m("blind_spot_pages", "blind spots", "pages", "kmsan",
       "data pages that should have metadata and have none: accesses hit the dummy pages"),
    _m("backfill_walked_pages", "back-fill walk", "count", "kmsan",
       "struct pages visited to find blocks handed out before lazy metadata started"),
    _m("backfill_blocks", "back-filled allocations", "count", "kmsan",
       "metadata allocations made for memory already in use (walk-found blocks, kernel "
       "image chunks, NODE_DATA pages)"),
    _m("backfill_pages", "back-filled pages", "pages", "kmsan",
       "data pages given metadata after they were handed out"),
    _m("vmap_repairs", "vmap areas to remap", "count", "kmsan",
       "vmap areas existing when lazy metadata started (their shadow mappings must be "
       "redone); null when none can exist (started before vmalloc_init())"),
    _m("failed_metadata_allocs", "failed metadata allocations", "count", "kmsan",
       "metadata allocations that failed (each leaves a blind spot or a panic message)"),
    _m("no_metadata_allocs", "allocs without metadata", "count", "kmsan",
       "kmsan_alloc_page() on a page with no metadata (the kernel would oops)"),
    # -------- virtual layout
    _m("virtual_reserved_bytes", "virtual space reserved", "bytes", "layout",
       "shadow + origin ranges for the direct map (2 x its span, in whole GiB)"),
    _m("fits_4level", "fits 4-level", "flag", "layout",
       "the ranges fit 4-level paging (KASAN's 16 TB slot); null when not fixed"),
    _m("fits_5level", "fits 5-level", "flag", "layout", "the ranges fit 5-level paging"),
    _m("fits_4level_kaslr", "fits 4-level + KASLR", "flag", "layout",
       "with CONFIG_RANDOMIZE_MEMORY (KASAN's slot is then in KASLR's range)"),
    _m("fits_5level_kaslr", "fits 5-level + KASLR", "flag", "layout",
       "5-level paging with CONFIG_RANDOMIZE_MEMORY"),
    # -------- fragmentation
    _m("buddyinfo", "buddyinfo", "list", "frag",
       "free blocks per order 0..10, all zones (/proc/buddyinfo summed)"),
    _m("unusable_free_index", "unusable free index", "list", "frag",
       "per order, as debugfs prints it (0.000 to 1.000): free memory not in blocks "
       "of that order"),
    _m("fragmentation_index", "fragmentation index", "list", "frag",
       "per order, as debugfs prints it: -1.000 when a block of that order is free, "
       "else towards 1 the more a failure is fragmentation, not lack of memory"),
    _m("notes", "notes", "list", "kmsan",
       "the strategy's own lines on what the numbers mean now"),
)
DEFINITIONS: dict[str, MetricDef] = {d.name: d for d in METRICS}
CLASSES = ("free_pages", "data_pages", "metadata_pages", "held_back_pages",
           "other_reserved_pages")


@dataclass(frozen=True, slots=True)
class Metrics:
    """The cost of the current state. Field meanings: ``METRICS``. The two index
    tuples are in thousandths, as mm/vmstat.c computes them."""

    step: str
    strategy: str
    mode: str
    sanitizer: str
    kernel: str
    free_pages: int
    data_pages: int
    metadata_pages: int
    held_back_pages: int
    other_reserved_pages: int
    usable_pages: int
    present_pages: int
    managed_pages: int
    totalram_pages: int
    pg_reserved_pages: int
    memory_line_reserved_pages: int
    memory_line: str
    printed_memory_line: str
    pagetable_pages: int
    bad_pages: int
    struct_page_size: int
    memmap_bytes: int
    page_ext_bytes: int
    buddy_metadata_pages: int
    kmsan_pagetable_pages: int
    blind_spot_pages: int
    backfill_walked_pages: int
    backfill_blocks: int
    backfill_pages: int
    vmap_repairs: int | None
    failed_metadata_allocs: int
    no_metadata_allocs: int
    virtual_reserved_bytes: int
    fits_4level: bool | None
    fits_5level: bool | None
    fits_4level_kaslr: bool | None
    fits_5level_kaslr: bool | None
    buddyinfo: tuple[int, ...]
    unusable_free_index: tuple[int, ...]  # thousandths, per order
    fragmentation_index: tuple[int, ...]  # thousandths, per order
    notes: tuple[str, ...]

    def memory_lines(self) -> list[str]:
        """The Memory: line the kernel printed (the one to hold against a dmesg), and
        the same formula on the state now where that differs (later allocations and
        frees change it; the kernel prints it once)."""
        if not self.printed_memory_line:
            return [self.memory_line, "  (not printed yet: mem_init_print_info()'s formula "
                    "on the state now)"]
        if self.printed_memory_line == self.memory_line:
            return [self.printed_memory_line]
        return [self.printed_memory_line, f"  now: {self.memory_line}"]

    def classes(self) -> dict[str, int]:
        """The five page classes (they sum to present_pages)."""
        return {name: getattr(self, name) for name in CLASSES}

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` form: plain numbers in the units the text prints (pages,
        bytes, counts; the extfrag indices as the decimals debugfs prints)."""
        out: dict[str, Any] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name in ("unusable_free_index", "fragmentation_index"):
                value = [v / 1000 for v in value]
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out


def compute_metrics(m: Machine, kmsan: MetadataStrategy, step: str) -> Metrics:
    """The metrics of machine ``m`` under strategy ``kmsan`` after init call ``step``."""
    free = managed = 0
    buddy = [0] * NR_PAGE_ORDERS
    for zone in m.zones:
        free += zone.nr_free_pages
        managed += zone.managed_pages
        for order, count in enumerate(zone.buddyinfo()):
            buddy[order] += count
    active = m.kmsan_active
    ledger = kmsan.ledger if active else MetaLedger()
    present = m.present_pages
    data = managed - free - ledger.in_buddy
    page_ext = 0
    if active and kmsan.page_ext_bytes_per_page(m):
        # mm/page_ext.c: page_ext_init(): one table per present section.
        page_ext = kmsan.page_ext_bytes_per_page(m) * PAGES_PER_SECTION * m.present_sections()
    layout = kmsan.virtual_layout(m) if active else None
    totalram = m.counters.totalram_pages
    return Metrics(
        step=step,
        strategy=kmsan.name if active else "none",
        mode=kmsan.mode() if active else "",
        sanitizer=m.config.sanitizer,
        kernel=m.config.version,
        free_pages=free,
        data_pages=data,
        metadata_pages=ledger.metadata_pages,
        held_back_pages=ledger.held_pages,
        other_reserved_pages=present - managed - ledger.outside_buddy,
        usable_pages=free + data,
        present_pages=present,
        managed_pages=managed,
        totalram_pages=totalram,
        pg_reserved_pages=present - managed,
        memory_line_reserved_pages=present - totalram,
        memory_line=memory_line(m),
        printed_memory_line=m.boot_state.printed_memory_line,
        struct_page_size=m.struct_page_size,
        memmap_bytes=present * m.struct_page_size,
        page_ext_bytes=page_ext,
        buddy_metadata_pages=ledger.buddy_meta + ledger.buddy_pt,
        kmsan_pagetable_pages=ledger.reserved_pt + ledger.buddy_pt,
        blind_spot_pages=ledger.blind,
        backfill_walked_pages=m.counters.backfill_walked,
        backfill_blocks=m.counters.backfill_blocks,
        backfill_pages=ledger.backfill_pages,
        vmap_repairs=kmsan.vmap_repairs(m) if active else None,
        failed_metadata_allocs=m.counters.meta_alloc_failures,
        no_metadata_allocs=m.counters.no_metadata_allocs,
        virtual_reserved_bytes=2 * layout.size_each if layout else 0,
        fits_4level=layout.fits_4level if layout else None,
        fits_5level=layout.fits_5level if layout else None,
        fits_4level_kaslr=layout.fits_4level_kaslr if layout else None,
        fits_5level_kaslr=layout.fits_5level_kaslr if layout else None,
        pagetable_pages=m.counters.pagetable_pages,
        bad_pages=m.counters.bad_pages,
        buddyinfo=tuple(buddy),
        unusable_free_index=tuple(unusable_free_index(buddy, o) for o in range(NR_PAGE_ORDERS)),
        fragmentation_index=tuple(fragmentation_index(buddy, o) for o in range(NR_PAGE_ORDERS)),
        notes=kmsan.notes(m) if active else (),
    )
