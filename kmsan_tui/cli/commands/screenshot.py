"""`kmsan-tui screenshot`: the explorer's screen as an SVG, without a terminal."""

from __future__ import annotations

import argparse

from kmsan_tui.cli.common import add_machine_options, output_file, simulation
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.safeio import check_target

# A terminal larger than any screen does not make a better picture; it only takes
# long to lay out and render.
MIN_SIZE = (40, 12)
MAX_SIZE = (400, 200)

NAME = "screenshot"
HELP = "save an SVG screenshot of the explorer"
ORDER = 60


def add_arguments(p: argparse.ArgumentParser) -> None:
    add_machine_options(p)
    p.add_argument("output", type=output_file, help="the .svg file to write")
    p.add_argument("--size", default="120x40", help="terminal size COLSxROWS")


def run(args: argparse.Namespace) -> int:
    from kmsan_tui.tui.screenshot import take_screenshot

    sim = simulation(args)  # validates the input before starting Textual
    cols, _, rows = args.size.partition("x")
    try:
        size = (int(cols), int(rows))
    except ValueError:
        raise UserError(f"--size: expected COLSxROWS, got {args.size!r}") from None
    if not all(lo <= n <= hi for n, lo, hi in zip(size, MIN_SIZE, MAX_SIZE, strict=True)):
        raise UserError(f"--size: {size[0]}x{size[1]} is outside {MIN_SIZE[0]}x{MIN_SIZE[1]}.."
                        f"{MAX_SIZE[0]}x{MAX_SIZE[1]}")
    check_target(args.output, "screenshot")  # before the boot and the rendering
    take_screenshot(sim, args.until, args.output, size)
    print(args.output)
    return 0
