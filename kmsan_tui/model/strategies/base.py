"""The contract every KMSAN metadata strategy fulfils, and what they share.

mm/kmsan/init.c: kmsan_init_shadow() (upstream, used by eager) gives every
memblock.reserved range, the kernel's .data and each NODE_DATA shadow and origin
copies from memblock before the buddy allocator exists; the helpers for it live here.

Every strategy keeps a ``MetaLedger`` (metadata.py): running totals of the pages it
holds, so the metrics cost O(1) per command; ``invariants.check_machine()`` recounts
them from the maps.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, Self

from kmsan_tui.model.constants import PAGE_SIZE, MigrateType, pfn_down, pfn_up
from kmsan_tui.model.layout_types import KernelConfig
from kmsan_tui.model.machine import ZONE_NORMAL, Machine
from kmsan_tui.model.metadata import (
    Blind,
    FixedBacking,
    MetaBacking,
    MetaLedger,
    MetaLink,
    MetaPattern,
    MetaRole,
)

# mm/kmsan/init.c: NUM_FUTURE_RANGES
NUM_FUTURE_RANGES = 128
# Owner-map names of the page-table pages that map shadow and origin (fixed strategy).
KMSAN_PT_OWNER = "kmsan shadow page table"


def totalram_counts_held_back(m: Machine) -> bool:
    """Whether memblock_free_all() adds the chunks KMSAN holds back to totalram_pages.

    The one place the strategies read it: the kernel profile's
    ``totalram_counts_held_back`` (profiles.py). Until the Sept 2025 patch
    "mm/memblock: correct totalram_pages accounting with KMSAN" (Potapenko),
    memblock_free_all() counted every page it passed to memblock_free_pages(),
    held-back ones included.
    """
    return m.profile.totalram_counts_held_back


@dataclass(frozen=True, slots=True)
class VirtualLayout:
    """Where a fixed-address scheme puts shadow and origin, and whether it fits.

    Addresses and sizes in bytes. ``*_kaslr`` answer the same question with
    CONFIG_RANDOMIZE_MEMORY: kernel_randomize_memory() may move the direct map,
    vmalloc and vmemmap anywhere below vaddr_end (the cpu_entry_area), the KASAN
    slot included (Documentation/arch/x86/x86_64/mm.rst: the KASLR range may
    overlap only the KASAN shadow, "as KASAN disables KASLR").
    """

    shadow_start: int
    origin_start: int
    size_each: int  # bytes of virtual space for shadow (and again for origin)
    fits_4level: bool
    fits_5level: bool
    paging_levels: int
    slot: str
    fits_4level_kaslr: bool = False
    fits_5level_kaslr: bool = False
    kaslr_slot: str = ""  # where the ranges would go with RANDOMIZE_MEMORY
    vmalloc_shadow_start: int = 0  # vmalloc and module metadata (upstream's quarters)
    vmalloc_origin_start: int = 0
    vmalloc_size: int = 0  # usable vmalloc, and the size of each metadata quarter
    modules_shadow_start: int = 0
    modules_origin_start: int = 0
    modules_size: int = 0
    backing: str = ""  # "on-demand" or "boot"
    direct_map: str = ""  # the direct-map policy, one line


class MetadataStrategy(Protocol):
    """Hooks the boot and the allocator call; one implementation per module.

    Every hook takes the ``Machine`` it acts on; a strategy keeps only its own state
    (held_back[], the lazy metadata blocks...), so it can be tested on a tiny machine.
    The allocator hooks (``on_alloc``, ``on_free``, ``free_refused``, ``on_trim``) are
    the machine's ``KmsanHooks``.
    """

    name: str
    struct_page_size: int  # sizeof(struct page) in this build: 80 with the two pointers
    metadata_in: str  # where a data page's metadata pointers live, for the inspector
    ledger: MetaLedger  # running totals of the pages the strategy holds

    def init_shadow(self, m: Machine) -> None:
        """mm/kmsan/init.c: kmsan_init_shadow(), before the buddy allocator exists."""
    def percpu_first_chunk(self, m: Machine, base: int, size: int) -> None:
        """mm/percpu.c: pcpu_embed_first_chunk() placed a unit at [base, base+size)."""
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
    def forget_metadata(self, m: Machine, first: int, last: int) -> None:
        """Reserved pages [first, last) are about to be freed late: drop their metadata links."""
    def on_trim(self, m: Machine, pfn: int, order: int, nr_pages: int) -> None:
        """make_alloc_exact() freed the tail of a block past nr_pages."""
    def at_step(self, m: Machine, step: str) -> None:
        """An init call the strategy may start at (mem_init, vmalloc_init, page_ext_init)."""
    def init_runtime(self, m: Machine) -> None:
        """mm/kmsan/init.c: kmsan_init_runtime()."""
    def page_ext_bytes_per_page(self, m: Machine) -> int:
        """Bytes per page the strategy asks of page_ext (a page_ext_operations.size)."""
    def vmap_repairs(self, m: Machine) -> int | None:
        """vmap areas whose shadow mappings had to be redone when the strategy started
        (None: none can exist, the strategy starts before vmalloc_init())."""
    def metadata_of(self, m: Machine, pfn: int) -> tuple[int, int] | None:
        """The shadow and origin pfns of data page pfn, or None."""
    def describe_metadata(self, m: Machine, pfn: int, shadow: int | None,
                          origin: int | None) -> tuple[int | None, int | None, dict[str, Any]]:
        """The inspector's view of pfn's metadata: shadow, origin and extra fields."""
    def virtual_layout(self, m: Machine) -> VirtualLayout | None:
        """Where a fixed-address scheme puts shadow and origin (None: not fixed)."""
    def mode(self) -> str:
        """The strategy's settings in a few words ("" when it has none)."""
    def notes(self, m: Machine) -> tuple[str, ...]:
        """One line each on what the numbers mean for this strategy now."""
    def check(self, m: Machine) -> list[str]:
        """Invariant violations of the strategy's own promises."""
    def state_tuple(self) -> tuple[Any, ...]:
        """The strategy's state, for the digest."""


