"""The map's cells agree with the model: a one-page cell shows Simulation.page()'s state."""

from __future__ import annotations

import numpy as np
import pytest

from kmsan_tui.model import load_layout
from kmsan_tui.model import mapindex as mc
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
