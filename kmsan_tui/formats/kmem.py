"""crash's `kmem -f`, as drgn's crash-compatible command prints it
(osandov/drgn drgn/commands/_builtin/crash/_kmem.py, _kmem_free()): per zone a header
and a line (node, zone index, name, spanned pages, free pages, the zone's first struct
page, its physical start and pfn), then one line per order and migratetype with the
blocks and pages on that free list, and the nr_free_pages check at the end.

The FREE_LIST column (the address of zone->free_area[order].free_list[type], inside
pg_data_t) is left out: the model has no kernel virtual addresses for pg_data_t.
MEM_MAP is the vmemmap address of the zone's first struct page, with the kernel's
default vmemmap base (no KASLR of the memory map) and this kernel's sizeof(struct page).
"""

from __future__ import annotations

from typing import Any

from kmsan_tui.formats.snapshot import ZONE_DEVICE, ZONE_TYPES, MachineView
from kmsan_tui.formats.table import Cell, Row, TableRow, format_table
from kmsan_tui.model.constants import NR_PAGE_ORDERS, PAGE_SHIFT, PAGE_SIZE, PAGETYPEINFO_TYPES

# arch/x86/include/asm/pgtable_64_types.h: __VMEMMAP_BASE_L4 / __VMEMMAP_BASE_L5.
VMEMMAP_BASE = {4: 0xFFFFEA0000000000, 5: 0xFFD4000000000000}
# drgn prints the enum migratetype names without "MIGRATE_" (MIGRATE_PCPTYPES shares
# HIGHATOMIC's value and is overwritten by it).
MIGRATE_NAMES = tuple(mt.name for mt in PAGETYPEINFO_TYPES)


def mem_map(view: MachineView, pfn: int) -> int:
    """pfn_to_page(pfn) with SPARSEMEM_VMEMMAP: vmemmap + pfn * sizeof(struct page)."""
    return VMEMMAP_BASE[view.paging_levels] + pfn * view.struct_page_size


def kmem_f(view: MachineView) -> str:
    """The `kmem -f` table and the "nr_free_pages:" line."""
    multi = len({z.nid for z in view.zones}) > 1
    node_header: tuple[Cell | int | str, ...] = (Cell("NODE", ">"),) if multi else ()
    rows: list[TableRow] = []
    total = 0
    for z in view.zones:
        if rows:
            rows.append(())
        rows.append(Row((*node_header, Cell("ZONE", "^"), "NAME", Cell("SIZE", ">"),
                         Cell("FREE", ">"), Cell("MEM_MAP", "^"), "START_PADDR", "START_PFN"),
                        group=1))
        node_cell: tuple[Cell | int | str, ...] = (z.nid,) if multi else ()
        index = (*ZONE_TYPES, ZONE_DEVICE).index(z.name)
        if z.spanned == 0:
            zero = Cell(0, "^")
            rows.append(Row((*node_cell, Cell(index, "^"), z.name, 0, 0, zero, zero, zero), group=1))
            continue
        rows.append(Row((*node_cell, Cell(index, "^"), z.name, z.spanned, z.nr_free,
                         Cell(mem_map(view, z.start_pfn), "^x"),
                         Cell(z.start_pfn << PAGE_SHIFT, "^x"), Cell(z.start_pfn, "^")), group=1))
        rows.append((Cell("ORDER", "^"), Cell("SIZE", ">"), "MIGRATE", Cell("BLOCKS", ">"),
                     Cell("PAGES", ">")))
        for order in range(NR_PAGE_ORDERS):
            size = Cell(f"{(PAGE_SIZE << order) // 1024}k", ">")
            for name, counts in zip(MIGRATE_NAMES, _free_by_type(z.free_by_type), strict=True):
                blocks = counts[order]
                total += blocks << order
                rows.append((Cell(order, "^"), size, name, blocks, blocks << order))
    lines = format_table(rows)
    verified = "verified" if total == view.nr_free_pages else f"found {total}"
    lines += ["", f"nr_free_pages: {view.nr_free_pages}  ({verified})"]
    return "".join(line + "\n" for line in lines)


def _free_by_type(rows: tuple[tuple[int, ...], ...]) -> tuple[tuple[int, ...], ...]:
    return rows or tuple((0,) * NR_PAGE_ORDERS for _ in MIGRATE_NAMES)


def kmem_f_json(view: MachineView) -> dict[str, Any]:
    """The same facts as a JSON object: zones with their free lists."""
    zones = []
    for z in view.zones:
        lists = []
        for order in range(NR_PAGE_ORDERS):
            for name, counts in zip(MIGRATE_NAMES, _free_by_type(z.free_by_type), strict=True):
                lists.append({"order": order, "size_kb": (PAGE_SIZE << order) // 1024,
                              "migrate": name, "blocks": counts[order],
                              "pages": counts[order] << order})
        zones.append({"node": z.nid, "zone": (*ZONE_TYPES, ZONE_DEVICE).index(z.name), "name": z.name,
                      "size": z.spanned, "free": z.nr_free,
                      "mem_map": mem_map(view, z.start_pfn) if z.spanned else 0,
                      "start_paddr": z.start_pfn << PAGE_SHIFT if z.spanned else 0,
                      "start_pfn": z.start_pfn if z.spanned else 0,
                      "free_lists": lists if z.spanned else []})
    return {"zones": zones, "nr_free_pages": view.nr_free_pages}
