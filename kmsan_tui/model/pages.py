"""The read-only view of one ``struct page`` that ``Simulation.page(pfn)`` returns.

The page's state comes from ``pagestate.RULES`` (``PageState`` lives there too and is
re-exported here); this module adds what the inspector shows beside it: flags, the
buddy block, the owner and where the KMSAN metadata lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntFlag
from typing import assert_never

from kmsan_tui.model.constants import PAGE_SHIFT, MigrateType
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import (
    Blind,
    FixedBacking,
    MetaBacking,
    MetaLink,
    MetaPattern,
    MetaRole,
)
from kmsan_tui.model.pagestate import PageFacts, PageState, state_of
from kmsan_tui.model.strategies.base import MetadataStrategy


class PageFlags(IntFlag):
    """The page flags this model sets, named after include/linux/page-flags.h."""

    NONE = 0
    PG_reserved = 1 << 0
    PG_buddy = 1 << 1  # a page type in the kernel (PageBuddy), on the head page of a free block
    PG_head = 1 << 2
    PG_slab = 1 << 3
    PG_lru = 1 << 4

    def describe(self) -> str:
        """The names as dump_page() prints them, without the PG_ prefix."""
        names = [f.name.removeprefix("PG_") for f in PageFlags
                 if f and f in self and f.name is not None]
        return "|".join(names) if names else "none"


@dataclass(frozen=True, slots=True)
class PageView:
    """One page as drgn would show it, plus where its KMSAN metadata lives."""

    pfn: int
    state: PageState
    flags: PageFlags = PageFlags.NONE
    nid: int | None = None
    zone: str | None = None
    order: int | None = None  # of the buddy block (free or allocated) the page is in
    head_pfn: int | None = None
    migratetype: MigrateType | None = None
    owner: str | None = None  # the boot step or workload that reserved/allocated it
    kmsan_shadow: int | None = None  # pfn of the shadow page (struct page pointer, page_ext or fixed)
    kmsan_origin: int | None = None
    meta_for: int | None = None  # for a shadow/origin page: the data pfn it describes
    blind: bool = False  # data page without metadata
    shadow_vaddr: int | None = None  # fixed strategy: the virtual address of the shadow
    origin_vaddr: int | None = None
    metadata_in: str | None = None  # "struct page", "page_ext" or "fixed mapping"

    @property
    def phys(self) -> int:
        return self.pfn << 12


def page_view(m: Machine, kmsan: MetadataStrategy, pfn: int) -> PageView:
    """A read-only view of ``struct page`` for pfn (any pfn: holes included).

    The page's facts are read from every layer, and its state is the first rule of
    ``pagestate.RULES`` that holds (the map resolves its cells with the same table).
    """
    zone = m.zone_of(pfn)
    nid = zone.nid if zone else None
    zname = zone.name if zone else None
    addr = pfn << PAGE_SHIFT
    owner_ext = m.owners.get(pfn)
    owner = owner_ext[2] if owner_ext else None
    meta = m.kmsan.get(pfn)
    shadow = origin = meta_for = None
    role: MetaRole | None = None
    held = blind = False
    meta_owner = None
    if meta is not None:
        value = meta[2]
        if isinstance(value, MetaLink):
            shadow, origin = value.resolve(pfn)
        elif isinstance(value, MetaBacking):
            role, meta_for, meta_owner = value.role, value.data_of(pfn), value.owner
            held = meta_for is None
        elif isinstance(value, FixedBacking):
            role, meta_for, meta_owner = value.role, pfn + value.data_delta, value.owner
        elif isinstance(value, MetaPattern):
            prole, s, o, d = value.role_of(pfn)
            if prole is None:
                shadow, origin = s + (pfn - d), o + (pfn - d)
            else:
                role, meta_owner = prole, value.owner
                meta_for = d + (pfn - (s if prole is MetaRole.SHADOW else o))
        elif isinstance(value, Blind):
            blind = True
    free = zone.find_free_block(pfn) if zone is not None else None
    block = zone.allocated_block(pfn) if zone is not None else None
    state = state_of(PageFacts.of_page(
        ram=m.memblock.is_memory(addr) and (zone is not None or not m.zones),
        free=free is not None, held_back=held, shadow=role is MetaRole.SHADOW,
        origin=role is MetaRole.ORIGIN, allocated=block is not None,
        reserved=m.memblock.is_reserved(addr), owned=owner is not None,
        handed_over=bool(m.handed_over), blind=blind))
    # The one place the inspector asks the strategy: where pfn's metadata lives.
    shadow, origin, extra = kmsan.describe_metadata(m, pfn, shadow, origin)
    common = {"pfn": pfn, "nid": nid, "zone": zname, "kmsan_shadow": shadow,
              "kmsan_origin": origin, "blind": blind, **extra}
    match state:
        case PageState.HOLE:
            # mm/mm_init.c: init_unavailable_range() gives holes inside a zone's span
            # a PG_reserved struct page; outside any zone there is none.
            flags = PageFlags.PG_reserved if zone is not None else PageFlags.NONE
            return PageView(state=state, flags=flags, **common)
        case PageState.FREE:
            assert free is not None
            head, order, mt = free
            flags = PageFlags.PG_buddy if head == pfn else PageFlags.NONE
            return PageView(state=state, flags=flags, order=order, head_pfn=head,
                            migratetype=mt, **common)
        case PageState.HELD_BACK | PageState.SHADOW | PageState.ORIGIN:
            # Metadata taken from the buddy allocator is an allocated block; metadata
            # memblock allocated is PG_reserved.
            flags = PageFlags.NONE if block else PageFlags.PG_reserved
            common["meta_for"] = meta_for
            return PageView(state=state, flags=flags, owner=owner or meta_owner,
                            order=block[1] if block else None,
                            head_pfn=block[0] if block else None, **common)
        case PageState.ALLOCATED:
            assert block is not None
            head, order, mt = block
            flags = PageFlags.NONE
            if order and head == pfn:
                flags |= PageFlags.PG_head
            if owner and owner.startswith("slab:"):
                flags |= PageFlags.PG_slab
            elif mt is MigrateType.MOVABLE:
                flags |= PageFlags.PG_lru
            return PageView(state=state, flags=flags, order=order, head_pfn=head,
                            migratetype=mt, owner=owner, **common)
        case PageState.RESERVED:
            return PageView(state=state, flags=PageFlags.PG_reserved, owner=owner, **common)
        case PageState.MEMBLOCK_FREE:
            return PageView(state=state, **common)
        case _:
            assert_never(state)


__all__ = ["PageFlags", "PageState", "PageView", "page_view"]
