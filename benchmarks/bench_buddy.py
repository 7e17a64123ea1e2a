"""Throughput of the buddy allocator model (kmsan_tui.model.buddy).

    python benchmarks/bench_buddy.py [--quick]

Prints operations per second for order-0 alloc+free under several access
patterns (an op is one alloc or one free, so a pair is 2 ops), the cost of
the boot hand-over of 4 Mi order-10 blocks (16 TiB contiguous, and the KMSAN
eager stride of 3 blocks), and a few other throughputs.  Each figure is the
best of a few repeats, wall-clock, single-threaded. These are the raw ``Zone``
figures; ``benchmarks/run.py --only buddy`` measures the path the workloads take
(``Simulation.alloc_pages``/``free_pages``, KMSAN hooks included) beside them.
"""

from __future__ import annotations

import copy
import gc
import os
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

# $KMSAN_BENCH_TREE: measure another checkout (run.py --baseline); default this one.
sys.path.insert(0, os.environ.get("KMSAN_BENCH_TREE", str(Path(__file__).resolve().parents[1])))

from kmsan_tui.model.buddy import MigrateType, Zone  # noqa: E402

MOV = MigrateType.MOVABLE
UNMOV = MigrateType.UNMOVABLE
GIB_PAGES = 1 << 18  # 1 GiB of 4 KiB pages
FOUR_MI = 1 << 22  # order-10 blocks in 16 TiB


def booted(pages: int = GIB_PAGES) -> Zone:
    z = Zone(0, "Normal", 0, pages)
    z.free_pages_core(0, 10, pages >> 10)
    return z


def best(fn: Callable[[], float], repeats: int) -> float:
    """Smallest of ``repeats`` timings (seconds) of ``fn``, which times itself."""
    out = []
    for _ in range(repeats):
        gc.collect()
        out.append(fn())
    return min(out)


def report(name: str, ops: int, seconds: float, unit: str = "ops/s") -> None:
    print(f"  {name:<58} {ops / seconds:>14,.0f} {unit}   ({seconds * 1e3:8.1f} ms)")


# ---------------------------------------------------------------- order 0
def pairs_steady(n: int, live_pages: int = 10_000) -> Callable[[], float]:
    """A working set of ``live_pages``: free a random one, allocate a new one."""

    def run() -> float:
        z = booted()
        rnd = random.Random(42)
        live = [z.alloc_pages(0, MOV) for _ in range(live_pages)]
        picks = [rnd.randrange(live_pages) for _ in range(n)]
        alloc, free = z.alloc_pages, z.free_pages
        t = time.perf_counter()
        for i in picks:
            free(live[i], 0)  # type: ignore[arg-type]
            live[i] = alloc(0, MOV)
        return time.perf_counter() - t

    return run


def mix_5050(n: int) -> Callable[[], float]:
    """A random 50/50 mix of order-0 alloc and free (LIFO frees) on a 4 GiB zone: the
    figure of the first simulation-core target (>= 500k ops/s)."""

    def run() -> float:
        z = Zone(0, "Normal", 0, 1 << 20)
        z.free_pages_core(0, 10, 1 << 10)
        coin = _coins(n)
        live: list[int] = []
        alloc, free = z.alloc_pages, z.free_pages
        t = time.perf_counter()
        for c in coin:
            if live and c < 0.5:
                free(live.pop(), 0)
            else:
                pfn = alloc(0, MOV)
                if pfn is not None:
                    live.append(pfn)
        return time.perf_counter() - t

    return run


def _coins(n: int) -> list[float]:
    rnd = random.Random(0)
    return [rnd.random() for _ in range(n)]


def pairs_pinned_buddy(n: int) -> Callable[[], float]:
    """alloc then free at once while the buddy page stays allocated: no merging."""

    def run() -> float:
        z = booted()
        z.alloc_pages(0, MOV)
        alloc, free = z.alloc_pages, z.free_pages
        t = time.perf_counter()
        for _ in range(n):
            free(alloc(0, MOV), 0)  # type: ignore[arg-type]
        return time.perf_counter() - t

    return run


def pairs_full_split(n: int) -> Callable[[], float]:
    """alloc then free at once from a fresh max-order block: 10 splits + 10 merges."""

    def run() -> float:
        z = booted()
        alloc, free = z.alloc_pages, z.free_pages
        t = time.perf_counter()
        for _ in range(n):
            free(alloc(0, MOV), 0)  # type: ignore[arg-type]
        return time.perf_counter() - t

    return run


def batch(n: int, order_of_free: str) -> Callable[[], float]:
    """Allocate ``n`` pages, then free them all (LIFO or shuffled)."""

    def run() -> float:
        z = booted()
        alloc, free = z.alloc_pages, z.free_pages
        rnd = random.Random(7)
        t = time.perf_counter()
        pages = [alloc(0, MOV) for _ in range(n)]
        if order_of_free == "random":
            rnd.shuffle(pages)
        else:
            pages.reverse()
        for p in pages:
            free(p, 0)  # type: ignore[arg-type]
        return time.perf_counter() - t

    return run