class StrategyBase:
    """Defaults: hand every chunk to the buddy allocator, keep no metadata."""

    name = "none"
    struct_page_size = 64
    metadata_in = "none"

    def __init__(self) -> None:
        self.ledger = MetaLedger()

    @classmethod
    def from_config(cls, config: KernelConfig) -> Self:
        """The strategy as the kernel configuration sets it up (the registry's factory)."""
        return cls()

    def init_shadow(self, m: Machine) -> None:
        pass

    def percpu_first_chunk(self, m: Machine, base: int, size: int) -> None:
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
        """mm/page_alloc.c: free_page_is_bad() -> bad_page(): KMSAN's own pages are
        never freed by __free_pages(); only kmsan_free_page() gives them back."""
        if not self.ledger.in_buddy:
            return None  # no KMSAN page is an allocated block: nothing to look up
        ext = m.kmsan.get(pfn)
        if ext is not None and isinstance(ext[2], MetaBacking | FixedBacking):
            value = ext[2]
            return (f"KMSAN {value.role.value} page ({value.owner}): freed only with the data "
                    "it describes")
        owner = m.owners.get(pfn) if self.ledger.buddy_pt else None
        if owner is not None and owner[2] == KMSAN_PT_OWNER:
            return "page table of the KMSAN shadow map: never freed"
        return None

    def on_trim(self, m: Machine, pfn: int, order: int, nr_pages: int) -> None:
        pass

    def at_step(self, m: Machine, step: str) -> None:
        pass

    def init_runtime(self, m: Machine) -> None:
        pass

    def page_ext_bytes_per_page(self, m: Machine) -> int:
        return 0

    def vmap_repairs(self, m: Machine) -> int | None:
        return None

    def metadata_of(self, m: Machine, pfn: int) -> tuple[int, int] | None:
        return link_of(m, pfn)

    def describe_metadata(self, m: Machine, pfn: int, shadow: int | None,
                          origin: int | None) -> tuple[int | None, int | None, dict[str, Any]]:
        return shadow, origin, {"metadata_in": self.metadata_in if shadow is not None else None}

    def virtual_layout(self, m: Machine) -> VirtualLayout | None:
        return None

    def mode(self) -> str:
        return ""

    def notes(self, m: Machine) -> tuple[str, ...]:
        return ()

    def check(self, m: Machine) -> list[str]:
        return []

    def state_tuple(self) -> tuple[Any, ...]:
        return (self.name, self.ledger.as_tuple())

    # ------------------------------------------------------------ shared helpers

    def forget_metadata(self, m: Machine, first: int, last: int) -> None:
        """Reserved pages [first, last) are about to be freed late (memblock_free_late():
        EFI boot services, the initrd): the kernel does not free the metadata
        kmsan_init_shadow() gave them; their kmsan_shadow/origin pointers are simply
        rewritten when the pages are freed. So the old metadata pages stay allocated,
        backing nothing (counted as held), and any blind-spot record of the range goes."""
        for start, end, value in list(m.kmsan.overlapping(first, last)):
            lo, hi = max(start, first), min(end, last)
            n = hi - lo
            if isinstance(value, Blind):
                m.kmsan.remove(lo, hi)
                self.ledger.blind -= n
            elif isinstance(value, MetaLink):
                m.kmsan.remove(lo, hi)
                for delta, role in ((value.shadow_delta, MetaRole.SHADOW),
                                    (value.origin_delta, MetaRole.ORIGIN)):
                    backing = lo + delta
                    m.kmsan.assign(backing, backing + n, MetaBacking(role, None, value.owner))
                    zone = m.zone_of(backing)
                    if zone is not None and zone.allocated_block(backing) is not None:
                        self.ledger.buddy_meta -= n
                        self.ledger.buddy_held += n
                    else:
                        self.ledger.reserved_meta -= n
                        self.ledger.reserved_held += n

    def mark_blind(self, m: Machine, pfn: int, order: int, reason: str) -> None:
        """Data block pfn of ``order`` has no metadata: accesses hit the dummy pages."""
        end = pfn + (1 << order)
        # Blind pages already counted: the same block marked again, or ranges (boot-time
        # records). No other block overlaps a block the buddy allocator handed out
        # (BlockMap.assign_block's contract, which check() verifies), so this needs no
        # sorted walk of every block: O(1) per block, however many are live.
        held = m.kmsan.block_at(pfn)
        already = (1 << order) if held is not None and held[0] == pfn and held[1] == end \
            and isinstance(held[2], Blind) else 0
        already += sum(min(e, end) - max(s, pfn) for s, e, v in m.kmsan.ranges.overlapping(
            pfn, end) if isinstance(v, Blind))
        m.kmsan.assign_block(pfn, order, Blind(reason))
        self.ledger.blind += (1 << order) - already

    def unmark_blind(self, m: Machine, pfn: int, order: int) -> bool:
        """Forget the blind-spot records of a block being freed; True when it had any."""
        if not self.ledger.blind:
            return False  # nothing is blind: no lookup on the free path
        ext = m.kmsan.get(pfn)
        if ext is None or not isinstance(ext[2], Blind):
            return False
        end = pfn + (1 << order)
        if ext[0] == pfn and ext[1] == end:
            m.kmsan.remove_block(pfn, order)
            self.ledger.blind -= 1 << order
            return True
        for s, e, v in list(m.kmsan.overlapping(pfn, end)):
            if isinstance(v, Blind):
                lo, hi = max(s, pfn), min(e, end)
                m.kmsan.remove(lo, hi)
                self.ledger.blind -= hi - lo
        return True

    def kmsan_alloc_page_check(self, m: Machine, pfn: int, order: int) -> None:
        """mm/kmsan/hooks.c: kmsan_alloc_page() writes the metadata with no NULL check."""
        for p in (pfn,) if not order else (pfn, pfn + (1 << order) - 1):
            if not has_metadata(m, p):
                m.counters.no_metadata_allocs += 1
                self.mark_blind(m, pfn, order, "allocated without metadata")
                m.log(f"BUG: KMSAN: kmsan_alloc_page: no metadata for pfn {pfn:#x} order {order} "
                      "(the kernel would oops here)", "bug", pfn, 1 << order)
                return

    def alloc_meta_for_range(self, m: Machine, start: int, end: int) -> None:
        """mm/kmsan/init.c: kmsan_init_alloc_meta_for_range(): two range-sized
        memblock_alloc()s, page i of the range linked to page i of each."""
        size = end - start
        shadow = m.mb_alloc(size, PAGE_SIZE, "kmsan_init_shadow (shadow)",
                            caller="kmsan_init_alloc_meta_for_range")
        origin = m.mb_alloc(size, PAGE_SIZE, "kmsan_init_shadow (origin)",
                            caller="kmsan_init_alloc_meta_for_range")
        first, last = pfn_down(start), pfn_up(end)
        n = last - first
        # Recorded ranges may overlap (.data through the kernel-image mapping never
        # merges with the image's direct-map alias; ranges are not re-merged), and
        # kmsan_init_alloc_meta_for_range() (mm/kmsan/shadow.c) simply rewrites each
        # page's kmsan_shadow/kmsan_origin: the later range wins. A page an earlier
        # failed range left blind stops being blind when it is given metadata here.
        already_blind = sum(min(e, last) - max(s, first)
                            for s, e, v in m.kmsan.overlapping(first, last) if isinstance(v, Blind))
        if shadow is None or origin is None:
            # v6.14+ panics (memblock_alloc_or_panic); older kernels dereference NULL.
            # A shadow that was allocated stays allocated: count it.
            for addr, role in ((shadow, MetaRole.SHADOW), (origin, MetaRole.ORIGIN)):
                if addr is not None:
                    s = pfn_down(addr)
                    m.kmsan.assign(s, s + n, MetaBacking(role, None, "kmsan_init_shadow"))
                    self.ledger.reserved_held += n
            m.counters.meta_alloc_failures += 1
            # Metadata an earlier range gave these pages is lost with their pointers:
            # its pages stay allocated, backing nothing (as for memblock_free_late()).
            self.forget_metadata(m, first, last)
            m.kmsan.assign(first, last, Blind("kmsan_init_shadow: memblock_alloc failed"))
            self.ledger.blind += n
            m.log(f"Kernel panic - not syncing: kmsan_init_alloc_meta_for_range: Failed to "
                  f"allocate {size} bytes", "bug", first, n)
            return
        s, o = pfn_down(shadow), pfn_down(origin)
        self.ledger.blind -= already_blind
        m.kmsan.assign(first, last, MetaLink(s - first, o - first, "kmsan_init_shadow"))
        m.kmsan.assign(s, s + n, MetaBacking(MetaRole.SHADOW, first - s, "kmsan_init_shadow"))
        m.kmsan.assign(o, o + n, MetaBacking(MetaRole.ORIGIN, first - o, "kmsan_init_shadow"))
        self.ledger.reserved_meta += 2 * n
        m.log(f"kmsan: metadata for [mem {start:#x}-{end - 1:#x}]: shadow at {shadow:#x}, "
              f"origin at {origin:#x}", "meta", first, n)

    def init_shadow_for_reserved(self, m: Machine) -> None:
        """mm/kmsan/init.c: kmsan_init_shadow(): metadata for every recorded range."""
        for start, end in record_future_ranges(m):
            self.alloc_meta_for_range(m, start, end)


