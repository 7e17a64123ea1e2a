"""Palette commands of every screen: screenshots, definitions; and the explorer's settings
and views offered there."""

from __future__ import annotations

from pathlib import Path

from kmsan_tui.model.metrics import DEFINITIONS
from kmsan_tui.tui.screens.compare import CompareScreen
from kmsan_tui.tui.screens.definitions import DefinitionsScreen
from kmsan_tui.tui.screens.heat import HeatScreen
from kmsan_tui.tui.screens.settings import SettingsScreen
from kmsan_tui.tui.shots import screenshot_dir, screenshot_path

from .conftest import explorer, make_app, settle


async def _palette(pilot, text: str) -> None:  # type: ignore[no-untyped-def]
    await pilot.press("ctrl+p")
    await pilot.pause()
    await pilot.press(*text)
    await pilot.pause(0.3)
    await pilot.press("enter")
    await pilot.pause(0.3)


async def test_a_screenshot_of_the_comparison_goes_into_the_screenshots_directory(
        private_data_dir: Path) -> None:
    app = make_app("qemu-2g", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        assert isinstance(app.screen, CompareScreen)
        await _palette(pilot, "Save screenshot")
        await pilot.pause(0.3)
        assert screenshot_dir() == private_data_dir / "kmsan-tui" / "screenshots"
        shots = list(screenshot_dir().glob("kmsan-tui-*.svg"))
        assert len(shots) == 1 and "<svg" in shots[0].read_text()
        assert any("screenshot saved to" in n.message for n in app._notifications)
        assert not list(Path().glob("*.svg"))  # nothing in the working directory
        await pilot.press("f12")  # the key too, on this screen as on every other
        await pilot.pause(0.3)
        assert isinstance(app.screen, CompareScreen)
        assert len(list(screenshot_dir().glob("kmsan-tui-*.svg"))) == 2


def test_screenshot_names_never_overwrite(tmp_path: Path) -> None:
    first = screenshot_path(tmp_path, now=0)
    first.write_text("x")
    assert screenshot_path(tmp_path, now=0) == tmp_path / (first.stem + "-2.svg")


async def test_definitions_are_reachable_from_the_comparison() -> None:
    app = make_app("qemu-2g", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("c")
        await pilot.pause()
        await _palette(pilot, "Define: KMSAN metadata")
        assert any(n.message == DEFINITIONS["metadata_pages"].definition
                   for n in app._notifications)
        await _palette(pilot, "Definitions")
        assert isinstance(app.screen, DefinitionsScreen)
        await pilot.press("escape")
        assert isinstance(app.screen, CompareScreen)


async def test_the_palette_opens_the_settings_and_the_heat_view() -> None:
    app = make_app("qemu-2g", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await _palette(pilot, "Settings: kernel")
        assert isinstance(app.screen, SettingsScreen)
        await pilot.press("escape")
        await pilot.pause()
        await _palette(pilot, "Heat view")
        assert isinstance(app.screen, HeatScreen)


async def test_a_palette_address_past_the_end_of_memory_says_so() -> None:
    app = make_app("qemu-2g", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        cursor = explorer(app).cursor
        await _palette(pilot, "0x900000000")
        assert explorer(app).cursor == cursor
        assert any("past the end of memory" in n.message for n in app._notifications)
