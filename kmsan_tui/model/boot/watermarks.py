"""init_per_zone_wmark_min() (mm/page_alloc.c, a postcore initcall): min_free_kbytes,
each zone's min/low/high watermarks and lowmem_reserve[].

The allocator reads them in every zonelist walk (Machine.alloc_pages_raw):
zone_watermark_ok() skips a zone that would drop below its low watermark (min in the
slowpath) plus the part of it kept for allocations that could have gone higher. Before
this initcall they are all zero, as in early boot. Checked against the shared
/proc/zoneinfo samples (tests/model/test_watermarks.py).
"""

from __future__ import annotations

from math import isqrt

from kmsan_tui.model.buddy import Zone
from kmsan_tui.model.constants import PAGE_SHIFT
from kmsan_tui.model.machine import ZONE_NAMES, ZONE_NORMAL, Machine
from kmsan_tui.model.strategies.base import MetadataStrategy

# mm/page_alloc.c: sysctl_lowmem_reserve_ratio[] for DMA, DMA32, NORMAL (MOVABLE: 0).
LOWMEM_RESERVE_RATIO = (256, 256, 32)
# mm/page_alloc.c: watermark_scale_factor default (0.1 % of the zone).
WATERMARK_SCALE_FACTOR = 10
MIN_FREE_KBYTES_MIN = 128
MIN_FREE_KBYTES_MAX = 262144


def zone_index(zone: Zone) -> int:
    """zone_idx(): ZONE_DMA 0, ZONE_DMA32 1, ZONE_NORMAL 2."""
    return ZONE_NAMES.index(zone.name)


def nr_free_buffer_pages(m: Machine) -> int:
    """nr_free_zone_pages(gfp_zone(GFP_USER)): managed pages above the high watermark of
    every zone up to ZONE_NORMAL in node 0's zonelist."""
    return sum(max(0, z.managed_pages - z.watermark[2]) for z in m.zonelist(0)
               if zone_index(z) <= ZONE_NORMAL)


def calculate_min_free_kbytes(m: Machine) -> int:
    """min_free_kbytes = sqrt(lowmem_kbytes * 16), clamped to [128, 262144]."""
    lowmem_kbytes = nr_free_buffer_pages(m) << (PAGE_SHIFT - 10)
    return max(MIN_FREE_KBYTES_MIN, min(MIN_FREE_KBYTES_MAX, isqrt(lowmem_kbytes * 16)))


def setup_per_zone_wmarks(m: Machine, min_free_kbytes: int) -> None:
    """__setup_per_zone_wmarks(): min is each zone's share of min_free_kbytes by managed
    pages; low and high are min plus one and two steps of max(min/4, 0.1 % of the zone)."""
    pages_min = min_free_kbytes >> (PAGE_SHIFT - 10)
    lowmem = sum(z.managed_pages for z in m.zones)
    for zone in m.zones:
        wmin = pages_min * zone.managed_pages // lowmem if lowmem else 0
        step = max(wmin >> 2, zone.managed_pages * WATERMARK_SCALE_FACTOR // 10000)
        zone.watermark = (wmin, wmin + step, wmin + 2 * step)


def setup_per_zone_lowmem_reserve(m: Machine) -> None:
    """setup_per_zone_lowmem_reserve(): zone i keeps (managed pages of the zones above
    it on its node, up to j) / ratio[i] from allocations that could use zone j; nothing
    when zone i manages no page."""
    for zone in m.zones:
        i = zone_index(zone)
        above = {zone_index(z): z.managed_pages for z in m.zones if z.nid == zone.nid}
        reserve = [0, 0, 0, 0]
        total = 0
        for j in range(i + 1, len(reserve)):
            total += above.get(j, 0)
            if zone.managed_pages:
                reserve[j] = total // LOWMEM_RESERVE_RATIO[i]
        zone.lowmem_reserve = tuple(reserve)


def init_per_zone_wmark_min(m: Machine, kmsan: MetadataStrategy) -> None:
    if not m.zones:
        return
    min_free_kbytes = calculate_min_free_kbytes(m)
    m.boot_state.min_free_kbytes = min_free_kbytes
    setup_per_zone_wmarks(m, min_free_kbytes)
    setup_per_zone_lowmem_reserve(m)
    m.log(f"min_free_kbytes = {min_free_kbytes}: watermarks (min/low/high) "
          + ", ".join(f"{z.name} {'/'.join(map(str, z.watermark))}" for z in m.zones), "note")
