"""`kmsan-tui steps`: the boot timeline of a kernel, with each call's source."""

from __future__ import annotations

import argparse

from kmsan_tui.model.boot import steps_of
from kmsan_tui.model.layout import KERNELS, SANITIZERS
from kmsan_tui.model.profiles import profile_for

NAME = "steps"
HELP = "list the boot steps of a kernel"
ORDER = 50


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--kernel", choices=KERNELS, default="mainline")
    p.add_argument("--sanitizer", choices=SANITIZERS, default="kmsan")


def run(args: argparse.Namespace) -> int:
    profile = profile_for(args.kernel)
    print(f"{profile.name}: {profile.release}")
    print(f"Memory: line printed from {profile.memory_line_from}(); buddy fallback: "
          f"{profile.fallback}; held-back KMSAN pages in totalram: "
          f"{'yes' if profile.totalram_counts_held_back else 'no'}")
    for i, info in enumerate(steps_of(profile, args.sanitizer), 1):
        print(f"{i:2d}. {info.name:<34} {info.source}")
    return 0
