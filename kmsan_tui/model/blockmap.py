"""An extent map with a fast path for buddy blocks: what owns a page, what backs it.

Most entries a running machine adds and removes are for buddy blocks: naturally
aligned, 2**order pages, created by alloc_pages() and gone at __free_pages(). A
workload makes millions of them. ``BlockMap`` keeps those in a dict keyed by the
block's head pfn (O(1) to add, remove and find, whatever the number of live blocks)
and everything else (memblock reservations, kmsan_init_shadow()'s ranges, eager's
hold-back patterns) in an :class:`~kmsan_tui.model.extents.ExtentMap`.

To a reader it is one ``ExtentMap``: the same ``get``, ``overlapping``, iteration in
address order and ``covered``, and the same extents. A block is one extent
``(head, head + 2**order, value)``, and a range written over part of a block turns
the rest of the block into range extents, exactly as an ExtentMap would split it.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator
from heapq import merge
from typing import Any, Generic, TypeVar

from kmsan_tui.model.constants import MAX_PAGE_ORDER, NR_PAGE_ORDERS
from kmsan_tui.model.extents import ExtentMap

V = TypeVar("V")


class BlockMap(Generic[V]):
    """Non-overlapping ``[start, end) -> value`` extents: ranges plus aligned blocks.

    Invariant: no block overlaps a range extent or another block.
    """

    __slots__ = ("ranges", "_blocks", "_keys")

    def __init__(self) -> None:
        """An empty map."""
        self.ranges: ExtentMap[V] = ExtentMap()
        self._blocks: dict[int, tuple[int, V]] = {}  # head pfn -> (order, value)
        self._keys: list[int] | None = []  # sorted heads; None: stale, rebuilt on demand

    def __deepcopy__(self, memo: dict[int, Any]) -> BlockMap[V]:
        """O(n) pointer copies; values (immutable) are shared."""
        new: BlockMap[V] = BlockMap.__new__(BlockMap)
        memo[id(self)] = new
        new.ranges = self.ranges.__deepcopy__(memo)
        new._blocks = dict(self._blocks)
        new._keys = None if self._keys is None else list(self._keys)
        return new

    def __len__(self) -> int:
        return len(self.ranges) + len(self._blocks)

    @property
    def nr_blocks(self) -> int:
        """Entries kept as blocks."""
        return len(self._blocks)

    def _sorted_heads(self) -> list[int]:
        keys = self._keys
        if keys is None:
            keys = self._keys = sorted(self._blocks)
        return keys

    def _block_extents(self, heads: list[int]) -> Iterator[tuple[int, int, V]]:
        blocks = self._blocks
        for head in heads:
            order, value = blocks[head]
            yield head, head + (1 << order), value

    def __iter__(self) -> Iterator[tuple[int, int, V]]:
        """Every extent, blocks included, in address order."""
        if not self._blocks:
            return iter(self.ranges)
        return merge(self.ranges, self._block_extents(self._sorted_heads()))

    # ------------------------------------------------------------------ reads

    def block_at(self, pfn: int) -> tuple[int, int, V] | None:
        """The block containing pfn, as (head, end, value), or None: at most one probe
        per order, as page_zone()->free_area would find a buddy."""
        blocks = self._blocks
        if blocks:
            for order in range(NR_PAGE_ORDERS):
                head = pfn & -(1 << order)
                entry = blocks.get(head)
                if entry is not None and entry[0] == order:
                    return head, head + (1 << order), entry[1]
        return None

    def get(self, key: int) -> tuple[int, int, V] | None:
        """The extent containing ``key``, as (start, end, value), or None."""
        hit = self.block_at(key)
        return hit if hit is not None else self.ranges.get(key)

    def _blocks_overlapping(self, start: int, end: int) -> list[int]:
        """Heads of the blocks that overlap [start, end), ascending."""
        if not self._blocks:
            return []
        heads = self._sorted_heads()
        # A block overlapping start has its head at most one max-order block earlier.
        i = bisect_left(heads, start - (1 << MAX_PAGE_ORDER) + 1)
        blocks = self._blocks
        out = []
        while i < len(heads) and heads[i] < end:
            head = heads[i]
            if head + (1 << blocks[head][0]) > start:
                out.append(head)
            i += 1
        return out

    def overlapping(self, start: int, end: int) -> Iterator[tuple[int, int, V]]:
        """Extents that intersect ``[start, end)``, in address order (unclipped)."""
        heads = self._blocks_overlapping(start, end)
        if not heads:
            return self.ranges.overlapping(start, end)
        return merge(self.ranges.overlapping(start, end), self._block_extents(heads))

    def covered(self, start: int, end: int) -> int:
        """How many keys of ``[start, end)`` are mapped."""
        return sum(min(e, end) - max(s, start) for s, e, _ in self.overlapping(start, end))

    # ------------------------------------------------------------------ writes

    def assign_block(self, pfn: int, order: int, value: V) -> None:
        """Map the buddy block of ``order`` at ``pfn`` (aligned) to ``value``: O(1).

        Ranges inside the block are cut as assign() would cut them. Other *blocks*
        are not looked for: the caller maps blocks the buddy allocator handed out and
        unmaps them when they are freed, so no live block overlaps another
        (``overlaps()``, which check() runs, finds a caller that breaks this).
        """
        blocks = self._blocks
        held = blocks.get(pfn)
        if held is not None and held[0] == order:
            blocks[pfn] = (order, value)
            return
        if held is not None or self.ranges.intersects(pfn, pfn + (1 << order)):
            self._clear(pfn, pfn + (1 << order))
        blocks[pfn] = (order, value)
        self._keys = None

    def overlaps(self) -> list[tuple[int, int]]:
        """(start, reach) of every extent that starts before an earlier one ends: []
        when the invariant holds. O(n log n): for check(), not for hot paths."""
        out = []
        reach = -1
        for start, end, _ in self:
            if start < reach:
                out.append((start, reach))
            reach = max(reach, end)
        return out

    def remove_block(self, pfn: int, order: int) -> None:
        """Unmap the block of ``order`` at ``pfn`` (whatever covers it, if it is not a
        block of its own)."""
        held = self._blocks.get(pfn)
        if held is not None and held[0] == order:
            del self._blocks[pfn]
            self._keys = None
        else:
            self.remove(pfn, pfn + (1 << order))

    def assign(self, start: int, end: int, value: V) -> None:
        """Map ``[start, end)`` to ``value``, overwriting whatever was there."""
        if end <= start:
            raise ValueError(f"empty extent [{start:#x}, {end:#x})")
        self._clear(start, end)
        self.ranges.assign(start, end, value)

    def remove(self, start: int, end: int) -> None:
        """Unmap ``[start, end)``."""
        if end > start:
            self._clear(start, end)

    def _clear(self, start: int, end: int) -> None:
        """Unmap [start, end); the parts of blocks outside it become range extents."""
        for head in self._blocks_overlapping(start, end):
            order, value = self._blocks.pop(head)
            self._keys = None
            tail = head + (1 << order)
            if head < start:
                self.ranges.assign(head, start, value)
            if tail > end:
                self.ranges.assign(end, tail, value)
        self.ranges.remove(start, end)
