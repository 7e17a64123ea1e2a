"""The machine: the kernel's memory state and the kernel-level operations on it.

One ``Machine`` is what a booting kernel has: memblock, the zones and their free
areas, who owns which pages, the KMSAN metadata map, counters and the console log,
plus the calls that change them under the kernel's names (``memblock_alloc``,
``__alloc_pages``, ``__free_pages``, ``__free_pages_core``...). Boot steps,
strategies, metrics, invariants and workloads take a Machine; stepping, digests and
the public API live in the thin ``Simulation`` facade above it.

State lives in a few extent structures (DESIGN.md): memblock's region arrays, each
zone's buddy free lists (runs of blocks), an owner map (who reserved or allocated a
pfn range) and the KMSAN metadata map. A page's state is looked up, never stored per
page, so a 16 TiB machine boots in seconds.

The KMSAN strategy is not known here: the allocator calls the ``KmsanHooks`` it was
given on every allocation and free (mm/kmsan/hooks.c: kmsan_alloc_page(),
kmsan_free_page()), as the kernel calls its hooks.
"""

from __future__ import annotations

import copy
import hashlib
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from kmsan_tui.model.blockmap import BlockMap
from kmsan_tui.model.buddy import BadPage, Zone
from kmsan_tui.model.constants import (
    MAX_DMA32_PFN,
    MAX_DMA_PFN,
    PAGE_SHIFT,
    PAGES_PER_SECTION,
    MigrateType,
    pfn_down,
    pfn_up,
)
from kmsan_tui.model.events import Event, EventKind
from kmsan_tui.model.layout_types import KernelConfig, KernelImage, Layout
from kmsan_tui.model.memblock import MEMBLOCK_ALLOC_ACCESSIBLE, NUMA_NO_NODE, Memblock
from kmsan_tui.model.metadata import MetaValue
from kmsan_tui.model.profiles import KernelProfile, profile_for

ZONE_NAMES = ("DMA", "DMA32", "Normal")
# enum zone_type: the index lowmem_reserve[] is read at for GFP_KERNEL/GFP_USER requests.
ZONE_NORMAL = 2
# include/linux/numa.h: LOCAL_DISTANCE, REMOTE_DISTANCE (no SLIT in these layouts).
LOCAL_DISTANCE = 10
REMOTE_DISTANCE = 20


class KmsanHooks(Protocol):
    """What the page allocator calls on every allocation and free (mm/kmsan/hooks.c)."""

    def on_alloc(self, m: Machine, pfn: int, order: int) -> None:
        """kmsan_alloc_page(): at the end of __alloc_pages()."""

    def on_free(self, m: Machine, pfn: int, order: int) -> None:
        """kmsan_free_page(): before the block goes back to the free lists."""

    def free_refused(self, m: Machine, pfn: int, order: int) -> str | None:
        """Why __free_pages() of this block must be refused as bad_page() would refuse
        it (it is not a live data allocation: KMSAN metadata, say), or None."""

    def on_trim(self, m: Machine, pfn: int, order: int, nr_pages: int) -> None:
        """make_alloc_exact(): the tail of a block past nr_pages is freed."""


@dataclass(slots=True)
class Counters:
    """Running totals the metrics report (all in pages unless named otherwise)."""

    totalram_pages: int = 0  # mm: _totalram_pages (what memblock_free_all accounted)
    memblock_freed_pages: int = 0  # pages memblock_free_all passed to memblock_free_pages
    backfill_walked: int = 0  # lazy: struct pages visited by the back-fill walk
    backfill_blocks: int = 0  # lazy: allocated blocks given metadata after the fact
    vmap_repaired: int = 0  # lazy: vmap ranges whose shadow mapping had to be redone
    meta_alloc_failures: int = 0  # metadata allocations that failed
    no_metadata_allocs: int = 0  # kmsan_alloc_page() on a page without metadata
    bad_pages: int = 0
    workload_ops: int = 0
    workload_failures: int = 0
    reclaimed_allocations: int = 0  # workload allocations freed by kswapd/direct reclaim
    vmap_areas: int = 0  # vmap ranges created so far
    pagetable_pages: int = 0


