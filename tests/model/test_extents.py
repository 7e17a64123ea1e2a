from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

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
