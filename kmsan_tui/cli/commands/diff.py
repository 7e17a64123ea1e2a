"""`kmsan-tui diff dmesg|buddyinfo REAL`: how far a simulated boot is from a real one.

``diff dmesg REAL.log`` imports the log (or boots ``--layout``) and prints the
``Memory:`` figures, totalram and each zone's spanned and present pages, simulated
against real, with the relative error. ``diff buddyinfo REAL`` does the same for the
free blocks of each zone and order after booting ``--layout`` (to ``--until``).
"""

from __future__ import annotations

import argparse
import json
import sys

from kmsan_tui.cli.commands.import_ import INPUT_LIMIT, read_facts, report
from kmsan_tui.cli.common import Parser, add_machine_options
from kmsan_tui.model.layout import load_layout
from kmsan_tui.model.safeio import read_text

NAME = "diff"
HELP = "compare a simulated boot with a real boot log or /proc/buddyinfo"
ORDER = 75


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="real_kind", required=True, parser_class=Parser, metavar="KIND")
    dmesg = sub.add_parser("dmesg", help="a real boot log: Memory: line, totalram, zones")
    buddy = sub.add_parser("buddyinfo", help="a real /proc/buddyinfo: free blocks per order")
    for q in (dmesg, buddy):
        q.add_argument("real", metavar="REAL", help="the file of the real machine")
        add_machine_options(q)
        q.add_argument("--json", action="store_true", help="print the rows as JSON")
    dmesg.set_defaults(layout=None)  # default: the layout imported from the log itself


def run(args: argparse.Namespace) -> int:
    # The formats package is imported here, not at the top: every command pays for what
    # the top of each command module imports (kmsan_tui.cli builds one parser).
    from kmsan_tui.formats.layout_writer import build_layout
    from kmsan_tui.formats.reality import (
        boot,
        buddyinfo_rows,
        check_layout,
        dmesg_rows,
        format_rows,
    )
    from kmsan_tui.formats.snapshot import view_of

    if args.real_kind == "dmesg":
        facts = read_facts("dmesg", args.real)
        if args.layout is None:
            imported = build_layout(facts, kernel=args.kernel, sanitizer=args.sanitizer)
            report(imported.notes)
            layout = check_layout(imported.text, f"{args.real} (imported)")
        else:
            layout = load_layout(args.layout)
        sim = boot(layout, strategy=args.strategy, kernel=args.kernel, sanitizer=args.sanitizer)
        rows = dmesg_rows(sim, view_of(sim), facts)
        title = f"{layout.name} ({sim.config.version}, {sim.config.sanitizer}, " \
                f"{sim.config.strategy}) against {args.real}"
    else:
        from kmsan_tui.formats.parse_procfs import parse_buddyinfo

        real = parse_buddyinfo(read_text(args.real, "/proc/buddyinfo copy", INPUT_LIMIT), args.real)
        layout = load_layout(args.layout)
        sim = boot(layout, strategy=args.strategy, kernel=args.kernel, sanitizer=args.sanitizer,
                   until=args.until)
        rows = buddyinfo_rows(view_of(sim), real)
        title = f"{layout.name} after {sim.step_name} against {args.real}"
    if args.json:
        print(json.dumps({"title": title, "rows": [r.as_dict() for r in rows]}, indent=1))
    else:
        print(f"# {title}")
        for line in format_rows(rows):
            print(line)
    sys.stdout.flush()
    return 0
