"""The kernel's console lines about memory, from a ``MachineView``: the e820 table
(arch/x86/kernel/e820.c), last_pfn, the fake node, NODE_DATA, the zone and node ranges
and the holes memmap_init() fills (mm/mm_init.c), the percpu first chunk, the
``Memory:`` line and KMSAN's start. Lines are printed without the timestamp prefix,
as ``dmesg -t`` shows them.

The zone spans and holes here are computed from memblock as the kernel computes them,
not taken from the model's zones, so the lines match a real boot of the same layout.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from kmsan_tui.formats.snapshot import ZONE_TYPES, MachineView, RegionView, zone_bounds
from kmsan_tui.model.constants import PAGE_SHIFT, PAGES_PER_SECTION, pfn_down, pfn_up
from kmsan_tui.model.layout_types import E820Entry

# arch/x86/include/asm/e820/types.h: the types the layout format names; "persistent" is
# E820_TYPE_PMEM (7, ACPI 6 NVDIMM), as the model prints it.
E820_TYPE_NAMES = {"usable": "usable", "reserved": "reserved", "ACPI data": "ACPI data",
                   "ACPI NVS": "ACPI NVS", "unusable": "unusable",
                   "persistent": "persistent (type 7)"}
ISA_START, ISA_END = 0xA0000, 0x100000


def e820_table(entries: Sequence[E820Entry], who: str = "BIOS-e820") -> list[str]:
    """e820__print_table(who): "%s: [mem %#018Lx-%#018Lx] " and the type."""
    return [f"{who}: [mem {e.start:#018x}-{e.end:#018x}] {E820_TYPE_NAMES.get(e.type, e.type)}"
            for e in entries]


def e820_fixups() -> list[str]:
    """e820__memblock_setup()'s fix-ups as the kernel logs them (trim_bios_range():
    page 0 reserved, the ISA hole removed), "%#010Lx" addresses."""
    return [f"e820: update [mem {0:#010x}-{0xfff:#010x}] usable ==> reserved",
            f"e820: remove [mem {ISA_START:#010x}-{ISA_END - 1:#010x}] usable"]


def last_pfn_lines(entries: Sequence[E820Entry], paging_levels: int) -> list[str]:
    """e820__end_of_ram_pfn() and, above 4 GiB, e820__end_of_low_ram_pfn()."""
    max_arch_pfn = 1 << ((52 if paging_levels == 5 else 46) - PAGE_SHIFT)

    def end_pfn(limit: int) -> int:
        last = 0
        for e in entries:
            if e.type != "usable":
                continue
            start, end = pfn_down(e.start), pfn_down(e.end + 1)
            if start >= limit:
                continue
            last = max(last, min(end, limit))
        return last

    lines = []
    top = end_pfn(max_arch_pfn)
    lines.append(f"last_pfn = {top:#x} max_arch_pfn = {max_arch_pfn:#x}")
    if top > 1 << (32 - PAGE_SHIFT):
        low = end_pfn(1 << (32 - PAGE_SHIFT))
        lines.append(f"last_pfn = {low:#x} max_arch_pfn = {max_arch_pfn:#x}")
    return lines


@dataclass(frozen=True, slots=True)
class PfnRange:
    """A memblock.memory range in whole pages, and its node."""

    start: int
    end: int
    nid: int


def memory_pfn_ranges(view: MachineView) -> list[PfnRange]:
    """for_each_mem_pfn_range(): PFN_UP(base)..PFN_DOWN(end) of each region, with the
    region's node, or the layout's node at its base when none is set yet."""
    out = []
    for r in view.memory:
        start, end = pfn_up(r.base), pfn_down(r.base + r.size)
        if end > start:
            out.append(PfnRange(start, end, _node_at(view, r)))
    return out


def _node_at(view: MachineView, r: RegionView) -> int:
    if r.nid is not None:
        return r.nid
    for node in view.nodes:
        if node.start <= r.base < node.end:
            return node.nid
    return view.nodes[-1].nid if view.nodes else 0


def zone_spans(ranges: Sequence[PfnRange], max_pfn: int) -> dict[tuple[int, str], tuple[int, int]]:
    """zone_spanned_pages_in_node(): each node's span clamped to each zone type's range,
    as [start, end) pfns; empty zones are absent."""
    spans: dict[tuple[int, str], tuple[int, int]] = {}
    for nid in dict.fromkeys(r.nid for r in ranges):
        mine = [r for r in ranges if r.nid == nid]
        node_start, node_end = min(r.start for r in mine), max(r.end for r in mine)
        for name in ZONE_TYPES:
            lo, hi = zone_bounds(name, max_pfn)
            start, end = min(max(node_start, lo), hi), min(max(node_end, lo), hi)
            present = sum(max(0, min(r.end, end) - max(r.start, start)) for r in mine)
            if end > start and present:
                spans[(nid, name)] = (start, end)
    return spans


def unavailable_ranges(ranges: Sequence[PfnRange], max_pfn: int) -> list[tuple[int, str, int]]:
    """memmap_init(): the holes before each range in each populated zone, and after the
    last range up to its section end, as (nid, zone, pages) in the order printed.

    init_unavailable_range() counts only pfns whose pageblock has a memmap (a present
    section), and a hole is charged to the zone of the range that follows it (the
    6.1 log's "zone Normal: 32 pages" lie below 4 GiB).
    """
    spans = zone_spans(ranges, max_pfn)
    present = _present_sections(ranges)
    out: list[tuple[int, str, int]] = []
    hole = 0
    zone_name, last_nid, last_end = ZONE_TYPES[0], 0, 0
    for r in ranges:
        for name in ZONE_TYPES:
            span = spans.get((r.nid, name))
            if span is None:  # not populated_zone()
                continue
            zone_name = name  # memmap_init()'s zone_id: the last populated zone seen
            start, end = max(r.start, span[0]), min(r.end, span[1])
            if start >= end:
                continue
            if hole < start:
                count = _valid_pages(hole, start, present)
                if count:
                    out.append((r.nid, name, count))
            hole = end
        last_nid, last_end = r.nid, r.end
    section_end = -(-last_end // PAGES_PER_SECTION) * PAGES_PER_SECTION
    if ranges and hole < section_end:
        count = _valid_pages(hole, section_end, present)
        if count:
            out.append((last_nid, zone_name, count))
    return out


def _present_sections(ranges: Sequence[PfnRange]) -> list[tuple[int, int]]:
    """memblocks_present(): the sections any memory range touches, as sorted pfn spans."""
    spans: list[tuple[int, int]] = []
    for r in ranges:
        lo = r.start // PAGES_PER_SECTION * PAGES_PER_SECTION
        hi = -(-r.end // PAGES_PER_SECTION) * PAGES_PER_SECTION
        if spans and lo <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(hi, spans[-1][1]))
        else:
            spans.append((lo, hi))
    return spans


def _valid_pages(start: int, end: int, present: Sequence[tuple[int, int]]) -> int:
    """pfns of [start, end) inside present sections (pfn_valid() of their pageblock;
    a pageblock never straddles a section)."""
    return sum(max(0, min(end, hi) - max(start, lo)) for lo, hi in present)


def zone_lines(view: MachineView) -> list[str]:
    """free_area_init(): "Zone ranges:", the node ranges, "Initmem setup node" per node
    and memmap_init()'s holes."""
    ranges = memory_pfn_ranges(view)
    if not ranges:
        return []
    max_pfn = max(r.end for r in ranges)
    first = min(r.start for r in ranges)
    lines = ["Zone ranges:"]
    for name in ZONE_TYPES[:-1]:  # ZONE_MOVABLE is reported per node below
        lo, hi = zone_bounds(name, max_pfn)
        lo = max(lo, first) if name == "DMA" else lo  # find_min_pfn_with_active_regions()
        if hi <= lo:
            lines.append(f"  {name:<8} empty")
        else:
            lines.append(f"  {name:<8} [mem {lo << PAGE_SHIFT:#018x}-{(hi << PAGE_SHIFT) - 1:#018x}]")
    if view.zone_device:  # ZONE_DEVICE: memory hotplugged by drivers, none at boot
        lines.append(f"  {'Device':<8} empty")
    lines.append("Movable zone start for each node")
    lines.append("Early memory node ranges")
    for r in ranges:
        lines.append(f"  node {r.nid:3d}: [mem {r.start << PAGE_SHIFT:#018x}-"
                     f"{(r.end << PAGE_SHIFT) - 1:#018x}]")
    for nid in dict.fromkeys(r.nid for r in ranges):
        mine = [r for r in ranges if r.nid == nid]
        start, end = min(r.start for r in mine), max(r.end for r in mine)
        lines.append(f"Initmem setup node {nid} [mem {start << PAGE_SHIFT:#018x}-"
                     f"{(end << PAGE_SHIFT) - 1:#018x}]")
    for nid, name, count in unavailable_ranges(ranges, max_pfn):
        lines.append(f"On node {nid}, zone {name}: {count} pages in unavailable ranges")
    return lines


def numa_lines(view: MachineView) -> list[str]:
    """arch/x86/mm/numa.c: the dummy node of a machine without NUMA, and each node's
    NODE_DATA ("%#010Lx" addresses)."""
    lines = []
    ranges = memory_pfn_ranges(view)
    if len(view.nodes) == 1 and ranges:
        top = max(r.end for r in ranges) << PAGE_SHIFT
        lines += ["No NUMA configuration found",
                  f"Faking a node at [mem {0:#018x}-{top - 1:#018x}]"]
    for node in view.nodes:
        if node.node_data is not None:
            # roundup(sizeof(pg_data_t), PAGE_SIZE): the size the model allocates.
            lines.append(f"NODE_DATA({node.nid}) allocated [mem {node.node_data:#010x}-"
                         f"{node.node_data + 0x4000 - 1:#010x}]")
    return lines


# Lines whose values only the model's own steps know (the percpu split, the emulated
# nodes, NODE_DATA's size): taken from its console when it printed them.
MODEL_NUMA = ("No NUMA configuration found", "Faking a node at", "Faking node ", "NODE_DATA(")
MODEL_PERCPU = ("setup_percpu:", "percpu: ", "pcpu-alloc:")


def _model_lines(view: MachineView, prefixes: tuple[str, ...]) -> list[str]:
    return [line for line in view.console if line.startswith(prefixes)]


def boot_log(view: MachineView, steps_run: Sequence[str]) -> list[str]:
    """The memory lines of a boot up to the view's step, in console order.

    ``steps_run`` are the boot steps that ran: a line appears once the kernel would
    have printed it. The e820, zone and node lines are computed here from memblock as
    the kernel computes them; the NUMA discovery and percpu lines are the model's own
    (it alone knows the emulated nodes and the percpu split). A model that prints no
    percpu split gets "percpu: Embedded N pages/cpu" cut before s/r/d/u: the fields it
    does not know are left out rather than made up.
    """
    ran = set(steps_run)
    lines: list[str] = []
    if "e820__memory_setup" in ran:
        lines += ["BIOS-provided physical RAM map:", *e820_table(view.e820)]
    if "e820__memblock_setup" in ran:
        lines += e820_fixups() + last_pfn_lines(view.e820, view.paging_levels)
    if "initmem_init" in ran:
        lines += _model_lines(view, MODEL_NUMA) or numa_lines(view)
    if "free_area_init" in ran:
        lines += zone_lines(view)
    if "kasan_init" in ran:
        lines.append("KernelAddressSanitizer initialized")
    if "setup_per_cpu_areas" in ran:
        lines += _model_lines(view, MODEL_PERCPU) or [f"percpu: Embedded {view.percpu_pages} pages/cpu"]
    if view.memory_line:
        lines.append(view.memory_line)
    if view.kmsan_started:
        lines.append("Starting KernelMemorySanitizer")
    return lines
