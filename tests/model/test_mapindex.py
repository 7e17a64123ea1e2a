"""The map's cells agree with the model: a one-page cell shows Simulation.page()'s state,
and both agree with the per-page reference painter (tests/model/reference_pages.py)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kmsan_tui.model import Simulation, load_layout, pagestate
from kmsan_tui.model import mapindex as mc
from kmsan_tui.model.mapdiff import block_changes, layer_changes
from kmsan_tui.model.mapfree import FreeBlocks, ZoneFree
from kmsan_tui.model.mapindex import MapIndex
from kmsan_tui.model.mapmix import look_keys
from kmsan_tui.model.owners import category, category_id
from kmsan_tui.model.pagestate import BLIND_CODE, CODE_OF, RULES, PageState
from kmsan_tui.session import Session
from kmsan_tui.tui.fmt import parse_location, short_addr
from tests.model.reference_pages import page_codes


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


# States where the rules' conditions overlap: before and after the hand-over, held
# back metadata (eager), metadata in buddy blocks (lazy), blind spots, workloads.
CORPUS_STEPS = ("free_area_init", "kmsan_init_shadow", "memblock_free_all", "mem_init", None)


@pytest.fixture(scope="module")
def corpus() -> list[tuple[str, Simulation]]:
    states = []
    for strategy in ("eager", "lazy", "fixed"):
        for step in CORPUS_STEPS:
            session = Session(load_layout("tiny-64m"), strategy)
            if step is None:
                session.run_all()
                session.run_workload("fragmenter", 400)
            else:
                session.run_to(step)
            states.append((f"{strategy}/{step or 'fragmenter'}", session.sim))
    # memblock_double_array() reserves memory no boot step owns (no shipped layout needs
    # it early enough to show): a memblock_alloc() without an owner does the same.
    sim = Simulation("tiny-64m", "eager")
    sim.run_to("free_area_init")
    assert sim.memblock.alloc(1 << 20, 1 << 20)
    states.append(("eager/memblock_alloc without an owner", sim))
    return states


def _disagreements(corpus: list[tuple[str, Simulation]]) -> list[str]:
    """Where MapIndex, Simulation.page() and the reference painter differ."""
    out = []
    for name, sim in corpus:
        index = MapIndex(sim)
        codes = index.classify(np.arange(index.span))[0]
        want = page_codes(sim, 0, index.span)
        out += [f"{name}: map {pfn:#x}" for pfn in np.flatnonzero(codes != want)[:3]]
        states = page_codes(sim, 0, index.span, blind=False)
        for pfn in range(0, index.span, 97):
            if CODE_OF[sim.page(pfn).state] != states[pfn]:
                out.append(f"{name}: page {pfn:#x}")
                break
    return out


def test_map_and_pages_agree_with_the_reference_painter(corpus) -> None:
    """Every page of each state: the map's code is the painter's, and so is
    Simulation.page()'s state (on a sample)."""
    assert _disagreements(corpus) == []


def test_every_rule_decides_some_page(corpus) -> None:
    """Each rule of the table is the first to hold for some page of the corpus, so the
    comparison with the reference exercises all of them."""
    decided = set()
    for _name, sim in corpus:
        index = MapIndex(sim)
        facts = index.lookup(np.arange(index.span))[0]
        conds = [np.broadcast_to(r.holds(facts), (index.span,)) for r in RULES]
        decided |= set(np.select(conds, range(len(RULES)), default=len(RULES)).tolist())
    assert decided >= set(range(len(RULES)))


def _swapped(rule: pagestate.Rule) -> tuple[pagestate.Rule, ...]:
    """The table with ``rule`` and the next rule in each other's place."""
    rules = list(RULES)
    i = rules.index(rule)
    rules[i], rules[i + 1] = rules[i + 1], rules[i]
    return tuple(rules)


# The priorities the model's states make visible (pages where both rules hold): held
# back metadata is shadow or origin too, metadata lazy takes from the buddy allocator
# is allocated, and pages a boot step owns are reserved until the hand-over. (Free
# blocks are never holes nor metadata, so FREE's place above them is not seen.)
MUTANTS = {
    "held back below shadow": _swapped(pagestate.rule(PageState.HELD_BACK, held_back=True)),
    "allocated above origin": _swapped(pagestate.rule(PageState.ORIGIN, origin=True)),
    "memblock-free above owned": _swapped(
        pagestate.rule(PageState.RESERVED, owned=True, handed_over=False)),
    **{f"without {r}": RULES[:i] + RULES[i + 1:] for i, r in enumerate(RULES)},
}


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_a_wrong_rule_table_disagrees_with_the_reference(
        corpus, monkeypatch: pytest.MonkeyPatch, mutant: str) -> None:
    monkeypatch.setattr(pagestate, "RULES", MUTANTS[mutant])
    assert _disagreements(corpus) != []


