"""`kmsan-tui layouts`: the shipped layouts."""

from __future__ import annotations

import argparse

from kmsan_tui.model.layout import load_layout, shipped_layouts

NAME = "layouts"
HELP = "list the shipped layouts"
ORDER = 40


def add_arguments(p: argparse.ArgumentParser) -> None:
    pass


def run(_args: argparse.Namespace) -> int:
    for name in shipped_layouts():
        layout = load_layout(name)
        print(f"{name:<12} {layout.ram_bytes / (1 << 30):>9.1f} GiB  {len(layout.nodes)} node(s) "
              f"{layout.cpus:>4} CPUs  {layout.description}")
    return 0
