"""One measurement in a process of its own, for benchmarks/run.py.

    python benchmarks/worker.py KIND 'JSON ARGUMENTS'

The checkout measured is the one in $KMSAN_BENCH_TREE (default: this one), so the same
measurement runs against a baseline checkout. Every line written is one JSON object:
``{"progress": ...}`` while it runs (what run.py reports if it has to stop the process),
then ``{"result": ...}`` or ``{"error": ...}``. Measurements stop at their
time budget by themselves and say how far they got.
"""

from __future__ import annotations

import gc
import inspect
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, os.environ.get("KMSAN_BENCH_TREE", str(ROOT)))

import synthetic  # noqa: E402  (beside this script: which layouts pass the loader's limits)


def emit(kind: str, value: Any) -> None:
    print(json.dumps({kind: value}), flush=True)


def rss_kib() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak  # bytes there, KiB on Linux


class OutOfBudget(Exception):
    """Raised from a progress callback to stop a measurement at its time budget."""


def layouts(_: dict[str, Any]) -> dict[str, Any]:
    from kmsan_tui.model.layout import load_layout, shipped_layouts

    out = []
    for name in shipped_layouts():
        layout = load_layout(name)
        out.append([name, layout.ram_bytes, layout.kernel.strategy])
    return {"layouts": out}


def load(layout: str) -> Any:
    """load_layout() of a shipped name or a TOML path (a synthetic layout past the
    kernel's limits with the loader's limit lifted: the model has none of its own)."""
    from kmsan_tui.model import load_layout

    if Path(layout).stem in synthetic.PAST_LOADER_LIMITS:
        import kmsan_tui.model.layout as loader

        loader.E820_MAX_ENTRIES = 1 << 20  # type: ignore[misc]
    return load_layout(layout)


def boot(a: dict[str, Any]) -> dict[str, Any]:
    """Boot ``layout`` under ``strategy`` ``runs`` times (fewer when the budget is spent);
    each time is load_layout + Simulation() + every boot step, in this process."""
    from kmsan_tui.model import Simulation

    budget = float(a["budget"])
    seconds: list[float] = []
    slowest: list[tuple[float, str]] = []
    started = time.perf_counter()
    sim = None
    for run in range(int(a["runs"])):
        sim = None
        gc.collect()
        t = time.perf_counter()
        try:
            layout = load(a["layout"])
        except Exception as exc:  # the loader's own message is the figure
            return {"refused": f"{type(exc).__name__}: {exc}"}
        sim = Simulation(layout, a["strategy"])
        names = list(sim.steps)
        per_step: list[tuple[float, str]] = []
        last = t
        for i, name in enumerate(names):
            emit("progress", {"run": run, "step": i + 1, "of": len(names), "name": name,
                              "seconds": last - t, "running": True})
            sim.step()
            now = time.perf_counter()
            per_step.append((now - last, name))
            last = now
            emit("progress", {"run": run, "step": i + 1, "of": len(names), "name": name,
                              "seconds": now - t})
            if now - t > budget:
                per_step.sort(reverse=True)
                return {"finished": False, "seconds": now - t, "step": i + 1, "of": len(names),
                        "name": name, "slowest": per_step[:3], "runs": seconds,
                        "rss_kib": rss_kib()}
        seconds.append(time.perf_counter() - t)
        slowest = sorted(per_step, reverse=True)[:3]
        if time.perf_counter() - started > budget:
            break
    assert sim is not None
    return {"finished": True, "runs": seconds, "rss_kib": rss_kib(), "steps": len(sim.steps),
            "ram_bytes": sim.layout.ram_bytes, "memory_line": sim.metrics().memory_line,
            "slowest": slowest}


def workload(a: dict[str, Any]) -> dict[str, Any]:
    """``run_workload(sim, name, ops)`` after a full boot; stops at the budget. The
    curve has (ops done, seconds) every 1000 operations (the workload's chunk).

    ``Simulation.run_workload(name, ops, progress=...)`` where the facade has it,
    else ``kmsan_tui.model.workloads.run_workload(sim, name, ops, progress=...)``
    (checkouts from before the facade)."""
    from kmsan_tui.model import Simulation

    sim = Simulation(load(a["layout"]), a["strategy"])
    sim.run()
    budget = float(a["budget"])
    curve: list[tuple[int, float]] = [(0, 0.0)]
    gc.collect()
    t = time.perf_counter()

    def progress(done: int) -> None:
        elapsed = time.perf_counter() - t
        curve.append((done, elapsed))
        if elapsed > budget and done < a["ops"]:
            raise OutOfBudget

    method = getattr(sim, "run_workload", None)
    if method is None:
        from kmsan_tui.model.workloads import run_workload

        def method(name: str, ops: int, progress: Any) -> None:
            run_workload(sim, name, ops, progress=progress)

    finished = True
    try:
        method(a["workload"], int(a["ops"]), progress=progress)
    except OutOfBudget:
        finished = False
    elapsed = time.perf_counter() - t
    done = curve[-1][0]
    live = getattr(sim, "live", None)
    # The last tenth of the operations done: the rate the run sustained at its end.
    tail_from = next(p for p in curve if p[0] >= done * 0.9)
    tail = (done - tail_from[0]) / (curve[-1][1] - tail_from[1]) if done > tail_from[0] else 0.0
    return {"finished": finished, "ops": done, "seconds": elapsed, "tail_ops_per_s": tail,
            "live": len(live) if live is not None else None, "rss_kib": rss_kib()}


