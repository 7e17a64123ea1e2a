"""Read what a real boot log says about memblock: dumps, reservations, the Memory: line."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

_TS = re.compile(r"^\[\s*\d+\.\d+\] ")
_RANGE = re.compile(r"^(memblock_reserve|memblock_phys_free): \[0x([0-9a-f]+)-0x([0-9a-f]+)\]")
_MEMORY = re.compile(r"Memory: (\d+)K/(\d+)K available .* (\d+)K reserved")


@dataclass
class BootLog:
    lines: list[str]

    @classmethod
    def read(cls, path: Path) -> BootLog:
        return cls([_TS.sub("", line.rstrip("\n")) for line in path.read_text().splitlines()])

    def dumps(self) -> list[list[str]]:
        """Each 'MEMBLOCK configuration:' block, its lines as printed."""
        out: list[list[str]] = []
        for i, line in enumerate(self.lines):
            if line == "MEMBLOCK configuration:":
                block = [line]
                for follow in self.lines[i + 1:]:
                    if not follow.startswith(" "):
                        break
                    block.append(follow)
                out.append(block)
        return out

    def memory_line(self) -> tuple[int, int, int]:
        for line in self.lines:
            m = _MEMORY.search(line)
            if m:
                return int(m[1]), int(m[2]), int(m[3])
        raise AssertionError("no Memory: line")

    def reserved_before_memory_line(self) -> int:
        """Bytes reserved when memblock_free_all runs: the last dump's reserved regions,
        then every memblock_reserve / memblock_phys_free printed after it."""
        last_dump = self.dumps()[-1]
        ranges: list[tuple[int, int]] = []
        for line in last_dump:
            m = re.search(r"reserved\[0x[0-9a-f]+\]\s+\[0x([0-9a-f]+)-0x([0-9a-f]+)\]", line)
            if m:
                ranges.append((int(m[1], 16), int(m[2], 16) + 1))
        start = max(i for i, line in enumerate(self.lines) if line == "MEMBLOCK configuration:")
        for line in self.lines[start:]:
            if line.startswith("Memory:"):
                break
            m = _RANGE.match(line)
            if not m:
                continue
            base, end = int(m[2], 16), int(m[3], 16) + 1
            ranges = _subtract(ranges, base, end)
            if m[1] == "memblock_reserve":
                ranges.append((base, end))
        return sum(e - s for s, e in _merge(ranges))


def _subtract(ranges: list[tuple[int, int]], lo: int, hi: int) -> list[tuple[int, int]]:
    out = []
    for s, e in ranges:
        if e <= lo or s >= hi:
            out.append((s, e))
            continue
        if s < lo:
            out.append((s, lo))
        if e > hi:
            out.append((hi, e))
    return out


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(ranges):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out
