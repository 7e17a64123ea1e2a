"""mm/vmstat.c: the kernel's integer arithmetic for the extfrag indices (debugfs
extfrag/) and the line formats of /proc/buddyinfo and /proc/pagetypeinfo.

The line formats live here, as plain functions of numbers, so that the model's own
zones (``buddyinfo``, ``pagetypeinfo``: the explorer's Free lists tab and the run
summary) and the output formats of ``kmsan_tui.formats`` (which print frozen views of
a machine) share one copy of each format string. The other /proc and debugfs files
are in ``kmsan_tui.formats``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kmsan_tui.model.constants import NR_PAGE_ORDERS, PAGETYPEINFO_TYPES

if TYPE_CHECKING:
    from kmsan_tui.model.buddy import Zone

# pagetypeinfo_showfree_print() stops walking a free list at this many blocks.
FREECOUNT_CAP = 100000


def frag_line(nid: int, zone: str, counts: Sequence[int]) -> str:
    """frag_show_print(): "Node %d, zone %8s " then "%6lu " per order (no newline)."""
    return f"Node {nid}, zone {zone:>8} " + "".join(f"{n:6d} " for n in counts)


def pagetypeinfo_node(pageblock_order: int, labels: Sequence[str],
                      rows: Sequence[tuple[int, str, Sequence[Sequence[int]], Sequence[int]]]) -> list[str]:
    """pagetypeinfo_show() for one node with memory: the pageblock size, then
    pagetypeinfo_showfree() and pagetypeinfo_showblockcount().

    ``rows`` are the node's populated zones: (nid, zone name, free blocks per label and
    order, pageblocks per label). Returns the lines without newlines.
    """
    out = [f"Page block order: {pageblock_order}",
           f"Pages per block:  {1 << pageblock_order}",
           "",
           f"{'Free pages count per migrate type at order':<43} "
           + "".join(f"{o:6d} " for o in range(NR_PAGE_ORDERS))]
    for nid, zone, by_type, _blocks in rows:
        for label, counts in zip(labels, by_type, strict=True):
            cells = "".join(f">{FREECOUNT_CAP:6d} " if n >= FREECOUNT_CAP else f"{n:6d} " for n in counts)
            out.append(f"Node {nid:4d}, zone {zone:>8}, type {label:>12} {cells}")
    out.append("")
    out.append(f"{'Number of blocks type ':<23}" + "".join(f"{label:>12} " for label in labels))
    for nid, zone, _by_type, blocks in rows:
        out.append(f"Node {nid}, zone {zone:>8} " + "".join(f"{n:12d} " for n in blocks))
    return out


def buddyinfo(zones: Sequence[Zone]) -> str:
    """/proc/buddyinfo of the model's zones (each one populated)."""
    return "".join(frag_line(z.nid, z.name, z.buddyinfo()) + "\n" for z in zones)


def pagetypeinfo(zones: Sequence[Zone], pageblock_order: int) -> str:
    """/proc/pagetypeinfo of the model's zones: the whole block once per node, as
    pagetypeinfo_show() is called once per pg_data_t."""
    labels = [mt.label for mt in PAGETYPEINFO_TYPES]
    out: list[str] = []
    for nid in dict.fromkeys(z.nid for z in zones):
        rows = []
        for z in zones:
            if z.nid != nid:
                continue
            by_type = z.nr_free_by_type()
            blocks = z.pageblock_counts()
            rows.append((z.nid, z.name, [by_type[mt] for mt in PAGETYPEINFO_TYPES],
                         [blocks.get(mt, 0) for mt in PAGETYPEINFO_TYPES]))
        out += pagetypeinfo_node(pageblock_order, labels, rows)
    return "".join(line + "\n" for line in out)


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
