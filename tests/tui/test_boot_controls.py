"""Driving the boot: step, step back, next init call, run to a step or the end, autoplay."""

from __future__ import annotations

import time

import pytest
from textual.widgets import Label, OptionList

from kmsan_tui.model.events import Event
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.tui.runner import memory_fingerprint
from kmsan_tui.tui.screens.pick import PickScreen
from kmsan_tui.tui.widgets.boot_timeline import BootTimeline
from kmsan_tui.tui.widgets.status_bar import StatusBar

from .conftest import explorer, make_app, settle, text_of


async def test_starts_on_qemu_8g_eager_before_the_first_step() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        assert screen.runner.session.sim.current == 0
        assert (screen.frame.layout_name, screen.frame.strategy) == ("qemu-8g", "eager")
        status = text_of(app.screen.query_one(StatusBar).query_one("#status", Label))
        assert status.strip() == f"step 0/{screen.frame.nsteps} · (before boot) · eager · qemu-8g"


async def test_n_runs_one_step_and_the_status_and_timeline_follow() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("n", "n")
        await settle(pilot)
        screen = explorer(app)
        sim = screen.runner.session.sim
        assert sim.current == 2
        assert screen.frame.step_index == 2
        assert f"step 2/{len(sim.steps)} · {sim.steps[1]}" in text_of(
            screen.query_one(StatusBar).query_one("#status", Label))
        steps = screen.query_one(BootTimeline).query_one(OptionList)
        assert steps.highlighted == 1


async def test_u_steps_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("n", "n", "n", "u")
        await settle(pilot)
        assert explorer(app).runner.session.sim.current == 2
        assert explorer(app).frame.step_index == 2


async def test_step_back_at_the_start_says_so_and_changes_nothing() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await pilot.press("u")
        await settle(pilot)
        assert explorer(app).runner.session.sim.current == 0
        assert any("nothing to step back" in n.message for n in app._notifications)


async def test_next_init_call_runs_until_memory_changes() -> None:
    app = make_app(at="build_all_zonelists")
    async with app.run_test(size=(120, 40)) as pilot:
        before = memory_fingerprint(explorer(app).runner.session.sim)
        start = explorer(app).frame.step_index
        await pilot.press("right_square_bracket")
        await settle(pilot)
        frame = explorer(app).frame
        assert frame.step_index > start
        assert memory_fingerprint(explorer(app).runner.session.sim) != before


async def test_e_runs_to_the_end() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("e")
        await settle(pilot)
        assert explorer(app).runner.session.sim.done
        assert explorer(app).frame.step_name == explorer(app).frame.step_names[-1]


async def test_enter_on_a_timeline_step_runs_to_it_and_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("t")
        steps = explorer(app).query_one("#steps", OptionList)
        target = explorer(app).frame.step_names.index("mem_init")
        steps.highlighted = target
        await pilot.press("enter")
        await settle(pilot)
        assert explorer(app).frame.step_name == "mem_init"
        steps.highlighted = 3
        await pilot.press("enter")
        await settle(pilot)
        assert explorer(app).runner.session.sim.current == 4


def _marks(steps: OptionList) -> str:
    return "".join(str(steps.get_option_at_index(i).prompt)[0] for i in range(steps.option_count))


async def test_timeline_marks_follow_jumps_forward_and_back() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        screen = explorer(app)
        steps = screen.query_one("#steps", OptionList)
        n = screen.frame.nsteps
        assert _marks(steps) == "›" + " " * (n - 1)
        for target in (screen.frame.step_names.index("mem_init"), 3, n - 1, 0):
            screen.run_to(target)
            await settle(pilot)
            assert _marks(steps) == "✓" * target + "●" + ("›" + " " * (n - target - 2)
                                                          if target < n - 1 else "")
        await pilot.press("u")
        await settle(pilot)
        assert _marks(steps) == "›" + " " * (n - 1)


async def test_r_picks_a_step_to_run_to() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, PickScreen)
        options = app.screen.query_one(OptionList)
        options.highlighted = explorer(app).frame.step_names.index("kmsan_init_shadow")
        await pilot.press("enter")
        await settle(pilot)
        assert explorer(app).frame.step_name == "kmsan_init_shadow"


async def test_space_autoplays_and_pauses() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("greater_than_sign", "greater_than_sign", "greater_than_sign")
        await pilot.press("space")
        assert explorer(app).autoplay_speed == 16.0
        await pilot.pause(0.6)
        await pilot.press("space")
        await settle(pilot)
        ran = explorer(app).runner.session.sim.current
        assert ran >= 2
        assert explorer(app).autoplay_speed == 0
        await pilot.pause(0.3)
        assert explorer(app).runner.session.sim.current == ran


async def test_escape_stops_a_long_run(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Simulation.step

    def slow_step(self: Simulation) -> list[Event]:
        time.sleep(0.2)
        return original(self)

    monkeypatch.setattr(Simulation, "step", slow_step)
    app = make_app(layout="qemu-2g")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = explorer(app)
        await pilot.press("e")
        await pilot.pause(0.2)
        await pilot.press("escape")
        await settle(pilot)
        assert 0 < screen.runner.session.sim.current < screen.frame.nsteps
        assert screen.frame.step_index == screen.runner.session.sim.current


async def test_a_model_error_is_reported_and_the_explorer_goes_on(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Simulation) -> None:
        raise RuntimeError("simulated bug")

    monkeypatch.setattr(Simulation, "step", broken)
    app = make_app()
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        screen = explorer(app)
        await pilot.press("n")
        await settle(pilot)
        assert any("simulated bug" in n.message for n in app._notifications)
        assert screen.idle and screen.frame.step_index == 0


async def test_a_step_runs_on_the_ui_thread_only_when_the_machine_is_quick() -> None:
    app = make_app("tiny-64m")
    async with app.run_test(size=(120, 40)) as pilot:
        screen = explorer(app)
        await pilot.press("n")
        await settle(pilot)
        assert screen.quick and screen.frame.step_index == 1
        # A machine whose steps are slow (as monster-16t's are): the step goes to the
        # worker, the status line says so, and the result is the same.
        screen.runner.last_step_seconds = 1.0
        assert not screen.quick
        screen.action_step()
        assert screen.running == "step"
        await settle(pilot)
        assert screen.frame.step_index == 2 and screen.running == ""