def kwargs_for(fn: Any, **wanted: Any) -> dict[str, Any]:
    """The keyword arguments among ``wanted`` that ``fn`` accepts."""
    params = inspect.signature(fn).parameters
    return {k: v for k, v in wanted.items() if k in params}


def buddy_sim(a: dict[str, Any]) -> dict[str, Any]:
    """Order-0 alloc+free through Simulation.alloc_pages/free_pages (the workloads' path,
    KMSAN hooks included) after a full boot, with ``live`` blocks live: each pair frees a
    block picked at random among the live ones and allocates one in its place. An op is
    one alloc or one free."""
    import numpy as np

    from kmsan_tui.model import Simulation
    from kmsan_tui.model.buddy import MigrateType

    sim = Simulation(load(a["layout"]), a["strategy"])
    sim.run()
    mov = MigrateType.MOVABLE
    alloc_kw = kwargs_for(sim.alloc_pages, track=True, quiet=True)
    free_kw = kwargs_for(sim.free_pages, quiet=True)
    alloc, free = sim.alloc_pages, sim.free_pages
    live_n = int(a["live"])
    live = [alloc(0, mov, "bench", **alloc_kw) for _ in range(live_n)]
    if any(p is None for p in live):
        return {"error": "the live set could not be allocated"}
    pairs = int(a["ops"]) // 2
    picks = np.random.default_rng(int(a.get("seed", 1))).integers(0, live_n, pairs).tolist()
    budget = float(a["budget"])
    failed = 0
    gc.collect()
    t = time.perf_counter()
    done = 0
    for start in range(0, pairs, 1000):
        for i in picks[start:start + 1000]:
            free(live[i], **free_kw)
            pfn = alloc(0, mov, "bench", **alloc_kw)
            if pfn is None:
                failed += 1
                pfn = alloc(0, mov, "bench", **alloc_kw)
            live[i] = pfn
        done = min(pairs, start + 1000)
        if time.perf_counter() - t > budget:
            break
    elapsed = time.perf_counter() - t
    return {"finished": done == pairs, "ops": 2 * done, "seconds": elapsed,
            "ops_per_s": 2 * done / elapsed, "failed": failed, "live": live_n}


def buddy_zone(a: dict[str, Any]) -> dict[str, Any]:
    """The raw Zone figures of bench_buddy.py, one timing per run."""
    import bench_buddy

    runs = int(a["runs"])
    n = int(a["ops"])
    out: dict[str, list[float]] = {"mix": [], "steady": []}
    for _ in range(runs):
        gc.collect()
        out["mix"].append(n / bench_buddy.mix_5050(n)())
        gc.collect()
        out["steady"].append(n / bench_buddy.pairs_steady(n // 2)())
    return out


def reference(a: dict[str, Any]) -> dict[str, Any]:
    """Seconds for numpy to write 64 bytes per page, per page count, ``runs`` times each."""
    import numpy as np

    chunk = 1 << 28  # a reused 256 MiB buffer: memory bandwidth, not page faults
    buf = np.empty(chunk, dtype=np.uint8)
    buf.fill(1)
    measure_at_most = int(a.get("measure_at_most", 2 << 30))
    out = {}
    for pages in a["pages"]:
        total = int(pages) * 64
        times = []
        extrapolated = False
        for _ in range(int(a["runs"])):
            written = 0
            t = time.perf_counter()
            while written < min(total, measure_at_most):
                n = min(chunk, total - written)
                buf[:n].fill(written & 0xFF)
                written += n
            elapsed = time.perf_counter() - t
            if written < total:
                elapsed = elapsed * total / written
                extrapolated = True
            times.append(elapsed)
        out[str(pages)] = {"runs": times, "extrapolated": extrapolated}
    return {"reference": out, "numpy": np.__version__}


KINDS = {"layouts": layouts, "boot": boot, "workload": workload, "buddy_sim": buddy_sim,
         "buddy_zone": buddy_zone, "reference": reference}


def main() -> int:
    kind, args = sys.argv[1], json.loads(sys.argv[2]) if len(sys.argv) > 2 else {}
    try:
        result = KINDS[kind](args)
    except Exception as exc:  # reported, not raised: a broken tree is a figure too
        emit("error", f"{type(exc).__name__}: {exc}")
        return 1
    if "error" in result:
        emit("error", result["error"])
        return 1
    emit("result", result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
