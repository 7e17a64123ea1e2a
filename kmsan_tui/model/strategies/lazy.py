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

from typing import TYPE_CHECKING, Any

from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.metadata import Blind, MetaBacking, MetaLink, MetaRole
from kmsan_tui.model.strategies.base import (
    StrategyBase,
    has_metadata,
    init_shadow_for_reserved,
    is_metadata,
)

if TYPE_CHECKING:
    from kmsan_tui.model.simulation import Simulation

OWNER = "kmsan lazy metadata"


class LazyStrategy(StrategyBase):
    name = "lazy"

    def __init__(self, activation: str = "mem_init", storage: str = "struct_page") -> None:
        # page_ext does not exist before page_ext_init(): pointers kept there cannot be
        # written earlier, whatever activation point was asked for.
        self.storage = storage
        self.activation = "page_ext_init" if storage == "page_ext" else activation
        self.struct_page_size = 64 if storage == "page_ext" else 80
        self.metadata_in = "page_ext" if storage == "page_ext" else "struct page"
        self.active = False
        self.meta_blocks: dict[int, tuple[int, int, int]] = {}  # data pfn -> (shadow, origin, order)

    def init_shadow(self, sim: Simulation) -> None:
        init_shadow_for_reserved(sim)

    def page_ext_bytes_per_page(self, sim: Simulation) -> int:
        return 16 if self.storage == "page_ext" else 0

    def _give_metadata(self, sim: Simulation, pfn: int, order: int, reason: str) -> bool:
        home = sim.zone_of(pfn)
        nid = home.nid if home is not None else 0
        shadow = sim.alloc_pages_raw(order, MigrateType.UNMOVABLE, nid)
        origin = sim.alloc_pages_raw(order, MigrateType.UNMOVABLE, nid) if shadow is not None \
            else None
        size = 1 << order
        if shadow is None or origin is None:
            if shadow is not None:
                zone = sim.zone_of(shadow)
                assert zone is not None
                zone.free_pages(shadow, order)
            sim.counters.meta_alloc_failures += 1
            sim.kmsan.assign(pfn, pfn + size, Blind(reason))
            sim.log(f"kmsan: no order-{order} blocks left for metadata of pfn {pfn:#x}: "
                    f"{size} page(s) without shadow/origin", "warn", pfn, size)
            return False
        sim.kmsan.assign(pfn, pfn + size, MetaLink(shadow - pfn, origin - pfn, OWNER))
        sim.kmsan.assign(shadow, shadow + size, MetaBacking(MetaRole.SHADOW, pfn - shadow, OWNER))
        sim.kmsan.assign(origin, origin + size, MetaBacking(MetaRole.ORIGIN, pfn - origin, OWNER))
        sim.owners.assign(shadow, shadow + size, OWNER)
        sim.owners.assign(origin, origin + size, OWNER)
        self.meta_blocks[pfn] = (shadow, origin, order)
        return True

    def at_step(self, sim: Simulation, step: str) -> None:
        if step != self.activation or self.active:
            return
        self.active = True
        # The back-fill: walk every struct page to find the allocated ones.
        walked = sum(z.spanned_pages for z in sim.zones)
        sim.counters.backfill_walked += walked
        blocks = [(pfn, order) for z in sim.zones for pfn, order, _mt in z.allocated_blocks()
                  if not is_metadata(sim, pfn) and not has_metadata(sim, pfn)]
        filled = sum(self._give_metadata(sim, pfn, order, "back-fill failed")
                     for pfn, order in sorted(blocks))
        sim.counters.backfill_blocks += len(blocks)
        sim.counters.vmap_repaired += sim.counters.vmap_areas
        sim.log(f"kmsan: lazy metadata active at {step}: walked {walked} struct pages, "
                f"back-filled {filled}/{len(blocks)} blocks, {sim.counters.vmap_areas} vmap "
                "range(s) to remap", "meta")

    def on_alloc(self, sim: Simulation, pfn: int, order: int) -> None:
        if self.active:
            self._give_metadata(sim, pfn, order, "metadata allocation failed")

    def on_free(self, sim: Simulation, pfn: int, order: int) -> None:
        size = 1 << order
        meta = self.meta_blocks.pop(pfn, None)
        if meta is not None:
            shadow, origin, morder = meta
            for block in (shadow, origin):
                zone = sim.zone_of(block)
                assert zone is not None
                zone.free_pages(block, morder)
                sim.kmsan.remove(block, block + (1 << morder))
                sim.owners.remove(block, block + (1 << morder))
        sim.kmsan.remove(pfn, pfn + size)

    def check(self, sim: Simulation) -> list[str]:
        problems = []
        if self.active:
            for zone in sim.zones:
                for pfn, order, _mt in zone.allocated_blocks():
                    if is_metadata(sim, pfn):
                        continue
                    ext = sim.kmsan.get(pfn)
                    if ext is None:
                        problems.append(f"lazy: allocated pfn {pfn:#x} order {order} has neither "
                                        "metadata nor a blind-spot record")
        for data, (shadow, origin, order) in self.meta_blocks.items():
            for block in (shadow, origin):
                meta_zone = sim.zone_of(block)
                got = meta_zone.allocated_block(block) if meta_zone else None
                if got is None or got[0] != block or got[1] != order:
                    problems.append(f"lazy: metadata block {block:#x} of data {data:#x} is not an "
                                    f"allocated order-{order} block")
        return problems

    def state_tuple(self) -> tuple[Any, ...]:
        return (self.name, self.activation, self.storage, self.active,
                tuple(sorted(self.meta_blocks.items())))
