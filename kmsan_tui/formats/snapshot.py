"""A frozen view of a booted machine: what the kernel's output formats read.

The writers in this package take these plain values, never a ``Simulation``, for two
reasons: a golden test can build the same values from a real /proc sample and check
the writer byte for byte against the kernel's own output, and the formats never
reach into the model's internals. ``view_of()`` is the one place that reads a
simulation.

Zones are listed as the kernel walks them (mm/vmstat.c walk_zones_in_node()): every
node in order, and in each node every zone type of this x86_64 build (DMA, DMA32,
Normal, Movable), populated or not; ``/proc/buddyinfo`` and friends skip the empty
ones themselves, ``/proc/zoneinfo`` prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

from kmsan_tui.model.constants import (
    MAX_DMA32_PFN,
    MAX_DMA_PFN,
    NR_PAGE_ORDERS,
    PAGE_SHIFT,
    PAGETYPEINFO_TYPES,
    pfn_down,
    pfn_up,
)
from kmsan_tui.model.layout_types import E820Entry
from kmsan_tui.model.memblock_types import MAX_NUMNODES
from kmsan_tui.model.simulation import Simulation

# include/linux/mmzone.h: enum zone_type on x86_64 (no HIGHMEM; ZONE_DEVICE last, only
# with CONFIG_ZONE_DEVICE, which the kernels of ../shared/data/procfs do not have).
ZONE_TYPES = ("DMA", "DMA32", "Normal", "Movable")
ZONE_DEVICE = "Device"


@dataclass(frozen=True, slots=True)
class ZoneView:
    """One ``struct zone`` as the /proc and debugfs writers read it (counts in pages)."""

    nid: int
    name: str
    start_pfn: int
    spanned: int
    present: int
    managed: int
    nr_free: int
    buddyinfo: tuple[int, ...]  # free_area[order].nr_free
    free_by_type: tuple[tuple[int, ...], ...] = ()  # [PAGETYPEINFO_TYPES][order]
    pageblocks: tuple[int, ...] = ()  # "Number of blocks type", per PAGETYPEINFO_TYPES

    @property
    def populated(self) -> bool:
        """populated_zone(): the zone has present pages."""
        return self.present > 0


@dataclass(frozen=True, slots=True)
class RegionView:
    """A memblock region: [base, base + size), its node (None: not set) and flags."""

    base: int
    size: int
    nid: int | None
    flags: int


@dataclass(frozen=True, slots=True)
class NodeView:
    """A NUMA node: its range from the layout, its CPUs and where NODE_DATA went."""

    nid: int
    start: int
    end: int
    cpus: int
    node_data: int | None


@dataclass(frozen=True, slots=True)
class MachineView:
    """Everything the output formats print about one machine at one moment."""

    layout: str
    profile: str  # the kernel profile (KERNELS): selects format variants
    sanitizer: str
    strategy: str
    step: str  # the last boot step that ran
    pageblock_order: int
    paging_levels: int
    struct_page_size: int
    e820: tuple[E820Entry, ...]
    nodes: tuple[NodeView, ...]
    zones: tuple[ZoneView, ...]
    memory: tuple[RegionView, ...]
    reserved: tuple[RegionView, ...]
    memory_total_size: int  # memblock.memory.total_size (untrimmed, as the kernel keeps it)
    reserved_total_size: int
    present_pages: int
    totalram_pages: int
    nr_free_pages: int
    percpu_pages: int  # "percpu: Embedded N pages/cpu"
    cpus: int
    memory_line: str | None  # the `Memory:` line, once the boot printed it
    kmsan_started: bool  # "Starting KernelMemorySanitizer" printed
    console: tuple[str, ...] = ()  # the model's own console lines (kind "log"), in order
    zone_device: bool = False  # CONFIG_ZONE_DEVICE: every node has an (empty) Device zone

    def populated_zones(self) -> tuple[ZoneView, ...]:
        return tuple(z for z in self.zones if z.populated)


def zone_bounds(name: str, max_pfn: int) -> tuple[int, int]:
    """arch/x86/mm/init.c zone_sizes_init(): the pfn range a zone type may span
    (ZONE_NORMAL up to max_pfn; ZONE_MOVABLE only with movablecore=, so empty)."""
    if name == "DMA":
        return 0, min(MAX_DMA_PFN, max_pfn)
    if name == "DMA32":
        return min(MAX_DMA_PFN, max_pfn), min(MAX_DMA32_PFN, max_pfn)
    if name == "Normal":
        return min(MAX_DMA32_PFN, max_pfn), max_pfn
    return max_pfn, max_pfn


def view_of(sim: Simulation) -> MachineView:
    """The view of a simulation as it stands (any step, after any workload)."""
    m = sim.machine
    memory = tuple(RegionView(r.base, r.size, r.nid if r.nid != MAX_NUMNODES else None,
                              int(r.flags)) for r in m.memblock.memory.regions)
    reserved = tuple(RegionView(r.base, r.size, r.nid if r.nid != MAX_NUMNODES else None,
                                int(r.flags)) for r in m.memblock.reserved.regions)
    nodes = tuple(NodeView(n.nid, n.start, n.end, n.cpus, m.boot_state.node_data.get(n.nid))
                  for n in sim.layout.nodes)
    by_key = {(z.nid, z.name): z for z in m.zones}
    zone_device = bool(getattr(sim.config, "zone_device", False))
    types = ZONE_TYPES + ((ZONE_DEVICE,) if zone_device else ())
    max_pfn = m.max_pfn if memory else 0
    zones: list[ZoneView] = []
    for node in nodes:
        # The node's span: its first to last memory pfn (get_pfn_range_for_nid()).
        pfns = [(pfn_up(r.base), pfn_down(r.base + r.size)) for r in m.memblock.memory.regions
                if m.region_nid(r.base, r.nid) == node.nid]
        pfns = [(s, e) for s, e in pfns if e > s]
        if not pfns:
            continue
        node_start, node_end = pfns[0][0], pfns[-1][1]
        for name in types:
            zone = by_key.get((node.nid, name))
            if zone is not None:
                by_type = zone.nr_free_by_type()
                blocks = zone.pageblock_counts()
                zones.append(ZoneView(
                    zone.nid, zone.name, zone.start_pfn, zone.spanned_pages, zone.present_pages,
                    zone.managed_pages, zone.nr_free_pages, tuple(zone.buddyinfo()),
                    tuple(tuple(by_type[mt]) for mt in PAGETYPEINFO_TYPES),
                    tuple(blocks.get(mt, 0) for mt in PAGETYPEINFO_TYPES)))
                continue
            # An empty zone: mm/mm_init.c zone_spanned_pages_in_node() clamps the
            # node's span to the zone type's range.
            lo, hi = zone_bounds(name, max_pfn)
            start, end = min(max(node_start, lo), hi), min(max(node_end, lo), hi)
            zones.append(ZoneView(node.nid, name, start if end > start else 0, max(0, end - start),
                                  0, 0, 0, (0,) * NR_PAGE_ORDERS))
    memory_line = next((e.text for e in sim.events if e.text.startswith("Memory: ")), None)
    started = any(e.text == "Starting KernelMemorySanitizer" for e in sim.events)
    return MachineView(
        layout=sim.layout.name, profile=sim.config.version, sanitizer=sim.config.sanitizer,
        strategy=sim.config.strategy, step=sim.step_name,
        pageblock_order=sim.config.pageblock_order, paging_levels=sim.layout.paging_levels,
        struct_page_size=m.struct_page_size, e820=sim.layout.e820, nodes=nodes,
        zones=tuple(zones), memory=memory, reserved=reserved,
        memory_total_size=m.memblock.memory.total_size,
        reserved_total_size=m.memblock.reserved.total_size,
        present_pages=m.present_pages if m.zones else 0,
        totalram_pages=m.counters.totalram_pages,
        nr_free_pages=sum(z.nr_free_pages for z in m.zones),
        percpu_pages=m.image.percpu_pages, cpus=sim.layout.cpus,
        memory_line=memory_line, kmsan_started=started,
        console=tuple(e.text for e in sim.events if e.kind == "log"), zone_device=zone_device)


def phys(pfn: int) -> int:
    """PFN_PHYS()."""
    return pfn << PAGE_SHIFT
