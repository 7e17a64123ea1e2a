"""The simulation: one machine booting one kernel with one KMSAN metadata strategy.

State lives in a few extent structures (DESIGN.md): memblock's region arrays, each
zone's buddy free lists (runs of blocks), an owner map (who reserved or allocated a
pfn range) and the KMSAN metadata map. A page's state is looked up, never stored per
page, so a 16 TiB machine boots in seconds.
"""

from __future__ import annotations

import copy
import hashlib
from bisect import bisect_right
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from kmsan_tui.model import boot
from kmsan_tui.model.buddy import BadPage, Zone
from kmsan_tui.model.constants import (
    MAX_DMA32_PFN,
    MAX_DMA_PFN,
    PAGE_SHIFT,
    MigrateType,
    pfn_down,
    pfn_up,
)
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.events import Event
from kmsan_tui.model.extents import ExtentMap
from kmsan_tui.model.layout import SANITIZERS, STRATEGIES, Layout, load_layout
from kmsan_tui.model.memblock import (
    MEMBLOCK_ALLOC_ACCESSIBLE,
    NUMA_NO_NODE,
    Memblock,
)
from kmsan_tui.model.metadata import MetaValue
from kmsan_tui.model.metrics import Metrics, compute_metrics
from kmsan_tui.model.pages import PageView, page_view
from kmsan_tui.model.strategies import MetadataStrategy, make_strategy

ZONE_NAMES = ("DMA", "DMA32", "Normal")


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


