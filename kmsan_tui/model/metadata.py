"""What the KMSAN metadata layer records for a range of pfns.

The layer is a ``BlockMap`` (an extent map) from pfn ranges to one of these values. Values store
*offsets*, not absolute pfns, so an extent split by a later assignment keeps its
meaning (mm/kmsan/shadow.c: kmsan_setup_meta() links page i of a block to page i of
its shadow and origin blocks).

``MetaLedger`` is the strategies' running count of the pages behind these values, so
the metrics never have to walk the map.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class MetaRole(Enum):
    SHADOW = "shadow"
    ORIGIN = "origin"


@dataclass(frozen=True, slots=True)
class MetaLink:
    """Data pages whose ``kmsan_shadow`` / ``kmsan_origin`` are pfn + delta."""

    shadow_delta: int
    origin_delta: int
    owner: str  # who allocated the metadata (kmsan_init_shadow, kmsan_memblock_free_pages, ...)

    def resolve(self, pfn: int) -> tuple[int, int]:
        return pfn + self.shadow_delta, pfn + self.origin_delta


@dataclass(frozen=True, slots=True)
class MetaBacking:
    """Shadow or origin pages backing the data page at pfn + data_delta (None: held, unused)."""

    role: MetaRole
    data_delta: int | None
    owner: str

    def data_of(self, pfn: int) -> int | None:
        return None if self.data_delta is None else pfn + self.data_delta


@dataclass(frozen=True, slots=True)
class MetaPattern:
    """Eager hold-back over a run of same-order chunks: shadow, origin, data, repeated.

    mm/kmsan/init.c: kmsan_memblock_free_pages() keeps the 1st chunk of an order as
    shadow, the 2nd as origin and links the 3rd to them; over a long run of order-k
    chunks starting at ``base`` that is the period-3 pattern S, O, D.
    """

    base: int
    order: int
    owner: str = "kmsan_memblock_free_pages"

    def role_of(self, pfn: int) -> tuple[MetaRole | None, int, int, int]:
        """(role or None for data, shadow block, origin block, data block) of pfn's triple."""
        size = 1 << self.order
        index = (pfn - self.base) >> self.order
        slot = index % 3
        triple = self.base + (index - slot) * size
        role = (MetaRole.SHADOW, MetaRole.ORIGIN, None)[slot]
        return role, triple, triple + size, triple + 2 * size


@dataclass(frozen=True, slots=True)
class Blind:
    """Data pages that should have metadata and do not: accesses hit the dummy pages."""

    reason: str


@dataclass(frozen=True, slots=True)
class FixedBacking:
    """Fixed-address scheme: physical pages backing the shadow/origin virtual range."""

    role: MetaRole
    data_delta: int
    owner: str = "kmsan_init_shadow"


MetaValue = MetaLink | MetaBacking | MetaPattern | Blind | FixedBacking


@dataclass(slots=True)
class MetaLedger:
    """Running totals of what KMSAN holds, kept by the strategy as it changes the map.

    The metrics read these in O(1) after every command (a workload leaves 10^5 live
    allocations and their metadata blocks: no walk of the map per command).
    ``invariants.check_machine()`` recounts them from the KMSAN and owner maps and
    reports any difference. "Reserved" pages are outside the buddy allocator
    (PG_reserved: memblock allocations, eager's hold-back); "buddy" pages are
    allocated blocks inside the managed pages.
    """

    reserved_meta: int = 0  # shadow/origin pages outside the buddy allocator
    buddy_meta: int = 0  # shadow/origin pages allocated from the buddy allocator
    reserved_held: int = 0  # metadata backing no data, outside buddy (eager held_back[])
    buddy_held: int = 0  # metadata backing no data, allocated (lazy: leaked by an early free)
    reserved_pt: int = 0  # page-table pages mapping shadow/origin, from memblock
    buddy_pt: int = 0  # page-table pages mapping shadow/origin, from the buddy allocator
    blind: int = 0  # data pages that should have metadata and have none (Blind)
    backfill_pages: int = 0  # data pages given metadata after they were handed out

    @property
    def metadata_pages(self) -> int:
        """Every page KMSAN uses for shadow, origin or the tables that map them."""
        return self.reserved_meta + self.buddy_meta + self.reserved_pt + self.buddy_pt

    @property
    def held_pages(self) -> int:
        return self.reserved_held + self.buddy_held

    @property
    def in_buddy(self) -> int:
        """Pages of allocated buddy blocks that belong to KMSAN, not to data."""
        return self.buddy_meta + self.buddy_held + self.buddy_pt

    @property
    def outside_buddy(self) -> int:
        """PG_reserved pages that belong to KMSAN."""
        return self.reserved_meta + self.reserved_held + self.reserved_pt

    def as_tuple(self) -> tuple[int, ...]:
        return (self.reserved_meta, self.buddy_meta, self.reserved_held, self.buddy_held,
                self.reserved_pt, self.buddy_pt, self.blind, self.backfill_pages)
