"""The panels below the map: free lists, shadow regions, metrics, chart, kernel log."""

from __future__ import annotations

import pytest
from textual.widgets import DataTable, Log, OptionList, TabbedContent
from textual.widgets._footer import FooterKey

from kmsan_tui.model.constants import PAGETYPEINFO_TYPES
from kmsan_tui.model.metrics import DEFINITIONS
from kmsan_tui.tui.widgets.boot_timeline import BootTimeline
from kmsan_tui.tui.widgets.frag_chart import FragChart
from kmsan_tui.tui.widgets.free_area_grid import FreeAreaGrid
from kmsan_tui.tui.widgets.free_lists import FreeLists
from kmsan_tui.tui.widgets.kernel_log import KernelLog
from kmsan_tui.tui.widgets.keys_footer import KeysFooter
from kmsan_tui.tui.widgets.metrics_panel import ROWS, MetricsPanel
from kmsan_tui.tui.widgets.shadow_regions import ShadowRegions
from kmsan_tui.tui.widgets.step_detail import StepDetail

from .conftest import explorer, make_app, settle, step_before, text_of


async def test_free_lists_count_blocks_per_zone_type_and_order() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        grid = screen.query_one(FreeAreaGrid)
        zone = screen.runner.session.sim.zones[1]
        movable = [t.label for t in PAGETYPEINFO_TYPES].index("Movable")
        row = next(r for r in grid.rows if r.key == f"1:{movable}")
        assert list(row.counts) == zone.nr_free_by_type()[PAGETYPEINFO_TYPES[movable]]
        assert f"{row.counts[10]}" in text_of(grid)


async def test_free_lists_show_the_change_since_the_last_step() -> None:
    app = make_app(at=step_before("memblock_free_all"))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")  # memblock_free_all fills the free lists
        await settle(pilot)
        grid = explorer(app).query_one(FreeAreaGrid)
        row = next(r for r in grid.rows if r.key == "1:all")
        assert row.deltas is not None and max(row.deltas) > 0
        assert "+" in text_of(grid)


async def test_a_free_list_expands_to_its_blocks_and_one_jumps_to_the_map() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await pilot.press("f")
        panel = screen.query_one(FreeLists)
        grid = panel.query_one(FreeAreaGrid)
        grid.focus()
        grid.move_to("1:all", 10)
        await pilot.press("enter")
        await pilot.pause()
        blocks = panel.query_one("#blocks", OptionList)
        assert panel.has_class("-expanded") and blocks.has_focus
        heads = screen.runner.session.sim.zones[1].free_list(10, PAGETYPEINFO_TYPES[1], limit=3)
        first = next(i for i in range(blocks.option_count) if blocks.get_option_at_index(i).id)
        assert blocks.get_option_at_index(first).id.endswith(f":{heads[0]}")
        blocks.highlighted = first
        await pilot.press("enter")
        assert screen.cursor == heads[0]
        await pilot.press("escape")
        assert not panel.has_class("-expanded")


async def test_p_shows_the_free_lists_in_the_kernels_format() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("f")
        explorer(app).query_one(FreeAreaGrid).focus()
        await pilot.press("p")
        await pilot.pause()
        text = text_of(explorer(app).query_one("#procfs"))
        assert "Node 0, zone    DMA32" in text


async def test_shadow_regions_list_the_metadata_map_and_jump_to_an_extent() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await pilot.press("x")
        await pilot.pause()
        table = screen.query_one(ShadowRegions).query_one(DataTable)
        extents = list(screen.runner.session.sim.kmsan)
        assert table.row_count == len(extents)
        table.focus()
        table.move_cursor(row=2)
        await pilot.press("enter")
        assert screen.cursor == extents[2][0]


async def test_fixed_mode_shows_the_reserved_virtual_ranges_and_whether_they_fit() -> None:
    app = make_app(strategy="fixed", at="kmsan_init_shadow")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("x")
        await pilot.pause()
        panel = explorer(app).query_one(ShadowRegions)
        layout = explorer(app).runner.session.sim.virtual_layout()
        assert panel.has_class("-fixed")
        text = text_of(panel.query_one("#virtual"))
        assert f"{layout.shadow_start:#018x}" in text and "KMSAN origin" in text
        assert "fits 4-level paging: yes" in text