def test_one_page_cells_carry_the_inspectors_order_and_owner(corpus) -> None:
    """aux: a free page's block order, a metadata page's owner, else the page's owner."""
    for _name, sim in corpus:
        index = MapIndex(sim)
        codes, aux = index.classify(np.arange(index.span))
        for pfn in range(0, index.span, 61):
            view = sim.page(pfn)
            if view.state is PageState.FREE:
                assert aux[pfn] == view.order
            elif view.state in (PageState.ALLOCATED, PageState.SHADOW, PageState.ORIGIN,
                                PageState.HELD_BACK) and codes[pfn] != BLIND_CODE:
                assert aux[pfn] == category_id(view.owner), (hex(pfn), view)


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


@st.composite
def free_runs(draw: st.DrawFn) -> list[tuple[int, int, int, int]]:
    """Runs as the free lists report them (FreeRun: start, count, stride, order), with
    disjoint blocks: on ``ways`` interleaved lattices of blocks of one order (eager's
    hold-back leaves every third block), plus singles of smaller orders in free slots."""
    order = draw(st.integers(0, 3))
    size = 1 << order
    ways = draw(st.integers(1, 11))
    used: set[int] = set()
    runs = []
    for phase, first, count in draw(st.lists(st.tuples(
            st.integers(0, ways - 1), st.integers(0, 40), st.integers(1, 30)), max_size=14)):
        slots = [(first + i) * ways + phase for i in range(count)]
        if used.isdisjoint(slots):
            used.update(slots)
            stride = size if count == 1 or ways == 1 else ways * size
            runs.append((slots[0] * size, count, stride, order))
    for slot, small in draw(st.lists(st.tuples(st.integers(0, 60 * ways),
                                               st.integers(0, order)), max_size=8)):
        if slot not in used:
            used.add(slot)
            runs.append((slot * size, 1, 1 << small, small))
    return sorted(runs)


def _per_page(runs: list[tuple[int, int, int, int]], n: int) -> np.ndarray:
    order = np.full(n, -1)
    for start, count, stride, o in runs:
        for i in range(count):
            order[start + i * stride:start + i * stride + (1 << o)] = o
    return order


@given(free_runs(), st.integers(1, 40), st.integers(1, 4))
def test_free_blocks_find_every_block_of_interleaved_runs(
        runs: list[tuple[int, int, int, int]], expand_up_to: int, max_groups: int) -> None:
    """Runs whose spans interleave are found block by block, whether they are kept as
    runs (in groups), expanded because they are short, or expanded past the groups."""
    free = FreeBlocks([ZoneFree.of(("zone",), runs, expand_up_to)], max_groups)
    n = 64 * 12 * 8 + 64
    points = np.arange(-3, n)
    inside, order = free.lookup(points)
    want = np.concatenate([np.full(3, -1), _per_page(runs, n)])
    assert order.tolist() == want.tolist()
    assert inside.tolist() == (want >= 0).tolist()


@given(free_runs(), st.data())
def test_block_changes_cover_the_blocks_one_side_lacks(
        runs: list[tuple[int, int, int, int]], data: st.DataObject) -> None:
    """Outside the intervals block_changes reports, every page is free with the same
    order on both sides; taking blocks out of a run reports only those blocks."""
    # The other side: some runs dropped, some cut in two around a block taken out.
    other = []
    for start, count, stride, order in runs:
        action = data.draw(st.sampled_from(["keep", "drop", "take"]))
        if action == "keep":
            other.append((start, count, stride, order))
        elif action == "take":
            k = data.draw(st.integers(0, count - 1))
            for first, n in ((start, k), (start + (k + 1) * stride, count - k - 1)):
                if n:
                    other.append((first, n, stride if n > 1 else 1 << order, order))
    a, b = ZoneFree.of(("a",), runs), ZoneFree.of(("b",), other)
    starts, ends = block_changes(a.runs, b.runs)
    n = 64 * 12 * 8 + 64
    covered = np.zeros(n, dtype=bool)
    for s, e in zip(starts.tolist(), ends.tolist(), strict=True):
        covered[s:e] = True
    same = _per_page(runs, n) == _per_page(other, n)
    assert (same | covered).all()


def test_taking_one_block_out_of_a_long_run_changes_that_block() -> None:
    """Eager's hand-over of 16 TiB: a million order-10 blocks, every third one, in one
    run. The first allocation splits one of them: one block changed, not the run."""
    k, count, stride = 5000, 1 << 20, 3 << 10
    before = ZoneFree.of(("z",), [(0, count, stride, 10)])
    after = ZoneFree.of(("z",), [(0, k, stride, 10), ((k + 1) * stride, count - k - 1, stride, 10),
                                 (k * stride + 512, 1, 512, 9)])
    starts, ends = block_changes(before.runs, after.runs)
    assert sorted(zip(starts.tolist(), ends.tolist(), strict=True)) == [
        (k * stride, k * stride + 1024), (k * stride + 512, k * stride + 1024)]
    assert block_changes(before.runs, before.runs)[0].size == 0


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


