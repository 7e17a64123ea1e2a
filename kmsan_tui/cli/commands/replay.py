"""`kmsan-tui replay`: load a saved session, replay it headless, print the summary.

With ``--verify`` every state-changing command's digest is checked against the one
the file saved: exit 0 when all match, exit 1 naming the first command that diverges
(the model changed since the save). A file that cannot be used at all (damaged,
edited, of a newer format) is one line and exit 2, as every bad input is.
"""

from __future__ import annotations

import argparse
import json
import sys

from kmsan_tui.cli.common import EXIT_BUG, drain, print_summary

NAME = "replay"
HELP = "replay a saved session headless (--verify: check every digest)"
ORDER = 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a session saved by `run --save` or the explorer (ctrl+s)")
    p.add_argument("--verify", action="store_true",
                   help="check the digest after every command; exit 1 at the first that differs")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    from kmsan_tui.session import DivergenceError, files

    try:
        session = drain(files.opening(args.file, verify=args.verify), "replaying")
    except DivergenceError as exc:
        print(f"kmsan-tui: diverges: {exc}", file=sys.stderr)
        return EXIT_BUG
    session.seek_now(len(session.log))  # the end of the log, wherever the file was viewed
    sim = session.sim
    states = sum(1 for e in session.log if e.digest is not None)
    if args.json:
        print(json.dumps({
            "file": args.file, "entries": len(session.log), "position": session.position,
            "verified": args.verify, "divergence": session.divergence,
            "migrated_from": session.migrated.from_format if session.migrated else None,
            "digest": sim.digest(), "metrics": sim.metrics().as_dict()}, indent=1))
        return 0
    print(f"{args.file}: {len(session.log)} command(s) replayed, digest {sim.digest()}")
    if session.migrated is not None:
        same = "matches" if session.migrated.matched else "differs from"
        print(f"migrated from format {session.migrated.from_format}: replayed under today's "
              f"model; the final digest {same} the one it was saved with")
    if args.verify:
        print(f"verified: the digests after all {states} state-changing command(s) match")
    elif session.divergence:
        print(f"kmsan-tui: warning: {session.divergence} (replay --verify fails on this)",
              file=sys.stderr)
    print_summary(sim)
    return 0