# ----------------------------------------------------------------- others
def hand_over(stride_blocks: int, calls: int) -> Callable[[], float]:
    """free_pages_core of 4 Mi order-10 blocks, in ``calls`` ascending calls."""

    def run() -> float:
        z = Zone(0, "Normal", 0, FOUR_MI * stride_blocks << 10)
        per_call = FOUR_MI // calls
        stride = stride_blocks << 10
        t = time.perf_counter()
        for c in range(calls):
            z.free_pages_core(c * per_call * stride, 10, per_call, stride)
        elapsed = time.perf_counter() - t
        assert z.buddyinfo()[10] == FOUR_MI
        return elapsed

    return run


def hand_over_per_block(n: int) -> Callable[[], float]:
    """free_pages_core called once per order-10 block at the KMSAN stride."""

    def run() -> float:
        z = Zone(0, "Normal", 0, 3 * n << 10)
        t = time.perf_counter()
        for i in range(n):
            z.free_pages_core(i * 3072, 10)
        return time.perf_counter() - t

    return run


def order10_pairs(n: int) -> Callable[[], float]:
    """Order-10 alloc+free from a strided 16 TiB pool (run head shrink/extend)."""

    def run() -> float:
        z = Zone(0, "Normal", 0, 3 * FOUR_MI << 10)
        z.free_pages_core(0, 10, FOUR_MI, 3072)
        alloc, free = z.alloc_pages, z.free_pages
        t = time.perf_counter()
        for _ in range(n):
            free(alloc(10, MOV), 10)  # type: ignore[arg-type]
        return time.perf_counter() - t

    return run


def mixed_orders(n: int) -> Callable[[], float]:
    """Random orders 0-4 and types, 3000 live blocks: merges, claims, steals."""

    def run() -> float:
        z = booted()
        rnd = random.Random(3)
        live: list[tuple[int, int]] = []
        cmds = [(rnd.random(), rnd.choice((0, 0, 0, 1, 2, 3, 4)), rnd.randrange(3))
                for _ in range(n)]
        t = time.perf_counter()
        for r, order, mt in cmds:
            if len(live) > 3000 or (live and r < 0.5):
                p, o = live.pop(int(r * len(live)))
                z.free_pages(p, o)
            else:
                p = z.alloc_pages(order, MigrateType(mt))
                if p is not None:
                    live.append((p, order))
        return time.perf_counter() - t

    return run


def copy_booted_16tib() -> float:
    z = Zone(0, "Normal", 0, 3 * FOUR_MI << 10)
    z.free_pages_core(0, 10, FOUR_MI, 3072)
    for _ in range(1000):
        z.alloc_pages(0, UNMOV)
    t = time.perf_counter()
    copy.deepcopy(z)
    return time.perf_counter() - t


def main() -> None:
    quick = "--quick" in sys.argv
    k = 10 if quick else 1
    reps = 2 if quick else 3
    print(f"Python {sys.version.split()[0]}; best of {reps}")
    print("order-0 alloc+free (1 GiB zone; an op is one alloc or one free):")
    n = 200_000 // k
    report("steady state: 10k live pages, free random + alloc", 2 * n, best(pairs_steady(n), reps))
    report("random 50/50 mix of alloc and free (4 GiB zone)", 2 * n, best(mix_5050(2 * n), reps))
    report("alloc+free pairs, buddy page held (no merge)", 2 * n, best(pairs_pinned_buddy(n), reps))
    report("alloc+free pairs from a max-order block (10 splits/merges)", 2 * n,
           best(pairs_full_split(n), reps))
    report("batch: alloc 100k, free LIFO", 2 * 100_000 // k, best(batch(100_000 // k, "lifo"), reps))
    report("batch: alloc 100k, free in random order", 2 * 100_000 // k,
           best(batch(100_000 // k, "random"), reps))
    print("boot hand-over of 4 Mi order-10 blocks (free_pages_core):")
    for stride, calls, name in ((1, 1, "16 TiB contiguous, 1 call"),
                                (1, 4096, "16 TiB contiguous, 4096 calls"),
                                (3, 1, "KMSAN stride 3 (48 TiB span), 1 call"),
                                (3, 4096, "KMSAN stride 3, 4096 calls")):
        secs = best(hand_over(stride, calls), reps)
        print(f"  {name:<58} {secs * 1e3:14.2f} ms")
    report("free_pages_core once per block, KMSAN stride", 100_000 // k,
           best(hand_over_per_block(100_000 // k), reps), "calls/s")
    print("other:")
    report("order-10 alloc+free pairs on a strided 4 Mi-block pool", 2 * n // 4,
           best(order10_pairs(n // 4), reps))
    report("mixed orders 0-4, three migratetypes (fallbacks)", n, best(mixed_orders(n), reps))
    secs = best(copy_booted_16tib, reps)
    print(f"  {'deepcopy of a booted strided 16 TiB zone':<58} {secs * 1e3:14.2f} ms")


if __name__ == "__main__":
    main()