def atomic_min(mark: int) -> int:
    """__zone_watermark_ok() for GFP_ATOMIC (__GFP_HIGH, no direct reclaim):
    ALLOC_MIN_RESERVE takes half of the min watermark, ALLOC_NON_BLOCK a quarter of
    what is left (mm/page_alloc.c)."""
    mark -= mark // 2
    return mark - mark // 4


def alloc_pages_reserve(m: Machine, order: int, migratetype: MigrateType, nid: int,
                        min_mark: Callable[[int], int]) -> int | None:
    """__alloc_pages() without the KMSAN hook, for an allocation that may dig into
    the reserves below the min watermark: the zonelist against the low watermark,
    then against ``min_mark(min)`` (GFP_ATOMIC: ``atomic_min``; FreeBSD's
    VM_ALLOC_INTERRUPT: 0, every free page)."""
    zonelist = m.zonelist(nid)
    for zone in zonelist:
        if zone.watermark_ok(order, zone.watermark[1], ZONE_NORMAL):
            pfn = zone.alloc_pages(order, migratetype)
            if pfn is not None:
                return pfn
    for zone in zonelist:
        if zone.watermark_ok(order, min_mark(zone.watermark[0]), ZONE_NORMAL):
            pfn = zone.alloc_pages(order, migratetype)
            if pfn is not None:
                return pfn
    return None


