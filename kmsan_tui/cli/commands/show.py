"""`kmsan-tui show FORMAT`: what the kernel would print (a /proc or debugfs file, the
e820 table, the boot log, crash's `kmem -f`) for a simulated machine, byte for byte in
the kernel's format, or as JSON shaped like the jc parsers' output."""

from __future__ import annotations

import argparse
import json

from kmsan_tui.cli.common import add_machine_options, add_ops_option, progress_bar, simulation
from kmsan_tui.formats.render import FORMATS, render
from kmsan_tui.formats.snapshot import view_of
from kmsan_tui.model.workloads import WORKLOADS

NAME = "show"
HELP = "print a /proc, debugfs or console format of a simulated machine"
ORDER = 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("format", choices=list(FORMATS), metavar="FORMAT",
                   help="one of: " + ", ".join(FORMATS))
    add_machine_options(p)
    p.add_argument("--workload", choices=sorted(WORKLOADS), help="run a workload after the boot")
    add_ops_option(p)
    p.add_argument("--json", action="store_true",
                   help="print JSON (jc's shape for buddyinfo, pagetypeinfo, zoneinfo, meminfo)")


def run(args: argparse.Namespace) -> int:
    sim = simulation(args)
    if args.until:
        sim.run_to(args.until)
    else:
        sim.run()
    if args.workload:
        update, stop = progress_bar(args.ops, args.workload)
        try:
            sim.run_workload(args.workload, args.ops, update)
        finally:
            stop()
    out = render(view_of(sim), sim.step_names_run, args.format, args.json)
    if args.json:
        print(json.dumps(out, indent=1))
    else:
        print(out, end="")
    return 0
