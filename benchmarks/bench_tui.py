"""Explorer latency: keypress to updated screen, measured with Textual's Pilot.

    .venv/bin/python benchmarks/bench_tui.py [--layout server-1t] [--size 160x48] [--n 40]
        [--no-sweep] [--launches N] [--json]

For each action (step, step back, zoom in/out, cursor moves) around a start step
(mem_init), then for every step of the boot forward and back, it presses the key,
waits until the screen has taken the new frame (commands run in a thread worker)
and the compositor has drawn it, and records the wall time. The report gives p50 and
p95 per action, and for commands splits the time into the model (the session's
command, its undo checkpoint included), the frame build (private copy, map index,
metrics) and the rest (message passing and rendering). It also times the first
frame twice: from constructing the app until every widget has settled, and, in a
fresh process (``launch``), from the start of the process (interpreter, imports,
the session) to the first screen written to the terminal with the memory map on it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# $KMSAN_BENCH_TREE: measure another checkout (run.py --baseline); default this one.
TREE = os.environ.get("KMSAN_BENCH_TREE", str(ROOT))
sys.path.insert(0, TREE)

from textual import events  # noqa: E402

from kmsan_tui.model import load_layout  # noqa: E402
from kmsan_tui.session import Session  # noqa: E402
from kmsan_tui.tui.app import KmsanApp  # noqa: E402
from kmsan_tui.tui.runner import Runner  # noqa: E402
from kmsan_tui.tui.screens.explorer import ExplorerScreen  # noqa: E402


@dataclass
class Samples:
    total: list[float] = field(default_factory=list)
    model: list[float] = field(default_factory=list)
    build: list[float] = field(default_factory=list)


def steps_of(frame: object) -> list[str]:
    """The boot's step names; works with frames that carry the simulation (before the
    Machine refactor) and with frames that carry its figures only."""
    sim = getattr(frame, "sim", None)
    return list(sim.steps if sim is not None else frame.step_names)  # type: ignore[attr-defined]


def current_of(frame: object) -> int:
    """Steps run so far (the simulation's ``current``)."""
    sim = getattr(frame, "sim", None)
    return int(sim.current if sim is not None else frame.step_index)  # type: ignore[attr-defined]


def done_of(frame: object) -> bool:
    return current_of(frame) >= len(steps_of(frame))


def pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[k]


async def run(layout: str, size: tuple[int, int], n: int, start_step: str,
              strategy: str = "eager", sweep: bool = True, as_json: bool = False) -> None:
    t0 = time.perf_counter()
    runner = Runner(Session(load_layout(layout), strategy, 0))
    app = KmsanApp(runner, flash_changes=False)
    results: dict[str, Samples] = {}
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        first_frame = time.perf_counter() - t0
        screen = app.screen
        assert isinstance(screen, ExplorerScreen)

        async def idle() -> None:
            while not screen.idle:
                await asyncio.sleep(0.001)
            await pilot.pause()

        # Reach the step the measurements start from (not timed).
        screen.run_to(steps_of(screen.frame).index(start_step))
        await idle()

        async def settled() -> None:
            """Wait until no widget has a message queued or in hand: the effects of the
            key have all run. (Pilot's _wait_for_screen posts a callback to each of the
            ~80 widgets and waits for them all, which costs more than it measures.)"""
            while True:
                pumps = [app, *screen.walk_children(with_self=True)]
                if not any(p._message_queue.values or p._pending_message or p._next_callbacks
                           for p in pumps):
                    return
                await asyncio.sleep(0)

        async def measure(name: str, key: str, command: bool) -> None:
            """Inject the key as Pilot does, but without Pilot's idle sleeps (each
            press waits for CPU idle in 20 ms slices, which would swamp the figures)."""
            samples = results.setdefault(name, Samples())
            serial = screen.frame.serial
            t = time.perf_counter()
            event = events.Key(key, None)
            event.set_sender(app)
            app.post_message(event)  # as the driver does, minus its thread hop
            if command:
                while screen.frame.serial == serial or not screen.idle:
                    await asyncio.sleep(0.0005)
            await settled()  # every widget handled its messages
            screen._on_timer_update()  # the compositor draws what changed, now
            samples.total.append(time.perf_counter() - t)
            if command:
                samples.model.append(screen.frame.model_seconds)
                samples.build.append(screen.frame.build_seconds)
            await pilot.pause()

        # One warm-up round, not recorded: the first step after the run to the start
        # step goes to the worker (the run's last step was slow), and the first drawing
        # of each panel fills caches.
        for key in ("n", "u", "plus", "minus", "right", "left"):
            await measure("warm-up", key, key in "nu")
        del results["warm-up"]
        index = steps_of(screen.frame).index(start_step)
        last = len(steps_of(screen.frame)) - 1
        for i in range(n):
            # Step forward and back around the start step, never past the end.
            if current_of(screen.frame) <= last:
                await measure("step (n)", "n", True)
            await measure("step back (u)", "u", True)
            if current_of(screen.frame) > index + 3:
                await measure("step back (u)", "u", True)
            await measure("zoom in (+)", "plus", False)
            await measure("zoom out (-)", "minus", False)
            for key in ("right", "down", "left", "up"):
                await measure("cursor move", key, False)
            if i % 8 == 7:
                await measure("zoom in (+)", "plus", False)
                await measure("zoom in (+)", "plus", False)
                await measure("zoom out (-)", "minus", False)
                await measure("zoom out (-)", "minus", False)
        # Then the whole boot, every step forward and back once: the steps that change
        # most of the map (kmsan_init_shadow, memblock_free_all) are here too.
        slowest: list[tuple[float, str]] = []
        if sweep:
            screen.run_to(0)
            await idle()
            await measure("warm-up", "u", True)  # back to before the first step
            del results["warm-up"]
        while sweep and not done_of(screen.frame):
            await measure("boot: every step", "n", True)
            slowest.append((results["boot: every step"].total[-1], f"n {screen.frame.step_name}"))
        while sweep and current_of(screen.frame) > 0:
            name = screen.frame.step_name
            await measure("boot: every step back", "u", True)
            slowest.append((results["boot: every step back"].total[-1], f"u {name}"))
    if as_json:
        print(json.dumps({
            "layout": layout, "strategy": strategy, "size": f"{size[0]}x{size[1]}",
            "rounds": n, "first_frame_ms": first_frame * 1000,
            "actions": {name: {"n": len(s.total), "p50": statistics.median(s.total) * 1000,
                               "p95": pct(s.total, 95) * 1000, "max": max(s.total) * 1000,
                               "model_p95": pct(s.model, 95) * 1000 if s.model else None,
                               "build_p95": pct(s.build, 95) * 1000 if s.build else None}
                        for name, s in results.items()},
            "slowest": [[what, seconds * 1000] for seconds, what in sorted(slowest)[-4:][::-1]],
        }), flush=True)
        return
    print(f"layout {layout}, {strategy}, terminal {size[0]}x{size[1]}, from step {start_step}, "
          f"{n} rounds" + ("; then the whole boot forward and back" if sweep else ""))
    print(f"first frame: {first_frame * 1000:.0f} ms after constructing the app, until "
          "every widget settled")
    print(f"{'action':<22}{'n':>5}{'p50 ms':>9}{'p95 ms':>9}"
          f"{'model p50':>11}{'model p95':>11}{'build p50':>11}{'build p95':>11}")
    for name, s in results.items():
        ms = [v * 1000 for v in s.total]
        line = f"{name:<22}{len(ms):>5}{statistics.median(ms):>9.1f}{pct(ms, 95):>9.1f}"
        if s.model:
            mod = [v * 1000 for v in s.model]
            bld = [v * 1000 for v in s.build]
            line += (f"{statistics.median(mod):>11.1f}{pct(mod, 95):>11.1f}"
                     f"{statistics.median(bld):>11.1f}{pct(bld, 95):>11.1f}")
        print(line)
    if slowest:
        print("slowest single steps: " + ", ".join(
            f"{what} {seconds * 1000:.0f} ms" for seconds, what in sorted(slowest)[-4:][::-1]))
    print("(total = keypress to redrawn screen; model = the session command; build = the "
          "frame's private copy, map index and metrics; the rest is messaging and drawing)")


LAUNCH = r"""
import time
T0 = time.perf_counter()
import asyncio, sys
from kmsan_tui.model import load_layout
from kmsan_tui.session import Session
from kmsan_tui.tui.app import KmsanApp
from kmsan_tui.tui.runner import Runner
from kmsan_tui.tui.widgets.memory_map import MemoryMap

drawn = []
render_line = MemoryMap.render_line
def spy(self, y):
    drawn.append(y)
    return render_line(self, y)
MemoryMap.render_line = spy

async def main():
    cols, rows = map(int, sys.argv[2].split("x"))
    app = KmsanApp(Runner(Session(load_layout(sys.argv[1]), "eager", 0)), flash_changes=False)
    display = app._display
    def first_paint(*args, **kwargs):
        if drawn and not hasattr(app, "painted"):
            app.painted = time.perf_counter()
        return display(*args, **kwargs)
    app._display = first_paint
    async with app.run_test(size=(cols, rows)) as pilot:
        await pilot.pause()
        print("PAINT", T0, app.painted, flush=True)
asyncio.run(main())
"""


def launch(layout: str, size: tuple[int, int], runs: int = 5) -> list[float]:
    """Seconds from starting a process to its first frame with the map on screen
    (the terminal driver is Textual's headless one; everything else is as in
    ``kmsan-tui``)."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()  # CLOCK_MONOTONIC: the same clock in the child
        out = subprocess.run([sys.executable, "-c", LAUNCH, layout, f"{size[0]}x{size[1]}"],
                             capture_output=True, text=True, check=True, cwd=TREE).stdout
        line = next(line for line in out.splitlines() if line.startswith("PAINT"))
        times.append(float(line.split()[2]) - t0)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layout", default="server-1t")
    parser.add_argument("--size", default="160x48")
    parser.add_argument("--n", type=int, default=30, help="rounds of measurements")
    parser.add_argument("--from-step", default="mem_init", help="where the rounds start")
    parser.add_argument("--launches", type=int, default=5, help="fresh processes timed")
    parser.add_argument("--strategy", default="eager", choices=("eager", "lazy", "fixed"))
    parser.add_argument("--no-sweep", action="store_true",
                        help="skip the whole boot forward and back")
    parser.add_argument("--json", action="store_true", help="print one JSON object per part")
    args = parser.parse_args()
    cols, _, rows = args.size.partition("x")
    size = (int(cols), int(rows))
    if args.launches and args.json:
        ms = [t * 1000 for t in launch(args.layout, size, args.launches)]
        print(json.dumps({"launch_ms": ms}), flush=True)
    elif args.launches:
        ms = sorted(t * 1000 for t in launch(args.layout, size, args.launches))
        print(f"launch to first frame ({args.launches} fresh processes): "
              f"median {statistics.median(ms):.0f} ms, worst {ms[-1]:.0f} ms "
              f"({', '.join(f'{t:.0f}' for t in ms)})")
    if args.n:
        asyncio.run(run(args.layout, size, args.n, args.from_step, args.strategy,
                        not args.no_sweep, args.json))


if __name__ == "__main__":
    main()