class NoMetadata(StrategyBase):
    """CONFIG_KMSAN off (sanitizer none or kasan): struct page stays 64 bytes."""


def link_of(m: Machine, pfn: int) -> tuple[int, int] | None:
    """The shadow and origin pfns the KMSAN map links data page pfn to, or None."""
    ext = m.kmsan.get(pfn)
    if ext is None:
        return None
    value = ext[2]
    if isinstance(value, MetaLink):
        return value.resolve(pfn)
    if isinstance(value, MetaPattern):
        role, s, o, d = value.role_of(pfn)
        if role is None:
            return s + (pfn - d), o + (pfn - d)
    return None


def has_metadata(m: Machine, pfn: int) -> bool:
    """Whether pfn is a data page with shadow and origin (kmsan_get_metadata != NULL)."""
    return link_of(m, pfn) is not None


def is_metadata(m: Machine, pfn: int) -> bool:
    """Whether pfn is a KMSAN shadow or origin page (in use or held back)."""
    ext = m.kmsan.get(pfn)
    if ext is None:
        return False
    value = ext[2]
    if isinstance(value, MetaPattern):
        return value.role_of(pfn)[0] is not None
    return not isinstance(value, MetaLink | Blind)


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
    # NODE_DATA(nid), sizeof(pg_data_t) rounded up to a page, as this build allocated it.
    nd_size = m.boot_state.node_data_size or 0x4000
    for _nid, addr in sorted(m.boot_state.node_data.items()):
        record(0, addr, addr + nd_size)
    return [(s, e) for _, s, e in pairs]
