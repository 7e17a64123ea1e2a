"""`kmsan-tui import dmesg|iomem FILE`: a layout for *your* machine, from its boot log or
its /proc/iomem, as a commented TOML file for `kmsan-tui run --layout`.

The layout goes to stdout, or to ``-o FILE`` (checked before the input is read, written
atomically); what could not be found and what was assumed go to stderr, one line each.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from kmsan_tui.cli.common import Parser, bounded_int, output_file
from kmsan_tui.model.layout_types import KERNELS, SANITIZERS
from kmsan_tui.model.safeio import atomic_write, check_target, read_text

if TYPE_CHECKING:  # the formats package is imported when a command runs (CLI start-up)
    from kmsan_tui.formats.facts import BootFacts, Note
    from kmsan_tui.formats.layout_writer import Imported

NAME = "import"
HELP = "build a layout from a boot log (dmesg) or /proc/iomem"
ORDER = 70
INPUT_LIMIT = 64 << 20  # a boot log with memblock=debug on a big machine is a few MiB


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="source", required=True, parser_class=Parser, metavar="SOURCE")
    dmesg = sub.add_parser("dmesg", help="a boot log: dmesg, a serial console, journalctl -k")
    iomem = sub.add_parser("iomem", help="a copy of /proc/iomem (read as root)")
    for q in (dmesg, iomem):
        q.add_argument("file", metavar="FILE")
        q.add_argument("-o", "--output", metavar="LAYOUT", type=output_file,
                       help="write the layout here (else stdout)")
        q.add_argument("--kernel", choices=KERNELS, help="the kernel profile (else the closest)")
        q.add_argument("--sanitizer", choices=SANITIZERS, help="the sanitizer (else from the log)")
        q.add_argument("--name", help="the machine's name (else the file's)")
    iomem.add_argument("--cpus", type=bounded_int(1, 8192, "cpus"), default=None,
                       help="CPUs of the machine (/proc/iomem does not say)")


def read_facts(kind: str, path: str, cpus: int | None = None) -> BootFacts:
    """The facts of a dmesg or iomem file (safeio: regular file, size cap, UTF-8)."""
    from kmsan_tui.formats.dmesg import read_dmesg
    from kmsan_tui.formats.iomem import read_iomem

    text = read_text(path, "boot log" if kind == "dmesg" else "/proc/iomem copy", INPUT_LIMIT)
    if kind == "dmesg":
        return read_dmesg(text, path)
    facts = read_iomem(text, path)
    if cpus:
        facts.cpus, facts.cpus_how = cpus, "--cpus"
    return facts


def summary(facts: BootFacts, imported: Imported) -> str:
    """One line: what the layout describes."""
    gib = facts.ram_bytes / (1 << 30)
    release = f"Linux {facts.release_text}, " if facts.release_text else ""
    return (f"imported: {gib:.2f} GiB of RAM in {len(facts.e820)} e820 ranges, "
            f"{imported.nodes} node(s); "
            f"{release}profile {imported.profile}, sanitizer {imported.sanitizer}")


def report(notes: tuple[Note, ...] | list[Note]) -> None:
    """The notes the user must see, on stderr: missing, assumed, warnings."""
    for note in notes:
        if note.kind != "found":
            print(f"kmsan-tui import: {note}", file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    if args.output is not None:
        check_target(args.output, "layout")  # before reading anything
    facts = read_facts(args.source, args.file, getattr(args, "cpus", None))
    from kmsan_tui.formats.layout_writer import build_layout

    imported = build_layout(facts, kernel=args.kernel, sanitizer=args.sanitizer, name=args.name)
    from kmsan_tui.formats.reality import check_layout

    check_layout(imported.text, args.output or "<stdout>")
    report(imported.notes)
    print(summary(facts, imported), file=sys.stderr)
    if args.output is not None:
        atomic_write(args.output, imported.text, "layout")
    else:
        print(imported.text, end="")
    return 0
