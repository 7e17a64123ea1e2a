"""A sorted map from half-open integer ranges to values: the model's page-state store.

DESIGN.md: memory is described by extents, not per-page records. A lookup is a
bisect (O(log n)); assigning a range splits at most two existing extents and
replaces the ones it covers, so a boot costs O(extents), never O(pages).

Workloads keep 10^5-10^6 extents live and update them several times per
operation. In one flat sorted list every insert or delete moves O(n) items, and
throughput fell as a run went on. So the extents are kept in chunks of at most
``2 * _LOAD`` (a B-tree of height two, like ``sortedcontainers``), with the first
start of every chunk but the first in ``_seps``. An update moves at most
``2 * _LOAD`` items of one chunk; about once every ``_LOAD`` updates it also moves
one item of ``_seps``, when chunks split or merge. So its cost does not grow with
the map up to ~``_LOAD**2`` extents (10^5 and more). A map that never held more
than ``2 * _LOAD`` extents (as after any boot) is one chunk, so its lookups are a
single bisect, as they were before.
Each extent is stored as one ``(start, end, value)`` tuple, next to a list of
starts to bisect. ``get``, ``overlapping`` and iteration hand out those tuples
as they are, and a copy duplicates two lists of pointers per chunk, not three.
A ``sortedcontainers`` SortedList of starts plus a dict was measured too: it was
2-4 times slower per update and per lookup.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from itertools import chain
from typing import Any, Generic, TypeVar

V = TypeVar("V")

# A chunk holds more than _LOAD // 2 and at most 2 * _LOAD extents, except when it is the only one.
_LOAD = 512


class ExtentMap(Generic[V]):
    """Non-overlapping ``[start, end) -> value`` extents, kept sorted by start.

    Invariants: there is at least one chunk. Chunk ``c`` is ``_exts[c]``, a sorted list
    of ``(start, end, value)`` tuples, and ``_starts[c]``, their starts. Only the map's
    single chunk may be empty. Every start in chunk ``c`` is below every start in chunk
    ``c + 1``, and ``_seps[c - 1] == _starts[c][0]`` for ``c >= 1``.
    """

    __slots__ = ("_seps", "_starts", "_exts")

    def __init__(self) -> None:
        self._seps: list[int] = []
        self._starts: list[list[int]] = [[]]
        self._exts: list[list[tuple[int, int, V]]] = [[]]

    def __deepcopy__(self, memo: dict[int, Any]) -> ExtentMap[V]:
        """Values are immutable (str, frozen dataclasses), so copying the lists is enough.

        O(n): two lists of pointers per chunk (about 1-3 ms for 10^5 extents). The
        extent tuples are shared.
        """
        new: ExtentMap[V] = ExtentMap()
        new._seps = self._seps.copy()
        new._starts = list(map(list.copy, self._starts))
        new._exts = list(map(list.copy, self._exts))
        memo[id(self)] = new
        return new

    def __len__(self) -> int:
        """The number of extents. O(n / _LOAD)."""
        return sum(map(len, self._starts))

    def __iter__(self) -> Iterator[tuple[int, int, V]]:
        """``(start, end, value)`` for every extent, in address order."""
        return chain.from_iterable(self._exts)

    def get(self, key: int) -> tuple[int, int, V] | None:
        """The extent containing ``key``, as (start, end, value), or None.

        O(log n): one bisect while the map is one chunk, two after that.
        """
        seps = self._seps
        c = bisect_right(seps, key) if seps else 0
        i = bisect_right(self._starts[c], key) - 1
        if i >= 0:
            ext = self._exts[c][i]
            if key < ext[1]:
                return ext
        return None

    def intersects(self, start: int, end: int) -> bool:
        """Whether any extent overlaps ``[start, end)``. O(log n), no generator."""
        seps = self._seps
        c = bisect_right(seps, start) if seps else 0
        starts = self._starts[c]
        i = bisect_right(starts, start) - 1
        if i >= 0 and self._exts[c][i][1] > start:
            return True
        # The next extent after start: in this chunk, or the first of the next one.
        if i + 1 < len(starts):
            return starts[i + 1] < end
        return c < len(seps) and seps[c] < end

    def overlapping(self, start: int, end: int) -> Iterator[tuple[int, int, V]]:
        """Extents that intersect ``[start, end)``, in address order (unclipped).

        O(log n) to find the first one, then O(1) for each one yielded.
        """
        seps = self._seps
        c = bisect_right(seps, start) if seps else 0
        i = bisect_right(self._starts[c], start) - 1
        if i < 0 or self._exts[c][i][1] <= start:
            i += 1
        all_exts = self._exts
        nchunks = len(all_exts)
        while c < nchunks:
            exts = all_exts[c]
            n = len(exts)
            while i < n:
                ext = exts[i]
                if ext[0] >= end:
                    return
                yield ext
                i += 1
            c += 1
            i = 0

    def _cut(self, start: int, end: int) -> tuple[int, int]:
        """Remove ``[start, end)`` from the map, splitting edge extents.

        Returns (chunk, index), where an extent starting at ``start`` belongs. That
        chunk may be left empty or oversized, with a stale separator. The caller
        inserts there (or not), then calls ``_fix(chunk)``. O(log n + _LOAD), plus
        O(1) for each extent removed.
        """
        seps = self._seps
        c = bisect_right(seps, start) if seps else 0
        starts, exts = self._starts[c], self._exts[c]
        lo = bisect_right(starts, start) - 1
        if lo >= 0:
            s0, e0, v0 = exts[lo]
            if e0 > start:
                if e0 > end:
                    # One extent covers the whole cut: keep its head (if any) and its tail.
                    if s0 == start:
                        starts[lo] = end
                        exts[lo] = (end, e0, v0)
                        return c, lo
                    exts[lo] = (s0, start, v0)
                    starts.insert(lo + 1, end)
                    exts.insert(lo + 1, (end, e0, v0))
                    return c, lo + 1
                if s0 == start:
                    del starts[lo], exts[lo]
                    lo -= 1
                else:
                    exts[lo] = (s0, start, v0)
        lo += 1
        hi = bisect_left(starts, end, lo)
        if hi == len(starts) and c < len(seps) and seps[c] < end:
            self._cut_across(c, lo, end)
            return c, lo
        if hi > lo:
            s1, e1, v1 = exts[hi - 1]
            if e1 > end:
                # The last covered extent sticks out past `end`: keep its tail.
                starts[hi - 1] = end
                exts[hi - 1] = (end, e1, v1)
                hi -= 1
        del starts[lo:hi], exts[lo:hi]
        return c, lo

    def _cut_across(self, c: int, lo: int, end: int) -> None:
        """``_cut`` when the extents to drop, from chunk ``c``'s index ``lo`` up to ``end``,
        run into later chunks.

        Drops the tail of chunk ``c``, every chunk wholly before ``end``, and the head of
        the last chunk that starts before ``end``, trimming an extent that sticks out past
        ``end``. Merges what is left of that chunk into chunk ``c`` if it is small. Chunk
        ``c`` keeps its indexes below ``lo``; it may be left oversized for ``_fix``.
        """
        seps, all_starts, all_exts = self._seps, self._starts, self._exts
        del all_starts[c][lo:], all_exts[c][lo:]
        d = bisect_left(seps, end)  # the last chunk starting before `end`; d > c
        starts, exts = all_starts[d], all_exts[d]
        h = bisect_left(starts, end)
        s1, e1, v1 = exts[h - 1]
        if e1 > end:
            starts[h - 1] = end
            exts[h - 1] = (end, e1, v1)
            h -= 1
        del starts[:h], exts[:h]
        del seps[c:d - 1], all_starts[c + 1:d], all_exts[c + 1:d]
        # What is left of chunk d is now chunk c + 1.
        if len(starts) > _LOAD // 2:
            seps[c] = starts[0]
            return
        all_starts[c] += starts
        all_exts[c] += exts
        del seps[c], all_starts[c + 1], all_exts[c + 1]

    def _fix(self, c: int) -> None:
        """Restore the invariants around chunk ``c`` after an update.

        Refreshes its separator, splits it if oversized, and merges it into a neighbour
        if small (an empty chunk disappears that way). O(_LOAD), plus O(n / _LOAD) when
        a chunk splits or merges.
        """
        seps, all_starts, all_exts = self._seps, self._starts, self._exts
        starts = all_starts[c]
        n = len(starts)
        if n > 2 * _LOAD:
            half = n >> 1
            exts = all_exts[c]
            all_starts.insert(c + 1, starts[half:])
            all_exts.insert(c + 1, exts[half:])
            seps.insert(c, starts[half])
            del starts[half:], exts[half:]
            if c:
                seps[c - 1] = starts[0]
        elif n > _LOAD // 2 or not seps:
            if c:
                seps[c - 1] = starts[0]
        else:
            # Small: merge it into its left neighbour (chunk 0 takes in chunk 1 instead).
            if c == 0:
                c = 1
            all_starts[c - 1] += all_starts[c]
            all_exts[c - 1] += all_exts[c]
            del seps[c - 1], all_starts[c], all_exts[c]
            self._fix(c - 1)

    def assign(self, start: int, end: int, value: V) -> None:
        """Map ``[start, end)`` to ``value``, overwriting whatever was there.

        O(log n + _LOAD), amortised, plus O(1) for each extent it replaces.
        """
        if end <= start:
            raise ValueError(f"empty extent [{start:#x}, {end:#x})")
        c, i = self._cut(start, end)
        self._starts[c].insert(i, start)
        self._exts[c].insert(i, (start, end, value))
        self._fix(c)

    def remove(self, start: int, end: int) -> None:
        """Unmap ``[start, end)``. O(log n + _LOAD), amortised, plus O(1) for each extent removed."""
        if end > start:
            self._fix(self._cut(start, end)[0])

    def covered(self, start: int, end: int) -> int:
        """How many keys of ``[start, end)`` are mapped. O(log n), plus O(1) for each overlapping extent."""
        total = 0
        for s, e, _ in self.overlapping(start, end):
            total += min(e, end) - max(s, start)
        return total


def subtract_ranges(ranges: list[tuple[int, int]],
                    holes: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """``ranges`` minus ``holes``, both sorted, half-open and each free of overlaps:
    one merge of the two lists, O(len(ranges) + len(holes))."""
    out: list[tuple[int, int]] = []
    h = 0
    for s, e in ranges:
        while h < len(holes) and holes[h][1] <= s:
            h += 1
        cur, i = s, h
        while i < len(holes) and holes[i][0] < e:
            hs, he = holes[i]
            if hs > cur:
                out.append((cur, hs))
            cur = max(cur, he)
            i += 1
        if cur < e:
            out.append((cur, e))
    return out