class Simulation:
    """Boot a layout step by step; see DESIGN.md for the public API."""

    def __init__(
        self,
        layout: Layout | str,
        strategy: str | None = None,
        seed: int = 0,
        *,
        sanitizer: str | None = None,
        kernel: str | None = None,
        lazy_activation: str | None = None,
        lazy_storage: str | None = None,
    ) -> None:
        if isinstance(layout, str):
            layout = load_layout(layout)
        changes: dict[str, str] = {}
        for key, value in (("strategy", strategy), ("sanitizer", sanitizer), ("version", kernel),
                           ("lazy_activation", lazy_activation), ("lazy_storage", lazy_storage)):
            if value is not None:
                changes[key] = value
        if strategy is not None and strategy not in STRATEGIES:
            raise UserError(f"unknown strategy {strategy!r} (expected {', '.join(STRATEGIES)})")
        if sanitizer is not None and sanitizer not in SANITIZERS:
            raise UserError(f"unknown sanitizer {sanitizer!r} (expected {', '.join(SANITIZERS)})")
        if kernel is not None and kernel not in ("v6.1", "mainline"):
            raise UserError(f"unknown kernel {kernel!r} (expected v6.1, mainline)")
        self.layout = layout.with_kernel(**changes) if changes else layout
        self.config = self.layout.kernel
        self.seed = seed
        self.rng = np.random.Generator(np.random.PCG64(seed))
        self.memblock = Memblock(debug=True)
        self.zones: list[Zone] = []
        self._zone_starts: list[int] = []
        self._zonelists: dict[int, list[Zone]] = {}  # build_all_zonelists(), per node
        self.owners: ExtentMap[str] = ExtentMap()
        self.kmsan: ExtentMap[MetaValue] = ExtentMap()
        self.strategy: MetadataStrategy = make_strategy(self.config)
        self.counters = Counters()
        self.events: list[Event] = []
        self.live = LiveAllocations()
        self.step_names_run: list[str] = []
        self.handed_over = False
        self.kmsan_enabled = False
        self.slab_ready = False
        self._step_defs = boot.steps_for(self.config)
        self.current = 0
        self._step_name = ""
        self.image = self.config.image()
        self.boot_state = boot.BootState()

    def __deepcopy__(self, memo: dict[int, Any]) -> Simulation:
        """An independent checkpoint in O(extents): immutable parts are shared.

        The layout, the step definitions and every Event and metadata value are frozen;
        only containers are copied (the zones and memblock by their own fast copies).
        """
        new = Simulation.__new__(Simulation)
        memo[id(self)] = new
        shared = {"layout", "config", "image", "_step_defs"}
        for key, value in self.__dict__.items():
            if key in shared:
                new.__dict__[key] = value
            elif key == "events":
                new.events = list(value)
            elif key == "step_names_run":
                new.step_names_run = list(value)
            else:
                new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    # ---------------------------------------------------------------- stepping

    @property
    def steps(self) -> list[str]:
        """Boot steps in order, named after the kernel functions."""
        return [s.name for s in self._step_defs]

    @property
    def step_info(self) -> list[boot.BootStep]:
        """The step definitions, with kernel source references and explanations."""
        return list(self._step_defs)

    @property
    def done(self) -> bool:
        return self.current >= len(self._step_defs)

    @property
    def sanitizer(self) -> str:
        return self.config.sanitizer

    @property
    def kmsan_active(self) -> bool:
        """Whether a KMSAN metadata strategy applies (sanitizer kmsan)."""
        return self.config.sanitizer == "kmsan"

    @property
    def struct_page_size(self) -> int:
        return self.strategy.struct_page_size if self.kmsan_active else 64

    def step(self) -> list[Event]:
        """Run the next boot step; return the events it produced."""
        if self.done:
            raise UserError("the boot has finished: no step left to run")
        definition = self._step_defs[self.current]
        first = len(self.events)
        self._step_name = definition.name
        definition.run(self)
        self.current += 1
        self.step_names_run.append(definition.name)
        return self.events[first:]

    def index_of(self, name: str) -> int:
        try:
            return self.steps.index(name)
        except ValueError:
            raise UserError(
                f"unknown step {name!r} for kernel {self.config.version} "
                f"(steps: {', '.join(self.steps)})") from None

    def run_to(self, name: str) -> list[Event]:
        """Run every step up to and including ``name``."""
        target = self.index_of(name)
        first = len(self.events)
        while self.current <= target:
            self.step()
        return self.events[first:]

    def run(self) -> list[Event]:
        """Run every remaining step."""
        first = len(self.events)
        while not self.done:
            self.step()
        return self.events[first:]

    def log(self, text: str, kind: str = "log", pfn: int | None = None, nr_pages: int = 0) -> None:
        self.events.append(Event(self._step_name or "boot", text, kind, pfn, nr_pages))

    def _drain_memblock_log(self) -> None:
        if self.memblock.log:
            for line in self.memblock.log:
                self.events.append(Event(self._step_name, line, "memblock"))
            self.memblock.log.clear()

    # ---------------------------------------------------------------- memblock

    def own(self, base: int, size: int, owner: str) -> None:
        """Record who holds the pages covering [base, base+size) (page granular)."""
        if size > 0:
            self.owners.assign(pfn_down(base), pfn_up(base + size), owner)

    def mb_reserve(self, base: int, size: int, owner: str, caller: str | None = None) -> None:
        self.memblock.reserve(base, size, caller=caller or owner)
        self._drain_memblock_log()
        self.own(base, size, owner)

    def mb_alloc(self, size: int, align: int, owner: str, *, min_addr: int = 0,
                 max_addr: int = MEMBLOCK_ALLOC_ACCESSIBLE, nid: int = NUMA_NO_NODE,
                 api: str = "alloc_try_nid", caller: str | None = None) -> int | None:
        """A memblock allocation through one of the kernel's entry points, recorded as owner's."""
        fn = getattr(self.memblock, api)
        if api in ("phys_alloc_range",):
            addr = fn(size, align, min_addr, max_addr, caller=caller or owner)
        else:
            addr = fn(size, align, min_addr, max_addr, nid, caller=caller or owner)
        self._drain_memblock_log()
        if addr is None:
            self.log(f"{owner}: Failed to allocate {size} bytes align={align:#x} nid={nid}",
                     "warn")
            return None
        self.own(addr, size, owner)
        return int(addr)

    def mb_phys_free(self, base: int, size: int, caller: str) -> None:
        self.memblock.phys_free(base, size, caller=caller)
        self._drain_memblock_log()
        # Partially freed pages stay owned: memblock_free_all only frees whole free pages.
        first, last = pfn_up(base), pfn_down(base + size)
        if last > first:
            self.owners.remove(first, last)

    # ---------------------------------------------------------------- zones

    def build_zones(self) -> None:
        """mm/mm_init.c: free_area_init(): zone spans per node from memblock.memory."""
        self.zones = []
        bounds = ((0, MAX_DMA_PFN), (MAX_DMA_PFN, MAX_DMA32_PFN), (MAX_DMA32_PFN, 1 << 52))
        for node in self.layout.nodes:
            ranges = [(pfn_up(r.base), pfn_down(r.end)) for r in self.memblock.memory.regions
                      if self._region_nid(r.base, r.nid) == node.nid]
            ranges = [(s, e) for s, e in ranges if e > s]
            if not ranges:
                continue
            for name, (lo, hi) in zip(ZONE_NAMES, bounds, strict=True):
                present = [(max(s, lo), min(e, hi)) for s, e in ranges if s < hi and e > lo]
                if not present:
                    continue
                zone = Zone(node.nid, name, present[0][0], present[-1][1], present,
                            pageblock_order=self.config.pageblock_order)
                self.zones.append(zone)
        self.zones.sort(key=lambda z: z.start_pfn)
        self._zone_starts = [z.start_pfn for z in self.zones]
        self._zonelists = {}

    def _region_nid(self, base: int, nid: int) -> int:
        if 0 <= nid < 1024:
            return nid
        return self.node_of_pfn(base >> PAGE_SHIFT)

    def node_of_pfn(self, pfn: int) -> int:
        addr = pfn << PAGE_SHIFT
        for node in self.layout.nodes:
            if node.start <= addr < node.end:
                return node.nid
        return self.layout.nodes[-1].nid

    def zone_of(self, pfn: int) -> Zone | None:
        i = bisect_right(self._zone_starts, pfn) - 1
        if i >= 0 and pfn < self.zones[i].end_pfn:
            return self.zones[i]
        return None

    def zonelist(self, nid: int = 0) -> list[Zone]:
        """mm/page_alloc.c: build_zonelists(): nearest node first, each node's zones high to low."""
        cached = self._zonelists.get(nid)
        if cached is None:
            nids = sorted({z.nid for z in self.zones}, key=lambda n: (abs(n - nid), n))
            cached = [zone for n in nids for zone in
                      sorted((z for z in self.zones if z.nid == n), key=lambda z: -z.start_pfn)]
            self._zonelists[nid] = cached
        return cached

    # ---------------------------------------------------------------- buddy

    def alloc_pages_raw(self, order: int, migratetype: MigrateType, nid: int = 0) -> int | None:
        """__alloc_pages() without the KMSAN hook (what metadata allocations use)."""
        for zone in self.zonelist(nid):
            pfn = zone.alloc_pages(order, migratetype)
            if pfn is not None:
                return pfn
        return None

    def alloc_pages(self, order: int, migratetype: MigrateType, owner: str, nid: int = 0,
                    slab: bool = False, track: bool = False, quiet: bool = False) -> int | None:
        """__alloc_pages() followed by kmsan_alloc_page() as the strategy does it.

        ``track`` puts the block among the allocations a workload may free.
        """
        pfn = self.alloc_pages_raw(order, migratetype, nid)
        if pfn is None:
            if not quiet:
                self.log(f"{owner}: page allocation failure: order:{order}, "
                         f"mode:{migratetype.label}", "warn")
            return None
        self.owners.assign(pfn, pfn + (1 << order), f"slab:{owner}" if slab else owner)
        if track:
            self.live.add(pfn)
        if self.kmsan_active:
            self.strategy.on_alloc(self, pfn, order)
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
        if self.kmsan_active:
            self.strategy.on_trim(self, pfn, order, nr_pages)

    def free_pages(self, pfn: int, quiet: bool = False) -> bool:
        """__free_pages() of a block this simulation allocated; a bad free is reported, not applied."""
        zone = self.zone_of(pfn)
        block = zone.allocated_block(pfn) if zone else None
        if zone is None or block is None or block[0] != pfn:
            self.counters.bad_pages += 1
            self.log(str(BadPage(pfn, "freeing a page that is not allocated")), "bug", pfn, 1)
            return False
        order = block[1]
        if self.kmsan_active:
            self.strategy.on_free(self, pfn, order)
        try:
            zone.free_pages(pfn, order)
        except BadPage as exc:
            self.counters.bad_pages += 1
            self.log(str(exc), "bug", pfn, 1 << order)
            return False
        self.owners.remove(pfn, pfn + (1 << order))
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

    # ---------------------------------------------------------------- pages

    def page(self, pfn: int) -> PageView:
        """A read-only view of ``struct page`` for pfn (any pfn: holes included)."""
        return page_view(self, pfn)

    @property
    def max_pfn(self) -> int:
        return pfn_down(self.memblock.end_of_DRAM()) if self.memblock.memory.regions else \
            pfn_up(max(e.end + 1 for e in self.layout.e820 if e.type == "usable"))

    @property
    def present_pages(self) -> int:
        return sum(max(0, pfn_down(r.end) - pfn_up(r.base)) for r in self.memblock.memory.regions)

    # ---------------------------------------------------------------- summaries

    def metrics(self) -> Metrics:
        return compute_metrics(self)

    def check(self) -> list[str]:
        """Invariant violations (empty when the state is consistent)."""
        from kmsan_tui.model.invariants import check_simulation

        return check_simulation(self)

    def _memory_hash(self) -> hashlib.blake2b:
        h = hashlib.blake2b(digest_size=16)
        h.update(repr(self.memblock.state_tuple()).encode())
        for zone in self.zones:
            h.update(repr(zone.state_tuple()).encode())
        h.update(repr(list(self.owners)).encode())
        h.update(repr(list(self.kmsan)).encode())
        return h

    def memory_digest(self) -> str:
        """A digest of memory alone (memblock, zones, owners, KMSAN map): equal before and
        after a step that only prints, unlike digest()."""
        return self._memory_hash().hexdigest()

    def digest(self) -> str:
        """A deterministic hex digest of the whole state."""
        h = self._memory_hash()
        h.update(repr(self.counters).encode())
        h.update(repr(self.strategy.state_tuple()).encode())
        h.update(f"{self.current}:{len(self.events)}".encode())
        return h.hexdigest()
