"""The contract every KMSAN metadata strategy fulfils, and what they share.

mm/kmsan/init.c: kmsan_init_shadow() is common to the eager and lazy schemes: before
the buddy allocator exists, every memblock.reserved range, the kernel's .data and
each NODE_DATA get shadow and origin copies from memblock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, Self

from kmsan_tui.model.constants import PAGE_SIZE, pfn_down, pfn_up
from kmsan_tui.model.layout_types import KernelConfig
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import Blind, MetaBacking, MetaLink, MetaPattern, MetaRole

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
    """Hooks the boot and the allocator call; one implementation per module.

    Every hook takes the ``Machine`` it acts on; a strategy keeps only its own state
    (held_back[], the lazy metadata blocks...), so it can be tested on a tiny machine.
    The allocator hooks (``on_alloc``, ``on_free``, ``on_trim``) are the machine's
    ``KmsanHooks``.
    """

    name: str
    struct_page_size: int  # sizeof(struct page) in this build: 80 with the two pointers
    metadata_in: str  # where a data page's metadata pointers live, for the inspector

    def init_shadow(self, m: Machine) -> None:
        """mm/kmsan/init.c: kmsan_init_shadow(), before the buddy allocator exists."""
    def memblock_free_pages(self, m: Machine, pfn: int, order: int, count: int) -> None:
        """memblock_free_pages() for ``count`` chunks of ``order`` from pfn (the hand-over)."""
    def after_free_all(self, m: Machine) -> None:
        """Right after memblock_free_all()."""
    def on_alloc(self, m: Machine, pfn: int, order: int) -> None:
        """kmsan_alloc_page(): at the end of __alloc_pages()."""
    def on_free(self, m: Machine, pfn: int, order: int) -> None:
        """kmsan_free_page(): before the block goes back to the free lists."""
    def free_refused(self, m: Machine, pfn: int, order: int) -> str | None:
        """Why freeing this block must be refused (bad_page()), or None."""
    def on_trim(self, m: Machine, pfn: int, order: int, nr_pages: int) -> None:
        """make_alloc_exact() freed the tail of a block past nr_pages."""
    def at_step(self, m: Machine, step: str) -> None:
        """An init call the strategy may start at (mem_init, vmalloc_init, page_ext_init)."""
    def init_runtime(self, m: Machine) -> None:
        """mm/kmsan/init.c: kmsan_init_runtime()."""
    def page_ext_bytes_per_page(self, m: Machine) -> int:
        """Bytes per page the strategy asks of page_ext (a page_ext_operations.size)."""
    def buddy_metadata_pages(self) -> int:
        """Pages of metadata the strategy took from the buddy allocator (managed, but
        not usable for data)."""
    def describe_metadata(self, m: Machine, pfn: int, shadow: int | None,
                          origin: int | None) -> tuple[int | None, int | None, dict[str, Any]]:
        """The inspector's view of pfn's metadata: shadow, origin and extra fields."""
    def virtual_layout(self, m: Machine) -> VirtualLayout | None:
        """Where a fixed-address scheme puts shadow and origin (None: not fixed)."""
    def check(self, m: Machine) -> list[str]:
        """Invariant violations of the strategy's own promises."""
    def state_tuple(self) -> tuple[Any, ...]:
        """The strategy's state, for the digest."""


class StrategyBase:
    """Defaults: hand every chunk to the buddy allocator, keep no state."""

    name = "none"
    struct_page_size = 64
    metadata_in = "none"

    @classmethod
    def from_config(cls, config: KernelConfig) -> Self:
        """The strategy as the kernel configuration sets it up (the registry's factory)."""
        return cls()

    def init_shadow(self, m: Machine) -> None:
        pass

    def memblock_free_pages(self, m: Machine, pfn: int, order: int, count: int) -> None:
        m.free_pages_core(pfn, order, count)
        m.counters.totalram_pages += count << order

    def after_free_all(self, m: Machine) -> None:
        pass

    def on_alloc(self, m: Machine, pfn: int, order: int) -> None:
        pass

    def on_free(self, m: Machine, pfn: int, order: int) -> None:
        pass

    def free_refused(self, m: Machine, pfn: int, order: int) -> str | None:
        return None

    def on_trim(self, m: Machine, pfn: int, order: int, nr_pages: int) -> None:
        pass

    def at_step(self, m: Machine, step: str) -> None:
        pass

    def init_runtime(self, m: Machine) -> None:
        pass

    def page_ext_bytes_per_page(self, m: Machine) -> int:
        return 0

    def buddy_metadata_pages(self) -> int:
        return 0

    def describe_metadata(self, m: Machine, pfn: int, shadow: int | None,
                          origin: int | None) -> tuple[int | None, int | None, dict[str, Any]]:
        return shadow, origin, {"metadata_in": self.metadata_in if shadow is not None else None}

    def virtual_layout(self, m: Machine) -> VirtualLayout | None:
        return None

    def check(self, m: Machine) -> list[str]:
        return []

    def state_tuple(self) -> tuple[Any, ...]:
        return (self.name,)


