"""The e820 table as arch/x86/kernel/e820.c keeps it: ranges with a type, updated and
trimmed by the kernel's fix-ups, sanitized when entries overlap.

Ranges here are [start, end] inclusive, as the kernel prints them. Types are the
kernel's numbers (E820_TYPE_*), so that sanitizing resolves an overlap the way
e820__update_table() does: the higher type wins.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

# arch/x86/include/asm/e820/types.h
E820_RAM = 1
E820_RESERVED = 2
E820_ACPI = 3
E820_NVS = 4
E820_UNUSABLE = 5
E820_PMEM = 7
E820_PRAM = 12
E820_SOFT_RESERVED = 0xEFFFFFFF
E820_RESERVED_KERN = 128

# e820_print_type(): the name each type is printed with.
TYPE_NAMES = {E820_RAM: "usable", E820_RESERVED_KERN: "usable", E820_RESERVED: "reserved",
              E820_SOFT_RESERVED: "soft reserved", E820_ACPI: "ACPI data",
              E820_NVS: "ACPI NVS", E820_UNUSABLE: "unusable"}
# The layout format's names (kmsan_tui/layouts/README.md) for each type.
LAYOUT_TYPES = {E820_RAM: "usable", E820_RESERVED_KERN: "usable", E820_RESERVED: "reserved",
                E820_ACPI: "ACPI data", E820_NVS: "ACPI NVS", E820_UNUSABLE: "unusable",
                E820_PMEM: "persistent", E820_PRAM: "persistent"}
_PERSISTENT = re.compile(r"persistent \(type (\d{1,10})\)")
_OTHER = re.compile(r"type (\d{1,10})")
MAX_ADDR = (1 << 64) - 1


def type_of(name: str) -> int | None:
    """The E820 type a printed name stands for (None: not a name the kernel prints)."""
    name = name.strip()
    for number, printed in TYPE_NAMES.items():
        if printed == name and number != E820_RESERVED_KERN:
            return number
    m = _PERSISTENT.fullmatch(name) or _OTHER.fullmatch(name)
    if m:
        return int(m[1])
    return None


@dataclass(frozen=True, slots=True)
class Range:
    """An e820 entry: [start, end] inclusive, its type, and the log line it came from."""

    start: int
    end: int
    type: int
    line: int = 0


def sanitize(entries: Sequence[Range]) -> list[Range]:
    """e820__update_table(): overlapping entries resolved in favour of the higher type,
    the result sorted and with no zero-size entry; adjacent entries of one type merged
    (the kernel merges them too: a change point only where the type changes)."""
    points: list[tuple[int, int, int]] = []  # (address, 0 = start / 1 = end, index)
    for i, e in enumerate(entries):
        if e.end >= e.start:
            points += [(e.start, 0, i), (e.end + 1, 1, i)]
    points.sort()
    active: set[int] = set()
    out: list[Range] = []
    current, since, since_line = 0, 0, 0
    pos = 0
    while pos < len(points):
        addr = points[pos][0]
        while pos < len(points) and points[pos][0] == addr:
            _, kind, i = points[pos]
            (active.discard if kind else active.add)(i)
            pos += 1
        best = max((entries[i].type for i in active), default=0)
        best_line = min((entries[i].line for i in active if entries[i].type == best), default=0)
        if best != current:
            if current:
                out.append(Range(since, addr - 1, current, since_line))
            current, since, since_line = best, addr, best_line
    return out


def update_range(table: Sequence[Range], start: int, end: int, old: int, new: int,
                 line: int = 0) -> list[Range]:
    """__e820_update_range(): the part of [start, end] of type ``old`` becomes ``new``."""
    out: list[Range] = []
    for e in table:
        if e.type != old or e.end < start or e.start > end:
            out.append(e)
            continue
        if e.start < start:
            out.append(Range(e.start, start - 1, e.type, e.line))
        out.append(Range(max(e.start, start), min(e.end, end), new, line))
        if e.end > end:
            out.append(Range(end + 1, e.end, e.type, e.line))
    return sanitize(out)


def remove_range(table: Sequence[Range], start: int, end: int, old: int | None) -> list[Range]:
    """e820__range_remove(): [start, end] leaves the table (only entries of type ``old``
    unless it is None, as with checktype = 0)."""
    out: list[Range] = []
    for e in table:
        if (old is not None and e.type != old) or e.end < start or e.start > end:
            out.append(e)
            continue
        if e.start < start:
            out.append(Range(e.start, start - 1, e.type, e.line))
        if e.end > end:
            out.append(Range(end + 1, e.end, e.type, e.line))
    return sorted(out, key=lambda r: r.start)


def merge(table: Sequence[Range]) -> list[Range]:
    """Adjacent entries of the same layout type as one (the extended map's setup_data
    pieces are RAM like their neighbours)."""
    out: list[Range] = []
    for e in sorted(table, key=lambda r: r.start):
        kind = LAYOUT_TYPES.get(e.type, "reserved")
        if out and out[-1].end + 1 == e.start and LAYOUT_TYPES.get(out[-1].type, "reserved") == kind:
            out[-1] = Range(out[-1].start, e.end, out[-1].type, out[-1].line)
        else:
            out.append(e)
    return out


def is_standard_fixup(op: str, start: int, end: int) -> bool:
    """The two fix-ups every x86 boot prints (trim_bios_range(), e820__memblock_setup()):
    page 0 made reserved and the ISA hole's RAM removed. The model makes them itself."""
    return (op == "update" and (start, end) == (0, 0xFFF)) or \
        (op == "remove" and (start, end) == (0xA0000, 0xFFFFF))
