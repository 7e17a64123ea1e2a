"""BlockMap reads like an ExtentMap that received the same writes."""

from __future__ import annotations

import copy

from hypothesis import given, settings
from hypothesis import strategies as st

from kmsan_tui.model.blockmap import BlockMap
from kmsan_tui.model.extents import ExtentMap

# (kind, pfn, order or length, value): kind 0 assign_block, 1 remove_block, 2 assign, 3 remove
OPS = st.lists(st.tuples(st.integers(0, 3), st.integers(0, 4095), st.integers(0, 10),
                         st.integers(0, 3)), min_size=20, max_size=200)


@given(OPS)
@settings(max_examples=200)
def test_a_block_map_reads_like_an_extent_map_given_the_same_writes(
        ops: list[tuple[int, int, int, int]]) -> None:
    blocks: BlockMap[int] = BlockMap()
    ref: ExtentMap[int] = ExtentMap()
    live: set[tuple[int, int]] = set()  # blocks assigned as blocks, still whole
    for kind, pfn, n, value in ops:
        if kind == 0:
            head = pfn & -(1 << n)
            # Callers never assign a block over another live block (the allocator
            # never hands out overlapping blocks).
            if any(h < head + (1 << n) and head < h + (1 << o) and (h, o) != (head, n)
                   for h, o in live):
                continue
            blocks.assign_block(head, n, value)
            ref.assign(head, head + (1 << n), value)
            live = {(h, o) for h, o in live if not (h < head + (1 << n) and head < h + (1 << o))}
            live.add((head, n))
        elif kind == 1:
            head = pfn & -(1 << n)
            blocks.remove_block(head, n)
            ref.remove(head, head + (1 << n))
            live = {(h, o) for h, o in live if not (h < head + (1 << n) and head < h + (1 << o))}
        elif kind == 2:
            blocks.assign(pfn, pfn + n * 37 + 1, value)
            ref.assign(pfn, pfn + n * 37 + 1, value)
            live = {(h, o) for h, o in live if not (h < pfn + n * 37 + 1 and pfn < h + (1 << o))}
        else:
            blocks.remove(pfn, pfn + n * 37 + 1)
            ref.remove(pfn, pfn + n * 37 + 1)
            live = {(h, o) for h, o in live if not (h < pfn + n * 37 + 1 and pfn < h + (1 << o))}
        assert blocks.overlaps() == []
    assert list(blocks) == list(ref)
    assert len(blocks) == len(ref)
    for key in range(0, 4200, 7):
        assert blocks.get(key) == ref.get(key)
    for start in range(0, 4200, 301):
        assert list(blocks.overlapping(start, start + 500)) == list(ref.overlapping(start, start + 500))
        assert blocks.covered(start, start + 500) == ref.covered(start, start + 500)


def test_blocks_cost_a_dict_entry_not_an_extent_update() -> None:
    m: BlockMap[str] = BlockMap()
    for i in range(1000):
        m.assign_block(i * 8, 3, "w")
    assert m.nr_blocks == 1000 and len(m.ranges) == 0
    m.remove_block(8, 3)
    assert m.get(9) is None and m.get(17) == (16, 24, "w")


def test_a_range_written_over_part_of_a_block_leaves_the_rest_as_ranges() -> None:
    m: BlockMap[str] = BlockMap()
    m.assign_block(0, 3, "a")
    m.assign(2, 4, "b")
    assert list(m) == [(0, 2, "a"), (2, 4, "b"), (4, 8, "a")]
    assert m.nr_blocks == 0


def test_a_copy_is_independent() -> None:
    m: BlockMap[str] = BlockMap()
    m.assign_block(0, 1, "a")
    m.assign(10, 20, "r")
    c = copy.deepcopy(m)
    c.remove_block(0, 1)
    c.remove(10, 12)
    assert list(m) == [(0, 2, "a"), (10, 20, "r")]
    assert list(c) == [(12, 20, "r")]
