"""The memory map (cursor, zoom, click, change marks) and the struct page inspector."""

from __future__ import annotations

import pytest
from textual.events import MouseScrollUp

from kmsan_tui.model.pages import PageState
from kmsan_tui.tui.screens.prompt import PromptScreen
from kmsan_tui.tui.widgets.memory_map import GUTTER, MemoryMap
from kmsan_tui.tui.widgets.page_inspector import PageInspector

from .conftest import explorer, make_app, settle, step_before, text_of


def data_page_with_metadata(frame) -> int:  # type: ignore[no-untyped-def]
    """A pfn whose struct page points at shadow and origin pages."""
    for pfn in range(0x1000, frame.index.span, 0x800):
        view = frame.lookup.page(pfn)
        if view.kmsan_shadow is not None and view.state is not PageState.HOLE:
            return pfn
    raise AssertionError("no page with metadata")


async def test_arrows_move_the_cursor_by_cells_and_rows() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        memory_map = screen.query_one(MemoryMap)
        ppc, cols = memory_map.pages_per_cell, memory_map.cols
        start = screen.cursor
        await pilot.press("right")
        assert screen.cursor == (start // ppc + 1) * ppc
        await pilot.press("down")
        assert screen.cursor == (start // ppc + 1 + cols) * ppc
        await pilot.press("home")
        assert screen.cursor == 0


async def test_zoom_goes_down_to_single_pages_and_back_to_the_whole_machine() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        memory_map = screen.query_one(MemoryMap)
        whole = memory_map.pages_per_cell
        await pilot.press("plus")
        assert memory_map.pages_per_cell < whole
        for _ in range(30):
            await pilot.press("plus")
        assert memory_map.pages_per_cell == 1
        cursor = screen.cursor
        row, _col = memory_map.cell_of(cursor)
        top = int(memory_map.scroll_offset.y)
        assert top <= row < top + memory_map.size.height  # the cursor stays in view
        await pilot.press("minus")
        assert memory_map.pages_per_cell == 2
        await pilot.press("0")
        assert screen.zoom == 0 and memory_map.pages_per_cell == whole


async def test_shift_wheel_zooms_the_map() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        memory_map = explorer(app).query_one(MemoryMap)
        whole = memory_map.pages_per_cell
        memory_map.post_message(MouseScrollUp(memory_map, 10, 2, 0, 0, 0, True, False, False))
        await pilot.pause()
        await pilot.pause()
        assert memory_map.pages_per_cell < whole


async def test_clicking_a_cell_inspects_it() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        memory_map = screen.query_one(MemoryMap)
        await pilot.click("#map", offset=(1 + GUTTER + 5, 1 + 2))
        row = int(memory_map.scroll_offset.y) + 2
        assert screen.cursor == memory_map.pfn_at(row, 5)
        assert f"{screen.cursor:#x}" in text_of(screen.query_one(PageInspector))


async def test_cells_changed_by_the_last_step_are_marked() -> None:
    app = make_app(at=step_before("memblock_free_all"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")  # memblock_free_all
        await settle(pilot)
        memory_map = explorer(app).query_one(MemoryMap)
        assert memory_map.reference is explorer(app).frame.before.index
        strip = memory_map.render_line(0)
        assert any(seg.style and seg.style.underline for seg in strip)


async def test_inspector_decodes_the_page_under_the_cursor() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        pfn = data_page_with_metadata(screen.frame)
        screen.go_to_pfn(pfn)
        await pilot.pause()
        text = text_of(screen.query_one(PageInspector))
        view = screen.frame.lookup.page(pfn)
        assert f"{pfn:#x}" in text and f"{view.phys:#x}" in text
        assert f"{view.kmsan_shadow:#x}" in text and f"{view.kmsan_origin:#x}" in text


async def test_s_follows_the_shadow_pointer_d_comes_back_to_the_data_b_goes_back() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        pfn = data_page_with_metadata(screen.frame)
        screen.go_to_pfn(pfn)
        view = screen.frame.lookup.page(pfn)
        await pilot.press("s")
        assert screen.cursor == view.kmsan_shadow
        assert screen.frame.lookup.page(screen.cursor).state is PageState.SHADOW
        await pilot.press("d")
        assert screen.cursor == pfn
        await pilot.press("o")
        assert screen.cursor == view.kmsan_origin
        await pilot.press("b", "b", "b")
        assert screen.cursor == pfn


async def test_fixed_strategy_shows_the_computed_addresses() -> None:
    app = make_app(strategy="fixed", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        pfn = data_page_with_metadata(screen.frame)
        screen.go_to_pfn(pfn)
        await pilot.pause()
        view = screen.frame.lookup.page(pfn)
        assert f"{view.shadow_vaddr:#x}" in text_of(screen.query_one(PageInspector))


async def test_g_goes_to_a_pfn_an_address_a_zone_or_a_step() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        for typed, expected in (("0x1234", 0x1234), ("phys 0x40000000", 0x40000), ("4G", 0x100000)):
            await pilot.press("g")
            assert isinstance(app.screen, PromptScreen)
            await pilot.press(*typed, "enter")
            await pilot.pause()
            assert screen.cursor == expected
        dma32 = next(z for z in screen.frame.free if z.name == "DMA32")
        screen.go_to("node 0 DMA32")
        assert screen.cursor == dma32.start_pfn
        screen.go_to("kmsan_init_shadow")
        await settle(pilot)
        assert screen.frame.step_name == "kmsan_init_shadow"


async def test_reused_rows_show_what_a_fresh_computation_shows() -> None:
    """Rows a command did not touch take an earlier state's cells (MapIndex.changes);
    after steps, steps back, zooms and a workload every visible row must still equal
    the cells computed from scratch for the state on screen."""
    app = make_app("tiny-64m", strategy="lazy", at="e820__memblock_setup")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = explorer(app)
        memory_map = screen.query_one(MemoryMap)

        async def check() -> None:
            await settle(pilot)
            index, ppc, cols = screen.frame.index, memory_map.pages_per_cell, memory_map.cols
            top = int(memory_map.scroll_offset.y)
            for row in range(top, min(memory_map.nrows, top + memory_map.size.height)):
                shown = memory_map._row_cells(index, row, ppc, cols)
                fresh = index.cells(row * cols * ppc, ppc, cols)
                assert (shown.codes == fresh.codes).all() and (shown.aux == fresh.aux).all()

        for keys in ("n", "plus", "n", "u", "minus", "n", "n", "plus", "plus", "u", "u",
                     "minus", "minus", *"n" * 30, "u", "u"):
            await pilot.press(keys)
            await check()
        screen.run_workload("fragmenter", 2000)
        await check()
        await pilot.press("u")
        await check()


def _label_bytes(label: str) -> int:
    """The address a row label stands for (``253.75G``, ``304M``, ``0x1000``...)."""
    if label.startswith("0x"):
        return int(label, 16)
    units = {"T": 40, "G": 30, "M": 20, "K": 10}
    if label[-1] in units:
        return round(float(label[:-1]) * (1 << units[label[-1]]))
    return int(label)


@pytest.mark.parametrize(("layout", "size"), [("server-1t", (120, 40)), ("qemu-8g", (80, 24)),
                                              ("server-1t", (200, 60))])
async def test_row_labels_are_exact_and_distinct_at_every_zoom(
        layout: str, size: tuple[int, int]) -> None:
    app = make_app(layout, at="mem_init")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        screen = explorer(app)
        memory_map = screen.query_one(MemoryMap)
        while True:
            ppc, cols, gutter = (memory_map.pages_per_cell, memory_map.cols,
                                 memory_map.label_width)
            top = int(memory_map.scroll_offset.y)
            rows = range(top, min(memory_map.nrows, top + memory_map.size.height))
            labels = [memory_map.render_line(r - top).text[:gutter - 1].strip() for r in rows]
            assert len(set(labels)) == len(labels), (ppc, labels)
            for row, label in zip(rows, labels, strict=True):
                assert _label_bytes(label) == (row * cols * ppc) << 12, (ppc, row, label)
            if ppc == 1:
                break
            await pilot.press("plus")
            await pilot.pause()


async def test_a_mixed_cell_is_drawn_as_mixed_and_named_in_the_title() -> None:
    """server-1t under eager at 1 GiB a cell: shadow, origin and data alternate every
    4 MiB, so those cells are mixed: a glyph on no background, never a solid block,
    and the cursor's cell title gives the shares."""
    app = make_app("server-1t", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        memory_map = screen.query_one(MemoryMap)
        screen.go_to_pfn(100 << 18)  # 100 GiB: eager triples, nothing else
        await pilot.pause()
        ppc, cols = memory_map.pages_per_cell, memory_map.cols
        assert ppc >= 1 << 16
        row, col = memory_map.cell_of(screen.cursor)
        cells = screen.frame.index.cells(row * cols * ppc, ppc, cols)
        assert cells.mixed[col]
        strip = memory_map.render_line(row - int(memory_map.scroll_offset.y))
        x = memory_map.label_width
        for segment in strip:
            length = segment.cell_length
            if x >= memory_map.label_width + cols:
                break
            first = x - memory_map.label_width
            for c in range(max(0, first), min(cols, first + length)):
                solid = segment.style is not None and segment.style.bgcolor is not None \
                    and segment.style.bgcolor != memory_map.rich_style.bgcolor
                assert solid != bool(cells.mixed[c]) or c == col, (c, segment)
            x += length
        title = str(memory_map.border_title)  # the compact form where it is narrow
        assert "mixed" in title and "%" in title
        assert ("shadow" in title and "origin" in title) or ("% S" in title and "% O" in title)