@dataclass(slots=True)
class LiveAllocations:
    """Buddy allocations a workload may free, with O(1) random removal."""

    pfns: list[int] = field(default_factory=list)
    index: dict[int, int] = field(default_factory=dict)

    def add(self, pfn: int) -> None:
        self.index[pfn] = len(self.pfns)
        self.pfns.append(pfn)

    def remove(self, pfn: int) -> None:
        i = self.index.pop(pfn)
        last = self.pfns.pop()
        if last != pfn:
            self.pfns[i] = last
            self.index[last] = i

    def __len__(self) -> int:
        return len(self.pfns)


@dataclass(slots=True)
class BootState:
    """Addresses early steps hand to later ones (NODE_DATA, .data, page tables)."""

    node_data: dict[int, int] = field(default_factory=dict)
    node_data_size: int = 0  # bytes of each NODE_DATA (roundup(sizeof(pg_data_t), PAGE_SIZE))
    data_start: int = 0
    data_end: int = 0
    vmalloc_pgtable_pages: list[int] = field(default_factory=list)
    # free_area_init(): what the zones start with before memblock hands anything over.
    early_managed: list[int] = field(default_factory=list)  # per Machine.zones entry
    dma_reserve: int = 0  # memblock_find_dma_reserve(): reserved pages below 16 MiB
    nr_kernel_pages: int = 0  # what alloc_large_system_hash() sizes tables from
    nr_all_pages: int = 0
    min_free_kbytes: int = 0  # init_per_zone_wmark_min()
    # efi_reserve_boot_services(): [start, end] ranges efi_free_boot_services() frees.
    efi_boot_services: list[tuple[int, int]] = field(default_factory=list)
    # mem_init_print_info(): the Memory: line as the kernel printed it ("" until then).
    printed_memory_line: str = ""


class NoHooks:
    """A kernel without CONFIG_KMSAN: the allocator calls nothing."""

    def on_alloc(self, m: Machine, pfn: int, order: int) -> None:
        pass

    def on_free(self, m: Machine, pfn: int, order: int) -> None:
        pass

    def free_refused(self, m: Machine, pfn: int, order: int) -> str | None:
        return None

    def on_trim(self, m: Machine, pfn: int, order: int, nr_pages: int) -> None:
        pass


