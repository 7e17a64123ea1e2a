"""What the KMSAN metadata layer records for a range of pfns.

The layer is a ``BlockMap`` (an extent map) from pfn ranges to one of these values. Values store
*offsets*, not absolute pfns, so an extent split by a later assignment keeps its
meaning (mm/kmsan/shadow.c: kmsan_setup_meta() links page i of a block to page i of
its shadow and origin blocks).
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
