"""Zone watermarks, lowmem reserves and MemAvailable, by the kernel's own formulas.

mm/page_alloc.c computes them from the zones' managed pages at init_per_zone_wmark_min()
(a core_initcall) and again whenever min_free_kbytes or a reserve ratio changes; here
they are computed from the managed pages of the view, so after KMSAN gives its leftover
held-back blocks back they follow the new managed counts (the kernel keeps the values of
its early initcall until something recomputes them: a few pages apart).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from math import isqrt

from kmsan_tui.formats.kversion import prints
from kmsan_tui.formats.snapshot import ZoneView

# mm/page_alloc.c: sysctl_lowmem_reserve_ratio[] (DMA, DMA32, Normal; Movable and
# Device 0).
LOWMEM_RESERVE_RATIO = {"DMA": 256, "DMA32": 256, "Normal": 32, "Movable": 0, "Device": 0}
WATERMARK_SCALE_FACTOR = 10  # vm.watermark_scale_factor, in 1/10000 of managed pages
SWAP_CLUSTER_MAX = 32


@dataclass(frozen=True, slots=True)
class Watermarks:
    """A zone's _watermark[] and lowmem_reserve[] (pages)."""

    min: int
    low: int
    high: int
    promo: int
    protection: tuple[int, ...]  # lowmem_reserve[MAX_NR_ZONES]


def min_free_kbytes(zones: Sequence[ZoneView]) -> int:
    """calculate_min_free_kbytes(): int_sqrt(lowmem_kbytes * 16), clamped to
    [128, 262144]; lowmem is every zone up to ZONE_NORMAL (nr_free_buffer_pages() with
    no watermark set yet)."""
    lowmem_kbytes = sum(z.managed for z in zones if z.name != "Movable") * 4
    return max(128, min(262144, isqrt(lowmem_kbytes * 16)))


def _mult_frac(x: int, numer: int, denom: int) -> int:
    """include/linux/math.h mult_frac() for non-negative values."""
    q, r = divmod(x, denom)
    return q * numer + r * numer // denom


def zone_watermarks(zones: Sequence[ZoneView], profile: str) -> dict[tuple[int, str], Watermarks]:
    """__setup_per_zone_wmarks() and setup_per_zone_lowmem_reserve() for every zone."""
    pages_min = min_free_kbytes(zones) >> 2
    capped = prints(profile, "wmark_movable_capped")
    lowmem_pages = sum(z.managed for z in zones if not (capped and z.name == "Movable"))
    out: dict[tuple[int, str], Watermarks] = {}
    for z in zones:
        tmp = pages_min * z.managed // lowmem_pages if lowmem_pages else 0
        if capped and z.name == "Movable":
            # __GFP_HIGH and PF_MEMALLOC allocations do not need movable pages.
            wmin = max(SWAP_CLUSTER_MAX, min(128, z.managed // 1024))
        else:
            wmin = tmp
        step = max(tmp >> 2, _mult_frac(z.managed, WATERMARK_SCALE_FACTOR, 10000))
        out[(z.nid, z.name)] = Watermarks(wmin, wmin + step, wmin + 2 * step, wmin + 3 * step,
                                          _lowmem_reserve(zones, z))
    return out


def _node_types(zones: Sequence[ZoneView], nid: int) -> list[ZoneView]:
    """A node's zones in zone_type order (the view lists every type of the build)."""
    return [z for z in zones if z.nid == nid]


def _lowmem_reserve(zones: Sequence[ZoneView], zone: ZoneView) -> tuple[int, ...]:
    """setup_per_zone_lowmem_reserve(): for each higher zone j, the managed pages of the
    zones above this one up to j, over this zone's ratio (0 for an empty zone); one
    entry per zone type (MAX_NR_ZONES)."""
    ratio = LOWMEM_RESERVE_RATIO.get(zone.name, 0)
    node = _node_types(zones, zone.nid)
    i = node.index(zone)
    reserve = [0] * len(node)
    above = 0
    for j in range(i + 1, len(node)):
        above += node[j].managed
        reserve[j] = 0 if not ratio or not zone.managed else above // ratio
    return tuple(reserve)


def totalreserve_pages(zones: Sequence[ZoneView], marks: dict[tuple[int, str], Watermarks]) -> int:
    """calculate_totalreserve_pages(): per zone the largest lowmem reserve plus the high
    watermark, at most the zone's managed pages."""
    total = 0
    for z in zones:
        w = marks[(z.nid, z.name)]
        i = _node_types(zones, z.nid).index(z)
        total += min(z.managed, max(w.protection[i:], default=0) + w.high)
    return total


def mem_available(zones: Sequence[ZoneView], profile: str) -> int:
    """si_mem_available() in pages with no page cache and no reclaimable slab (the model
    has neither): free pages less totalreserve_pages, never negative."""
    marks = zone_watermarks(zones, profile)
    free = sum(z.nr_free for z in zones)
    return max(0, free - totalreserve_pages(zones, marks))
