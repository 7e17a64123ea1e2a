"""Which pages memblock has handed to a zone: ``__free_pages_core()`` calls, as runs.

The kernel needs no such record (a page's flags say it all); the model keeps one so a
second hand-over of the same pages is refused as ``bad_page()`` would refuse it, and
so ``managed_pages`` can be checked against what was handed over. A hand-over of
``count`` blocks at a stride is one entry, so a 16 TiB machine has a few hundred.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from kmsan_tui.model.freearea import overlap_first

# (first pfn, count, stride, block size in pages)
HandOverRun = tuple[int, int, int, int]


class HandOverLedger:
    """Runs of handed-over blocks sorted by start, with the running maximum of their
    span ends so the runs that can overlap a range are found by a short backward scan."""

    __slots__ = ("runs", "_starts", "_maxend")

    def __init__(self) -> None:
        """No pages handed over yet."""
        self.runs: list[HandOverRun] = []
        self._starts: list[int] = []
        self._maxend: list[int] = []

    @property
    def total_pages(self) -> int:
        """Pages handed over so far (what managed_pages must equal)."""
        return sum(count * size for _, count, _, size in self.runs)

    def first_overlap(self, start: int, count: int, stride: int, size: int) -> int | None:
        """Index of the first block of the run ``start + i*stride`` (``count`` blocks of
        ``size`` pages) that overlaps pages already handed over, or None."""
        end = start + (count - 1) * stride + size
        best: int | None = None
        i = bisect_left(self._starts, end) - 1
        while i >= 0 and self._maxend[i] > start:
            a, na, sa, za = self.runs[i]
            j = overlap_first(start, count, stride, size, a, na, sa, za)
            if j is not None and (best is None or j < best):
                best = j
            i -= 1
        return best

    def register(self, start: int, count: int, stride: int, size: int) -> None:
        """Record a hand-over; a run that continues the last one's pattern extends it."""
        runs = self.runs
        i = bisect_right(self._starts, start)
        if i == len(runs) and runs:
            a, na, sa, za = runs[-1]
            st = sa if na > 1 else start - a
            if za == size and st >= size and st % size == 0 and start == a + na * st:
                if count == 1 or stride == st:
                    runs[-1] = (a, na + count, st, za)
                    end = start + (count - 1) * st + size
                    self._maxend[-1] = max(self._maxend[-1], end)
                    return
        runs.insert(i, (start, count, stride, size))
        self._starts.insert(i, start)
        end = start + (count - 1) * stride + size
        maxend = self._maxend
        maxend.insert(i, max(end, maxend[i - 1] if i else 0))
        # The running maximum after i only changes until it already exceeds end.
        k = i + 1
        while k < len(maxend) and maxend[k] < end:
            maxend[k] = end
            k += 1

    def export(self) -> tuple[HandOverRun, ...]:
        """The runs, for a checkpoint."""
        return tuple(self.runs)

    @classmethod
    def restore(cls, runs: tuple[HandOverRun, ...]) -> HandOverLedger:
        """A ledger holding the runs of :meth:`export` (registered again, in order)."""
        ledger = cls()
        for run in runs:
            ledger.register(*run)
        return ledger
