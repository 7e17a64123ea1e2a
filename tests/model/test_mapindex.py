"""The map's cells agree with the model: a one-page cell shows Simulation.page()'s state."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kmsan_tui.model import load_layout
from kmsan_tui.model import mapindex as mc
from kmsan_tui.model.mapdiff import layer_changes
from kmsan_tui.model.mapindex import MapIndex
from kmsan_tui.model.mapview import BLIND_CODE, CODE_OF
from kmsan_tui.model.owners import category
from kmsan_tui.model.pages import PageState
from kmsan_tui.session import Session
from kmsan_tui.tui.fmt import parse_location, short_addr


def truth(sim, pfn: int) -> int:
    view = sim.page(pfn)
    if view.blind and view.state in (PageState.ALLOCATED, PageState.RESERVED):
        return BLIND_CODE
    return CODE_OF[view.state]


@pytest.mark.parametrize("strategy", ["eager", "lazy", "fixed"])
def test_one_page_cells_show_the_page_state_at_every_step(strategy: str) -> None:
    session = Session(load_layout("tiny-64m"), strategy)
    rng = np.random.default_rng(1)
    while True:
        index = MapIndex(session.sim)
        points = np.unique(rng.integers(0, index.span, 1500))
        codes, _aux = index.classify(points)
        assert [truth(session.sim, int(p)) for p in points] == codes.tolist()
        if session.sim.done:
            break
        session.step()


def test_cells_after_a_workload_match_the_model() -> None:
    session = Session(load_layout("qemu-2g"), "lazy")
    session.run_all()
    session.run_workload("fragmenter", 3000)
    index = MapIndex(session.sim)
    points = np.random.default_rng(2).integers(0, index.span, 3000)
    codes, _aux = index.classify(points)
    assert [truth(session.sim, int(p)) for p in points] == codes.tolist()


def test_free_cells_carry_the_block_order() -> None:
    session = Session(load_layout("qemu-2g"), "eager")
    session.run_all()
    index = MapIndex(session.sim)
    cells = index.cells(0, 1, index.span)
    free = np.flatnonzero(cells.codes == mc.FREE)
    for pfn in free[:: max(1, len(free) // 200)]:
        assert cells.aux[pfn] == session.sim.page(int(pfn)).order


def test_cells_past_the_end_of_ram_are_outside() -> None:
    session = Session(load_layout("tiny-64m"), "eager")
    session.run_all()
    index = MapIndex(session.sim)
    cells = index.cells(0, 1024, 64)
    assert (cells.codes[(np.arange(64) * 1024) >= index.span] == mc.OUTSIDE).all()


def test_eager_triples_stay_visible_when_zoomed_out() -> None:
    """Cells of two order-10 blocks tie; the first page decides, so data blocks show."""
    session = Session(load_layout("qemu-8g"), "eager")
    session.run_to("mem_init")
    index = MapIndex(session.sim)
    cells = index.cells(0, 2048, index.span // 2048)
    counts = np.bincount(cells.codes[cells.codes >= 0], minlength=mc.NCODES)
    assert counts[mc.FREE] > counts[mc.SHADOW] / 3


def _unchanged_windows_agree(before: MapIndex, after: MapIndex, rng: np.random.Generator,
                             tries: int = 300) -> int:
    """Windows the change set says are untouched classify the same in both states."""
    changes = after.changes
    assert changes is not None and changes.base is before
    checked = 0
    for _ in range(tries):
        start = int(rng.integers(0, after.span))
        end = min(after.span, start + int(rng.integers(1, 1 << 12)))
        if changes.touches(start, end):
            continue
        points = np.arange(start, end, max(1, (end - start) // 64))
        old, new = before.classify(points), after.classify(points)
        assert old[0].tolist() == new[0].tolist() and old[1].tolist() == new[1].tolist()
        checked += 1
    return checked


@pytest.mark.parametrize("strategy", ["eager", "lazy", "fixed"])
def test_changes_cover_every_page_a_step_changes(strategy: str) -> None:
    """A page outside the change set classifies the same before and after each step,
    forward and back, and through workloads: the map reuses those rows' cells."""
    session = Session(load_layout("tiny-64m"), strategy)
    rng = np.random.default_rng(3)
    before = MapIndex(session.sim)
    checked = 0
    while not session.sim.done:
        session.step()
        after = MapIndex(session.sim, before)
        if after.changes is not None:
            checked += _unchanged_windows_agree(before, after, rng)
            # Exhaustively on a sample of single pages too.
            points = rng.integers(0, after.span, 2000)
            keep = np.array([not after.changes.touches(int(p), int(p) + 1) for p in points])
            old, new = before.classify(points[keep]), after.classify(points[keep])
            assert (old[0] == new[0]).all() and (old[1] == new[1]).all()
            back = MapIndex(session.sim, after)  # nothing changed: no change at all
            assert back.changes is not None and len(back.changes) == 0
        before = after
    session.run_workload("fragmenter", 400)
    after = MapIndex(session.sim, before)
    checked += _unchanged_windows_agree(before, after, rng)
    assert checked > 100


