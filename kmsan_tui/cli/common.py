"""What the commands share: the parser class, the machine options, building the
simulation they ask for, and the plain-text summary."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Generator
from typing import Any, TypeVar

from kmsan_tui.model.layout import KERNELS, SANITIZERS, load_layout
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.model.strategies.registry import STRATEGIES, all_options
from kmsan_tui.session.commands import MAX_OPS
from kmsan_tui.session.replay import Progress, finish

T = TypeVar("T")

DEFAULT_LAYOUT = "qemu-8g"
EXIT_USAGE = 2
EXIT_BUG = 1
# numpy's PCG64 takes any non-negative integer; a save stores it as JSON, so keep it to
# what every JSON reader holds exactly.
MAX_SEED = (1 << 53) - 1


def bounded_int(lo: int, hi: int, what: str) -> Callable[[str], int]:
    """An argparse type: an integer in [lo, hi], else one line saying the range."""
    def parse(text: str) -> int:
        try:
            value = int(text, 0)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{what} must be an integer, got {text!r}") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{what} must be between {lo} and {hi:,}, got {value:,}")
        return value
    parse.__name__ = what  # argparse names the type in its messages
    return parse


def output_file(text: str) -> str:
    """An argparse type for a file to write: a non-empty name of a file (checked again,
    with what is there, before any work: safeio.check_target)."""
    if not text.strip() or text.endswith(("/", "\\")) or "\0" in text:
        raise argparse.ArgumentTypeError(f"expected the name of a file to write, got {text!r}")
    return text


def add_ops_option(p: argparse.ArgumentParser, default: int = 10000) -> None:
    """--ops, refused above MAX_OPS (the session's bound) when the arguments are read,
    before any boot."""
    p.add_argument("--ops", type=bounded_int(0, MAX_OPS, "ops"), default=default,
                   help=f"workload operations (0 to {MAX_OPS:,})")


def step_name(text: str) -> str:
    """An argparse type for --until: a non-empty step name (checked against the
    kernel's steps when the simulation is built)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("expected the name of a boot step (see `kmsan-tui steps`)")
    return text


class Parser(argparse.ArgumentParser):
    """argparse with the project's exit code for bad usage (2, one line)."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def add_machine_options(p: argparse.ArgumentParser, strategy: bool = True) -> None:
    """--layout, --strategy, --sanitizer, --kernel, the strategies' options, --until, --seed."""
    p.add_argument("--layout", default=DEFAULT_LAYOUT,
                   help=f"a shipped layout name or a TOML file (default {DEFAULT_LAYOUT})")
    if strategy:
        p.add_argument("--strategy", choices=STRATEGIES, help="KMSAN metadata strategy")
    p.add_argument("--sanitizer", choices=SANITIZERS, help="override the layout's sanitizer")
    p.add_argument("--kernel", choices=KERNELS, help="override the layout's kernel version")
    for opt in all_options():  # each strategy's settings, from the registry
        p.add_argument(f"--{opt.key.replace('_', '-')}", choices=opt.choices, help=opt.help)
    p.add_argument("--until", metavar="STEP", type=step_name, help="stop after this boot step")
    p.add_argument("--seed", type=bounded_int(0, MAX_SEED, "seed"), default=0,
                   help="seed of the simulation's generator (0 to 2**53-1)")


def strategy_options(args: argparse.Namespace) -> dict[str, str]:
    """The strategy settings given on the command line (registry options)."""
    return {opt.key: getattr(args, opt.key) for opt in all_options()
            if getattr(args, opt.key, None) is not None}


def overrides(args: argparse.Namespace) -> dict[str, str]:
    """Kernel settings given on the command line, as a session records them."""
    given = {k: v for k, v in (("sanitizer", args.sanitizer), ("kernel", args.kernel))
             if v is not None}
    return given | strategy_options(args)


def simulation(args: argparse.Namespace) -> Simulation:
    """The simulation the machine options describe (not stepped yet)."""
    layout = load_layout(args.layout)
    sim = Simulation(layout, getattr(args, "strategy", None), args.seed,
                     sanitizer=args.sanitizer, kernel=args.kernel, **strategy_options(args))
    if getattr(args, "until", None):
        sim.index_of(args.until)  # an unknown step is a usage error before any work
    return sim


def drain(work: Generator[Progress, None, T], label: str) -> T:
    """Run a generator of progress to its end (a replay, a session opening), with a
    progress bar on stderr when it is a terminal. Ctrl-C stops it between two units of
    work: the generator is closed and the KeyboardInterrupt goes on (exit 130)."""
    if not sys.stderr.isatty():
        return finish(work)
    from rich.console import Console
    from rich.progress import Progress as Bar

    with Bar(console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=None)
        try:
            while True:
                step = next(work)
                bar.update(task, completed=step.done, total=step.total or None,
                           description=f"{label}: {step.what}")
        except StopIteration as stop:
            value: T = stop.value
            return value
        finally:
            work.close()


def progress_bar(total: int, label: str) -> tuple[Callable[[int], None], Callable[[], None]]:
    """A rich progress bar on stderr when it is a terminal, else nothing."""
    if not sys.stderr.isatty() or total < 20000:
        return (lambda _done: None), (lambda: None)
    from rich.console import Console
    from rich.progress import Progress

    progress = Progress(console=Console(stderr=True), transient=True)
    task = progress.add_task(label, total=total)
    progress.start()
    return (lambda done: progress.update(task, completed=done)), progress.stop


def print_summary(sim: Simulation) -> None:
    """The metrics table and /proc/buddyinfo, after a run."""
    from kmsan_tui.model.vmstat import buddyinfo
    from kmsan_tui.report import summary_lines

    print()
    for line in summary_lines(sim.metrics(), sim):
        print(line)
    if sim.zones:
        print()
        print(buddyinfo(sim.zones), end="")
