"""The app around the explorer: palette, help, keys, keymaps, screenshots, quitting."""

from __future__ import annotations

from pathlib import Path

import pytest
from textual.binding import Binding
from textual.widgets import HelpPanel

from kmsan_tui.model import Simulation
from kmsan_tui.model.errors import UserError
from kmsan_tui.tui.keymap import binding_groups, known_ids, load_keymap
from kmsan_tui.tui.screens.keys import KeysScreen
from kmsan_tui.tui.screenshot import take_screenshot
from kmsan_tui.tui.widgets.memory_map import MemoryMap

from .conftest import explorer, make_app, settle, text_of


def test_every_binding_has_a_unique_id() -> None:
    ids = [b.id for _, group in binding_groups() for b in group]
    assert all(ids)
    assert len(ids) == len(set(ids))


async def test_ctrl_q_quits_with_exit_code_0() -> None:
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n")
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_the_command_palette_runs_to_a_step() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"run to step mem_init")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        assert explorer(app).frame.step_name == "mem_init"


async def test_the_command_palette_goes_to_a_pfn() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"0x4321")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await pilot.pause()
        assert explorer(app).cursor == 0x4321


async def test_question_mark_lists_every_key_with_its_id() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, KeysScreen)
        text = text_of(app.screen.query_one("Static"))
        for binding_id in ("step", "undo", "autoplay", "follow_shadow", "map.left"):
            assert binding_id in text
        await pilot.press("escape")
        assert app.screen is explorer(app)


async def test_f1_shows_the_focused_panels_help() -> None:
    app = make_app()
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m", "f1")
        await pilot.pause()
        assert app.screen.query_one(HelpPanel)
        await pilot.press("f1")
        await pilot.pause()
        assert not app.screen.query(HelpPanel)
        assert MemoryMap.HELP and "glyph" in MemoryMap.HELP


async def test_a_keymap_file_rebinds_a_binding_id(tmp_path: Path) -> None:
    path = tmp_path / "keymap.toml"
    path.write_text('step = "y"\nautoplay = "v"\n')
    app = make_app(keymap=load_keymap(path, known_ids()))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("y", "n")
        await settle(pilot)
        assert explorer(app).runner.session.sim.current == 1
        await pilot.press("question_mark")
        await pilot.pause()
        assert "y" in text_of(app.screen.query_one("Static"))


@pytest.mark.parametrize(("content", "message"), [
    ('nope = "x"\n', "nope: unknown binding id"),
    ("step = 3\n", "step: expected a key string"),
    ("step = \n", "keymap.toml"),
])
def test_a_bad_keymap_is_a_user_error(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "keymap.toml"
    path.write_text(content)
    with pytest.raises(UserError, match=message):
        load_keymap(path, known_ids())


async def test_f12_saves_a_screenshot_into_the_screenshots_directory(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """./screenshots when there is one (a checkout), else the data directory's; never
    the working directory itself."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    app = make_app()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("f12")
        await pilot.pause()
        (tmp_path / "screenshots").mkdir()
        await pilot.press("f12")
        await pilot.pause()
        said = [n.message for n in app._notifications if "screenshot saved to" in n.message]
    assert not list(tmp_path.glob("*.svg"))
    data = list((tmp_path / "data" / "kmsan-tui" / "screenshots").glob("kmsan-tui-*.svg"))
    local = list((tmp_path / "screenshots").glob("kmsan-tui-*.svg"))
    assert len(data) == 1 and len(local) == 1 and "<svg" in local[0].read_text()
    assert str(data[0]) in said[0] and str(local[0]) in said[1]


def test_take_screenshot_renders_the_explorer_at_a_step(tmp_path: Path) -> None:
    out = tmp_path / "shot.svg"
    take_screenshot(Simulation("qemu-2g", "lazy"), "mem_init", out, (100, 30))
    svg = out.read_text()
    assert "<svg" in svg and "mem_init" in svg and "lazy" in svg


async def test_map_colour_palettes_switch_from_the_palette() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        explorer(app).set_palette("mono")
        await pilot.pause()
        assert explorer(app).query_one(MemoryMap).palette == "mono"


def test_bindings_are_binding_objects() -> None:
    assert all(isinstance(b, Binding) for _, group in binding_groups() for b in group)


def test_run_app_refuses_a_bad_keymap_before_starting(tmp_path: Path) -> None:
    from kmsan_tui.model import load_layout
    from kmsan_tui.tui.app import run_app

    path = tmp_path / "keymap.toml"
    path.write_text('nope = "x"\n')
    with pytest.raises(UserError, match="unknown binding id"):
        run_app(load_layout("qemu-8g"), keymap=str(path))
