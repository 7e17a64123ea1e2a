from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsan_tui.model import extents
from kmsan_tui.model.extents import ExtentMap


def test_get_finds_the_extent_containing_a_key() -> None:
    m: ExtentMap[str] = ExtentMap()
    m.assign(10, 20, "a")
    assert m.get(10) == (10, 20, "a")
    assert m.get(19) == (10, 20, "a")
    assert m.get(20) is None
    assert m.get(9) is None


def test_assign_inside_an_extent_splits_it_in_three() -> None:
    m: ExtentMap[str] = ExtentMap()
    m.assign(0, 100, "a")
    m.assign(40, 60, "b")
    assert list(m) == [(0, 40, "a"), (40, 60, "b"), (60, 100, "a")]


def test_assign_over_several_extents_replaces_them() -> None:
    m: ExtentMap[str] = ExtentMap()
    for i in range(10):
        m.assign(i * 10, i * 10 + 10, str(i))
    m.assign(15, 75, "x")
    assert list(m) == [(0, 10, "0"), (10, 15, "1"), (15, 75, "x"), (75, 80, "7"),
                       (80, 90, "8"), (90, 100, "9")]


def test_remove_and_covered() -> None:
    m: ExtentMap[str] = ExtentMap()
    m.assign(0, 100, "a")
    m.remove(10, 20)
    assert m.covered(0, 100) == 90
    assert list(m.overlapping(5, 25)) == [(0, 10, "a"), (20, 100, "a")]


@given(st.lists(st.tuples(st.integers(0, 200), st.integers(1, 50), st.integers(0, 3),
                          st.booleans()), max_size=60))
def test_extent_map_agrees_with_a_per_key_dict(ops: list[tuple[int, int, int, bool]]) -> None:
    m: ExtentMap[int] = ExtentMap()
    ref: dict[int, int] = {}
    for start, length, value, remove in ops:
        if remove:
            m.remove(start, start + length)
            for k in range(start, start + length):
                ref.pop(k, None)
        else:
            m.assign(start, start + length, value)
            ref.update({k: value for k in range(start, start + length)})
    for k in range(0, 260):
        got = m.get(k)
        assert (got[2] if got else None) == ref.get(k)
    spans = list(m)
    assert all(s < e for s, e, _ in spans)
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_assign_rejects_an_empty_extent() -> None:
    m: ExtentMap[str] = ExtentMap()
    with pytest.raises(ValueError):
        m.assign(5, 5, "a")
    with pytest.raises(ValueError):
        m.assign(6, 5, "a")
    m.remove(5, 5)
    m.remove(6, 5)
    assert list(m) == [] and len(m) == 0 and m.get(5) is None


def test_adjacent_extents_with_equal_values_stay_apart() -> None:
    m: ExtentMap[str] = ExtentMap()
    m.assign(0, 10, "a")
    m.assign(10, 20, "a")
    m.assign(5, 7, "a")
    assert list(m) == [(0, 5, "a"), (5, 7, "a"), (7, 10, "a"), (10, 20, "a")]


def test_deepcopy_gives_an_independent_map_sharing_values() -> None:
    value = ("frozen", 1)
    m: ExtentMap[tuple[str, int]] = ExtentMap()
    for i in range(3000):  # several chunks
        m.assign(4 * i, 4 * i + 3, value)
    before = list(m)
    c = copy.deepcopy(m)
    assert list(c) == before
    c.assign(0, 12_000, ("other", 2))
    c.remove(100, 200)
    m.remove(0, 6000)
    assert list(c) == [(0, 100, ("other", 2)), (200, 12_000, ("other", 2))]
    assert list(m) == before[1500:]
    assert c.get(4) is not None and m.get(8000) is not None
    got = copy.deepcopy(m).get(8000)
    assert got is not None and got[2] is value


@contextmanager
def _chunk_load(load: int) -> Iterator[None]:
    """Make chunks tiny so that a few hundred operations split and merge many of them."""
    saved = extents._LOAD
    extents._LOAD = load
    try:
        yield
    finally:
        extents._LOAD = saved


