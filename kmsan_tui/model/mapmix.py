"""Whether a cell of the memory map mixes page states, and in what shares (no Textual).

A cell of many pages shows one glyph. This module says, exactly, when its pages are
not all drawn alike (``Breaks.mixed``), and how many pages of each look a cell holds
(``Breaks.composition``), at a cost that does not grow with the cell.

A page's look (its state, and for reserved and allocated pages its owner's letter) is
piecewise constant in the pfn. It can only change

- at a boundary of an interval of some layer of the ``MapIndex`` (zones, memblock,
  owners, buddy allocations, KMSAN extents, free blocks): the *break points*;
- at a slot boundary inside an eager S,O,D pattern (``kmsan_memblock_free_pages()``
  keeps shadow, origin and data chunks in turn: three different states);
- at a block boundary inside a long strided run of free blocks (kept as runs, never
  expanded: eager's hand-over of a 16 TiB machine is a million blocks).

So a cell mixes iff (1) it holds a pattern slot boundary, or (2) some but not all of
its pages are free (free pages are counted exactly: prefix sums over the free
intervals and a closed form per strided run; free pages are FREE and no other page
is), or (3) the look at some break point inside it differs from its first page's
(with neither (1) nor (2), nothing else changes between consecutive break points).
The looks at break points are classified once per index, lazily, only for the break
points inside the cells asked about.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

_I64 = np.int64
UNKNOWN = np.int32(-1)
EXACT_POINTS = 1 << 16  # a composition classifies at most this many points, else samples
SAMPLED_POINTS = 4096

# classify(points) -> (codes, aux), as MapIndex.classify
Classify = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def look_keys(codes: np.ndarray, aux: np.ndarray, owner_codes: tuple[int, ...]) -> np.ndarray:
    """One int per page look: the state code, and the owner id for the codes whose glyph
    is the owner's letter (reserved, allocated). Free orders do not count: a free cell
    shows the order of its largest block."""
    owned = np.isin(codes, owner_codes)
    keys: np.ndarray = codes.astype(np.int32) * 4096 + np.where(owned, aux.astype(np.int32) + 1, 0)
    return keys


def _ranges(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(cell number, index) of every index in [lo[c], hi[c]) for every cell c."""
    counts = np.maximum(hi - lo, 0)
    total = int(counts.sum())
    cell = np.repeat(np.arange(len(lo)), counts)
    if not total:
        return cell, cell
    starts = np.cumsum(counts) - counts
    return cell, np.repeat(lo, counts) + (np.arange(total) - np.repeat(starts, counts))


