"""`kmsan-tui steps`: the boot timeline of a kernel, with each call's source."""

from __future__ import annotations

import argparse

from kmsan_tui.cli.common import DEFAULT_LAYOUT
from kmsan_tui.model.layout import KERNELS, SANITIZERS
from kmsan_tui.model.simulation import Simulation

NAME = "steps"
HELP = "list the boot steps of a kernel"
ORDER = 50


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kernel", choices=KERNELS, default="mainline")
    p.add_argument("--sanitizer", choices=SANITIZERS, default="kmsan")


def run(args: argparse.Namespace) -> int:
    sim = Simulation(DEFAULT_LAYOUT, kernel=args.kernel, sanitizer=args.sanitizer)
    for i, info in enumerate(sim.step_info, 1):
        print(f"{i:2d}. {info.name:<34} {info.source}")
    return 0