class Machine:
    """Memblock, zones, owners and KMSAN metadata of one booting kernel."""

    def __init__(self, layout: Layout, seed: int = 0, *, hooks: KmsanHooks | None = None,
                 struct_page_size: int = 64) -> None:
        """A machine before the first boot step: memblock empty, no zones.

        ``hooks`` is called on every buddy allocation and free; ``struct_page_size``
        is sizeof(struct page) in this kernel build (80 with KMSAN's pointers).
        """
        self.layout = layout
        self.config: KernelConfig = layout.kernel
        self.profile: KernelProfile = profile_for(self.config.version)
        self.image: KernelImage = self.config.image()
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.hooks: KmsanHooks = hooks if hooks is not None else NoHooks()
        self.struct_page_size = struct_page_size
        self.memblock = Memblock(debug=True)
        self.zones: list[Zone] = []
        self._zone_starts: list[int] = []
        self._zonelists: dict[int, list[Zone]] = {}  # build_all_zonelists(), per node
        # Who reserved or allocated each page, and the KMSAN metadata map: ranges, plus
        # buddy blocks in O(1) (a workload adds and frees millions of them).
        self.owners: BlockMap[str] = BlockMap()
        self.kmsan: BlockMap[MetaValue] = BlockMap()
        self.counters = Counters()
        self.events: list[Event] = []
        self.live = LiveAllocations()
        self.handed_over = False  # memblock_free_all() has run
        self.kmsan_enabled = False  # kmsan_init_runtime() has run
        self.slab_ready = False  # kmem_cache_init() has run
        self.boot_state = BootState()
        self.step_name = ""  # the init call running now: it tags the log lines

    def __deepcopy__(self, memo: dict[int, Any]) -> Machine:
        """An independent checkpoint in O(extents): immutable parts are shared.

        The layout, the config, the image and every Event and metadata value are
        frozen; only containers are copied (zones and memblock by their own fast copies).
        """
        new = Machine.__new__(Machine)
        memo[id(self)] = new
        shared = {"layout", "config", "image", "profile"}
        for key, value in self.__dict__.items():
            if key in shared:
                new.__dict__[key] = value
            elif key == "events":
                new.events = list(value)
            else:
                new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    @property
    def kmsan_active(self) -> bool:
        """CONFIG_KMSAN: whether a metadata strategy applies (sanitizer kmsan)."""
        return self.config.sanitizer == "kmsan"

    # ---------------------------------------------------------------- the log

    def log(self, text: str, kind: EventKind = "log", pfn: int | None = None,
            nr_pages: int = 0) -> None:
        """One console line (printk), tagged with the running init call."""
        self.events.append(Event(self.step_name or "boot", text, kind, pfn, nr_pages))

    def drain_memblock_log(self) -> None:
        """Move memblock=debug lines memblock printed into the console log."""
        if self.memblock.log:
            for line in self.memblock.log:
                self.events.append(Event(self.step_name, line, "memblock"))
            self.memblock.log.clear()

    # ---------------------------------------------------------------- memblock

    def own(self, base: int, size: int, owner: str) -> None:
        """Record who holds the pages covering [base, base+size) (page granular)."""
        if size > 0:
            self.owners.assign(pfn_down(base), pfn_up(base + size), owner)

    def mb_reserve(self, base: int, size: int, owner: str, caller: str | None = None) -> None:
        """memblock_reserve(), recorded as ``owner``'s."""
        self.memblock.reserve(base, size, caller=caller or owner)
        self.drain_memblock_log()
        self.own(base, size, owner)

    def mb_alloc(self, size: int, align: int, owner: str, *, min_addr: int = 0,
                 max_addr: int = MEMBLOCK_ALLOC_ACCESSIBLE, nid: int = NUMA_NO_NODE,
                 api: str = "alloc_try_nid", caller: str | None = None) -> int | None:
        """A memblock allocation through one of the kernel's entry points, recorded as
        owner's; None (and a warning line) when memblock has no room."""
        fn = getattr(self.memblock, api)
        if api == "phys_alloc_range":
            addr = fn(size, align, min_addr, max_addr, caller=caller or owner)
        else:
            addr = fn(size, align, min_addr, max_addr, nid, caller=caller or owner)
        self.drain_memblock_log()
        if addr is None:
            self.log(f"{owner}: Failed to allocate {size} bytes align={align:#x} nid={nid}",
                     "warn")
            return None
        self.own(addr, size, owner)
        return int(addr)

    def mb_phys_free(self, base: int, size: int, caller: str) -> None:
        """memblock_phys_free(): give a range back before the hand-over."""
        self.memblock.phys_free(base, size, caller=caller)
        self.drain_memblock_log()
        # Partially freed pages stay owned: memblock_free_all only frees whole free pages.
        first, last = pfn_up(base), pfn_down(base + size)
        if last > first:
            self.owners.remove(first, last)

    def region_nid(self, base: int, nid: int) -> int:
        """The node of a memblock region: its own nid, or the layout's node at ``base``."""
        if 0 <= nid < 1024:
            return nid
        return self.node_of_pfn(base >> PAGE_SHIFT)

    def node_of_pfn(self, pfn: int) -> int:
        """The layout's node holding pfn (the last node past the end)."""
        addr = pfn << PAGE_SHIFT
        for node in self.layout.nodes:
            if node.start <= addr < node.end:
                return node.nid
        return self.layout.nodes[-1].nid

    def present_sections(self, nid: int | None = None) -> int:
        """Memory sections with present pages (of node ``nid``; of every node when None).

        mm/sparse.c: memblocks_present() marks each section a memblock.memory region
        touches. Counted from the regions' section spans, not section by section.
        """
        spans: list[tuple[int, int]] = []
        for r in self.memblock.memory.regions:
            if nid is not None and self.region_nid(r.base, r.nid) != nid:
                continue
            first, last = pfn_up(r.base), pfn_down(r.end)
            if last > first:
                spans.append((first // PAGES_PER_SECTION, (last - 1) // PAGES_PER_SECTION + 1))
        count, reach = 0, -1
        for lo, hi in sorted(spans):  # the union of the spans (regions are sorted already)
            lo = max(lo, reach)
            if hi > lo:
                count += hi - lo
            reach = max(reach, hi)
        return count

    @property
    def max_pfn(self) -> int:
        """The end of RAM (memblock's, or the firmware map's before memblock knows it)."""
        if self.memblock.memory.regions:
            return pfn_down(self.memblock.end_of_DRAM())
        return pfn_up(max(e.end + 1 for e in self.layout.e820 if e.type == "usable"))

    @property
    def present_pages(self) -> int:
        """Whole pages of memblock.memory."""
        return sum(max(0, pfn_down(r.end) - pfn_up(r.base)) for r in self.memblock.memory.regions)

    # ---------------------------------------------------------------- zones

    def build_zones(self) -> None:
        """mm/mm_init.c: free_area_init(): zone spans per node from memblock.memory.

        zone_spanned_pages_in_node(): a zone spans its type's pfn limits clipped to the
        node's first and last memory pfn, holes included (DMA32 on a 4 GiB machine spans
        up to 4 GiB though RAM stops below the PCI hole); a zone with no RAM is left out."""
        self.zones = []
        bounds = ((0, MAX_DMA_PFN), (MAX_DMA_PFN, MAX_DMA32_PFN), (MAX_DMA32_PFN, 1 << 52))
        for node in self.layout.nodes:
            ranges = [(pfn_up(r.base), pfn_down(r.end)) for r in self.memblock.memory.regions
                      if self.region_nid(r.base, r.nid) == node.nid]
            ranges = [(s, e) for s, e in ranges if e > s]
            if not ranges:
                continue
            node_start, node_end = ranges[0][0], ranges[-1][1]
            for name, (lo, hi) in zip(ZONE_NAMES, bounds, strict=True):
                present = [(max(s, lo), min(e, hi)) for s, e in ranges if s < hi and e > lo]
                if not present:
                    continue
                zone = Zone(node.nid, name, max(node_start, lo), min(node_end, hi), present,
                            pageblock_order=self.config.pageblock_order,
                            fallback=self.profile.fallback)
                self.zones.append(zone)
        self.zones.sort(key=lambda z: z.start_pfn)
        self._zone_starts = [z.start_pfn for z in self.zones]
        self._zonelists = {}

    def zone_of(self, pfn: int) -> Zone | None:
        """page_zone(): the zone whose span holds pfn, or None."""
        i = bisect_right(self._zone_starts, pfn) - 1
        if i >= 0 and pfn < self.zones[i].end_pfn:
            return self.zones[i]
        return None

    def fallback_order(self) -> dict[int, list[int]]:
        """mm/page_alloc.c: build_zonelists() -> find_next_best_node(), node by node in
        nid order: the local node, then the others by distance, the next higher nid
        preferred ("(n < node)" penalty), nodes without CPUs preferred, and a load
        penalty on the first node of each distance group so that equal nodes are
        taken round-robin (node_load[] carries over from one node's list to the next)."""
        nids = sorted({z.nid for z in self.zones})
        with_cpus = {n.nid for n in self.layout.nodes if n.cpus}
        load = dict.fromkeys(nids, 0)
        orders: dict[int, list[int]] = {}
        for local in nids:
            order = [local]
            used = {local}
            prev = local
            while len(order) < len(nids):
                best, best_val = -1, 0
                for n in nids:
                    if n in used:
                        continue
                    val = REMOTE_DISTANCE + (n < local) + (1 if n in with_cpus else 0)
                    val = val * 1024 + load[n]
                    if best < 0 or val < best_val:
                        best, best_val = n, val
                used.add(best)
                distance = LOCAL_DISTANCE if best == local else REMOTE_DISTANCE
                if distance != (LOCAL_DISTANCE if prev == local else REMOTE_DISTANCE):
                    load[best] += 1
                order.append(best)
                prev = best
            orders[local] = order
        return orders

    def zonelist(self, nid: int = 0) -> list[Zone]:
        """mm/page_alloc.c: build_zonelists_in_node_order(): the nodes in fallback order,
        each node's zones from the highest to the lowest."""
        cached = self._zonelists.get(nid)
        if cached is None:
            orders = self.fallback_order()
            nids: list[int] = []
            if orders:
                nids = orders[nid] if nid in orders else orders[min(orders)]
            cached = [zone for n in nids for zone in
                      sorted((z for z in self.zones if z.nid == n), key=lambda z: -z.start_pfn)]
            self._zonelists[nid] = cached
        return cached

    # ---------------------------------------------------------------- buddy

    def alloc_pages_raw(self, order: int, migratetype: MigrateType, nid: int = 0) -> int | None:
        """__alloc_pages() without the KMSAN hook (what metadata allocations use).

        get_page_from_freelist() walks the zonelist and skips a zone that would drop
        below its low watermark plus lowmem_reserve[ZONE_NORMAL] (zone_watermark_ok());
        the slowpath (kswapd woken) walks it again against the min watermark. Direct
        reclaim and compaction are not modelled: past min, the allocation fails
        (workloads reclaim explicitly, see workloads.py)."""
        zonelist = self.zonelist(nid)
        for mark in (1, 0):  # ALLOC_WMARK_LOW, then ALLOC_WMARK_MIN
            for zone in zonelist:
                if not zone.watermark_ok(order, zone.watermark[mark], ZONE_NORMAL):
                    continue
                pfn = zone.alloc_pages(order, migratetype)
                if pfn is not None:
                    return pfn
        return None

    def alloc_pages(self, order: int, migratetype: MigrateType, owner: str, nid: int = 0,
                    slab: bool = False, track: bool = False, quiet: bool = False) -> int | None:
        """__alloc_pages() followed by kmsan_alloc_page().

        ``track`` puts the block among the allocations a workload may free.
        """
        pfn = self.alloc_pages_raw(order, migratetype, nid)
        if pfn is None:
            if not quiet:
                self.log(f"{owner}: page allocation failure: order:{order}, "
                         f"mode:{migratetype.label}", "warn")
            return None
        self.owners.assign_block(pfn, order, f"slab:{owner}" if slab else owner)
        if track:
            self.live.add(pfn)
        self.hooks.on_alloc(self, pfn, order)
        if not quiet:
            self.log(f"{owner}: alloc_pages order:{order} {migratetype.label} -> pfn {pfn:#x}",
                     "alloc", pfn, 1 << order)
        return pfn

    def trim_exact(self, pfn: int, order: int, nr_pages: int) -> None:
        """mm/page_alloc.c: make_alloc_exact(): keep nr_pages, free the rest of the block."""
        if nr_pages >= 1 << order:
            return
        zone = self.zone_of(pfn)
        assert zone is not None
        zone.make_alloc_exact(pfn, nr_pages)
        self.owners.remove(pfn + nr_pages, pfn + (1 << order))
        self.hooks.on_trim(self, pfn, order, nr_pages)

    def free_pages(self, pfn: int, quiet: bool = False) -> bool:
        """__free_pages() of a block this machine allocated; a bad free is reported, not applied."""
        zone = self.zone_of(pfn)
        order = zone.allocated_order(pfn) if zone is not None else None
        if zone is None or order is None:  # no block starts here (inside one included)
            self.counters.bad_pages += 1
            self.log(str(BadPage(pfn, "freeing a page that is not allocated")), "bug", pfn, 1)
            return False
        refused = self.hooks.free_refused(self, pfn, order)
        if refused is not None:
            self.counters.bad_pages += 1
            self.log(str(BadPage(pfn, refused)), "bug", pfn, 1 << order)
            return False
        self.hooks.on_free(self, pfn, order)
        try:
            zone.free_pages(pfn, order)
        except BadPage as exc:
            self.counters.bad_pages += 1
            self.log(str(exc), "bug", pfn, 1 << order)
            return False
        self.owners.remove_block(pfn, order)
        if pfn in self.live.index:
            self.live.remove(pfn)
        if not quiet:
            self.log(f"free_pages pfn {pfn:#x} order:{order}", "free", pfn, 1 << order)
        return True

    def free_pages_core(self, pfn: int, order: int, count: int = 1, stride: int | None = None) -> None:
        """mm/page_alloc.c: __free_pages_core() for memblock's hand-over, run by run."""
        size = 1 << order
        step = stride or size
        zone = self.zone_of(pfn)
        assert zone is not None, f"pfn {pfn:#x} is in no zone"
        last = pfn + (count - 1) * step
        if last + size <= zone.end_pfn:
            zone.free_pages_core(pfn, order, count, step)
            return
        # A run that crosses into the next zone is handed over zone by zone.
        done = 0
        while done < count:
            start = pfn + done * step
            zone = self.zone_of(start)
            assert zone is not None
            n = min(count - done, (zone.end_pfn - size - start) // step + 1)
            zone.free_pages_core(start, order, n, step)
            done += n

    # ---------------------------------------------------------------- digest

    def memory_hash(self) -> hashlib.blake2b:
        """A running hash of memory alone: memblock, zones, owners, the KMSAN map."""
        h = hashlib.blake2b(digest_size=16)
        h.update(repr(self.memblock.state_tuple()).encode())
        for zone in self.zones:
            h.update(repr(zone.state_tuple()).encode())
        h.update(repr(list(self.owners)).encode())
        h.update(repr(list(self.kmsan)).encode())
        return h
