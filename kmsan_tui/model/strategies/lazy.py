"""Lazy metadata, as the out-of-tree KMSAN did it (google/kmsan, 2017-2019).

Reference: google/kmsan mm/kmsan/kmsan_hooks.c: kmsan_alloc_page(),
kmsan_free_page(), kmsan_split_page(); mm/kmsan/kmsan.c:
kmsan_internal_alloc_meta_for_pages(); mm/kmsan/kmsan_init.c:
kmsan_initialize_shadow(), kmsan_initialize_shadow_for_text(),
kmsan_init_percpu_metadata() (the boot side is in ``lazy_boot.py``).

- Every alloc_pages() of order k makes two more allocations of order k on the same
  node, shadow then origin (``alloc_pages_node(node, GFP_ATOMIC |
  __GFP_NO_KMSAN_SHADOW, order)``): same order, so the metadata of a block is as
  contiguous as the block. ``__GFP_NO_KMSAN_SHADOW`` stops the recursion: metadata
  pages have no metadata (here: they are taken with ``alloc_pages_raw``).
- When either allocation fails the pages are left untracked (no panic): a blind spot,
  whose accesses hit the dummy pages. Fragmentation makes this happen: an order-k
  allocation needs two more free blocks of order k ("the allocator ripped apart the
  biggest chunk", Potapenko, LKML Jan 2023).
- kmsan_free_page() frees both blocks with the data; before ``kmsan_ready`` it only
  clears the pointers, so metadata freed that early is leaked (counted as held).
- No memblock hold-back: only percpu metadata comes from memblock
  (kmsan_init_percpu_metadata()); the kernel image gets top-order chunks from the
  buddy allocator once it is up, NODE_DATA one page at a time
  (kmsan_initialize_shadow(), after mm_init()). Other memblock reservations (memmap,
  page tables, hash tables) have no metadata at all.

Activation (``lazy_activation``): ``mem_init`` is the tree's design: the hook is live
from the first alloc_pages() after memblock_free_all(), so nothing needs a back-fill.
``page_ext_init`` is the variant Michal Hocko asked for (pointers in page_ext, which
exists only from page_ext_init()): every block handed out before then must be found by
walking every struct page and given metadata after the fact (the back-fill; a public
8 GiB boot had ~123 such pages), and vmap areas created before then need their shadow
mappings redone (kmsan_vmap_pages_range_noflush()).
"""

from __future__ import annotations

from typing import Any, Self

from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.layout_types import KernelConfig
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import Blind, MetaBacking, MetaLink, MetaRole
from kmsan_tui.model.strategies import lazy_boot
from kmsan_tui.model.strategies.base import (
    StrategyBase,
    alloc_pages_reserve,
    atomic_min,
    is_metadata,
)

OWNER = "kmsan_alloc_page"
LEAKED = "kmsan_free_page before kmsan_ready (leaked)"
UNSPLIT = "kmsan_alloc_page (metadata not split: kmsan_split_page before kmsan_ready)"
# GFP_ATOMIC without __GFP_MOVABLE or __GFP_RECLAIMABLE: gfp_migratetype() is UNMOVABLE.
META_MIGRATETYPE = MigrateType.UNMOVABLE


