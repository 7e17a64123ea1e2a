"""The read-only view of one ``struct page`` that ``Simulation.page(pfn)`` returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntFlag
from typing import TYPE_CHECKING

from kmsan_tui.model.constants import PAGE_SHIFT, MigrateType
from kmsan_tui.model.metadata import (
    Blind,
    FixedBacking,
    MetaBacking,
    MetaLink,
    MetaPattern,
    MetaRole,
)

if TYPE_CHECKING:
    from kmsan_tui.model.simulation import Simulation


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


class PageState(Enum):
    """What a page is being used for, one value per map colour."""

    HOLE = "hole"  # no RAM (e820 reserved or absent): no struct page is initialised
    MEMBLOCK_FREE = "memblock"  # RAM memblock has not handed to the buddy allocator yet
    RESERVED = "reserved"  # memblock-reserved: PG_reserved after memmap_init_reserved_pages
    FREE = "free"  # on a buddy free list
    ALLOCATED = "allocated"  # handed out by the buddy allocator
    SHADOW = "shadow"  # KMSAN shadow page
    ORIGIN = "origin"  # KMSAN origin page
    HELD_BACK = "held back"  # eager: kept in held_back[order], not yet paired with data


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


def page_view(sim: Simulation, pfn: int) -> PageView:
    """A read-only view of ``struct page`` for pfn (any pfn: holes included).

    The layers are read in the order the kernel would answer: no RAM is a hole, a
    buddy free block wins, then KMSAN metadata, buddy allocations, memblock
    reservations, and memory memblock has not handed over yet.
    """
    zone = sim.zone_of(pfn)
    nid = zone.nid if zone else None
    zname = zone.name if zone else None
    addr = pfn << PAGE_SHIFT
    in_memory = sim.memblock.is_memory(addr)
    owner_ext = sim.owners.get(pfn)
    owner = owner_ext[2] if owner_ext else None
    meta = sim.kmsan.get(pfn)
    shadow = origin = meta_for = None
    role: MetaRole | None = None
    blind = False
    meta_owner = None
    if meta is not None:
        value = meta[2]
        if isinstance(value, MetaLink):
            shadow, origin = value.resolve(pfn)
        elif isinstance(value, MetaBacking):
            role, meta_for, meta_owner = value.role, value.data_of(pfn), value.owner
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
    shadow, origin, extra = sim.strategy.describe_metadata(sim, pfn, shadow, origin)
    common = {"pfn": pfn, "nid": nid, "zone": zname, "kmsan_shadow": shadow,
              "kmsan_origin": origin, "blind": blind, **extra}
    if not in_memory or (zone is None and sim.zones):
        # mm/mm_init.c: init_unavailable_range() gives holes inside a zone's span
        # a PG_reserved struct page; outside any zone there is none.
        flags = PageFlags.PG_reserved if zone is not None else PageFlags.NONE
        return PageView(state=PageState.HOLE, flags=flags, **common)
    if zone is not None:
        free = zone.find_free_block(pfn)
        if free is not None:
            head, order, mt = free
            flags = PageFlags.PG_buddy if head == pfn else PageFlags.NONE
            return PageView(state=PageState.FREE, flags=flags, order=order, head_pfn=head,
                            migratetype=mt, **common)
    if role is not None:
        held = meta_for is None
        state = (PageState.HELD_BACK if held else
                 PageState.SHADOW if role is MetaRole.SHADOW else PageState.ORIGIN)
        block = zone.allocated_block(pfn) if zone else None
        flags = PageFlags.NONE if block else PageFlags.PG_reserved
        common["meta_for"] = meta_for
        return PageView(state=state, flags=flags, owner=owner or meta_owner,
                        order=block[1] if block else None,
                        head_pfn=block[0] if block else None, **common)
    if zone is not None:
        block = zone.allocated_block(pfn)
        if block is not None:
            head, order, mt = block
            flags = PageFlags.NONE
            if order and head == pfn:
                flags |= PageFlags.PG_head
            if owner and owner.startswith("slab:"):
                flags |= PageFlags.PG_slab
            elif mt is MigrateType.MOVABLE:
                flags |= PageFlags.PG_lru
            return PageView(state=PageState.ALLOCATED, flags=flags, order=order,
                            head_pfn=head, migratetype=mt, owner=owner, **common)
    if sim.memblock.is_reserved(addr) or (owner is not None and not sim.handed_over):
        return PageView(state=PageState.RESERVED, flags=PageFlags.PG_reserved, owner=owner,
                        **common)
    if not sim.handed_over:
        return PageView(state=PageState.MEMBLOCK_FREE, **common)
    # Handed over but neither free, allocated nor metadata: a partial page at the edge
    # of a reserved range, which memblock_free_all() leaves PG_reserved.
    return PageView(state=PageState.RESERVED, flags=PageFlags.PG_reserved, owner=owner,
                    **common)
