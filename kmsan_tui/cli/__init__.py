"""`kmsan-tui`: the explorer (no arguments) and the headless commands.

Each command is one module of ``kmsan_tui.cli.commands`` (``NAME``, ``HELP``, ``ORDER``,
``add_arguments(parser)``, ``run(args)``); the parser is assembled from whatever modules
are there, so adding a command touches no other file.

Bad input (a broken layout, an unknown step or layout) prints one line on stderr and
exits 2; an invariant violation found by --check is a bug and exits 1, and so is any
other exception: one line, its traceback in a crash log (kmsan_tui.crashlog). The
Textual app is imported only when it is started.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys
from collections.abc import Callable, Sequence
from types import ModuleType

from kmsan_tui.cli import commands
from kmsan_tui.cli.common import DEFAULT_LAYOUT, EXIT_BUG, EXIT_USAGE, Parser
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.strategies.registry import STRATEGIES

__all__ = ["build_parser", "main"]


def _command_modules() -> list[ModuleType]:
    """The command modules, in their ORDER (the order of `kmsan-tui --help`)."""
    found = [importlib.import_module(f"{commands.__name__}.{info.name}")
             for info in pkgutil.iter_modules(commands.__path__)]
    return sorted(found, key=lambda m: (m.ORDER, m.NAME))


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    """The parser, and the handler of each subcommand by name."""
    parser = Parser(prog="kmsan-tui", description=(
        "Watch a machine's physical memory during Linux boot and compare KMSAN metadata "
        "strategies. With no command, opens the explorer."))
    # The explorer's own options (no command). Their dests differ from the commands'
    # options so that `kmsan-tui --layout X run` is caught instead of silently ignored.
    parser.add_argument("--layout", dest="explorer_layout", default=None,
                        help="layout to open the explorer on")
    parser.add_argument("--strategy", dest="explorer_strategy", choices=STRATEGIES, default=None)
    parser.add_argument("--keymap", default=None, help="a TOML file rebinding keys")
    parser.add_argument("--session", dest="explorer_session", metavar="FILE", default=None,
                        help="open the explorer on a saved session (as `open FILE`)")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {}
    for module in _command_modules():
        module.add_arguments(sub.add_parser(module.NAME, help=module.HELP))
        handlers[module.NAME] = module.run
    return parser, handlers


def _explorer(args: argparse.Namespace) -> int:
    from kmsan_tui.model.layout import load_layout
    from kmsan_tui.tui.app import run_app

    if args.explorer_session is not None:
        if args.explorer_layout is not None or args.explorer_strategy is not None:
            raise UserError("--session opens the layout and strategy the session was saved "
                            "with: drop --layout/--strategy (switch them in the explorer)")
        from kmsan_tui.cli.commands.open import open_session

        return open_session(args.explorer_session, keymap=args.keymap)
    layout = load_layout(args.explorer_layout or DEFAULT_LAYOUT)
    return run_app(layout, strategy=args.explorer_strategy, keymap=args.keymap)


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    if args.command:
        misplaced = [flag for flag, dest in (("--layout", "explorer_layout"),
                                             ("--strategy", "explorer_strategy"),
                                             ("--keymap", "keymap"),
                                             ("--session", "explorer_session"))
                     if getattr(args, dest) is not None]
        if misplaced:
            parser.error(f"{', '.join(misplaced)} before the command applies to the explorer "
                         f"only: put it after `{args.command}`")
    handler = handlers.get(args.command) if args.command else _explorer
    assert handler is not None
    try:
        return handler(args)
    except UserError as exc:
        print(f"kmsan-tui: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print("kmsan-tui: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: one line, the traceback in a file of its own
        from kmsan_tui.crashlog import crash_line, write_crash_log

        argv_text = " ".join(sys.argv if argv is None else ["kmsan-tui", *argv])
        path = write_crash_log(exc, f"command: {argv_text}")
        print(f"kmsan-tui: {crash_line(exc, path)}", file=sys.stderr)
        return EXIT_BUG
