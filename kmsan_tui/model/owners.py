"""Who holds a page, as one letter: the glyph of a reserved or allocated map cell.

The model names owners after the kernel code that reserved or allocated the pages
("kernel image", "memmap (struct page, 80 B)", "slab:kmalloc", "workload:thp"...).
The map draws the category letter: upper case for memblock-reserved pages, lower
case for buddy allocations, so the glyph alone tells the state (colour is a second
signal, never the only one).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True, slots=True)
class OwnerCategory:
    letter: str  # upper case; the map shows it lower case for allocated pages
    label: str
    short: str  # the legend's label
    needles: tuple[str, ...]  # substrings of the owner name that select the category


# Order matters: the first category whose needle is in the owner name wins.
CATEGORIES: tuple[OwnerCategory, ...] = (
    OwnerCategory("K", "kernel image", "kernel", ("kernel image",)),
    OwnerCategory("I", "initrd", "initrd", ("initrd",)),
    OwnerCategory("M", "memmap, usemap, mem_section", "memmap",
                  ("memmap", "usemap", "mem_section", "struct page")),
    OwnerCategory("E", "page_ext", "page_ext", ("page_ext",)),
    OwnerCategory("P", "page tables", "page tables",
                  ("page table", "pgtable", "preallocate_vmalloc", "espfix", "pti")),
    OwnerCategory("C", "per-cpu areas", "percpu", ("percpu", "per-cpu")),
    OwnerCategory("L", "slab caches", "slab", ("slab:",)),
    OwnerCategory("T", "hash tables, stack depot", "hash tables",
                  ("hash table", "stackdepot", "stack depot")),
    OwnerCategory("D", "DMA bounce buffers (swiotlb)", "swiotlb", ("swiotlb",)),
    OwnerCategory("N", "NODE_DATA", "NODE_DATA", ("NODE_DATA",)),
    OwnerCategory("B", "firmware, BIOS, ACPI, real mode", "firmware",
                  ("BIOS", "ACPI", "first 1M", "first 64K", "real mode", "trampoline", "EBDA")),
    OwnerCategory("W", "workload allocations", "workload", ("workload:",)),
    OwnerCategory("U", "KMSAN bookkeeping", "kmsan", ("kmsan",)),
    OwnerCategory("V", "vmalloc, kfence, debug objects", "vmalloc/debug",
                  ("vmalloc", "vmap", "kfence", "debug", "kmemleak")),
)
OTHER = OwnerCategory("X", "other", "other", ())


ALL_CATEGORIES: tuple[OwnerCategory, ...] = (*CATEGORIES, OTHER)
"""Every category, OTHER last: ``category_id()`` indexes this tuple."""


def category(owner: str | None) -> OwnerCategory:
    """The category of an owner name (OTHER when none matches or there is no owner)."""
    return ALL_CATEGORIES[category_id(owner)]


@lru_cache(maxsize=4096)
def category_id(owner: str | None) -> int:
    """The index in ``ALL_CATEGORIES`` of an owner name's category (the map's cells
    carry it, so two states' cells compare without a table of names)."""
    if owner:
        for i, cat in enumerate(CATEGORIES):
            if any(needle in owner for needle in cat.needles):
                return i
    return len(CATEGORIES)
