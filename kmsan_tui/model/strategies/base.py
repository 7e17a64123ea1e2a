"""The contract every KMSAN metadata strategy fulfils, and what they share.

mm/kmsan/init.c: kmsan_init_shadow() is common to the eager and lazy schemes: before
the buddy allocator exists, every memblock.reserved range, the kernel's .data and
each NODE_DATA get shadow and origin copies from memblock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from kmsan_tui.model.constants import PAGE_SIZE, pfn_down, pfn_up
from kmsan_tui.model.metadata import Blind, MetaBacking, MetaLink, MetaPattern, MetaRole

if TYPE_CHECKING:
    from kmsan_tui.model.simulation import Simulation

# mm/kmsan/init.c: NUM_FUTURE_RANGES
NUM_FUTURE_RANGES = 128


@dataclass(frozen=True, slots=True)
class VirtualLayout:
    """Where a fixed-address scheme puts shadow and origin, and whether it fits."""

    shadow_start: int
    origin_start: int
    size_each: int  # bytes of virtual space for shadow (and again for origin)
    fits_4level: bool
    fits_5level: bool
    paging_levels: int
    slot: str


class MetadataStrategy(Protocol):
    """Hooks the boot and the allocator call; one implementation per module."""

    name: str
    struct_page_size: int

    def init_shadow(self, sim: Simulation) -> None: ...
    def memblock_free_pages(self, sim: Simulation, pfn: int, order: int, count: int) -> None: ...
    def after_free_all(self, sim: Simulation) -> None: ...
    def on_alloc(self, sim: Simulation, pfn: int, order: int) -> None: ...
    def on_free(self, sim: Simulation, pfn: int, order: int) -> None: ...
    def on_trim(self, sim: Simulation, pfn: int, order: int, nr_pages: int) -> None: ...
    def at_step(self, sim: Simulation, step: str) -> None: ...
    def init_runtime(self, sim: Simulation) -> None: ...
    def page_ext_bytes_per_page(self, sim: Simulation) -> int: ...
    def describe_metadata(self, sim: Simulation, pfn: int, shadow: int | None,
                          origin: int | None) -> tuple[int | None, int | None, dict[str, Any]]: ...
    def virtual_layout(self, sim: Simulation) -> VirtualLayout | None: ...
    def check(self, sim: Simulation) -> list[str]: ...
    def state_tuple(self) -> tuple[Any, ...]: ...


class StrategyBase:
    """Defaults: hand every chunk to the buddy allocator, keep no state."""

    name = "none"
    struct_page_size = 64
    metadata_in = "none"

    def init_shadow(self, sim: Simulation) -> None:
        pass

    def memblock_free_pages(self, sim: Simulation, pfn: int, order: int, count: int) -> None:
        sim.free_pages_core(pfn, order, count)
        sim.counters.totalram_pages += count << order

    def after_free_all(self, sim: Simulation) -> None:
        pass

    def on_alloc(self, sim: Simulation, pfn: int, order: int) -> None:
        pass

    def on_free(self, sim: Simulation, pfn: int, order: int) -> None:
        pass

    def on_trim(self, sim: Simulation, pfn: int, order: int, nr_pages: int) -> None:
        pass

    def at_step(self, sim: Simulation, step: str) -> None:
        pass

    def init_runtime(self, sim: Simulation) -> None:
        pass

    def page_ext_bytes_per_page(self, sim: Simulation) -> int:
        return 0

    def describe_metadata(self, sim: Simulation, pfn: int, shadow: int | None,
                          origin: int | None) -> tuple[int | None, int | None, dict[str, Any]]:
        return shadow, origin, {"metadata_in": self.metadata_in if shadow is not None else None}

    def virtual_layout(self, sim: Simulation) -> VirtualLayout | None:
        return None

    def check(self, sim: Simulation) -> list[str]:
        return []

    def state_tuple(self) -> tuple[Any, ...]:
        return (self.name,)


class NoMetadata(StrategyBase):
    """CONFIG_KMSAN off (sanitizer none or kasan): struct page stays 64 bytes."""


def has_metadata(sim: Simulation, pfn: int) -> bool:
    """Whether pfn is a data page with shadow and origin (kmsan_get_metadata != NULL)."""
    ext = sim.kmsan.get(pfn)
    if ext is None:
        return False
    value = ext[2]
    if isinstance(value, MetaLink):
        return True
    if isinstance(value, MetaPattern):
        return value.role_of(pfn)[0] is None
    return False


def is_metadata(sim: Simulation, pfn: int) -> bool:
    ext = sim.kmsan.get(pfn)
    if ext is None:
        return False
    value = ext[2]
    if isinstance(value, MetaPattern):
        return value.role_of(pfn)[0] is not None
    return not isinstance(value, MetaLink | Blind)


def kmsan_alloc_page_check(sim: Simulation, pfn: int, order: int) -> None:
    """mm/kmsan/hooks.c: kmsan_alloc_page() writes the metadata with no NULL check."""
    for p in (pfn, pfn + (1 << order) - 1):
        if not has_metadata(sim, p):
            sim.counters.no_metadata_allocs += 1
            sim.kmsan.assign(pfn, pfn + (1 << order), Blind("allocated without metadata"))
            sim.log(f"BUG: KMSAN: kmsan_alloc_page: no metadata for pfn {pfn:#x} order {order} "
                    "(the kernel would oops here)", "bug", pfn, 1 << order)
            return


def record_future_ranges(sim: Simulation) -> list[tuple[int, int]]:
    """mm/kmsan/init.c: kmsan_record_future_shadow_range() over the reserved ranges,
    .data and NODE_DATA; returns physical [start, end) byte ranges, page aligned.

    Ranges are recorded by virtual address: reserved ranges and NODE_DATA through the
    direct map, .data through the kernel image mapping, so .data never merges with the
    image's direct-map alias and gets metadata twice (the second copy wins).
    """
    pairs: list[list[int]] = []  # [space, start, end]; space 0 = direct map, 1 = kernel image

    def record(space: int, start: int, end: int) -> None:
        nstart = start & ~(PAGE_SIZE - 1)
        nend = -(-end // PAGE_SIZE) * PAGE_SIZE
        for pair in pairs:
            if pair[0] != space:
                continue
            cstart, cend = pair[1], pair[2]
            # Disjoint only when strictly apart: touching ranges merge; no re-merge pass.
            if (cstart < nstart and cend < nstart) or (cstart > nend and cend > nend):
                continue
            pair[1], pair[2] = min(nstart, cstart), max(nend, cend)
            return
        if len(pairs) == NUM_FUTURE_RANGES:
            sim.log("KMSAN: WARNING: future_index == NUM_FUTURE_RANGES", "warn")
            return
        pairs.append([space, nstart, nend])

    for region in sim.memblock.reserved.regions:
        record(0, region.base, region.end)
    record(1, sim.boot_state.data_start, sim.boot_state.data_end)
    for _nid, addr in sorted(sim.boot_state.node_data.items()):
        record(0, addr, addr + 0x4000)
    return [(s, e) for _, s, e in pairs]


def alloc_meta_for_range(sim: Simulation, start: int, end: int) -> None:
    """mm/kmsan/init.c: kmsan_init_alloc_meta_for_range(): two range-sized memblock_alloc()s."""
    size = end - start
    shadow = sim.mb_alloc(size, PAGE_SIZE, "kmsan_init_shadow (shadow)",
                          caller="kmsan_init_alloc_meta_for_range")
    origin = sim.mb_alloc(size, PAGE_SIZE, "kmsan_init_shadow (origin)",
                          caller="kmsan_init_alloc_meta_for_range")
    first, last = pfn_down(start), pfn_up(end)
    if shadow is None or origin is None:
        # v6.14+ panics (memblock_alloc_or_panic); older kernels dereference NULL.
        sim.counters.meta_alloc_failures += 1
        sim.kmsan.assign(first, last, Blind("kmsan_init_shadow: memblock_alloc failed"))
        sim.log(f"Kernel panic - not syncing: kmsan_init_alloc_meta_for_range: Failed to allocate "
                f"{size} bytes", "bug", first, last - first)
        return
    s, o = pfn_down(shadow), pfn_down(origin)
    sim.kmsan.assign(first, last, MetaLink(s - first, o - first, "kmsan_init_shadow"))
    sim.kmsan.assign(s, s + last - first, MetaBacking(MetaRole.SHADOW, first - s, "kmsan_init_shadow"))
    sim.kmsan.assign(o, o + last - first, MetaBacking(MetaRole.ORIGIN, first - o, "kmsan_init_shadow"))
    sim.log(f"kmsan: metadata for [mem {start:#x}-{end - 1:#x}]: shadow at {shadow:#x}, "
            f"origin at {origin:#x}", "meta", first, last - first)


def init_shadow_for_reserved(sim: Simulation) -> None:
    for start, end in record_future_ranges(sim):
        alloc_meta_for_range(sim, start, end)
