"""Where a fixed-address KMSAN puts its shadow and origin on x86_64, and whether it fits.

Sources: torvalds/linux Documentation/arch/x86/x86_64/mm.rst (the 4- and 5-level
maps; "vaddr_end for KASLR" at the cpu_entry_area; "The KASLR address range must
not overlap with anything except the KASAN shadow area, which is correct as KASAN
disables KASLR"), arch/x86/mm/kaslr.c (kernel_randomize_memory(),
kaslr_memory_enabled() is false only with KASAN), arch/x86/include/asm/
pgtable_64_types.h (KMSAN builds split vmalloc in quarters: vmalloc, its shadow,
its origin, then the module shadow and origin).

The direct-map shadow and origin are 1:1 with the direct map, which spans up to the
highest RAM address (holes included), rounded to 1 GiB here:
- KMSAN excludes KASAN, so KASAN's slot is free: 16 TB on 4-level paging (8 TB of
  shadow + 8 TB of origin), ~8 PB on 5-level. But with CONFIG_RANDOMIZE_MEMORY the
  direct map, vmalloc and vmemmap may be moved anywhere up to vaddr_end, over that
  slot: only KASAN turns memory KASLR off.
- Above vaddr_end the only free space is the 0.5 TB hole after the cpu_entry_area
  (0xfffffe8000000000, both paging modes): 256 GB of shadow and 256 GB of origin.
  So with RANDOMIZE_MEMORY the design fits machines whose direct map is at most
  256 GB, or needs memory KASLR off (a one-line change to kaslr_memory_enabled()).
- vmalloc and module metadata stay where upstream KMSAN puts them: the vmalloc area
  shrinks to a quarter and the other quarters hold its shadow, its origin and the
  modules' (the kernel-map part of the FreeBSD design).
"""

from __future__ import annotations

from kmsan_tui.model.constants import PAGE_SHIFT
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.strategies.base import VirtualLayout

TB = 1 << 40
SZ_1G = 1 << 30
KASAN_SLOT_4LEVEL = 0xFFFFEC0000000000
KASAN_SLOT_4LEVEL_SIZE = 16 * TB
KASAN_SLOT_5LEVEL = 0xFFDF000000000000
KASAN_SLOT_5LEVEL_SIZE = 0xFFFFFC0000000000 - KASAN_SLOT_5LEVEL  # ~8 PB
# mm.rst: "... unused hole" after the cpu_entry_area, above vaddr_end (KASLR's end).
KASLR_FREE_HOLE = 0xFFFFFE8000000000
KASLR_FREE_HOLE_SIZE = TB // 2
VMALLOC_START = {4: 0xFFFFC90000000000, 5: 0xFFA0000000000000}
VMALLOC_SIZE = {4: 32 * TB, 5: 12800 * TB}  # VMALLOC_SIZE_TB
MODULES_LEN = 1520 << 20  # MODULES_VADDR 0xffffffffa0000000 .. 0xfffffffffeffffff

DIRECT_MAP_POLICY = {
    "on-demand": "direct map not shadowed: allocations are reached through the shadowed "
                 "kernel map, one-to-one with memory here (FreeBSD's UMA under KMSAN); "
                 "memblock-era memory (image, memmap, page tables) is not tracked",
    "boot": "direct map shadowed one-to-one, every RAM page backed at kmsan_init_shadow()",
}


def direct_map_span(m: Machine) -> int:
    """Bytes of direct map to shadow: up to the highest RAM address, in whole GiB."""
    return -(-(m.max_pfn << PAGE_SHIFT) // SZ_1G) * SZ_1G


def layout_for(m: Machine, backing: str) -> VirtualLayout:
    """The ranges for machine ``m`` and whether they fit each paging mode."""
    span = direct_map_span(m)
    levels = m.layout.paging_levels
    if levels == 5:
        base, size, slot = KASAN_SLOT_5LEVEL, KASAN_SLOT_5LEVEL_SIZE, "5-level KASAN slot (~8 PB)"
    else:
        base, size, slot = KASAN_SLOT_4LEVEL, KASAN_SLOT_4LEVEL_SIZE, "4-level KASAN slot (16 TB)"
    half = size // 2
    quarter = VMALLOC_SIZE[levels] // 4
    vstart = VMALLOC_START[levels]
    fits_kaslr = 2 * span <= KASLR_FREE_HOLE_SIZE
    return VirtualLayout(
        shadow_start=base, origin_start=base + half, size_each=span,
        fits_4level=span <= KASAN_SLOT_4LEVEL_SIZE // 2,
        fits_5level=span <= KASAN_SLOT_5LEVEL_SIZE // 2,
        paging_levels=levels, slot=slot,
        fits_4level_kaslr=fits_kaslr, fits_5level_kaslr=fits_kaslr,
        kaslr_slot="0.5 TB hole after cpu_entry_area (above KASLR's vaddr_end)",
        vmalloc_shadow_start=vstart + quarter, vmalloc_origin_start=vstart + 2 * quarter,
        vmalloc_size=quarter,
        modules_shadow_start=vstart + 3 * quarter,
        modules_origin_start=vstart + 3 * quarter + MODULES_LEN, modules_size=MODULES_LEN,
        backing=backing, direct_map=DIRECT_MAP_POLICY[backing])


def fit_line(layout: VirtualLayout) -> str:
    """One line: does it fit, per paging mode, with and without RANDOMIZE_MEMORY."""
    def yn(v: bool) -> str:
        return "yes" if v else "NO"
    return (f"fits 4-level {yn(layout.fits_4level)}, 5-level {yn(layout.fits_5level)}; with "
            f"RANDOMIZE_MEMORY: 4-level {yn(layout.fits_4level_kaslr)}, 5-level "
            f"{yn(layout.fits_5level_kaslr)}")