@dataclass(frozen=True, slots=True)
class Pattern:
    """S,O,D pattern extents (sorted, disjoint): slots of ``1 << order`` from ``base``."""

    starts: np.ndarray
    ends: np.ndarray
    bases: np.ndarray
    orders: np.ndarray

    def slot(self, j: np.ndarray, pfn: np.ndarray) -> np.ndarray:
        slots: np.ndarray = (pfn - self.bases[j]) >> self.orders[j]
        return slots

    def mixed(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Whether each cell [a, b) holds a slot boundary of a pattern."""
        out = np.zeros(len(a), dtype=bool)
        if not len(self.starts):
            return out
        j0 = np.searchsorted(self.ends, a, side="right")  # first extent ending after a
        j1 = np.searchsorted(self.starts, b, side="left")  # extents starting before b: < j1
        n = j1 - j0
        for j in (j0, j1 - 1):
            some = n > 0
            jj = np.where(some, j, 0)
            lo = np.maximum(a, self.starts[jj])
            hi = np.minimum(b, self.ends[jj])
            out |= some & (hi > lo) & (self.slot(jj, lo) != self.slot(jj, np.maximum(lo, hi - 1)))
        if (n >= 3).any():  # extents wholly inside a cell: any of more than one slot
            multi = (self.slot(np.arange(len(self.starts)), self.starts)
                     != self.slot(np.arange(len(self.starts)), self.ends - 1))
            cum = np.concatenate([[0], np.cumsum(multi)])
            out |= (n >= 3) & (cum[np.maximum(j1 - 1, j0)] - cum[np.minimum(j0 + 1, j1)] > 0)
        return out

    def boundaries(self, a: int, b: int) -> np.ndarray:
        """Slot boundaries inside (a, b)."""
        parts = []
        for j in range(int(np.searchsorted(self.ends, a, side="right")),
                       int(np.searchsorted(self.starts, b, side="left"))):
            lo, hi = max(a, int(self.starts[j])), min(b, int(self.ends[j]))
            size, base = 1 << int(self.orders[j]), int(self.bases[j])
            first = base + -(-(lo + 1 - base) // size) * size
            if first < hi:
                parts.append(np.arange(first, hi, size, dtype=_I64))
        return np.concatenate(parts) if parts else np.empty(0, dtype=_I64)

    def count(self, a: int, b: int) -> int:
        """About how many slot boundaries lie inside [a, b) (for the point budget)."""
        j0 = int(np.searchsorted(self.ends, a, side="right"))
        j1 = int(np.searchsorted(self.starts, b, side="left"))
        return sum((min(b, int(self.ends[j])) - max(a, int(self.starts[j])))
                   >> int(self.orders[j]) for j in range(j0, j1)) + 2 * (j1 - j0)


@dataclass(frozen=True, slots=True)
class FreeCount:
    """Free pages below a pfn, from the free intervals and the strided runs."""

    starts: np.ndarray  # contiguous free intervals (sorted, disjoint)
    ends: np.ndarray
    before: np.ndarray  # pages in the intervals before each one
    runs: tuple[tuple[np.ndarray, ...], ...]  # per group: starts, counts, strides, sizes, before

    @classmethod
    def of(cls, intervals: tuple[np.ndarray, ...], groups: list[tuple[np.ndarray, ...]]
           ) -> FreeCount:
        starts, ends = intervals[0][1:], intervals[1][1:]  # without the sentinel
        lengths = ends - starts
        runs = []
        for g_starts, counts, strides, sizes, _orders in groups:
            # The groups keep a sentinel run first (count 0): every pfn finds a run.
            pages = counts * sizes
            runs.append((g_starts, counts, strides, sizes, np.cumsum(pages) - pages))
        return cls(starts, ends, np.cumsum(lengths) - lengths, tuple(runs))

    def below(self, x: np.ndarray) -> np.ndarray:
        """Free pages in [0, x) for each x."""
        j = np.searchsorted(self.starts, x, side="right") - 1
        jj = np.maximum(j, 0)
        total = np.where(j >= 0, self.before[jj] if len(self.before) else 0, 0)
        if len(self.starts):
            total = total + np.where(
                j >= 0, np.clip(x - self.starts[jj], 0, self.ends[jj] - self.starts[jj]), 0)
        for starts, counts, strides, sizes, before in self.runs:
            k = np.searchsorted(starts, x, side="right") - 1
            d = x - starts[k]
            q = d // strides[k]
            inside = q * sizes[k] + np.minimum(d - q * strides[k], sizes[k])
            total = total + before[k] + np.where(q >= counts[k], counts[k] * sizes[k], inside)
        return total

    def in_cells(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        pages: np.ndarray = self.below(b) - self.below(a)
        return pages

    def block_edges(self, a: int, b: int) -> np.ndarray:
        """Block starts and ends of the strided runs inside (a, b)."""
        parts = []
        for starts, counts, strides, sizes, _before in self.runs:
            for k in range(max(0, int(np.searchsorted(starts, a, side="right")) - 1),
                           int(np.searchsorted(starts, b, side="left"))):
                start, count = int(starts[k]), int(counts[k])
                stride, size = int(strides[k]), int(sizes[k])
                if not count:
                    continue
                first = max(0, (a - start) // stride)
                last = min(count, (b - start) // stride + 1)
                heads = start + np.arange(first, last, dtype=_I64) * stride
                parts += [heads, heads + size]
        if not parts:
            return np.empty(0, dtype=_I64)
        edges = np.concatenate(parts)
        return edges[(edges > a) & (edges < b)]

    def edge_count(self, a: int, b: int) -> int:
        total = 0
        for starts, counts, strides, _sizes, _before in self.runs:
            for k in range(max(0, int(np.searchsorted(starts, a, side="right")) - 1),
                           int(np.searchsorted(starts, b, side="left"))):
                if counts[k]:
                    total += 2 * ((b - a) // int(strides[k]) + 2)
        return total


class Breaks:
    """The break points of one index and what is needed to tell mixed cells (built
    once per index, the looks at break points classified on demand)."""

    def __init__(self, points: np.ndarray, pattern: Pattern, free: FreeCount,
                 classify: Classify, owner_codes: tuple[int, ...]) -> None:
        self.points = points  # sorted, unique
        self.pattern = pattern
        self.free = free
        self._classify = classify
        self._owner_codes = owner_codes
        self._keys = np.full(len(points), UNKNOWN, dtype=np.int32)

    def keys(self, codes: np.ndarray, aux: np.ndarray) -> np.ndarray:
        return look_keys(codes, aux, self._owner_codes)

    def _known(self, lo: int, hi: int) -> np.ndarray:
        """The looks at points[lo:hi], classifying those not known yet."""
        part = self._keys[lo:hi]
        todo = np.flatnonzero(part == UNKNOWN)
        if len(todo):
            part[todo] = self.keys(*self._classify(self.points[lo:hi][todo]))
        return self._keys

    def mixed(self, a: np.ndarray, b: np.ndarray, first_keys: np.ndarray) -> np.ndarray:
        """Whether the pages of each cell [a, b) are not all drawn alike; ``first_keys``:
        the look of each cell's first page."""
        n = b - a
        free = self.free.in_cells(a, b)
        out: np.ndarray = self.pattern.mixed(a, b) | ((free > 0) & (free < n))
        i0 = np.searchsorted(self.points, a, side="right")
        i1 = np.searchsorted(self.points, b, side="left")
        check = (i1 > i0) & ~out & (free < n)
        if check.any():
            lo, hi = i0[check], i1[check]
            keys = self._known(int(lo.min()), int(hi.max()))
            cell, idx = _ranges(lo, hi)
            differs = keys[idx] != first_keys[check][cell]
            out[np.flatnonzero(check)] |= np.bincount(cell[differs], minlength=len(lo)) > 0
        return out

    def composition(self, a: int, b: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, bool]:
        """(codes, aux, pages) of each look in [a, b), most pages first, and whether the
        counts are exact (else from SAMPLED_POINTS evenly spaced pages)."""
        i0 = int(np.searchsorted(self.points, a, side="right"))
        i1 = int(np.searchsorted(self.points, b, side="left"))
        budget = (i1 - i0) + self.pattern.count(a, b) + self.free.edge_count(a, b)
        exact = budget <= EXACT_POINTS
        if exact:
            points = np.unique(np.concatenate([
                np.array([a], dtype=_I64), self.points[i0:i1], self.pattern.boundaries(a, b),
                self.free.block_edges(a, b)]))
            pages = np.diff(np.append(points, b))
        else:
            points = a + (np.arange(SAMPLED_POINTS, dtype=_I64) * (b - a)) // SAMPLED_POINTS
            pages = np.full(len(points), 1, dtype=_I64)
        codes, aux = self._classify(points)
        keys = self.keys(codes, aux)
        uniq, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        totals = np.bincount(inverse, weights=pages).astype(_I64)
        if not exact:  # scale the sample to the cell
            totals = totals * (b - a) // SAMPLED_POINTS
        order = np.argsort(-totals, kind="stable")
        return codes[first][order], aux[first][order], totals[order], exact