class NoMetadata(StrategyBase):
    """CONFIG_KMSAN off (sanitizer none or kasan): struct page stays 64 bytes."""


def has_metadata(m: Machine, pfn: int) -> bool:
    """Whether pfn is a data page with shadow and origin (kmsan_get_metadata != NULL)."""
    ext = m.kmsan.get(pfn)
    if ext is None:
        return False
    value = ext[2]
    if isinstance(value, MetaLink):
        return True
    if isinstance(value, MetaPattern):
        return value.role_of(pfn)[0] is None
    return False


def is_metadata(m: Machine, pfn: int) -> bool:
    ext = m.kmsan.get(pfn)
    if ext is None:
        return False
    value = ext[2]
    if isinstance(value, MetaPattern):
        return value.role_of(pfn)[0] is not None
    return not isinstance(value, MetaLink | Blind)


def kmsan_alloc_page_check(m: Machine, pfn: int, order: int) -> None:
    """mm/kmsan/hooks.c: kmsan_alloc_page() writes the metadata with no NULL check."""
    for p in (pfn, pfn + (1 << order) - 1):
        if not has_metadata(m, p):
            m.counters.no_metadata_allocs += 1
            m.kmsan.assign(pfn, pfn + (1 << order), Blind("allocated without metadata"))
            m.log(f"BUG: KMSAN: kmsan_alloc_page: no metadata for pfn {pfn:#x} order {order} "
                  "(the kernel would oops here)", "bug", pfn, 1 << order)
            return


def record_future_ranges(m: Machine) -> list[tuple[int, int]]:
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
            m.log("KMSAN: WARNING: future_index == NUM_FUTURE_RANGES", "warn")
            return
        pairs.append([space, nstart, nend])

    for region in m.memblock.reserved.regions:
        record(0, region.base, region.end)
    record(1, m.boot_state.data_start, m.boot_state.data_end)
    for _nid, addr in sorted(m.boot_state.node_data.items()):
        record(0, addr, addr + 0x4000)
    return [(s, e) for _, s, e in pairs]


def alloc_meta_for_range(m: Machine, start: int, end: int) -> None:
    """mm/kmsan/init.c: kmsan_init_alloc_meta_for_range(): two range-sized memblock_alloc()s."""
    size = end - start
    shadow = m.mb_alloc(size, PAGE_SIZE, "kmsan_init_shadow (shadow)",
                        caller="kmsan_init_alloc_meta_for_range")
    origin = m.mb_alloc(size, PAGE_SIZE, "kmsan_init_shadow (origin)",
                        caller="kmsan_init_alloc_meta_for_range")
    first, last = pfn_down(start), pfn_up(end)
    if shadow is None or origin is None:
        # v6.14+ panics (memblock_alloc_or_panic); older kernels dereference NULL.
        m.counters.meta_alloc_failures += 1
        m.kmsan.assign(first, last, Blind("kmsan_init_shadow: memblock_alloc failed"))
        m.log(f"Kernel panic - not syncing: kmsan_init_alloc_meta_for_range: Failed to allocate "
              f"{size} bytes", "bug", first, last - first)
        return
    s, o = pfn_down(shadow), pfn_down(origin)
    m.kmsan.assign(first, last, MetaLink(s - first, o - first, "kmsan_init_shadow"))
    m.kmsan.assign(s, s + last - first, MetaBacking(MetaRole.SHADOW, first - s, "kmsan_init_shadow"))
    m.kmsan.assign(o, o + last - first, MetaBacking(MetaRole.ORIGIN, first - o, "kmsan_init_shadow"))
    m.log(f"kmsan: metadata for [mem {start:#x}-{end - 1:#x}]: shadow at {shadow:#x}, "
          f"origin at {origin:#x}", "meta", first, last - first)


def init_shadow_for_reserved(m: Machine) -> None:
    for start, end in record_future_ranges(m):
        alloc_meta_for_range(m, start, end)
