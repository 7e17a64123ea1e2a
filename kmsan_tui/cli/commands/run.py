"""`kmsan-tui run`: boot a layout headless and print the kernel log and a summary."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from kmsan_tui.cli.common import (
    EXIT_BUG,
    add_machine_options,
    add_ops_option,
    output_file,
    overrides,
    print_summary,
    progress_bar,
)
from kmsan_tui.model.constants import PAGETYPEINFO_TYPES
from kmsan_tui.model.safeio import check_target
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.model.workloads import WORKLOADS

NAME = "run"
HELP = "boot a layout headless and print the kernel log"
ORDER = 10


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_machine_options(p)
    p.add_argument("--workload", choices=sorted(WORKLOADS), help="post-boot workload")
    add_ops_option(p)
    p.add_argument("--check", action="store_true", help="check invariants after each step")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quiet", action="store_true", help="print only the summary")
    p.add_argument("--memblock-debug", action="store_true",
                   help="include memblock=debug lines in the log")
    p.add_argument("--save", metavar="FILE", type=output_file,
                   help="save the session (replay it with `replay`)")


def zone_json(sim: Simulation) -> list[dict[str, Any]]:
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


def run(args: argparse.Namespace) -> int:
    from kmsan_tui.session import Session, Step, Workload, files
    from kmsan_tui.session.layoutdoc import read_layout

    if args.save is not None:
        check_target(args.save, "session")  # before the boot: a save that cannot be written
    layout, layout_source = read_layout(args.layout)
    session = Session(layout, args.strategy or layout.kernel.strategy, args.seed, overrides(args),
                      checkpoints=False, layout_source=layout_source,
                      digests=args.save is not None)  # a digest per step only for a save
    sim = session.sim
    target = sim.index_of(args.until) if args.until else len(sim.steps) - 1
    problems: list[str] = []
    steps_out: list[dict[str, Any]] = []
    show = not args.json and not args.quiet
    while sim.current <= target:
        info = sim.step_info[sim.current]
        first = len(sim.events)
        session.apply(Step())
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
        update, stop = progress_bar(args.ops, f"{args.workload}")
        try:
            session.apply(Workload(args.workload, args.ops), lambda p: update(p.done))
        finally:
            stop()
        if args.check:
            problems += [f"after workload {args.workload}: {p}" for p in sim.check()]
        if show:
            print(sim.events[-1].text)
    if args.save is not None:
        files.save(session, args.save)
    metrics = sim.metrics()
    if args.json:
        doc = {
            "layout": sim.layout.name, "strategy": metrics.strategy, "sanitizer": sim.sanitizer,
            "kernel": sim.config.version, "seed": sim.seed, "steps": steps_out,
            "memblock": {
                kind: [{"base": r.base, "size": r.size, "nid": r.nid, "flags": int(r.flags)}
                       for r in getattr(sim.memblock, kind).regions]
                for kind in ("memory", "reserved")},
            "zones": zone_json(sim),
            "memory_line": metrics.memory_line,
            "metrics": metrics.as_dict(),
            "digest": sim.digest(),
        }
        if args.check:
            doc["check"] = problems
        print(json.dumps(doc, indent=1))
    else:
        print_summary(sim)
        if args.check:
            print("check: ok" if not problems else f"check: {len(problems)} problem(s)")
    if problems:
        for p in problems:
            print(f"kmsan-tui: invariant violated: {p}", file=sys.stderr)
        return EXIT_BUG
    return 0
