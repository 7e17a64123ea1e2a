"""Eager split, as upstream does it (torvalds/linux mm/kmsan/init.c).

At memblock_free_all(), kmsan_memblock_free_pages() keeps the 1st and 2nd chunk of
each order in held_back[order] as shadow and origin, and links the 3rd to them: two
thirds of freed memory never reach the buddy allocator. kmsan_init_runtime() then runs
kmsan_memblock_discard() over what is left. Pointers live in struct page (80 bytes).

Long runs of same-order chunks become one MetaPattern extent and one strided free run,
so the cost is per run of chunks, not per chunk.

Reference: torvalds/linux mm/kmsan/init.c: kmsan_init_shadow(),
kmsan_memblock_free_pages(), kmsan_memblock_discard() (do_collection(),
collect_split()); mm/kmsan/shadow.c: kmsan_setup_meta(); mm/kmsan/hooks.c:
kmsan_alloc_page(). Which kernels count held-back chunks into totalram_pages is read
in one place, ``base.totalram_counts_held_back()``.
"""

from __future__ import annotations

from typing import Any

from kmsan_tui.model.constants import MAX_PAGE_ORDER, NR_PAGE_ORDERS
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import Blind, MetaBacking, MetaLink, MetaPattern, MetaRole
from kmsan_tui.model.strategies.base import (
    StrategyBase,
    has_metadata,
    totalram_counts_held_back,
)

OWNER = "kmsan_memblock_free_pages"


class EagerStrategy(StrategyBase):
    name = "eager"
    struct_page_size = 80  # include/linux/mm_types.h: + kmsan_shadow, kmsan_origin
    metadata_in = "struct page"

    def __init__(self, version: str = "") -> None:
        """``version`` is accepted for old callers and unused: the totalram accounting
        is the machine's kernel (``totalram_counts_held_back``)."""
        super().__init__()
        # mm/kmsan/init.c: held_back[NR_PAGE_ORDERS] of {shadow, origin}
        self.held_back: list[list[int | None]] = [[None, None] for _ in range(NR_PAGE_ORDERS)]
        self.discarded_leak: list[tuple[int, int]] = []  # order-0 pages discard cannot pair

    # -------------------------------------------------------------- boot hooks

    def init_shadow(self, m: Machine) -> None:
        self.init_shadow_for_reserved(m)

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
            self.ledger.reserved_held += size
            return False
        if slot[1] is None:
            slot[1] = pfn
            m.kmsan.assign(pfn, pfn + size, MetaBacking(MetaRole.ORIGIN, None, OWNER))
            self.ledger.reserved_held += size
            return False
        self._setup_meta(m, pfn, slot[0], slot[1], order)
        self.ledger.reserved_held -= 2 * size
        self.ledger.reserved_meta += 2 * size
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
            self.ledger.reserved_meta += 2 * size * triples
            freed += triples
            i += 3 * triples
        while i < count:
            freed += self._one(m, pfn + i * size, order)
            i += 1
        # Until the Sept 2025 fix, held-back chunks were counted into totalram_pages.
        counted = count if totalram_counts_held_back(m) else freed
        m.counters.totalram_pages += counted << order

    def on_alloc(self, m: Machine, pfn: int, order: int) -> None:
        self.kmsan_alloc_page_check(m, pfn, order)

    def on_free(self, m: Machine, pfn: int, order: int) -> None:
        # The metadata stays with the physical pages; only a blind-spot record goes.
        self.unmark_blind(m, pfn, order)

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
                self.ledger.reserved_held -= 3 << order
                self.ledger.reserved_meta += 2 << order
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

    def notes(self, m: Machine) -> tuple[str, ...]:
        counted = totalram_counts_held_back(m)
        return (
            f"totalram_pages ({m.profile.name}): held-back chunks "
            + ("counted, as before the Sept 2025 fix" if counted
               else "not counted (the Sept 2025 fix)"),
            "kmsan_memblock_discard() frees paired leftovers with __free_pages_core(): "
            "managed_pages grows, totalram_pages does not",
        )

    def state_tuple(self) -> tuple[Any, ...]:
        return (self.name, tuple(tuple(s) for s in self.held_back), tuple(self.discarded_leak),
                self.ledger.as_tuple())


def _is_blind(m: Machine, pfn: int) -> bool:
    ext = m.kmsan.get(pfn)
    return ext is not None and isinstance(ext[2], Blind)
