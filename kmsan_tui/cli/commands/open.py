"""`kmsan-tui open FILE` (or `kmsan-tui --session FILE`): a saved session in the explorer.

The file is read and replayed before the terminal is taken over, so a bad file is one
line and exit 2 like any bad input. The explorer opens where the session was saved
(or ``--at``: a log position, ``step N``, a boot step or a bookmark), with the keys
of a recording: space plays it, ``{``/``}`` move along it, ``j`` seeks, and any other
command branches off it.
"""

from __future__ import annotations

import argparse

NAME = "open"
HELP = "open a saved session in the explorer"
ORDER = 15


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("file", help="a session saved by `run --save` or the explorer (ctrl+s)")
    p.add_argument("--at", metavar="PLACE",
                   help="where to start: a log position, 'step N', a boot step or a bookmark")
    p.add_argument("--keymap", dest="open_keymap", default=None,
                   help="a TOML file rebinding keys")


def open_session(path: str, *, at: str | None = None, keymap: str | None = None) -> int:
    """Replay ``path`` and run the explorer on it (the top-level --session FILE too)."""
    from kmsan_tui.cli.common import drain
    from kmsan_tui.session import files
    from kmsan_tui.tui.app import run_app, user_keymap

    bindings = user_keymap(keymap)  # a bad keymap before any work
    session = drain(files.opening(path), "opening")
    if at is not None:
        session.seek_now(*session.find(at))
    return run_app(session.layout, keymap=None, session=session, bindings=bindings)


def run(args: argparse.Namespace) -> int:
    return open_session(args.file, at=args.at, keymap=args.open_keymap)
