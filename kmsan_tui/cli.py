"""`kmsan-tui`: the explorer (no arguments) and the headless commands.

Bad input (a broken layout, an unknown step or layout) prints one line on stderr and
exits 2; an invariant violation found by --check is a bug and exits 1. The Textual
app is imported only when it is started.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any

from kmsan_tui.model.constants import PAGETYPEINFO_TYPES
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import KERNELS, SANITIZERS, load_layout, shipped_layouts
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.model.strategies.registry import STRATEGIES, all_options
from kmsan_tui.model.workloads import WORKLOADS

DEFAULT_LAYOUT = "qemu-8g"
EXIT_USAGE = 2
EXIT_BUG = 1


class _Parser(argparse.ArgumentParser):
    """argparse that exits 2 with one line (its default already uses 2)."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def _add_machine_options(p: argparse.ArgumentParser, strategy: bool = True) -> None:
    p.add_argument("--layout", default=DEFAULT_LAYOUT,
                   help=f"a shipped layout name or a TOML file (default {DEFAULT_LAYOUT})")
    if strategy:
        p.add_argument("--strategy", choices=STRATEGIES, help="KMSAN metadata strategy")
    p.add_argument("--sanitizer", choices=SANITIZERS, help="override the layout's sanitizer")
    p.add_argument("--kernel", choices=KERNELS, help="override the layout's kernel version")
    for opt in all_options():  # each strategy's settings, from the registry
        p.add_argument(f"--{opt.key.replace('_', '-')}", choices=opt.choices, help=opt.help)
    p.add_argument("--until", metavar="STEP", help="stop after this boot step")
    p.add_argument("--seed", type=int, default=0, help="seed of the simulation's generator")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="kmsan-tui", description=(
        "Watch a machine's physical memory during Linux boot and compare KMSAN metadata "
        "strategies. With no command, opens the explorer."))
    parser.add_argument("--layout", default=None, help="layout to open the explorer on")
    parser.add_argument("--strategy", choices=STRATEGIES, default=None)
    parser.add_argument("--keymap", default=None, help="a TOML file rebinding keys")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)

    run = sub.add_parser("run", help="boot a layout headless and print the kernel log")
    _add_machine_options(run)
    run.add_argument("--workload", choices=sorted(WORKLOADS), help="post-boot workload")
    run.add_argument("--ops", type=int, default=10000, help="workload operations")
    run.add_argument("--check", action="store_true", help="check invariants after each step")
    run.add_argument("--json", action="store_true", help="print one JSON object")
    run.add_argument("--quiet", action="store_true", help="print only the summary")
    run.add_argument("--memblock-debug", action="store_true",
                     help="include memblock=debug lines in the log")
    run.add_argument("--save", metavar="FILE", help="save the session (replay it with `replay`)")

    replay = sub.add_parser("replay", help="load a saved session, replay it, print the summary")
    replay.add_argument("file", help="a session saved by `run --save` or the explorer")
    replay.add_argument("--json", action="store_true")

    compare = sub.add_parser("compare", help="the three strategies side by side")
    _add_machine_options(compare, strategy=False)
    compare.add_argument("--json", action="store_true")

    sub.add_parser("layouts", help="list the shipped layouts")
    steps = sub.add_parser("steps", help="list the boot steps of a kernel")
    steps.add_argument("--kernel", choices=KERNELS, default="mainline")
    steps.add_argument("--sanitizer", choices=SANITIZERS, default="kmsan")

    shot = sub.add_parser("screenshot", help="save an SVG screenshot of the explorer")
    _add_machine_options(shot)
    shot.add_argument("output", help="the .svg file to write")
    shot.add_argument("--size", default="120x40", help="terminal size COLSxROWS")
    return parser


def _simulation(args: argparse.Namespace) -> Simulation:
    layout = load_layout(args.layout)
    return Simulation(layout, getattr(args, "strategy", None), args.seed,
                      sanitizer=args.sanitizer, kernel=args.kernel, **_strategy_options(args))


def _strategy_options(args: argparse.Namespace) -> dict[str, str]:
    """The strategy settings given on the command line (registry options)."""
    return {opt.key: getattr(args, opt.key) for opt in all_options()
            if getattr(args, opt.key, None) is not None}