async def test_metrics_show_the_current_state_and_the_last_change() -> None:
    app = make_app(at="stack_depot_early_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n")
        await settle(pilot)
        await pilot.press("M")
        await pilot.pause()
        panel = explorer(app).query_one(MetricsPanel)
        text = text_of(panel.query_one("#metrics-table"))
        metrics = explorer(app).frame.metrics
        assert f"{metrics.free_pages:,}" in text
        await pilot.press("m")  # the table loses the focus: the bar has the Memory: line
        await pilot.pause()
        bar = text_of(panel.query_one("#metric-definition"))
        assert metrics.memory_line[:40] in bar and "not printed yet" in bar  # before it is


async def test_every_metric_shown_is_defined_under_the_cursor() -> None:
    """Each row of the Metrics tab, highlighted, puts its METRICS definition in the bar."""
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("M")
        await pilot.pause()
        panel = explorer(app).query_one(MetricsPanel)
        table = panel.query_one("#metrics-table", DataTable)
        bar = panel.query_one("#metric-definition")
        defined = set()
        for row in range(table.row_count):
            table.move_cursor(row=row)
            await pilot.pause()
            key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
            shown = " ".join(text_of(bar).split())
            if key in DEFINITIONS:
                assert " ".join(DEFINITIONS[key].definition.split())[:50] in shown, key
                defined.add(key)
        assert {key for _label, key, _kind in ROWS} - {"virtual_reserved_bytes", "fits_4level",
                                                      "fits_5level", "fits_4level_kaslr",
                                                      "fits_5level_kaslr"} <= defined


async def test_metrics_fit_eighty_columns_with_their_values() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("M")
        await pilot.pause()
        table = explorer(app).query_one(MetricsPanel).query_one("#metrics-table", DataTable)
        assert table.virtual_size.width <= table.scrollable_content_region.width
        assert "GiB" in text_of(table)


async def test_the_chart_has_a_column_per_command() -> None:
    app = make_app()
    async with app.run_test(size=(160, 48)) as pilot:
        await pilot.press("e")
        await settle(pilot)
        frame = explorer(app).frame
        assert len(frame.series) == frame.nsteps + 1
        await pilot.press("F")
        await pilot.pause()
        text = text_of(explorer(app).query_one(FragChart))
        assert "order 10" in text and frame.series[-1].label in text


async def test_the_kernel_log_shows_the_dmesg_lines_of_each_step() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("K")
        await pilot.press("n", "n")
        await settle(pilot)
        log = explorer(app).query_one(KernelLog)
        lines = [strip.text for strip in log.lines]
        sim = explorer(app).runner.session.sim
        shown = [e.text for e in sim.events if e.kind != "memblock"]
        assert shown and all(text in lines for text in shown)
        assert f"── {sim.steps[1]} ──" in lines
        assert explorer(app).query_one(TabbedContent).active == "log"


async def test_the_kernel_log_appends_the_same_lines_it_would_draw_from_scratch() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("K")
        for _ in range(5):
            await pilot.press("n")
            await settle(pilot)
        log = explorer(app).query_one(KernelLog)
        appended = [strip.text for strip in log.lines]
        await pilot.press("D")  # memblock=debug on, then off: drawn again from the start
        await pilot.pause()
        assert log.memblock_debug and len(log.lines) > len(appended)
        await pilot.press("D")
        await pilot.pause()
        assert [strip.text for strip in log.lines] == appended


async def test_a_step_back_takes_the_kernel_log_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("K", "n", "n")
        await settle(pilot)
        steps = explorer(app).frame.step_names
        log = explorer(app).query_one(KernelLog)
        assert f"── {steps[1]} ──" in [strip.text for strip in log.lines]
        await pilot.press("u")
        await settle(pilot)
        lines = [strip.text for strip in log.lines]
        assert f"── {steps[0]} ──" in lines and f"── {steps[1]} ──" not in lines


async def test_free_lists_say_there_are_no_zones_until_free_area_init() -> None:
    app = make_app("tiny-64m")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        grid = explorer(app).query_one(FreeAreaGrid)
        assert "No zones yet: free_area_init() builds them" in text_of(grid)
        explorer(app).run_to(explorer(app).frame.step_names.index("mem_init"))
        await settle(pilot)
        shown = text_of(grid)
        assert "No zones yet" not in shown and "DMA" in shown and "Movable" in shown


@pytest.mark.parametrize(("size", "layout"), [((80, 24), "qemu-8g"), ((120, 40), "server-1t"),
                                              ((200, 60), "server-1t")])
