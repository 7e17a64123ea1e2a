"""debugfs files in the kernel's formats: extfrag/unusable_index and extfrag/extfrag_index
(mm/vmstat.c, CONFIG_COMPACTION) and memblock/memory, memblock/reserved (mm/memblock.c,
CONFIG_ARCH_KEEP_MEMBLOCK). The index arithmetic is the kernel's, in integers
(kmsan_tui.model.vmstat); C division truncates towards zero, so ``/`` and ``%`` are
done that way when an index is negative.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from kmsan_tui.formats.kversion import prints
from kmsan_tui.formats.snapshot import RegionView, ZoneView
from kmsan_tui.model.constants import NR_PAGE_ORDERS
from kmsan_tui.model.vmstat import fragmentation_index, unusable_free_index


def _c_divmod(value: int, by: int) -> tuple[int, int]:
    """C's ``value / by`` and ``value % by`` (truncation towards zero)."""
    q = abs(value) // by * (1 if value >= 0 else -1)
    return q, value - q * by


def _index_table(zones: Sequence[ZoneView], index: Callable[[Sequence[int], int], int],
                 cell: str) -> str:
    """The extfrag debugfs files: "Node %d, zone %8s " then one thousandths figure per
    order, printed as ``cell`` formats its quotient and remainder by 1000."""
    out = []
    for z in zones:
        if not z.populated:
            continue
        cells = "".join(cell.format(*_c_divmod(index(z.buddyinfo, order), 1000))
                        for order in range(NR_PAGE_ORDERS))
        out.append(f"Node {z.nid}, zone {z.name:>8} {cells}")
    return "".join(line + "\n" for line in out)


def unusable_index(zones: Sequence[ZoneView]) -> str:
    """unusable_show_print(): "Node %d, zone %8s " then "%d.%03d " per order."""
    return _index_table(zones, unusable_free_index, "{}.{:03d} ")


def extfrag_index(zones: Sequence[ZoneView]) -> str:
    """extfrag_show_print(): "Node %d, zone %8s " then "%2d.%03d " per order
    (-1.000 where a block of the order is free). %03d of a negative remainder would
    print its sign, but __fragmentation_index() only returns -1000 or 0..1000."""
    return _index_table(zones, fragmentation_index, "{:2d}.{:03d} ")


# mm/memblock.c flagname[]: bit number -> name; bits without a name print UNKNOWN.
MEMBLOCK_FLAG_NAMES = ("HOTPLUG", "MIRROR", "NOMAP", "DRV_MNG", "RSV_NIT")


def memblock_flag_name(flags: int, profile: str) -> str:
    """The first named flag of a region, as memblock_debug_show() prints it."""
    if not flags:
        return "NONE"
    names = MEMBLOCK_FLAG_NAMES if prints(profile, "memblock_flag_rsv_nit") else MEMBLOCK_FLAG_NAMES[:4]
    for bit, name in enumerate(names):
        if flags & (1 << bit):
            return name
    return "UNKNOWN"


def memblock_debugfs(regions: Sequence[RegionView], profile: str) -> str:
    """memblock_debug_show(): "%4d: %pa..%pa" per region; since 6.4 followed by the
    node ("%4d ", or "%4c " of 'x' when none is set) and the first flag's name.

    An empty array prints its one dummy region [0x0-0xffffffffffffffff], as the kernel
    keeps cnt at 1 with a region of size 0.
    """
    rows = regions or (RegionView(0, 0, None, 0),)
    newer = prints(profile, "memblock_debugfs_nid")
    out = []
    for i, r in enumerate(rows):
        end = (r.base + r.size - 1) & ((1 << 64) - 1)
        line = f"{i:4d}: 0x{r.base:016x}..0x{end:016x}"
        if newer:
            node = f"{r.nid:4d}" if r.nid is not None else f"{'x':>4}"
            line += f" {node} {memblock_flag_name(r.flags, profile)}"
        out.append(line)
    return "".join(line + "\n" for line in out)
