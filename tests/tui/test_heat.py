"""The heat view: a row of page states per command, free memory by order per step."""

from __future__ import annotations

import numpy as np

from kmsan_tui.model import mapindex as mc
from kmsan_tui.model.mapindex import Cells
from kmsan_tui.tui.frame import HEAT_COLUMNS, HEAT_SAMPLES
from kmsan_tui.tui.screens.heat import HeatScreen
from kmsan_tui.tui.widgets.heat_map import HeatMap, free_bars, merge

from .conftest import explorer, make_app, settle, text_of


def test_every_command_leaves_a_heat_row_of_the_whole_machine() -> None:
    app = make_app("qemu-2g", at="mem_init")
    frame = app.runner.frame
    assert frame is not None and len(frame.series) == frame.step_index + 1
    last = frame.series[-1].heat
    assert last is not None and len(last.cells().codes) == HEAT_COLUMNS
    assert last.pages_per_column * HEAT_COLUMNS >= frame.index.span
    # The row is what the map's index says of those cells.
    firsts = np.arange(HEAT_COLUMNS, dtype=np.int64) * last.pages_per_column
    expected = frame.index.cells_at(firsts, last.pages_per_column, exact=False,
                                    samples=HEAT_SAMPLES)
    assert (last.cells().codes == expected.codes).all()


def test_narrow_views_merge_neighbouring_cells_and_say_when_they_mix() -> None:
    codes = np.array([mc.FREE, mc.FREE, mc.SHADOW, mc.SHADOW, mc.SHADOW, mc.ORIGIN],
                     dtype=np.int8)
    cells = Cells(codes, np.zeros(6, dtype=np.int16), np.zeros(6, dtype=bool))
    merged = merge(cells, 3)
    assert merged.codes.tolist() == [mc.FREE, mc.SHADOW, mc.SHADOW]
    assert merged.mixed.tolist() == [False, False, True]


def test_free_bars_give_each_order_its_share_of_free_pages() -> None:
    bars, total = free_bars((0,) * 10 + (100,))
    assert bars == " " * 10 + "█" and total == 100 << 10
    assert free_bars((0,) * 11) == (" " * 11, 0)


async def test_the_heat_view_lists_the_boot_and_a_workload() -> None:
    app = make_app("qemu-2g")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = explorer(app)
        await pilot.press("e")
        await settle(pilot)
        screen.run_workload("fragmenter", 500)
        await settle(pilot)
        app.push_screen(HeatScreen(screen.frame, screen.palette))
        await pilot.pause()
        heat = app.screen.query_one(HeatMap)
        assert len(heat.series) == screen.frame.nsteps + 2
        shown = text_of(heat)
        assert "fragmenter×500" in shown and "MiB" in shown
        await pilot.press("up")
        await pilot.pause()
        assert heat.row == len(heat.series) - 2
        assert screen.frame.step_names[-1] in text_of(app.screen.query_one("#heat-detail"))
        await pilot.press("escape")
        assert app.screen is screen
