"""`kmsan-tui replay`: load a saved session, replay it, print the summary."""

from __future__ import annotations

import argparse
import json

from kmsan_tui.cli.common import print_summary

NAME = "replay"
HELP = "load a saved session, replay it, print the summary"
ORDER = 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a session saved by `run --save` or the explorer")
    p.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:
    from kmsan_tui.session import Session

    session = Session.load(args.file)
    if args.json:
        print(json.dumps({"digest": session.sim.digest(), "commands": len(session.history),
                          "metrics": session.sim.metrics().as_dict()}, indent=1))
    else:
        print(f"{args.file}: {len(session.history)} command(s) replayed, digest "
              f"{session.sim.digest()}")
        print_summary(session.sim)
    return 0
