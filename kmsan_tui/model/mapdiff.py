"""Where two states of the memory map differ, found from their layers (no Textual).

``MapIndex`` flattens each layer of the model into sorted arrays (starts, ends,
values...). Between two consecutive states most entries are identical, so the map
only recomputes the cells of rows that a changed entry touches. ``layer_changes``
finds the entries only one state has by walking both layers in step, comparing each
run of identical entries in one vectorised pass (``block_changes`` then narrows the
free runs that differ down to the blocks that differ); ``Changes`` answers whether a
pfn range is touched.
"""

from __future__ import annotations

import weakref
from typing import Generic, TypeVar

import numpy as np

B = TypeVar("B")  # what a change set is relative to (a MapIndex)

Layer = tuple[np.ndarray, ...]  # starts, ends, values...: one layer of the model, by start
Runs = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # free runs: starts, counts,
# strides, orders (``count`` blocks of ``order`` at ``start + i*stride``)


class Changes(Generic[B]):
    """Where one index differs from another (``base``): sorted, possibly overlapping
    pfn intervals outside of which every page classifies the same in both."""

    __slots__ = ("_base", "starts", "_reach")

    def __init__(self, base: B, starts: np.ndarray, ends: np.ndarray) -> None:
        # A weak reference: each frame's index must not keep every earlier one alive.
        self._base = weakref.ref(base)
        order = np.argsort(starts, kind="stable")
        self.starts = starts[order]
        # The furthest end of the intervals up to each one: any of the first i
        # intervals reaches past pfn p iff _reach[i - 1] > p.
        self._reach = np.maximum.accumulate(ends[order]) if len(ends) else ends

    @property
    def base(self) -> B | None:
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


def _missing(a: Layer, b: Layer) -> np.ndarray:
    """The indices of the entries of layer ``a`` that ``b`` has no identical entry for."""
    starts = a[0]
    if len(b[0]) == 0 or len(starts) == 0:
        return np.arange(len(starts))
    if not (strictly_increasing(starts) and strictly_increasing(b[0])):
        # Page-rounded memblock regions can share a first page: compare as sets.
        theirs = set(zip(*(col.tolist() for col in b), strict=True))
        return np.array([k for k, row in enumerate(zip(*(col.tolist() for col in a), strict=True))
                         if row not in theirs], dtype=np.int64)
    i = np.clip(np.searchsorted(b[0], starts), 0, len(b[0]) - 1)
    same = b[0][i] == starts
    for col_a, col_b in zip(a[1:], b[1:], strict=True):
        same &= col_b[i] == col_a
    return np.flatnonzero(~same)


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


def layer_diff(a: Layer, b: Layer, walks: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """The indices of the entries only ``a`` has, and of those only ``b`` has.

    A command changes a few blocks of layers that can hold 10^5 entries, so this walks
    both in step, skipping each run of identical entries with one vectorised
    comparison, and only falls back to a search of every entry after ``walks``
    differences."""
    na, nb = len(a[0]), len(b[0])
    if not (strictly_increasing(a[0]) and strictly_increasing(b[0])):
        return _missing(a, b), _missing(b, a)
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
        return (np.concatenate([np.array(only_a, dtype=np.int64), i + _missing(rest_a, rest_b)]),
                np.concatenate([np.array(only_b, dtype=np.int64), j + _missing(rest_b, rest_a)]))
    # What is left on one side once the other ran out is on that side only.
    return (np.concatenate([np.array(only_a, dtype=np.int64), np.arange(i, na)]),
            np.concatenate([np.array(only_b, dtype=np.int64), np.arange(j, nb)]))


def layer_changes(a: Layer, b: Layer, walks: int = 64) -> list[tuple[np.ndarray, np.ndarray]]:
    """The intervals (starts, ends) of the entries that only one of two layers has."""
    only_a, only_b = layer_diff(a, b, walks)
    return [(a[0][only_a], a[1][only_a]), (b[0][only_b], b[1][only_b])]


def block_changes(a: Runs, b: Runs) -> tuple[np.ndarray, np.ndarray]:
    """Intervals (starts, ends) that cover every free block only one of ``a``, ``b`` has.

    Runs describe blocks on a lattice: ``count`` blocks of ``order`` at ``start +
    i*stride``. Two runs of one lattice (order, stride, start mod stride) are ranges
    of block indices, so the blocks only one side has are where the two sides' index
    ranges differ: taking one block out of a run of a million reports that block,
    not the run's span. The blocks of one side never overlap, so on each lattice a
    side covers an index at most once. A block that moves to another lattice (a run
    split into singles) is reported on both: conservative, never short."""
    starts, counts, strides, orders = (np.concatenate([a[k], b[k]]).astype(np.int64)
                                       for k in range(4))
    if not len(starts):
        return starts, starts
    sizes = np.left_shift(1, orders)
    # A single block (or a contiguous run) lies on the lattice of its own size.
    strides = np.where(counts == 1, sizes, strides)
    phases = starts % strides
    first = starts // strides
    lattice = np.unique(np.stack([orders, strides, phases]), axis=1, return_inverse=True)[1]
    lattice = lattice.reshape(-1)
    side_b = np.arange(len(starts)) >= len(a[0])
    # Events: +1 where a range begins, -1 where it ends, per side.
    pos = np.concatenate([first, first + counts])
    lat = np.concatenate([lattice, lattice])
    delta = np.concatenate([np.ones(len(starts), np.int64), -np.ones(len(starts), np.int64)])
    in_b = np.concatenate([side_b, side_b])
    order = np.lexsort((pos, lat))
    pos, lat = pos[order], lat[order]
    cover_a = np.cumsum(np.where(in_b, 0, delta)[order])
    cover_b = np.cumsum(np.where(in_b, delta, 0)[order])
    # The coverage from each event to the next one of its lattice: the value after the
    # last event at a position, so that one range ending where another begins is seen
    # as continuous coverage.
    last = np.ones(len(pos), dtype=bool)
    last[:-1] = (pos[1:] != pos[:-1]) | (lat[1:] != lat[:-1])
    idx = np.flatnonzero(last)
    pos, lat, cover_a, cover_b = pos[idx], lat[idx], cover_a[idx], cover_b[idx]
    differs = (cover_a[:-1] != cover_b[:-1]) & (lat[:-1] == lat[1:])
    k = np.flatnonzero(differs)
    # The lattice of each segment, read from any run on it.
    any_run = np.zeros(int(lattice.max()) + 1, dtype=np.int64)
    any_run[lattice] = np.arange(len(lattice))
    run = any_run[lat[k]]
    lo, hi = pos[k], pos[k + 1]
    return (phases[run] + lo * strides[run],
            phases[run] + (hi - 1) * strides[run] + sizes[run])


__all__ = ["Changes", "Layer", "Runs", "block_changes", "layer_changes", "layer_diff",
           "strictly_increasing"]
