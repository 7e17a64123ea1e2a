"""The memory map's free-block layer: a zone's free runs as sorted numpy arrays.

Free blocks stay in the runs the free lists keep them in (``count`` blocks of one order
at ``start + i*stride``): eager's hand-over of a 16 TiB machine leaves a million
order-10 blocks in a few dozen runs, and the layer costs what the runs cost. Short
runs are expanded into intervals; long ones are kept as runs in a few groups whose
spans do not overlap, and a point is tested against a run arithmetically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kmsan_tui.model.mapdiff import Layer, Runs, strictly_increasing

_I64 = np.int64
LOW = np.iinfo(_I64).min  # the sentinel entry's start and end: contains no page
# A strided run of at most this many blocks is kept as its blocks: a group of runs
# costs a pass over every point of a frame, a block costs a slot in a sorted array.
# The long runs (eager hands a 16 TiB machine over in a few dozen runs of a million
# blocks) stay runs.
EXPAND_RUNS_UP_TO = 1024
# Long runs whose spans overlap go to separate groups; past this many groups the rest
# are expanded too (interleaved hand-overs only: the shipped layouts need one).
MAX_RUN_GROUPS = 4


def arr(values: Sequence[int]) -> np.ndarray:
    return np.array(values, dtype=_I64)


def sentinel(values: np.ndarray, first: int) -> np.ndarray:
    """``values`` behind one sentinel entry: a search lands on a real index for every
    point (no clipping, no masks) and a miss reads the sentinel's value."""
    return np.concatenate([np.array([first], dtype=values.dtype), values])