async def test_free_lists_show_order_10_after_the_hand_over(size: tuple[int, int],
                                                            layout: str) -> None:
    """Right after memblock_free_all (every count just changed) the grid's columns,
    labels included, fit the panel: no order scrolls out of sight."""
    app = make_app(layout, at=step_before("memblock_free_all", layout))
    async with app.run_test(size=size) as pilot:
        await pilot.press("n")
        await settle(pilot)
        grid = explorer(app).query_one(FreeAreaGrid)
        assert grid.virtual_size.width <= grid.scrollable_content_region.width
        header = text_of(grid).splitlines()[0]
        assert header.split()[-1] == "10"


async def test_proc_format_keeps_the_kernels_lines_whole() -> None:
    app = make_app("server-1t", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("f", "p")
        await pilot.pause()
        log = explorer(app).query_one("#procfs", Log)
        assert explorer(app).maximized is log
        lines = list(log.lines)
        procfs = explorer(app).frame.lookup.procfs()
        assert lines == procfs.splitlines()
        buddy = next(line for line in lines if "Normal" in line)
        assert len(buddy.split()) == 4 + 11  # Node N, zone Normal, then orders 0..10
        await pilot.press("escape")
        assert explorer(app).maximized is None


async def test_kernel_log_lines_wrap_to_the_panel() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("K")
        await pilot.pause()
        log = explorer(app).query_one(KernelLog)
        width = log.scrollable_content_region.width
        assert all(strip.cell_length <= width for strip in log.lines)
        assert any(strip.text.startswith("    ") for strip in log.lines)  # continuations
        assert log.virtual_size.width <= width


@pytest.mark.parametrize("size", [(80, 24), (120, 40), (200, 60)])
async def test_a_long_step_explanation_reads_to_its_end(size: tuple[int, int]) -> None:
    app = make_app(at="memblock_free_all")
    async with app.run_test(size=size) as pilot:
        await pilot.press("t")
        timeline = explorer(app).query_one(BootTimeline)
        detail = timeline.query_one(StepDetail)
        steps = explorer(app).frame.steps
        longest = max(range(len(steps)), key=lambda i: len(steps[i].explanation))
        timeline.query_one("#steps", OptionList).highlighted = longest
        await pilot.pause()
        last_words = " ".join(steps[longest].explanation.split()[-3:])
        await pilot.press("v")
        await pilot.pause()
        assert explorer(app).maximized is detail
        detail.scroll_end(animate=False, immediate=True)
        await pilot.pause()
        assert last_words in " ".join(text_of(detail).split())
        await pilot.press("v")
        await pilot.pause()
        assert explorer(app).maximized is None


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
async def test_the_footer_fits_and_keeps_the_palette_and_the_keys_list(
        size: tuple[int, int]) -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=size) as pilot:
        await settle(pilot)
        footer = explorer(app).query_one(KeysFooter)
        keys = list(footer.query(FooterKey))
        assert sum(k.outer_size.width for k in keys) <= size[0]
        actions = {k.action.rpartition(".")[2] for k in keys}
        assert {"step", "undo", "keys", "command_palette"} <= actions


@pytest.mark.parametrize("order", ["fxMFK", "KFMxf", "FMKx"])
async def test_every_tab_shows_the_current_state_whatever_the_order_it_is_opened_in(
        order: str) -> None:
    """Panels draw only while visible; textual does not always tell a panel that its
    tab is shown again (no Show, no Resize: the kernel log stayed blank after the
    Fragmentation tab at 80x24). Each must show the state on screen once drawn."""
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("e")
        await settle(pilot)
        screen = explorer(app)

        def current(key: str) -> bool:
            serial = screen.frame.serial
            if key == "K":
                log = screen.query_one(KernelLog)
                return log._written is screen.frame.log and len(log.lines) > 0
            if key == "M":
                return screen.query_one(MetricsPanel)._drawn == serial
            if key == "F":
                return screen.query_one(FragChart)._drawn[0] == serial
            if key == "x":
                return screen.query_one(ShadowRegions)._drawn == serial
            return True

        for _round in range(2):
            for key in order:
                await pilot.press(key)
                await pilot.pause(0.1)
                assert current(key), (order, key)
            await pilot.press("u")  # a new state while the last tab shows
            await settle(pilot)
