"""Lazy metadata: allocate shadow and origin when a block is allocated.

What Potapenko tried and dropped (LKML, Jan 2023): no hold-back at memblock_free_all;
once the scheme is active, every alloc_pages() of order k also takes two order-k
blocks (same order, so the metadata is contiguous like the data) for shadow and
origin. Its problems must emerge from the buddy allocator, not be scripted here:
- pages handed out before activation (preallocate_vmalloc_pages, SLUB's first slabs,
  page_ext itself) need a back-fill: a walk over every struct page;
- vmap ranges created before activation need their shadow mappings redone;
- when fragmentation leaves no free block of the order, the data page gets no
  metadata at all: a blind spot.
Pointers live in struct page (80 bytes) or in page_ext (64-byte struct page plus
16 bytes per page of page_ext, which exists only from page_ext_init()).
"""

from __future__ import annotations

from typing import Any, Self

from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.layout_types import KernelConfig
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import Blind, MetaBacking, MetaLink, MetaRole
from kmsan_tui.model.strategies.base import (
    StrategyBase,
    has_metadata,
    init_shadow_for_reserved,
    is_metadata,
)

OWNER = "kmsan lazy metadata"


class LazyStrategy(StrategyBase):
    name = "lazy"

    @classmethod
    def from_config(cls, config: KernelConfig) -> Self:
        return cls(config.lazy_activation, config.lazy_storage)

    def __init__(self, activation: str = "mem_init", storage: str = "struct_page") -> None:
        # page_ext does not exist before page_ext_init(): pointers kept there cannot be
        # written earlier, whatever activation point was asked for.
        self.storage = storage
        self.activation = "page_ext_init" if storage == "page_ext" else activation
        self.struct_page_size = 64 if storage == "page_ext" else 80
        self.metadata_in = "page_ext" if storage == "page_ext" else "struct page"
        self.active = False
        self.meta_blocks: dict[int, tuple[int, int, int]] = {}  # data pfn -> (shadow, origin, order)
        self.meta_pages = 0  # pages in meta_blocks' shadow and origin blocks

    def init_shadow(self, m: Machine) -> None:
        init_shadow_for_reserved(m)

    def page_ext_bytes_per_page(self, m: Machine) -> int:
        return 16 if self.storage == "page_ext" else 0

    def buddy_metadata_pages(self) -> int:
        return self.meta_pages

    def _give_metadata(self, m: Machine, pfn: int, order: int, reason: str) -> bool:
        home = m.zone_of(pfn)
        nid = home.nid if home is not None else 0
        shadow = m.alloc_pages_raw(order, MigrateType.UNMOVABLE, nid)
        origin = m.alloc_pages_raw(order, MigrateType.UNMOVABLE, nid) if shadow is not None \
            else None
        size = 1 << order
        if shadow is None or origin is None:
            if shadow is not None:
                zone = m.zone_of(shadow)
                assert zone is not None
                zone.free_pages(shadow, order)
            m.counters.meta_alloc_failures += 1
            m.kmsan.assign_block(pfn, order, Blind(reason))
            m.log(f"kmsan: no order-{order} blocks left for metadata of pfn {pfn:#x}: "
                  f"{size} page(s) without shadow/origin", "warn", pfn, size)
            return False
        m.kmsan.assign_block(pfn, order, MetaLink(shadow - pfn, origin - pfn, OWNER))
        m.kmsan.assign_block(shadow, order, MetaBacking(MetaRole.SHADOW, pfn - shadow, OWNER))
        m.kmsan.assign_block(origin, order, MetaBacking(MetaRole.ORIGIN, pfn - origin, OWNER))
        m.owners.assign_block(shadow, order, OWNER)
        m.owners.assign_block(origin, order, OWNER)
        self.meta_blocks[pfn] = (shadow, origin, order)
        self.meta_pages += 2 * size
        return True

    def at_step(self, m: Machine, step: str) -> None:
        if step != self.activation or self.active:
            return
        self.active = True
        # The back-fill: walk every struct page to find the allocated ones.
        walked = sum(z.spanned_pages for z in m.zones)
        m.counters.backfill_walked += walked
        blocks = [(pfn, order) for z in m.zones for pfn, order, _mt in z.allocated_blocks()
                  if not is_metadata(m, pfn) and not has_metadata(m, pfn)]
        filled = sum(self._give_metadata(m, pfn, order, "back-fill failed")
                     for pfn, order in sorted(blocks))
        m.counters.backfill_blocks += len(blocks)
        m.counters.vmap_repaired += m.counters.vmap_areas
        m.log(f"kmsan: lazy metadata active at {step}: walked {walked} struct pages, "
              f"back-filled {filled}/{len(blocks)} blocks, {m.counters.vmap_areas} vmap "
              "range(s) to remap", "meta")

    def on_alloc(self, m: Machine, pfn: int, order: int) -> None:
        if self.active:
            self._give_metadata(m, pfn, order, "metadata allocation failed")

    def on_free(self, m: Machine, pfn: int, order: int) -> None:
        meta = self.meta_blocks.pop(pfn, None)
        if meta is not None:
            shadow, origin, morder = meta
            self.meta_pages -= 2 << morder
            for block in (shadow, origin):
                zone = m.zone_of(block)
                assert zone is not None
                zone.free_pages(block, morder)
                m.kmsan.remove_block(block, morder)
                m.owners.remove_block(block, morder)
        m.kmsan.remove_block(pfn, order)

    def check(self, m: Machine) -> list[str]:
        problems = []
        if self.active:
            for zone in m.zones:
                for pfn, order, _mt in zone.allocated_blocks():
                    if is_metadata(m, pfn):
                        continue
                    ext = m.kmsan.get(pfn)
                    if ext is None:
                        problems.append(f"lazy: allocated pfn {pfn:#x} order {order} has neither "
                                        "metadata nor a blind-spot record")
        for data, (shadow, origin, order) in self.meta_blocks.items():
            for block in (shadow, origin):
                meta_zone = m.zone_of(block)
                got = meta_zone.allocated_block(block) if meta_zone else None
                if got is None or got[0] != block or got[1] != order:
                    problems.append(f"lazy: metadata block {block:#x} of data {data:#x} is not an "
                                    f"allocated order-{order} block")
        return problems

    def state_tuple(self) -> tuple[Any, ...]:
        return (self.name, self.activation, self.storage, self.active,
                tuple(sorted(self.meta_blocks.items())))
