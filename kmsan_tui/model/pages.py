"""The read-only view of one ``struct page`` that ``Simulation.page(pfn)`` returns."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntFlag

from kmsan_tui.model.constants import MigrateType


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