def blocks(starts: np.ndarray, counts: np.ndarray, strides: np.ndarray, orders: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """The head pfn and order of every block of some runs."""
    first = np.repeat(np.cumsum(counts) - counts, counts)  # each block's run's first index
    run = np.repeat(np.arange(len(counts)), counts)
    heads = starts[run] + (np.arange(len(run), dtype=_I64) - first) * strides[run]
    return heads, orders[run]


def take_runs(runs: Runs, idx: np.ndarray) -> Runs:
    return runs[0][idx], runs[1][idx], runs[2][idx], runs[3][idx]


@dataclass(frozen=True, slots=True)
class ZoneFree:
    """One zone's free runs (built once per change of its free lists, then shared by
    the indexes of later states while the zone's runs stay the same)."""

    key: tuple[object, ...]  # (start_pfn, end_pfn, runs): equal keys, equal blocks
    layer: Layer  # starts, span ends, counts, strides, orders: what the change search compares
    # Contiguous runs, and the blocks of short strided runs: starts, ends, orders.
    intervals: tuple[np.ndarray, np.ndarray, np.ndarray]
    strided: Runs  # long runs with gaps between their blocks: starts, counts, strides, orders

    @classmethod
    def of(cls, key: tuple[object, ...], runs: Sequence[tuple[int, int, int, int]],
           expand_up_to: int = EXPAND_RUNS_UP_TO) -> ZoneFree:
        """The arrays of a zone's runs of (first pfn, count, stride, order)."""
        table = np.array(runs, dtype=_I64).reshape(-1, 4)
        starts, counts, strides, orders = (np.ascontiguousarray(table[:, k]) for k in range(4))
        sizes = np.left_shift(1, orders)
        span_ends = starts + (counts - 1) * strides + sizes
        contiguous = (counts == 1) | (strides == sizes)
        short = ~contiguous & (counts <= expand_up_to)
        long = ~contiguous & ~short
        iv_starts, iv_ends = starts[contiguous], starts[contiguous] + counts[contiguous] * sizes[contiguous]
        iv_orders = orders[contiguous]
        if short.any():
            heads, head_orders = blocks(starts[short], counts[short], strides[short], orders[short])
            iv_starts = np.concatenate([iv_starts, heads])
            iv_ends = np.concatenate([iv_ends, heads + np.left_shift(1, head_orders)])
            iv_orders = np.concatenate([iv_orders, head_orders])
            by_start = np.argsort(iv_starts, kind="stable")
            iv_starts, iv_ends, iv_orders = iv_starts[by_start], iv_ends[by_start], iv_orders[by_start]
        return cls(key, (starts, span_ends, counts, strides, orders),
                   (iv_starts, iv_ends, iv_orders),
                   (starts[long], counts[long], strides[long], orders[long]))

    @property
    def runs(self) -> Runs:
        starts, _ends, counts, strides, orders = self.layer
        return starts, counts, strides, orders


class FreeBlocks:
    """Every zone's free blocks, for point queries: the contiguous runs as intervals
    (they never overlap), and the strided runs in groups whose spans do not overlap.

    A strided run's span has other runs' blocks in its gaps (eager frees every third
    order-10 block, lazy frees the rest later), so one sorted array cannot hold them;
    inside a group, the last run starting at or before a pfn is the only one that
    can hold it, and whether it does is arithmetic."""

    __slots__ = ("intervals", "groups")

    def __init__(self, zones: Sequence[ZoneFree], max_groups: int = MAX_RUN_GROUPS) -> None:
        parts = [z.intervals for z in zones]
        strided = [z.strided for z in zones]
        s, e, o = (np.concatenate([p[k] for p in parts]) if parts else arr([]) for k in range(3))
        rs, rc, rst, ro = (np.concatenate([p[k] for p in strided]) if strided else arr([])
                           for k in range(4))
        self.groups: list[tuple[np.ndarray, ...]] = []
        if len(rs):
            by_start = np.argsort(rs, kind="stable")
            rs, rc, rst, ro = rs[by_start], rc[by_start], rst[by_start], ro[by_start]
            sizes = np.left_shift(1, ro)
            group = self._group(rs, rs + (rc - 1) * rst + sizes)
            for g in range(max_groups):
                mine = group == g
                if mine.any():
                    self.groups.append((
                        sentinel(rs[mine], -1), sentinel(rc[mine], 0), sentinel(rst[mine], 1),
                        sentinel(sizes[mine], 0), sentinel(ro[mine].astype(np.int16), -1)))
            rest = group >= max_groups
            if rest.any():  # too deep: those runs' blocks join the intervals
                heads, head_orders = blocks(rs[rest], rc[rest], rst[rest], ro[rest])
                s = np.concatenate([s, heads])
                e = np.concatenate([e, heads + np.left_shift(1, head_orders)])
                o = np.concatenate([o, head_orders])
        if not strictly_increasing(s):  # zones that overlap, or expanded runs
            idx = np.argsort(s, kind="stable")
            s, e, o = s[idx], e[idx], o[idx]
        self.intervals = (sentinel(s, LOW), sentinel(e, LOW),
                          sentinel(o.astype(np.int16), -1))

    @staticmethod
    def _group(starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
        """A group number for each run (sorted by start) such that the spans of one
        group do not overlap: first fit, in start order."""
        if strictly_increasing(starts) and bool((ends[:-1] <= starts[1:]).all()):
            return np.zeros(len(starts), dtype=_I64)
        last_end: list[int] = []
        group = np.empty(len(starts), dtype=_I64)
        for k, (start, end) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
            g = next((g for g, e in enumerate(last_end) if e <= start), len(last_end))
            if g == len(last_end):
                last_end.append(end)
            else:
                last_end[g] = end
            group[k] = g
        return group

    def lookup(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each pfn is in a free block, and the block's order (-1 if not)."""
        s, e, o = self.intervals
        i = np.searchsorted(s, points, side="right") - 1
        free = points < e[i]
        order = np.where(free, o[i], np.int16(-1))
        for starts, counts, strides, sizes, orders in self.groups:
            # The last run starting at or before p holds p iff p falls on one of its
            # blocks: (p - start) // stride < count and (p - start) % stride < size.
            j = np.searchsorted(starts, points, side="right") - 1
            d, stride = points - starts[j], strides[j]
            q = d // stride  # (numpy's divmod is twice as slow)
            inside = (d >= 0) & (q < counts[j]) & (d - q * stride < sizes[j])
            free |= inside
            order = np.where(inside, orders[j], order)
        return free, order


def every_run(zones: Sequence[ZoneFree]) -> Runs:
    """The runs of every zone, concatenated."""
    cols = [np.concatenate([z.runs[k] for z in zones]) if zones else arr([]) for k in range(4)]
    return cols[0], cols[1], cols[2], cols[3]