def _progress(total: int, label: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A rich progress bar on stderr when it is a terminal, else nothing."""
    if not sys.stderr.isatty() or total < 20000:
        return (lambda _done: None), (lambda: None)
    from rich.console import Console
    from rich.progress import Progress

    progress = Progress(console=Console(stderr=True), transient=True)
    task = progress.add_task(label, total=total)
    progress.start()
    return (lambda done: progress.update(task, completed=done)), progress.stop


def _zone_json(sim: Simulation) -> list[dict[str, Any]]:
    out = []
    for z in sim.zones:
        by_type = z.nr_free_by_type()
        out.append({
            "node": z.nid, "zone": z.name, "start_pfn": z.start_pfn, "end_pfn": z.end_pfn,
            "spanned": z.spanned_pages, "present": z.present_pages, "managed": z.managed_pages,
            "nr_free_pages": z.nr_free_pages, "buddyinfo": list(z.buddyinfo()),
            "pagetypeinfo": {mt.label: list(by_type[mt]) for mt in PAGETYPEINFO_TYPES},
        })
    return out


def cmd_run(args: argparse.Namespace) -> int:
    from kmsan_tui.session import Command, Session

    overrides = {k: v for k, v in (("sanitizer", args.sanitizer), ("kernel", args.kernel))
                 if v is not None} | _strategy_options(args)
    layout = load_layout(args.layout)
    session = Session(layout, args.strategy or layout.kernel.strategy, args.seed, overrides)
    sim = session.sim
    target = sim.index_of(args.until) if args.until else len(sim.steps) - 1
    problems: list[str] = []
    steps_out: list[dict[str, Any]] = []
    show = not args.json and not args.quiet
    while sim.current <= target:
        info = sim.step_info[sim.current]
        first = len(sim.events)
        session.apply(Command("step"), checkpoint=False)
        events = sim.events[first:]
        lines = [e.text for e in events if args.memblock_debug or e.kind != "memblock"]
        steps_out.append({"name": info.name, "source": info.source, "log": lines})
        if show:
            for line in lines:
                print(line)
        if args.check:
            found = sim.check()
            if found:
                problems += [f"after {info.name}: {p}" for p in found]
                break
    if args.workload and not problems:
        update, stop = _progress(args.ops, f"{args.workload}")
        try:
            session.apply(Command("workload", workload=args.workload, ops=args.ops), update,
                          checkpoint=False)
        finally:
            stop()
        if args.check:
            problems += [f"after workload {args.workload}: {p}" for p in sim.check()]
        if show:
            print(sim.events[-1].text)
    if args.save:
        session.save(args.save)
    metrics = sim.metrics()
    if args.json:
        doc = {
            "layout": sim.layout.name, "strategy": metrics.strategy, "sanitizer": sim.sanitizer,
            "kernel": sim.config.version, "seed": sim.seed, "steps": steps_out,
            "memblock": {
                kind: [{"base": r.base, "size": r.size, "nid": r.nid, "flags": int(r.flags)}
                       for r in getattr(sim.memblock, kind).regions]
                for kind in ("memory", "reserved")},
            "zones": _zone_json(sim),
            "memory_line": metrics.memory_line,
            "metrics": metrics.as_dict(),
            "digest": sim.digest(),
        }
        if args.check:
            doc["check"] = problems
        print(json.dumps(doc, indent=1))
    else:
        _print_summary(sim)
        if args.check:
            print("check: ok" if not problems else f"check: {len(problems)} problem(s)")
    if problems:
        for p in problems:
            print(f"kmsan-tui: invariant violated: {p}", file=sys.stderr)
        return EXIT_BUG
    return 0


def _print_summary(sim: Simulation) -> None:
    from kmsan_tui.model.vmstat import buddyinfo
    from kmsan_tui.report import summary_lines

    print()
    for line in summary_lines(sim.metrics(), sim):
        print(line)
    if sim.zones:
        print()
        print(buddyinfo(sim.zones), end="")


def cmd_replay(args: argparse.Namespace) -> int:
    from kmsan_tui.session import Session

    session = Session.load(args.file)
    if args.json:
        print(json.dumps({"digest": session.sim.digest(), "commands": len(session.history),
                          "metrics": session.sim.metrics().as_dict()}, indent=1))
    else:
        print(f"{args.file}: {len(session.history)} command(s) replayed, digest "
              f"{session.sim.digest()}")
        _print_summary(session.sim)
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from kmsan_tui.report import compare_table

    results = []
    for strategy in STRATEGIES:
        args.strategy = strategy
        sim = _simulation(args)
        sim.run_to(args.until) if args.until else sim.run()
        results.append((strategy, sim.metrics()))
    if args.json:
        print(json.dumps({s: m.as_dict() for s, m in results}, indent=1))
    else:
        for line in compare_table(results):
            print(line)
    return 0


def cmd_layouts(_args: argparse.Namespace) -> int:
    for name in shipped_layouts():
        layout = load_layout(name)
        print(f"{name:<12} {layout.ram_bytes / (1 << 30):>9.1f} GiB  {len(layout.nodes)} node(s) "
              f"{layout.cpus:>4} CPUs  {layout.description}")
    return 0


def cmd_steps(args: argparse.Namespace) -> int:
    sim = Simulation(DEFAULT_LAYOUT, kernel=args.kernel, sanitizer=args.sanitizer)
    for i, info in enumerate(sim.step_info, 1):
        print(f"{i:2d}. {info.name:<34} {info.source}")
    return 0


def cmd_screenshot(args: argparse.Namespace) -> int:
    from kmsan_tui.tui.screenshot import take_screenshot

    sim = _simulation(args)  # validates the input before starting Textual
    cols, _, rows = args.size.partition("x")
    try:
        size = (int(cols), int(rows))
    except ValueError:
        raise UserError(f"--size: expected COLSxROWS, got {args.size!r}") from None
    take_screenshot(sim, args.until, args.output, size)
    print(args.output)
    return 0


def cmd_tui(args: argparse.Namespace) -> int:
    from kmsan_tui.tui.app import run_app

    layout = load_layout(args.layout or DEFAULT_LAYOUT)
    return run_app(layout, strategy=args.strategy, keymap=args.keymap)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handlers = {"run": cmd_run, "compare": cmd_compare, "layouts": cmd_layouts,
                "steps": cmd_steps, "screenshot": cmd_screenshot, "replay": cmd_replay, None: cmd_tui}
    try:
        return handlers[args.command](args)
    except UserError as exc:
        print(f"kmsan-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
