"""/proc/buddyinfo, /proc/pagetypeinfo, /proc/zoneinfo and /proc/meminfo, byte for byte
in the kernel's formats (mm/vmstat.c, fs/proc/meminfo.c), from a ``MachineView``.

Only what the model computes is printed: /proc/zoneinfo has no per-node or NUMA
statistics and no pagesets, /proc/meminfo only the lines whose values come from the
model (see ``meminfo``). Every line printed has the kernel's exact layout.
"""

from __future__ import annotations

from collections.abc import Sequence

from kmsan_tui.formats.kversion import prints
from kmsan_tui.formats.snapshot import ZoneView
from kmsan_tui.formats.watermarks import Watermarks, mem_available, zone_watermarks
from kmsan_tui.model.constants import PAGETYPEINFO_TYPES
from kmsan_tui.model.vmstat import frag_line, pagetypeinfo_node

PAGETYPE_LABELS = tuple(mt.label for mt in PAGETYPEINFO_TYPES)


def buddyinfo(zones: Sequence[ZoneView]) -> str:
    """mm/vmstat.c frag_show_print(): one line per populated zone."""
    return "".join(frag_line(z.nid, z.name, z.buddyinfo) + "\n" for z in zones if z.populated)


def pagetypeinfo(zones: Sequence[ZoneView], pageblock_order: int,
                 labels: Sequence[str] = PAGETYPE_LABELS) -> str:
    """mm/vmstat.c pagetypeinfo_show(), once per node with memory (N_MEMORY)."""
    out: list[str] = []
    for nid in dict.fromkeys(z.nid for z in zones):
        rows = [(z.nid, z.name, z.free_by_type, z.pageblocks) for z in zones
                if z.nid == nid and z.populated]
        if rows:
            out += pagetypeinfo_node(pageblock_order, labels, rows)
    return "".join(line + "\n" for line in out)


def zoneinfo(zones: Sequence[ZoneView], profile: str,
             marks: dict[tuple[int, str], Watermarks] | None = None) -> str:
    """mm/vmstat.c zoneinfo_show_print() for every zone of every node, populated or
    not, with the fields the model has: free, the watermarks (computed), spanned,
    present, managed, cma (no CMA area), protection, nr_free_pages and start_pfn.
    The per-node and NUMA statistics, boost and the pagesets are left out."""
    marks = marks if marks is not None else zone_watermarks(zones, profile)
    promo = prints(profile, "zoneinfo_promo")
    out: list[str] = []
    for z in zones:
        w = marks[(z.nid, z.name)]
        out.append(f"Node {z.nid}, zone {z.name:>8}")
        out.append(f"  pages free     {z.nr_free}")
        out.append(f"        min      {w.min}")
        out.append(f"        low      {w.low}")
        out.append(f"        high     {w.high}")
        if promo:
            out.append(f"        promo    {w.promo}")
        out.append(f"        spanned  {z.spanned}")
        out.append(f"        present  {z.present}")
        out.append(f"        managed  {z.managed}")
        out.append(f"        cma      {0}")
        out.append("        protection: (" + ", ".join(str(p) for p in w.protection) + ")")
        if not z.populated:  # "If unpopulated, no other information is useful"
            continue
        out.append(f"      {'nr_free_pages':<12} {z.nr_free}")
        out.append(f"  start_pfn:           {z.start_pfn}")
    return "".join(line + "\n" for line in out)


# fs/proc/meminfo.c: the labels are literal strings, 16 columns wide with the colon.
MEMINFO_LABELS = ("MemTotal", "MemFree", "MemAvailable", "CommitLimit", "VmallocTotal", "Percpu")


def meminfo_line(label: str, kib: int) -> str:
    """show_val_kb(): the label padded to 16 columns, the value right-aligned in 8,
    then " kB"."""
    return f"{label + ':':<16}{kib:>8} kB"


def vmalloc_total_kib(paging_levels: int, sanitizer: str) -> int:
    """(VMALLOC_END - VMALLOC_START) >> 10 on x86_64: 32 TiB with 4-level paging, 12800
    TiB with 5-level (arch/x86/include/asm/pgtable_64_types.h); KMSAN keeps a quarter
    for vmalloc and gives the rest to its shadow and origin (VMALLOC_QUARTER_SIZE)."""
    size = (12800 if paging_levels == 5 else 32) << 40
    if sanitizer == "kmsan":
        size //= 4
    return (size - 1) >> 10


def meminfo_values(zones: Sequence[ZoneView], *, totalram_pages: int, nr_free_pages: int,
                   percpu_pages: int, cpus: int, paging_levels: int, sanitizer: str,
                   profile: str) -> dict[str, int]:
    """The /proc/meminfo values the model computes, in kB, in the kernel's order:
    MemTotal (totalram_pages), MemFree, MemAvailable (si_mem_available() without page
    cache), CommitLimit (overcommit_ratio 50 %, no swap, no hugetlb), VmallocTotal and
    Percpu (the first chunk: pages per unit times the units in use, one per CPU)."""
    return {
        "MemTotal": totalram_pages * 4,
        "MemFree": nr_free_pages * 4,
        "MemAvailable": mem_available(zones, profile) * 4,
        "CommitLimit": totalram_pages * 50 // 100 * 4,
        "VmallocTotal": vmalloc_total_kib(paging_levels, sanitizer),
        "Percpu": percpu_pages * cpus * 4,
    }


def meminfo(values: dict[str, int]) -> str:
    """fs/proc/meminfo.c meminfo_proc_show() for the given lines, in the given order."""
    return "".join(meminfo_line(label, kib) + "\n" for label, kib in values.items())

