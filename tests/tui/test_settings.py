"""The settings: kernel profile, sanitizer, strategy and its options, from the explorer."""

from __future__ import annotations

from textual.widgets import Select

from kmsan_tui.model import load_layout
from kmsan_tui.session import RunTo, Session, Step, SwitchStrategy, Workload
from kmsan_tui.tui.runner import Runner
from kmsan_tui.tui.screens.settings import SettingsScreen, open_settings
from kmsan_tui.tui.settings import Settings, apply_settings, replay_commands

from .conftest import explorer, make_app, settle


def test_another_kernels_boot_runs_to_the_last_step_both_share() -> None:
    old = ("a", "b", "c", "d")
    new = ("a", "c", "x", "d")
    path = (Step(), Step(), Step(), Workload("thp", 10), Step())
    assert list(replay_commands(old, new, path)) == [
        RunTo("c"), Workload("thp", 10), RunTo("d")]
    assert list(replay_commands(old, new, (Step(), Step()))) == [RunTo("a")]
    assert list(replay_commands(old, new, ())) == []


def test_a_strategy_option_is_a_recorded_switch() -> None:
    runner = Runner(Session(load_layout("qemu-2g"), "eager"))
    runner.start()
    runner.run_to(runner.session.steps.index("mem_init"))
    current = Settings.of(runner.session)
    options = tuple(sorted({**dict(current.options), "lazy_activation": "page_ext_init"}.items()))
    frame = apply_settings(runner, Settings(current.kernel, current.sanitizer, "lazy", options),
                           cancel=lambda: False)
    assert frame.strategy == "lazy" and frame.step_name == "mem_init"
    assert runner.session.log[-1].command == SwitchStrategy(
        "lazy", (("lazy_activation", "page_ext_init"),))
    assert dict(runner.session.config.options)["lazy_activation"] == "page_ext_init"


def test_a_kernel_profile_change_redoes_the_session_on_the_new_boot() -> None:
    runner = Runner(Session(load_layout("qemu-2g"), "eager"))
    runner.start()
    runner.run_all()
    runner.workload("fragmenter", 300)
    current = Settings.of(runner.session)
    assert current.kernel != "v6.1"
    frame = apply_settings(runner, Settings("v6.1", current.sanitizer, current.strategy,
                                            current.options), cancel=lambda: False)
    assert runner.session.setup.kernel == "v6.1"
    assert frame.done and frame.series[-1].label == "fragmenter×300"
    assert frame.metrics.kernel == "v6.1"


async def test_the_dialog_applies_a_sanitizer_from_the_explorer() -> None:
    app = make_app("qemu-2g", at="mem_init")
    async with app.run_test(size=(80, 24)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        open_settings(screen)
        await pilot.pause()
        dialog = app.screen
        assert isinstance(dialog, SettingsScreen)
        dialog.query_one("#set-sanitizer", Select).value = "none"
        await pilot.pause()
        assert "new session" in str(dialog.query_one("#changes").render())
        await pilot.click("#apply")
        await settle(pilot)
        assert screen.frame.sanitizer == "none" and screen.frame.step_name == "mem_init"
        assert screen.frame.metrics.metadata_pages == 0


async def test_escape_leaves_the_settings_as_they_were() -> None:
    app = make_app("qemu-2g", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        frame = screen.frame
        open_settings(screen)
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot)
        assert screen.frame is frame