class LazyStrategy(StrategyBase):
    name = "lazy"

    @classmethod
    def from_config(cls, config: KernelConfig) -> Self:
        return cls(config.lazy_activation, config.lazy_storage)

    def __init__(self, activation: str = "mem_init", storage: str = "struct_page") -> None:
        super().__init__()
        # page_ext does not exist before page_ext_init(): pointers kept there cannot be
        # written earlier, whatever activation point was asked for.
        self.storage = storage
        self.activation = "page_ext_init" if storage == "page_ext" else activation
        self.struct_page_size = 64 if storage == "page_ext" else 80
        self.metadata_in = "page_ext" if storage == "page_ext" else "struct page"
        self.active = False  # kmsan_alloc_page() allocates metadata
        self.ready = False  # kmsan_ready: set after kmsan_initialize_shadow()
        self.shadow_done = False  # kmsan_initialize_shadow() has run
        self.vmalloc_ready = False  # vmalloc_init() has run: vmap areas may exist
        self.active_at = ""  # the step it became active at
        self.repairs: int | None = None  # vmap areas to remap at activation
        self.image_end_pfn = 0  # pfns below are covered by the kernel-image chunks
        self.percpu_done = False
        self.early_pages = 0  # pages the back-fill walk found allocated before activation

    def mode(self) -> str:
        return f"active from {self.activation}, pointers in {self.metadata_in}"

    def page_ext_bytes_per_page(self, m: Machine) -> int:
        return 16 if self.storage == "page_ext" else 0

    # ---------------------------------------------------------------- boot hooks

    def init_shadow(self, m: Machine) -> None:
        """No memblock metadata but percpu's (kmsan_init_percpu_metadata(), called
        from mm/percpu.c while memblock is the allocator)."""
        m.log("kmsan: lazy (google/kmsan): no hold-back and no metadata from memblock "
              "except percpu; the rest is allocated with each alloc_pages()", "meta")
        if not self.percpu_done:
            lazy_boot.percpu_metadata_from_owners(m, self)
            self.percpu_done = True

    def percpu_first_chunk(self, m: Machine, base: int, size: int) -> None:
        lazy_boot.percpu_metadata(m, self, base, size)
        self.percpu_done = True

    def after_free_all(self, m: Machine) -> None:
        if self.activation == "mem_init":
            self._activate(m, "memblock_free_all")

    def at_step(self, m: Machine, step: str) -> None:
        if step == "vmalloc_init":
            self.vmalloc_ready = True
        if step == self.activation and not self.active:
            self._activate(m, step)

    def init_runtime(self, m: Machine) -> None:
        """The tree ran kmsan_initialize_shadow() right after mm_init() and then set
        kmsan_ready; with page_ext pointers it has to wait for page_ext_init()."""
        if self.active and not self.shadow_done:
            lazy_boot.initialize_shadow(m, self)
            self.shadow_done = True
        self.ready = True

    def _activate(self, m: Machine, step: str) -> None:
        self.active = True
        self.active_at = step
        if self.vmalloc_ready:
            # mm/kmsan/hooks.c: kmsan_vmap_pages_range_noflush() was not called for
            # the areas mapped so far: each needs its shadow and origin remapped.
            self.repairs = m.counters.vmap_areas
            m.counters.vmap_repaired += self.repairs
        handed_out = sum(z.managed_pages - z.nr_free_pages for z in m.zones)
        if handed_out:
            lazy_boot.backfill_walk(m, self, step)
        else:
            m.log(f"kmsan: lazy metadata active at {step}: nothing handed out yet, no "
                  "back-fill needed", "meta")
        if self.ready and not self.shadow_done:
            lazy_boot.initialize_shadow(m, self)
            self.shadow_done = True

    # ---------------------------------------------------------------- allocator hooks

    def give_metadata(self, m: Machine, pfn: int, order: int, reason: str,
                      owner: str = OWNER) -> bool:
        """kmsan_internal_alloc_meta_for_pages(): same-order shadow, then origin, on
        the data's node; on failure the pages stay untracked."""
        home = m.zone_of(pfn)
        nid = home.nid if home is not None else 0
        shadow = alloc_pages_reserve(m, order, META_MIGRATETYPE, nid, atomic_min)
        origin = alloc_pages_reserve(m, order, META_MIGRATETYPE, nid, atomic_min) \
            if shadow is not None else None
        if shadow is None or origin is None:
            if shadow is not None:
                zone = m.zone_of(shadow)
                assert zone is not None
                zone.free_pages(shadow, order)
            m.counters.meta_alloc_failures += 1
            self.mark_blind(m, pfn, order, reason)
            m.log(f"kmsan: no order-{order} blocks left for metadata of pfn {pfn:#x}: "
                  f"{1 << order} page(s) without shadow/origin", "warn", pfn, 1 << order)
            return False
        size = 1 << order
        end = self.image_end_pfn
        if shadow < end or origin < end:
            # __GFP_NO_KMSAN_SHADOW: set_no_shadow_page() clears the pointers the
            # kernel-image chunks gave these pages.
            lazy_boot.orphan_image_links(m, self, shadow, size)
            lazy_boot.orphan_image_links(m, self, origin, size)
        kmsan = m.kmsan
        kmsan.assign_block(pfn, order, MetaLink(shadow - pfn, origin - pfn, owner))
        kmsan.assign_block(shadow, order, MetaBacking(MetaRole.SHADOW, pfn - shadow, owner))
        kmsan.assign_block(origin, order, MetaBacking(MetaRole.ORIGIN, pfn - origin, owner))
        self.ledger.buddy_meta += 2 << order
        return True

    def on_alloc(self, m: Machine, pfn: int, order: int) -> None:
        if not self.active:
            return  # page_ext_init activation: no page_ext to hold the pointers yet
        if pfn < self.image_end_pfn:
            lazy_boot.orphan_image_links(m, self, pfn, 1 << order)
        self.give_metadata(m, pfn, order, "metadata allocation failed")

    def on_free(self, m: Machine, pfn: int, order: int) -> None:
        """kmsan_free_page(): free the shadow and origin blocks with the data."""
        ext = m.kmsan.get(pfn)
        if ext is None:
            return
        value = ext[2]
        if type(value) is MetaLink and value.owner == OWNER:
            size = 1 << order
            m.kmsan.remove_block(pfn, order)
            shadow, origin = pfn + value.shadow_delta, pfn + value.origin_delta
            if self.ready:
                for block in (shadow, origin):
                    zone = m.zone_of(block)
                    assert zone is not None
                    zone.free_pages(block, order)
                    m.kmsan.remove_block(block, order)
                self.ledger.buddy_meta -= 2 * size
            else:
                # Before kmsan_ready only the pointers are cleared: the metadata stays
                # allocated and backs nothing.
                self._leak(m, shadow, origin, size)
        elif isinstance(value, Blind):
            self.unmark_blind(m, pfn, order)
        elif isinstance(value, MetaLink) and value.owner == UNSPLIT:
            m.kmsan.remove_block(pfn, order)
            shadow, origin = value.resolve(pfn)
            self._leak(m, shadow, origin, 1 << order)

    def _leak(self, m: Machine, shadow: int, origin: int, size: int) -> None:
        for block, role in ((shadow, MetaRole.SHADOW), (origin, MetaRole.ORIGIN)):
            m.kmsan.assign(block, block + size, MetaBacking(role, None, LEAKED))
        self.ledger.buddy_meta -= 2 * size
        self.ledger.buddy_held += 2 * size

    def on_trim(self, m: Machine, pfn: int, order: int, nr_pages: int) -> None:
        """make_alloc_exact(): kmsan_split_page() splits shadow and origin like the
        data, then the tail pages are freed one by one through kmsan_free_page()."""
        ext = m.kmsan.get(pfn)
        size = 1 << order
        keep = min(nr_pages, size)
        if ext is None or keep == size:
            return
        value = ext[2]
        if isinstance(value, Blind):
            m.kmsan.remove(pfn + keep, pfn + size)
            self.ledger.blind -= size - keep
            return
        if not isinstance(value, MetaLink) or value.owner != OWNER:
            return
        shadow, origin = value.resolve(pfn)
        m.kmsan.remove(pfn + keep, pfn + size)
        if not self.ready:
            # The kept pages point into metadata blocks that were not split: freeing
            # one later cannot give back a piece of them (it leaks, as above).
            m.kmsan.assign(pfn, pfn + keep, MetaLink(shadow - pfn, origin - pfn, UNSPLIT))
        tail = size - keep
        for block, role in ((shadow, MetaRole.SHADOW), (origin, MetaRole.ORIGIN)):
            zone = m.zone_of(block)
            assert zone is not None
            if self.ready:
                zone.make_alloc_exact(block, keep)
                m.kmsan.remove(block + keep, block + size)
                self.ledger.buddy_meta -= tail
            else:
                # kmsan_split_page() does nothing before kmsan_ready, and the tail's
                # kmsan_free_page() only clears pointers: the tail metadata leaks.
                m.kmsan.assign(block + keep, block + size, MetaBacking(role, None, LEAKED))
                self.ledger.buddy_meta -= tail
                self.ledger.buddy_held += tail

    def vmap_repairs(self, m: Machine) -> int | None:
        return self.repairs

    # ---------------------------------------------------------------- reports

    def notes(self, m: Machine) -> tuple[str, ...]:
        lines = []
        if not self.active:
            lines.append(f"not active yet: starts at {self.activation}")
        elif self.active_at == "memblock_free_all" or not self.early_pages:
            lines.append(f"active from {self.active_at}: no block was handed out before, "
                         "no struct-page walk needed")
        else:
            lines.append(f"back-fill at {self.active_at}: {self.early_pages} page(s) were "
                         "handed out before (a public 8 GiB boot: ~123)")
        if self.active and self.repairs is None:
            lines.append("vmap repairs: none possible, active before vmalloc_init()")
        if self.shadow_done:
            lines.append("kernel image: order-10 chunks from the buddy allocator "
                         "(kmsan_initialize_shadow_for_text())")
        lines.append("memblock reservations other than percpu, NODE_DATA and the image "
                     "have no metadata")
        return tuple(lines)

    def check(self, m: Machine) -> list[str]:
        problems = []
        if self.active:
            for zone in m.zones:
                for pfn, order, _mt in zone.allocated_blocks():
                    if m.kmsan.get(pfn) is None:
                        problems.append(f"lazy: allocated pfn {pfn:#x} order {order} has neither "
                                        "metadata nor a blind-spot record")
        for start, _end, value in m.kmsan:
            if not isinstance(value, MetaLink) or value.owner != OWNER:
                continue
            shadow, origin = value.resolve(start)
            for block in (shadow, origin):
                home = m.zone_of(block)
                got = home.allocated_block(block) if home else None
                if got is None or not is_metadata(m, block):
                    problems.append(f"lazy: metadata {block:#x} of data {start:#x} is not an "
                                    "allocated KMSAN block")
        return problems

    def state_tuple(self) -> tuple[Any, ...]:
        return (self.name, self.activation, self.storage, self.active, self.ready,
                self.shadow_done, self.vmalloc_ready, self.repairs, self.image_end_pfn,
                self.percpu_done, self.early_pages, self.ledger.as_tuple())