@given(st.dictionaries(st.integers(0, 200), st.integers(0, 2)),
       st.dictionaries(st.integers(0, 200), st.integers(0, 2)),
       st.sampled_from([1, 2, 64]))
def test_layer_changes_are_the_entries_one_side_lacks(
        xs: dict[int, int], ys: dict[int, int], walks: int) -> None:
    """Walking two layers in step (or searching, after ``walks`` differences) finds
    exactly the entries, starts and values, that only one of them has."""
    def layer(entries: dict[int, int]) -> tuple[np.ndarray, ...]:
        starts = np.array(sorted(entries), dtype=np.int64)
        return starts, starts + 1, np.array([entries[k] for k in sorted(entries)], dtype=np.int64)

    def rows(layer: tuple[np.ndarray, ...]) -> set[tuple[int, ...]]:
        return set(zip(*(c.tolist() for c in layer), strict=True))
    a, b = layer(xs), layer(ys)
    found = set()
    for starts, ends in layer_changes(a, b, walks):
        found |= set(zip(starts.tolist(), ends.tolist(), strict=True))
    assert found == {(s, e) for s, e, _v in rows(a) ^ rows(b)}


def test_a_one_block_allocation_changes_one_block() -> None:
    session = Session(load_layout("qemu-2g"), "eager")
    session.run_all()
    before = MapIndex(session.sim)
    session.run_workload("slab", 1)
    after = MapIndex(session.sim, before)
    assert after.changes is not None
    assert 0 < len(after.changes) <= 8
    changed = int((after.changes._reach - after.changes.starts).max())
    assert changed <= 1 << 11  # pages: a block split and its buddies, not a zone


def test_a_new_machine_changes_everything() -> None:
    small = MapIndex(Session(load_layout("tiny-64m"), "eager").sim)
    session = Session(load_layout("qemu-2g"), "eager")
    session.run_all()
    assert MapIndex(session.sim, small).changes is None


@pytest.mark.parametrize(("text", "expected"), [
    ("0x1234", ("pfn", 0x1234)),
    ("pfn 4660", ("pfn", 4660)),
    ("phys 0x40000000", ("phys", 0x40000000)),
    ("@0x1000", ("phys", 0x1000)),
    ("4G", ("phys", 4 << 30)),
    ("1.5GiB", ("phys", 3 << 29)),
    ("mem_init", None),
    ("", None),
])
def test_locations_users_type(text: str, expected: tuple[str, int] | None) -> None:
    assert parse_location(text) == expected


@pytest.mark.parametrize(("addr", "shown"), [
    (0, "0"), (640 << 10, "640K"), (1 << 20, "1M"), (3 << 30, "3G"), (0x23D2F8000, "8.96G"),
])
def test_gutter_addresses_fit_seven_columns(addr: int, shown: str) -> None:
    assert short_addr(addr) == shown
    assert len(short_addr(addr)) <= 7


@pytest.mark.parametrize(("owner", "letter"), [
    ("kernel image", "K"), ("memmap (struct page, 80 B)", "M"), ("slab:kmalloc", "L"),
    ("workload:thp", "W"), ("swiotlb buffer", "D"), ("kmsan_init_shadow (shadow)", "U"),
    ("something new", "X"), (None, "X"),
])
def test_owner_letters(owner: str | None, letter: str) -> None:
    assert category(owner).letter == letter
