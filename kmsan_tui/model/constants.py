"""x86_64 memory-management constants, named as the kernel names them."""

from __future__ import annotations

from enum import IntEnum

PAGE_SHIFT = 12
PAGE_SIZE = 1 << PAGE_SHIFT

# include/linux/mmzone.h: MAX_PAGE_ORDER is inclusive since v6.4 (MAX_ORDER before v6.8).
MAX_PAGE_ORDER = 10
NR_PAGE_ORDERS = MAX_PAGE_ORDER + 1
MAX_ORDER_NR_PAGES = 1 << MAX_PAGE_ORDER

# arch/x86: pageblock_order = HUGETLB_PAGE_ORDER (2 MiB pageblocks).
PAGEBLOCK_ORDER = 9
PAGEBLOCK_NR_PAGES = 1 << PAGEBLOCK_ORDER

# include/linux/mmzone.h: SECTION_SIZE_BITS = 27 on x86_64 (128 MiB sections).
SECTION_SIZE_BITS = 27
PAGES_PER_SECTION = 1 << (SECTION_SIZE_BITS - PAGE_SHIFT)

MAX_DMA_PFN = (16 << 20) >> PAGE_SHIFT  # ZONE_DMA: below 16 MiB
MAX_DMA32_PFN = (4 << 30) >> PAGE_SHIFT  # ZONE_DMA32: below 4 GiB


class MigrateType(IntEnum):
    """include/linux/mmzone.h: enum migratetype (without CMA, with ISOLATE last)."""

    UNMOVABLE = 0
    MOVABLE = 1
    RECLAIMABLE = 2
    HIGHATOMIC = 3  # == MIGRATE_PCPTYPES
    ISOLATE = 4

    @property
    def label(self) -> str:
        """The name mm/vmstat.c prints in /proc/pagetypeinfo."""
        return _MIGRATETYPE_NAMES[self]


_MIGRATETYPE_NAMES = {
    MigrateType.UNMOVABLE: "Unmovable",
    MigrateType.MOVABLE: "Movable",
    MigrateType.RECLAIMABLE: "Reclaimable",
    MigrateType.HIGHATOMIC: "HighAtomic",
    MigrateType.ISOLATE: "Isolate",
}

# The types /proc/pagetypeinfo prints (MIGRATE_TYPES without CMA; ISOLATE only with
# CONFIG_MEMORY_ISOLATION, which the shipped kernels in data/ do not have).
PAGETYPEINFO_TYPES = (
    MigrateType.UNMOVABLE,
    MigrateType.MOVABLE,
    MigrateType.RECLAIMABLE,
    MigrateType.HIGHATOMIC,
)


def pfn_to_phys(pfn: int) -> int:
    return pfn << PAGE_SHIFT


def phys_to_pfn(addr: int) -> int:
    return addr >> PAGE_SHIFT


def pfn_up(addr: int) -> int:
    """include/linux/pfn.h: PFN_UP."""
    return (addr + PAGE_SIZE - 1) >> PAGE_SHIFT


def pfn_down(addr: int) -> int:
    """include/linux/pfn.h: PFN_DOWN."""
    return addr >> PAGE_SHIFT
