"""Seeded post-boot workloads: what happens to memory once the machine runs.

Each workload is a stream of alloc_pages()/__free_pages() operations drawn from the
simulation's own generator (numpy PCG64, seeded), so the same seed gives the same
operations and the same digest. They run after the boot (or wherever the user is) and
go through the same allocator path as boot allocations, KMSAN hooks included: under
the lazy strategy, watch metadata allocations start to fail as the fragmenter works.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.machine import Machine


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
    pressure = False
    while done < ops:
        n = min(chunk, ops - done)
        frees = rng.random(n) < spec.free_probability
        orders = rng.choice(np.array(spec.orders), size=n, p=np.array(spec.order_weights))
        types = rng.choice(len(spec.types), size=n, p=np.array(spec.type_weights))
        nodes = rng.integers(0, len(nids), size=n)
        picks = rng.random(n)
        managed = sum(z.managed_pages for z in m.zones)
        for i in range(n):
            live = m.live
            # Under pressure (below ~2 % free, like the low watermark) kswapd reclaims:
            # the next operations free instead of allocating.
            if i % 64 == 0:
                pressure = sum(z.nr_free_pages for z in m.zones) * 50 < managed
            if (frees[i] or pressure) and len(live):
                m.free_pages(live.pfns[int(picks[i] * len(live))], quiet=True)
            else:
                pfn = m.alloc_pages(int(orders[i]), spec.types[int(types[i])], owner,
                                    nid=nids[int(nodes[i])], track=True, quiet=True)
                if pfn is None:
                    m.counters.workload_failures += 1
        done += n
        m.counters.workload_ops += n
        yield done
    m.log(f"workload {name}: {ops} operations, {len(m.live)} allocations live, "
          f"{m.counters.workload_failures - failures_before} allocation failures")
