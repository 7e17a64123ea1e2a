"""`kmsan-tui compare`: the strategies side by side on one machine.

Each strategy boots the same layout with the same seed (to --until, or to the end),
then runs the same workload if one is asked for. ``--variants`` adds a column per
setting of each strategy that differs from its default (lazy activated at
page_ext_init, lazy with page_ext pointers, fixed backed at boot...), from the
strategy registry.
"""

from __future__ import annotations

import argparse
import json

from kmsan_tui.cli.common import (
    add_machine_options,
    add_ops_option,
    progress_bar,
    strategy_options,
)
from kmsan_tui.model.layout import load_layout
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.model.strategies.registry import REGISTRY, STRATEGIES
from kmsan_tui.model.workloads import WORKLOADS

NAME = "compare"
HELP = "the three strategies side by side"
ORDER = 30


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_machine_options(p, strategy=False)
    p.add_argument("--workload", choices=sorted(WORKLOADS),
                   help="run this workload after the boot, the same in every column")
    add_ops_option(p)
    p.add_argument("--variants", action="store_true",
                   help="also each strategy setting that differs from its default")
    p.add_argument("--json", action="store_true",
                   help="one JSON object: column name -> metrics (docs/metrics.md)")


def columns(variants: bool) -> list[tuple[str, str, dict[str, str]]]:
    """(column name, strategy, kernel settings) for every column to boot."""
    out: list[tuple[str, str, dict[str, str]]] = []
    for name in STRATEGIES:
        out.append((name, name, {}))
        if not variants:
            continue
        for opt in REGISTRY[name].options:
            for choice in opt.choices:
                if choice != opt.default:
                    out.append((f"{name}:{choice}", name, {opt.key: choice}))
    return out


def run(args: argparse.Namespace) -> int:
    from kmsan_tui.report import compare_table

    base = load_layout(args.layout)
    given = {k: v for k, v in (("sanitizer", args.sanitizer), ("version", args.kernel)) if v}
    given |= strategy_options(args)
    results = []
    for column, strategy, settings in columns(args.variants):
        layout = base.with_kernel(**(given | settings))
        sim = Simulation(layout, strategy, args.seed)
        if args.until:
            sim.run_to(args.until)
        else:
            sim.run()
        if args.workload:
            update, stop = progress_bar(args.ops, f"{column}: {args.workload}")
            try:
                sim.run_workload(args.workload, args.ops, update)
            finally:
                stop()
        results.append((column, sim.metrics()))
    if args.json:
        print(json.dumps({name: m.as_dict() for name, m in results}, indent=1))
    else:
        for line in compare_table(results):
            print(line)
    return 0
