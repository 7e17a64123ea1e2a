"""`kmsan-tui compare`: the strategies side by side on one machine."""

from __future__ import annotations

import argparse
import json

from kmsan_tui.cli.common import add_machine_options, simulation
from kmsan_tui.model.strategies.registry import STRATEGIES

NAME = "compare"
HELP = "the three strategies side by side"
ORDER = 30


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_machine_options(p, strategy=False)
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from kmsan_tui.report import compare_table

    results = []
    for strategy in STRATEGIES:
        args.strategy = strategy
        sim = simulation(args)
        sim.run_to(args.until) if args.until else sim.run()
        results.append((strategy, sim.metrics()))
    if args.json:
        print(json.dumps({s: m.as_dict() for s, m in results}, indent=1))
    else:
        for line in compare_table(results):
            print(line)
    return 0
