"""A sorted map from half-open integer ranges to values: the model's page-state store.

DESIGN.md: memory is described by extents, not per-page records. A lookup is a
bisect (O(log n)); assigning a range splits at most two existing extents and
replaces the ones it covers, so a boot costs O(extents), never O(pages).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class ExtentMap(Generic[V]):
    """Non-overlapping ``[start, end) -> value`` extents, kept sorted by start."""

    __slots__ = ("_starts", "_ends", "_values")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._values: list[V] = []

    def __deepcopy__(self, memo: dict[int, Any]) -> ExtentMap[V]:
        """Values are immutable (str, frozen dataclasses): copying the lists suffices."""
        new: ExtentMap[V] = ExtentMap()
        new._starts, new._ends, new._values = list(self._starts), list(self._ends), list(self._values)
        memo[id(self)] = new
        return new

    def __len__(self) -> int:
        return len(self._starts)

    def __iter__(self) -> Iterator[tuple[int, int, V]]:
        return iter(zip(self._starts, self._ends, self._values, strict=True))

    def get(self, key: int) -> tuple[int, int, V] | None:
        """The extent containing ``key``, as (start, end, value), or None."""
        i = bisect_right(self._starts, key) - 1
        if i >= 0 and key < self._ends[i]:
            return self._starts[i], self._ends[i], self._values[i]
        return None

    def overlapping(self, start: int, end: int) -> Iterator[tuple[int, int, V]]:
        """Extents that intersect ``[start, end)``, in address order (unclipped)."""
        i = bisect_right(self._starts, start) - 1
        if i < 0 or self._ends[i] <= start:
            i += 1
        starts, ends, values = self._starts, self._ends, self._values
        n = len(starts)
        while i < n and starts[i] < end:
            yield starts[i], ends[i], values[i]
            i += 1

    def _cut(self, start: int, end: int) -> int:
        """Remove ``[start, end)`` from the map, splitting edge extents; return the insert index."""
        starts, ends, values = self._starts, self._ends, self._values
        lo = bisect_right(starts, start) - 1
        if lo >= 0 and ends[lo] > start:
            s0, e0, v0 = starts[lo], ends[lo], values[lo]
            if e0 > end:
                # One extent covers the whole cut: keep its head (if any) and its tail.
                if s0 == start:
                    starts[lo] = end
                    return lo
                ends[lo] = start
                starts.insert(lo + 1, end)
                ends.insert(lo + 1, e0)
                values.insert(lo + 1, v0)
                return lo + 1
            if s0 == start:
                del starts[lo], ends[lo], values[lo]
                lo -= 1
            else:
                ends[lo] = start
        lo += 1
        hi = bisect_left(starts, end, lo)
        if hi > lo and ends[hi - 1] > end:
            # The last covered extent sticks out past `end`: keep its tail.
            starts[hi - 1] = end
            hi -= 1
        del starts[lo:hi], ends[lo:hi], values[lo:hi]
        return lo

    def assign(self, start: int, end: int, value: V) -> None:
        """Map ``[start, end)`` to ``value``, overwriting whatever was there."""
        if end <= start:
            raise ValueError(f"empty extent [{start:#x}, {end:#x})")
        i = self._cut(start, end)
        self._starts.insert(i, start)
        self._ends.insert(i, end)
        self._values.insert(i, value)

    def remove(self, start: int, end: int) -> None:
        """Unmap ``[start, end)``."""
        if end > start:
            self._cut(start, end)

    def covered(self, start: int, end: int) -> int:
        """How many keys of ``[start, end)`` are mapped."""
        total = 0
        for s, e, _ in self.overlapping(start, end):
            total += min(e, end) - max(s, start)
        return total
