"""The machine: strategy switches, the comparison, workloads, layouts, sessions."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Input, OptionList, Select

from kmsan_tui.session import Workload
from kmsan_tui.tui.screens.compare import CompareScreen
from kmsan_tui.tui.screens.pick import PickScreen
from kmsan_tui.tui.screens.prompt import PromptScreen
from kmsan_tui.tui.screens.workload import WorkloadScreen
from kmsan_tui.tui.widgets.memory_map import MemoryMap
from kmsan_tui.tui.widgets.status_bar import StatusBar

from .conftest import explorer, make_app, settle, text_of


async def test_switching_strategy_keeps_the_step_and_the_page() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        screen.go_to_pfn(0x23D2F8)
        for key, strategy in (("2", "lazy"), ("3", "fixed"), ("1", "eager")):
            await pilot.press(key)
            await settle(pilot)
            assert screen.runner.session.strategy == strategy
            assert screen.frame.strategy == strategy
            assert screen.frame.step_name == "mem_init"
            assert screen.runner.session.sim.config.strategy == strategy
            assert screen.cursor == 0x23D2F8
        await pilot.press("S")
        await settle(pilot)
        assert screen.frame.strategy == "lazy"


async def test_step_back_works_after_a_switch() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("3", "u")
        await settle(pilot)
        frame = explorer(app).frame
        assert (frame.strategy, frame.step_name) == ("fixed", "memblock_free_all")


async def test_the_comparison_shows_both_strategies_and_marks_differences() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        assert isinstance(app.screen, CompareScreen)
        compare = app.screen
        for _ in range(200):
            await pilot.pause(0.02)
            if compare.right is not None:
                break
        assert compare.right is not None and compare.right.strategy == "lazy"
        assert compare.right.step_name == compare.left.step_name == "mem_init"
        table = text_of(compare.query_one("#compare-table"))
        assert "≠" in table
        left_map = compare.query_one("#left-map", MemoryMap)
        assert left_map.reference is compare.right.index
        await pilot.press("3")
        for _ in range(200):
            await pilot.pause(0.02)
            if compare.right is not None and compare.right.strategy == "fixed":
                break
        assert compare.right.strategy == "fixed"
        await pilot.press("escape")
        assert app.screen is explorer(app)


async def test_a_workload_runs_in_a_worker_with_progress() -> None:
    app = make_app(at="mem_init_print_info")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        assert isinstance(app.screen, WorkloadScreen)
        dialog = app.screen
        dialog.query_one(Select).value = "fragmenter"
        dialog.query_one("#ops", Input).value = "30000"
        await pilot.click("#run")
        await pilot.pause(0.05)
        screen = explorer(app)
        seen_progress = screen.query_one(StatusBar).progress is not None or not screen.busy
        await settle(pilot)
        history = screen.runner.session.history
        assert history[-1] == Workload("fragmenter", 30000)
        assert screen.runner.session.sim.counters.workload_ops == 30000
        assert seen_progress
        assert screen.frame.series[-1].label == "fragmenter×30000"


async def test_a_workload_with_a_new_seed_records_it_in_the_command() -> None:
    app = make_app(at="mem_init_print_info")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("w")
        app.screen.query_one("#ops", Input).value = "1000"
        app.screen.query_one("#seed", Input).value = "42"
        await pilot.click("#run")
        await settle(pilot)
        session = explorer(app).runner.session
        assert session.history[-1].seed == 42 and session.seed == 0
        assert explorer(app).frame.step_name == "mem_init_print_info"


async def test_l_loads_a_shipped_layout() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("l")
        assert isinstance(app.screen, PickScreen)
        options = app.screen.query_one(OptionList)
        options.highlighted = [options.get_option_at_index(i).id
                               for i in range(options.option_count)].index("tiny-64m")
        await pilot.press("enter")
        await settle(pilot)
        frame = explorer(app).frame
        assert (frame.layout_name, frame.step_index) == ("tiny-64m", 0)
        assert explorer(app).cursor < frame.index.span


async def test_a_layout_file_loads_and_a_bad_one_is_reported(tmp_path: Path) -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        source = Path(__file__).resolve().parents[2] / "kmsan_tui" / "layouts" / "qemu-2g.toml"
        good = tmp_path / "mine.toml"
        good.write_text(source.read_text().replace('name = "qemu-2g"', 'name = "mine"'))
        explorer(app).load_layout(str(good))
        await settle(pilot)
        assert explorer(app).frame.layout_name == "mine"
        bad = tmp_path / "bad.toml"
        bad.write_text("[machine\n")
        explorer(app).load_layout(str(bad))
        await settle(pilot)
        assert any("bad.toml" in n.message for n in app._notifications)
        assert explorer(app).frame.layout_name == "mine"


async def test_sessions_save_and_open(tmp_path: Path) -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        path = tmp_path / "s.json"
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = str(path)
        await pilot.press("enter")
        await settle(pilot)
        assert path.exists()
        await pilot.press("e")
        await settle(pilot)
        explorer(app).submit("open", lambda: explorer(app).runner.open(path))
        await settle(pilot)
        assert explorer(app).frame.step_name == "mem_init"