# ---------------------------------------------------------------------- mixed cells


def _looks(index: MapIndex, start: int, end: int) -> np.ndarray:
    """The look of every page in [start, end): state code and, for reserved and
    allocated pages, the owner (the glyph's letter)."""
    codes, aux = index.classify(np.arange(start, end))
    return look_keys(codes, aux, (mc.RESERVED, mc.ALLOCATED))


@pytest.mark.parametrize("strategy", ["eager", "lazy", "fixed"])
def test_a_cell_is_mixed_exactly_when_its_pages_are_not_all_drawn_alike(strategy: str) -> None:
    """Every cell at every zoom of a small machine, before and after the hand-over and
    after a workload; the pages' codes are the reference painter's."""
    for step in ("free_area_init", "memblock_free_all", None):
        session = Session(load_layout("tiny-64m"), strategy)
        if step is None:
            session.run_all()
            session.run_workload("fragmenter", 400)
        else:
            session.run_to(step)
        sim = session.sim
        index = MapIndex(sim)
        span = index.span
        assert (page_codes(sim, 0, span) == index.classify(np.arange(span))[0]).all()
        looks = _looks(index, 0, span)
        for shift in range(0, 15):
            ppc = 1 << shift
            n = -(-span // ppc)
            cells = index.cells(0, ppc, n)
            padded = np.concatenate([looks, np.repeat(looks[-1:], n * ppc - span)])
            by_cell = padded.reshape(n, ppc)
            truth = (by_cell != by_cell[:, :1]).any(axis=1)
            assert (cells.mixed == truth).all(), (step, ppc, np.flatnonzero(cells.mixed != truth))


@pytest.mark.parametrize(("layout", "strategy"), [
    ("qemu-8g", "eager"), ("qemu-8g", "lazy"), ("server-1t", "eager"), ("server-1t", "fixed")])
def test_large_cells_say_they_mix_states_whatever_their_size(layout: str, strategy: str) -> None:
    """Sampled cells from one page to a GiB: a cell whose pages are not all drawn alike
    is marked mixed (eager's 4 MiB shadow, origin, data chunks in a 1 GiB cell), and a
    cell marked mixed has pages drawn differently."""
    session = Session(load_layout(layout), strategy)
    session.run_all()
    index = MapIndex(session.sim)
    rng = np.random.default_rng(7)
    for shift in range(0, 19, 3):
        ppc = 1 << shift
        n = -(-index.span // ppc)
        window = int(rng.integers(0, max(1, n - 4096)))
        firsts = (window + np.arange(min(n, 4096), dtype=np.int64)) * ppc
        cells = index.cells_at(firsts, ppc)
        picks = np.concatenate([rng.choice(len(firsts), size=min(len(firsts), 12), replace=False),
                                rng.choice(np.flatnonzero(cells.mixed), size=min(
                                    int(cells.mixed.sum()), 4), replace=False)])
        for c in picks.tolist():
            first = int(firsts[c])
            looks = _looks(index, first, min(first + ppc, index.span))
            assert bool(cells.mixed[c]) == bool((looks != looks[0]).any()), (ppc, hex(first))


def test_eager_gib_cells_are_mixed_and_their_shares_are_the_triples() -> None:
    session = Session(load_layout("server-1t"), "eager")
    session.run_all()
    index = MapIndex(session.sim)
    gib = 1 << 18
    cell = 0x1900000 // gib  # 100 GiB: eager triples, nothing else
    assert index.cells(cell * gib, gib, 1).mixed[0]
    shares, exact = index.composition(cell * gib, gib)
    assert exact
    assert sum(s.pages for s in shares) == gib
    assert {s.code for s in shares} == {mc.FREE, mc.SHADOW, mc.ORIGIN}
    assert all(abs(s.pages - gib / 3) < gib / 50 for s in shares)


def test_a_composition_counts_every_page_of_the_cell() -> None:
    session = Session(load_layout("qemu-2g"), "lazy")
    session.run_all()
    session.run_workload("fragmenter", 2000)
    index = MapIndex(session.sim)
    for start, pages in ((0, 4096), (0x10000, 1 << 14), (0x40000, 1 << 16), (0x7fff0, 16)):
        shares, exact = index.composition(start, pages)
        looks = _looks(index, start, min(start + pages, index.span))
        keys, counts = np.unique(looks, return_counts=True)
        assert exact
        got = {int(look_keys(np.array([s.code]), np.array([s.aux]),
                             (mc.RESERVED, mc.ALLOCATED))[0]): s.pages for s in shares}
        assert got == dict(zip(keys.tolist(), counts.tolist(), strict=True))