def _check_invariants(m: ExtentMap[int]) -> None:
    seps, all_starts, all_exts = m._seps, m._starts, m._exts
    assert len(all_starts) == len(all_exts) == len(seps) + 1
    for c, starts in enumerate(all_starts):
        assert starts == [s for s, _, _ in all_exts[c]]
        assert len(starts) <= 2 * extents._LOAD
        if seps:
            assert len(starts) > extents._LOAD // 2
        if c:
            assert seps[c - 1] == starts[0]


def _runs(ref: dict[int, tuple[int, int]]) -> list[tuple[int, int, int]]:
    """The extents a map must hold: maximal runs of consecutive keys set by one assign."""
    out: list[tuple[int, int, int]] = []
    run: list[int] = []  # [start, end, assign id, value]
    for k in sorted(ref):
        ident, value = ref[k]
        if run and run[1] == k and run[2] == ident:
            run[1] = k + 1
            continue
        if run:
            out.append((run[0], run[1], run[3]))
        run = [k, k + 1, ident, value]
    if run:
        out.append((run[0], run[1], run[3]))
    return out


# Dense (starts up to 200, lengths up to 150) so that cuts overlap and span chunks often.
_OPS = st.lists(st.tuples(st.integers(0, 200), st.sampled_from([1, 1, 2, 3, 5, 8, 13, 40, 150]),
                          st.integers(0, 2), st.integers(0, 3)), min_size=100, max_size=400)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([1, 2, 3, 8, 512]), _OPS,
       st.lists(st.tuples(st.integers(-5, 360), st.integers(0, 200)), min_size=1, max_size=20))
def test_extent_map_matches_a_reference_over_long_runs(
        load: int, ops: list[tuple[int, int, int, int]], queries: list[tuple[int, int]]) -> None:
    m: ExtentMap[int] = ExtentMap()
    ref: dict[int, tuple[int, int]] = {}  # key -> (id of the assign that set it, value)
    with _chunk_load(load):
        for ident, (start, length, value, kind) in enumerate(ops):
            if kind == 0:
                m.remove(start, start + length)
                for k in range(start, start + length):
                    ref.pop(k, None)
            else:
                m.assign(start, start + length, value)
                ref.update({k: (ident, value) for k in range(start, start + length)})
            _check_invariants(m)
        runs = _runs(ref)
        assert list(m) == runs
        assert len(m) == len(runs)
        containing = {k: run for run in runs for k in range(run[0], run[1])}
        for k in range(-2, 360):
            assert m.get(k) == containing.get(k)
        for qstart, qlen in queries:
            qend = qstart + qlen
            assert list(m.overlapping(qstart, qend)) == [
                r for r in runs if r[0] < qend and r[1] > qstart]
            assert m.covered(qstart, qend) == sum(1 for k in range(qstart, qend) if k in ref)


@given(st.integers(1, 8), st.lists(st.tuples(st.integers(0, 300), st.integers(1, 40)), max_size=60),
       st.integers(0, 340), st.integers(1, 60))
def test_intersects_says_whether_overlapping_yields_anything(
        load: int, extents: list[tuple[int, int]], start: int, length: int) -> None:
    with _chunk_load(load):  # small chunks: the next extent may start the next chunk
        m: ExtentMap[int] = ExtentMap()
        for i, (s, n) in enumerate(extents):
            m.assign(s, s + n, i)
        expected = any(True for _ in m.overlapping(start, start + length))
        assert m.intersects(start, start + length) == expected


def _sorted_disjoint(cuts: list[int]) -> list[tuple[int, int]]:
    """Every other gap between sorted distinct cut points: sorted, disjoint ranges."""
    points = sorted(set(cuts))
    return [(a, b) for a, b in zip(points[::2], points[1::2], strict=False)]


@given(st.lists(st.integers(0, 200), max_size=30), st.lists(st.integers(0, 200), max_size=30))
def test_subtract_ranges_keeps_exactly_the_keys_outside_the_holes(
        range_cuts: list[int], hole_cuts: list[int]) -> None:
    ranges, holes = _sorted_disjoint(range_cuts), _sorted_disjoint(hole_cuts)
    got = extents.subtract_ranges(ranges, holes)
    want = {k for s, e in ranges for k in range(s, e)} - {k for s, e in holes for k in range(s, e)}
    assert {k for s, e in got for k in range(s, e)} == want
    assert all(s < e for s, e in got) and got == sorted(got)
    assert all(a[1] <= b[0] for a, b in zip(got, got[1:], strict=False))
