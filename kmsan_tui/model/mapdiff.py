"""Where two states of the memory map differ, found from their layers (no Textual).

``MapIndex`` flattens each layer of the model into sorted arrays (starts, ends,
values...). Between two consecutive states most entries are identical, so the map
only recomputes the cells of rows that a changed entry touches. ``layer_changes``
finds the entries only one state has by walking both layers in step, comparing each
run of identical entries in one vectorised pass; ``Changes`` answers whether a pfn
range is touched.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from kmsan_tui.model.mapindex import MapIndex

Layer = tuple[np.ndarray, ...]  # starts, ends, values...: one layer of the model, by start


class Changes:
    """Where one index differs from another (``base``): sorted, possibly overlapping
    pfn intervals outside of which every page classifies the same in both."""

    __slots__ = ("_base", "starts", "_reach")

    def __init__(self, base: MapIndex, starts: np.ndarray, ends: np.ndarray) -> None:
        # A weak reference: each frame's index must not keep every earlier one alive.
        self._base = weakref.ref(base)
        order = np.argsort(starts, kind="stable")
        self.starts = starts[order]
        # The furthest end of the intervals up to each one: any of the first i
        # intervals reaches past pfn p iff _reach[i - 1] > p.
        self._reach = np.maximum.accumulate(ends[order]) if len(ends) else ends

    @property
    def base(self) -> MapIndex | None:
        """The index compared with (None once nothing else holds it)."""
        return self._base()

    def __len__(self) -> int:
        return len(self.starts)

    def touches(self, start: int, end: int) -> bool:
        """Whether any page in [start, end) may classify differently from ``base``."""
        i = int(np.searchsorted(self.starts, end, side="left"))
        return i > 0 and int(self._reach[i - 1]) > start


def strictly_increasing(values: np.ndarray) -> bool:
    return len(values) < 2 or bool((values[1:] > values[:-1]).all())


def _missing(a: Layer, b: Layer) -> tuple[np.ndarray, np.ndarray]:
    """The intervals of layer ``a`` that ``b`` has no identical entry for."""
    starts, ends = a[0], a[1]
    if len(b[0]) == 0 or len(starts) == 0:
        return starts, ends
    if not (strictly_increasing(starts) and strictly_increasing(b[0])):
        # Page-rounded memblock regions can share a first page: compare as sets.
        theirs = set(zip(*(col.tolist() for col in b), strict=True))
        keep = np.array([row not in theirs
                         for row in zip(*(col.tolist() for col in a), strict=True)], dtype=bool)
        return starts[keep], ends[keep]
    i = np.clip(np.searchsorted(b[0], starts), 0, len(b[0]) - 1)
    same = b[0][i] == starts
    for col_a, col_b in zip(a[1:], b[1:], strict=True):
        same &= col_b[i] == col_a
    return starts[~same], ends[~same]


def _common_run(a: Layer, b: Layer, i: int, j: int) -> int:
    """How many entries from ``a[i]`` and ``b[j]`` on are identical, compared in
    windows that grow fourfold: the cost follows the run, not the layer."""
    limit = min(len(a[0]) - i, len(b[0]) - j)
    done, window = 0, 256
    while done < limit:
        n = min(window, limit - done)
        lo_a, lo_b = i + done, j + done
        same = np.logical_and.reduce(
            [x[lo_a:lo_a + n] == y[lo_b:lo_b + n] for x, y in zip(a, b, strict=True)])
        if not same.all():
            return done + int(np.argmin(same))
        done += n
        window *= 4
    return done


def layer_changes(a: Layer, b: Layer, walks: int = 64) -> list[tuple[np.ndarray, np.ndarray]]:
    """The intervals of the entries that only one of two layers has.

    A command changes a few blocks of layers that can hold 10^5 entries, so this walks
    both in step, skipping each run of identical entries with one vectorised
    comparison, and only falls back to a search of every entry after ``walks``
    differences."""
    na, nb = len(a[0]), len(b[0])
    if not (strictly_increasing(a[0]) and strictly_increasing(b[0])):
        return [_missing(a, b), _missing(b, a)]
    only_a: list[int] = []
    only_b: list[int] = []
    i = j = 0
    for _ in range(walks):
        skip = _common_run(a, b, i, j)
        i, j = i + skip, j + skip
        if i == na or j == nb:
            break
        start_a, start_b = a[0][i], b[0][j]
        if start_a <= start_b:  # a's entry is not in b (or differs from b's at that start)
            only_a.append(i)
            i += 1
        if start_b <= start_a:
            only_b.append(j)
            j += 1
    else:  # many differences: search for the rest
        rest_a = tuple(x[i:] for x in a)
        rest_b = tuple(y[j:] for y in b)
        return [(a[0][only_a], a[1][only_a]), (b[0][only_b], b[1][only_b]),
                _missing(rest_a, rest_b), _missing(rest_b, rest_a)]
    # What is left on one side once the other ran out is on that side only.
    return [(a[0][only_a], a[1][only_a]), (b[0][only_b], b[1][only_b]),
            (a[0][i:], a[1][i:]), (b[0][j:], b[1][j:])]
