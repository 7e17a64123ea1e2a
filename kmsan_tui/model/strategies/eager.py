"""Eager split, as upstream does it (mm/kmsan/init.c).

At memblock_free_all(), kmsan_memblock_free_pages() keeps the 1st and 2nd chunk of
each order in held_back[order] as shadow and origin, and links the 3rd to them: two
thirds of freed memory never reach the buddy allocator. kmsan_init_runtime() then runs
kmsan_memblock_discard() over what is left. Pointers live in struct page (80 bytes).

Long runs of same-order chunks become one MetaPattern extent and one strided free run,
so the cost is per run of chunks, not per chunk.
"""

from __future__ import annotations

from typing import Any, Self

from kmsan_tui.model.constants import MAX_PAGE_ORDER, NR_PAGE_ORDERS
from kmsan_tui.model.layout_types import KernelConfig
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import MetaBacking, MetaLink, MetaPattern, MetaRole
from kmsan_tui.model.strategies.base import (
    StrategyBase,
    has_metadata,
    init_shadow_for_reserved,
    kmsan_alloc_page_check,
)

OWNER = "kmsan_memblock_free_pages"


class EagerStrategy(StrategyBase):
    name = "eager"
    struct_page_size = 80  # include/linux/mm_types.h: + kmsan_shadow, kmsan_origin
    metadata_in = "struct page"

    @classmethod
    def from_config(cls, config: KernelConfig) -> Self:
        return cls(config.version)

    def __init__(self, version: str = "mainline") -> None:
        self.version = version
        # mm/kmsan/init.c: held_back[NR_PAGE_ORDERS] of {shadow, origin}
        self.held_back: list[list[int | None]] = [[None, None] for _ in range(NR_PAGE_ORDERS)]
        self.discarded_leak: list[tuple[int, int]] = []  # order-0 pages discard cannot pair

    # -------------------------------------------------------------- boot hooks

    def init_shadow(self, m: Machine) -> None:
        init_shadow_for_reserved(m)

    def _setup_meta(self, m: Machine, data: int, shadow: int, origin: int, order: int,
                    owner: str = OWNER) -> None:
        """mm/kmsan/shadow.c: kmsan_setup_meta(): page i -> shadow[i], origin[i]."""
        size = 1 << order
        m.kmsan.assign(data, data + size, MetaLink(shadow - data, origin - data, owner))
        m.kmsan.assign(shadow, shadow + size, MetaBacking(MetaRole.SHADOW, data - shadow, owner))
        m.kmsan.assign(origin, origin + size, MetaBacking(MetaRole.ORIGIN, data - origin, owner))

    def _one(self, m: Machine, pfn: int, order: int) -> bool:
        """kmsan_memblock_free_pages() for one chunk: True when it goes to the buddy."""
        slot = self.held_back[order]
        size = 1 << order
        if slot[0] is None:
            slot[0] = pfn
            m.kmsan.assign(pfn, pfn + size, MetaBacking(MetaRole.SHADOW, None, OWNER))
            return False
        if slot[1] is None:
            slot[1] = pfn
            m.kmsan.assign(pfn, pfn + size, MetaBacking(MetaRole.ORIGIN, None, OWNER))
            return False
        self._setup_meta(m, pfn, slot[0], slot[1], order)
        slot[0] = slot[1] = None
        m.free_pages_core(pfn, order)
        return True

    def memblock_free_pages(self, m: Machine, pfn: int, order: int, count: int) -> None:
        size = 1 << order
        freed = 0
        i = 0
        slot = self.held_back[order]
        # Finish a triple begun by earlier chunks of this order (maybe in another range).
        while i < count and (slot[0] is not None or slot[1] is not None):
            freed += self._one(m, pfn + i * size, order)
            i += 1
        triples = (count - i) // 3
        if triples:
            base = pfn + i * size
            m.kmsan.assign(base, base + 3 * triples * size, MetaPattern(base, order))
            m.free_pages_core(base + 2 * size, order, triples, 3 * size)
            freed += triples
            i += 3 * triples
        while i < count:
            freed += self._one(m, pfn + i * size, order)
            i += 1
        # v6.1 (until the Sept 2025 fix) counted held-back chunks into totalram_pages.
        m.counters.totalram_pages += (count if self.version == "v6.1" else freed) << order

    def on_alloc(self, m: Machine, pfn: int, order: int) -> None:
        kmsan_alloc_page_check(m, pfn, order)

    def init_runtime(self, m: Machine) -> None:
        """mm/kmsan/init.c: kmsan_memblock_discard(): collect triples, split the rest."""
        stack: list[int] = []
        order = MAX_PAGE_ORDER
        paired = 0
        for i in range(MAX_PAGE_ORDER, -1, -1):
            slot = self.held_back[i]
            for block in slot:
                if block is not None:
                    stack.append(block)
            slot[0] = slot[1] = None
            # do_collection(): data, shadow, origin are popped in that order.
            while len(stack) >= 3:
                data, shadow, origin = stack.pop(), stack.pop(), stack.pop()
                self._setup_meta(m, data, shadow, origin, order, "kmsan_memblock_discard")
                # MEMINIT_EARLY: zone managed pages grow, totalram_pages does not.
                m.free_pages_core(data, order)
                paired += 1
            # collect_split(): pop each block, push its low then its high half.
            if order == 0:
                break
            tmp: list[int] = []
            half = 1 << (order - 1)
            while stack:
                block = stack.pop()
                tmp.append(block)
                tmp.append(block + half)
                for part in (block, block + half):
                    role = MetaRole.SHADOW if len(tmp) % 2 else MetaRole.ORIGIN
                    m.kmsan.assign(part, part + half, MetaBacking(role, None, OWNER))
            stack = tmp
            order -= 1
        # Up to two order-0 pages are never paired: they stay held forever.
        self.discarded_leak = [(p, 0) for p in stack]
        m.log(f"kmsan_memblock_discard: {paired} blocks paired, {len(stack)} order-0 page(s) "
              "left held back", "meta")

    def check(self, m: Machine) -> list[str]:
        problems = []
        if m.handed_over:
            for zone in m.zones:
                for pfn, order, _mt in zone.allocated_blocks():
                    if not has_metadata(m, pfn) and not _is_blind(m, pfn):
                        problems.append(f"eager: allocated pfn {pfn:#x} order {order} has no metadata")
        return problems

    def state_tuple(self) -> tuple[Any, ...]:
        return (self.name, tuple(tuple(s) for s in self.held_back), tuple(self.discarded_leak))


def _is_blind(m: Machine, pfn: int) -> bool:
    from kmsan_tui.model.metadata import Blind

    ext = m.kmsan.get(pfn)
    return ext is not None and isinstance(ext[2], Blind)
