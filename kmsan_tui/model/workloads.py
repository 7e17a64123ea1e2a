"""Seeded post-boot workloads: what happens to memory once the machine runs.

Each workload is a stream of alloc_pages()/__free_pages() operations drawn from the
simulation's own generator (numpy PCG64, seeded), so the same seed gives the same
operations and the same digest. They run after the boot (or wherever the user is) and
go through the same allocator path as boot allocations, KMSAN hooks included: under
the lazy strategy, watch metadata allocations start to fail as the fragmenter works.

Reclaim is driven by the zones' watermarks (set by init_per_zone_wmark_min), as
kswapd and direct reclaim are in mm/vmscan.c, with one simplification: what is
reclaimable is the workload's own live allocations, picked at random (the model has
no LRU lists, page cache or swap):

- after an allocation leaves its zone below the low watermark, kswapd is woken and
  frees until the zone is back above its high watermark (balance_pgdat());
- when an allocation fails even at the min watermark, the allocating task reclaims
  directly (SWAP_CLUSTER_MAX allocations at a time, __perform_reclaim()) and retries
  once; if that fails too, the operation counts as a failure.

Before init_per_zone_wmark_min has run every watermark is zero: kswapd never wakes,
and only an allocation that finds every zone empty reclaims (directly).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from kmsan_tui.model.buddy import Zone
from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.machine import Machine

# include/linux/swap.h: SWAP_CLUSTER_MAX, the reclaim batch.
SWAP_CLUSTER_MAX = 32
WMARK_MIN, WMARK_LOW, WMARK_HIGH = 0, 1, 2


@dataclass(frozen=True, slots=True)
class WorkloadSpec:
    """How a workload draws its operations."""

    name: str
    description: str
    free_probability: float  # chance an op frees a live allocation (when there is one)
    orders: tuple[int, ...]
    order_weights: tuple[float, ...]
    types: tuple[MigrateType, ...]
    type_weights: tuple[float, ...]


WORKLOADS: dict[str, WorkloadSpec] = {
    "pagecache": WorkloadSpec(
        "pagecache", "page-cache churn: order-0 movable pages filled and reclaimed, a few "
        "readahead folios", 0.45, (0, 2), (0.9, 0.1), (MigrateType.MOVABLE,), (1.0,)),
    "fragmenter": WorkloadSpec(
        "fragmenter", "mixed orders 0-4 and 9, unmovable, movable and reclaimable, freed at "
        "random: the pattern that breaks up the largest blocks", 0.4,
        (0, 1, 2, 3, 4, 9), (0.45, 0.2, 0.15, 0.1, 0.07, 0.03),
        (MigrateType.UNMOVABLE, MigrateType.MOVABLE, MigrateType.RECLAIMABLE), (0.4, 0.4, 0.2)),
    "slab": WorkloadSpec(
        "slab", "slab growth: order 0-3 unmovable and reclaimable slabs, rarely freed", 0.2,
        (0, 1, 2, 3), (0.5, 0.2, 0.15, 0.15),
        (MigrateType.UNMOVABLE, MigrateType.RECLAIMABLE), (0.7, 0.3)),
    "thp": WorkloadSpec(
        "thp", "transparent huge pages: order-9 movable faults with order-0 fallbacks", 0.35,
        (9, 0), (0.6, 0.4), (MigrateType.MOVABLE,), (1.0,)),
}


def iter_workload(m: Machine, name: str, ops: int, chunk: int = 1000,
                  seed: int | None = None) -> Iterator[int]:
    """Run a workload in chunks, yielding the number of operations done so far.

    Operations come from the simulation's generator, or from a generator of their own
    when ``seed`` is given (the same workload with another seed, same machine state).
    """
    spec = WORKLOADS.get(name)
    if spec is None:
        raise UserError(f"unknown workload {name!r} (expected {', '.join(WORKLOADS)})")
    if ops < 0:
        raise UserError(f"--ops must not be negative, got {ops}")
    if not m.zones:
        raise UserError("a workload needs the buddy allocator: run the boot past free_area_init")
    rng = m.rng if seed is None else np.random.Generator(np.random.PCG64(seed))
    nids = sorted({z.nid for z in m.zones})
    done = 0
    owner = f"workload:{name}"
    failures_before = m.counters.workload_failures
    reclaimed_before = m.counters.reclaimed_allocations
    while done < ops:
        n = min(chunk, ops - done)
        frees = rng.random(n) < spec.free_probability
        orders = rng.choice(np.array(spec.orders), size=n, p=np.array(spec.order_weights))
        types = rng.choice(len(spec.types), size=n, p=np.array(spec.type_weights))
        nodes = rng.integers(0, len(nids), size=n)
        picks = rng.random(n)
        for i in range(n):
            live = m.live
            if frees[i] and len(live):
                m.free_pages(live.pfns[int(picks[i] * len(live))], quiet=True)
                continue
            order, mt, nid = int(orders[i]), spec.types[int(types[i])], nids[int(nodes[i])]
            pfn = m.alloc_pages(order, mt, owner, nid=nid, track=True, quiet=True)
            if pfn is None and direct_reclaim(m, rng):
                pfn = m.alloc_pages(order, mt, owner, nid=nid, track=True, quiet=True)
            if pfn is None:
                m.counters.workload_failures += 1
                continue
            zone = m.zone_of(pfn)
            if zone is not None and zone.nr_free_pages < zone.watermark[WMARK_LOW]:
                kswapd(m, zone, rng)
        done += n
        m.counters.workload_ops += n
        yield done
    m.log(f"workload {name}: {ops} operations, {len(m.live)} allocations live, "
          f"{m.counters.workload_failures - failures_before} allocation failures, "
          f"{m.counters.reclaimed_allocations - reclaimed_before} allocations reclaimed")


def _reclaim_one(m: Machine, rng: np.random.Generator, zone: Zone | None = None) -> int:
    """Free one live workload allocation picked at random (there is no LRU here); with
    ``zone``, only one on its node in it or a lower zone (isolate_lru_folios() skips
    folios above sc->reclaim_idx). The pages freed (0 when the pick was skipped)."""
    live = m.live
    pfn = live.pfns[int(rng.random() * len(live))]
    home = m.zone_of(pfn)
    block = home.allocated_block(pfn) if home is not None else None
    if home is None or block is None:
        return 0
    if zone is not None and (home.nid != zone.nid or home.start_pfn > zone.start_pfn):
        return 0
    if not m.free_pages(pfn, quiet=True):
        return 0
    m.counters.reclaimed_allocations += 1
    return 1 << block[1]


def kswapd(m: Machine, zone: Zone, rng: np.random.Generator) -> None:
    """mm/vmscan.c: kswapd -> balance_pgdat(): woken when ``zone`` fell below its low
    watermark, reclaim from its node, up to its zone index, until it is above its
    high watermark. The scan is bounded, as the kernel's priorities bound it: at most
    four random picks per missing page, one SWAP_CLUSTER_MAX batch at least."""
    target = zone.watermark[WMARK_HIGH]
    budget = max(SWAP_CLUSTER_MAX, 4 * (target - zone.nr_free_pages))
    while zone.nr_free_pages < target and len(m.live) and budget > 0:
        _reclaim_one(m, rng, zone)
        budget -= 1


def direct_reclaim(m: Machine, rng: np.random.Generator) -> bool:
    """mm/page_alloc.c: __alloc_pages_direct_reclaim(): the allocating task reclaims
    SWAP_CLUSTER_MAX pages itself (at least one allocation); True if it freed
    anything, and then it retries once. Compaction is not modelled: a costly order
    that reclaim did not make room for fails."""
    freed = 0
    picks = 4 * SWAP_CLUSTER_MAX
    while freed < SWAP_CLUSTER_MAX and len(m.live) and picks > 0:
        freed += _reclaim_one(m, rng)
        picks -= 1
    return freed > 0
