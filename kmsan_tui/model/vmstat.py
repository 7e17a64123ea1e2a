"""mm/vmstat.c: the /proc files in the kernel's own formats, byte for byte, and the
extfrag indices (debugfs extfrag/) with the kernel's integer arithmetic."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kmsan_tui.model.constants import NR_PAGE_ORDERS, PAGETYPEINFO_TYPES

if TYPE_CHECKING:
    from kmsan_tui.model.buddy import Zone


def buddyinfo(zones: Sequence[Zone]) -> str:
    """mm/vmstat.c: frag_show_print(), one line per populated zone."""
    lines = []
    for zone in zones:
        counts = "".join(f"{n:6d} " for n in zone.buddyinfo())
        lines.append(f"Node {zone.nid}, zone {zone.name:>8} {counts}")
    return "\n".join(lines) + "\n"


def pagetypeinfo(zones: Sequence[Zone], pageblock_order: int) -> str:
    """mm/vmstat.c: pagetypeinfo_show(): free blocks per type and order, then block counts."""
    out = [f"Page block order: {pageblock_order}",
           f"Pages per block:  {1 << pageblock_order}",
           "",
           f"{'Free pages count per migrate type at order':<43} "
           + "".join(f"{o:6d} " for o in range(NR_PAGE_ORDERS))]
    for zone in zones:
        by_type = zone.nr_free_by_type()
        for mt in PAGETYPEINFO_TYPES:
            cells = []
            for count in by_type[mt]:
                # pagetypeinfo_showfree_print() stops counting at 100000 and prints ">".
                cells.append(f">{100000:6d} " if count >= 100000 else f"{count:6d} ")
            out.append(f"Node {zone.nid:4d}, zone {zone.name:>8}, type {mt.label:>12} "
                       + "".join(cells))
    out.append("")
    out.append(f"{'Number of blocks type ':<23}" + "".join(f"{mt.label:>12} " for mt in PAGETYPEINFO_TYPES))
    for zone in zones:
        blocks = zone.pageblock_counts()
        out.append(f"Node {zone.nid}, zone {zone.name:>8} "
                   + "".join(f"{blocks.get(mt, 0):12d} " for mt in PAGETYPEINFO_TYPES))
    return "\n".join(out) + "\n"


def parse_buddyinfo(text: str) -> list[tuple[int, str, tuple[int, ...]]]:
    """Parse /proc/buddyinfo (a leading '# source' line is skipped)."""
    rows = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        head, _, counts = line.partition("zone")
        nid = int(head.split()[1].rstrip(","))
        parts = counts.split()
        rows.append((nid, parts[0], tuple(int(x) for x in parts[1:])))
    return rows


def _contig_page_info(buddyinfo: Sequence[int], order: int) -> tuple[int, int, int]:
    """fill_contig_page_info(): (free_pages, free_blocks_total, free_blocks_suitable)."""
    free_pages = total = suitable = 0
    for o, blocks in enumerate(buddyinfo):
        total += blocks
        free_pages += blocks << o
        if o >= order:
            suitable += blocks << (o - order)
    return free_pages, total, suitable


def unusable_free_index(buddyinfo: Sequence[int], order: int) -> int:
    """mm/vmstat.c unusable_free_index(), in thousandths (1000: nothing free)."""
    free_pages, _, suitable = _contig_page_info(buddyinfo, order)
    if free_pages == 0:
        return 1000
    return (free_pages - (suitable << order)) * 1000 // free_pages


def fragmentation_index(buddyinfo: Sequence[int], order: int) -> int:
    """mm/vmstat.c __fragmentation_index(), in thousandths.

    0 with no free blocks, -1000 when a block of ``order`` exists; else towards
    1000 the more a failure is due to fragmentation rather than lack of memory.
    """
    free_pages, total, suitable = _contig_page_info(buddyinfo, order)
    if not total:
        return 0
    if suitable:
        return -1000
    return 1000 - (1000 + free_pages * 1000 // (1 << order)) // total
