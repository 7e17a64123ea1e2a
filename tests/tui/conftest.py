"""Helpers for the explorer's Pilot and snapshot tests.

Apps are built by the same factory the CLI uses, with animations off; a state other
than "before the first step" is reached before the app starts (``at=``), so
snapshots never depend on worker timing. ``settle`` waits until every queued
command has run and the screen has drawn its frame.
"""

from __future__ import annotations

import asyncio
import inspect
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.pilot import Pilot
from textual.widget import Widget

from kmsan_tui.model import load_layout
from kmsan_tui.session import Session
from kmsan_tui.tui.app import KmsanApp
from kmsan_tui.tui.runner import Runner
from kmsan_tui.tui.screens.explorer import ExplorerScreen


def make_app(layout: str = "qemu-8g", strategy: str = "eager", at: str | None = None,
             keymap: dict[str, str] | None = None, seed: int = 0) -> KmsanApp:
    """An explorer on ``layout``; ``at`` runs the boot to that step first."""
    runner = Runner(Session(load_layout(layout), strategy, seed))
    if at is not None:
        runner.run_to(runner.session.sim.index_of(at))
    return KmsanApp(runner, keymap=keymap, flash_changes=False)


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Autosaves and saves of the explorer under test go to a directory of the test's own
    (never the user's ~/.local/share, never the checkout's saves/)."""
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    monkeypatch.chdir(tmp_path)
    return data


def step_before(step: str, layout: str = "qemu-8g") -> str:
    """The boot step that runs right before ``step`` (the order is the kernel profile's)."""
    steps = Session(load_layout(layout)).steps
    return steps[steps.index(step) - 1]


def explorer(app: KmsanApp) -> ExplorerScreen:
    for screen in app.screen_stack:
        if isinstance(screen, ExplorerScreen):
            return screen
    raise AssertionError("no explorer screen")


async def settle(pilot: Pilot, timeout: float = 30.0) -> None:
    """Wait until no command is running or queued, then let the screen redraw."""
    waited = 0.0
    await pilot.pause()
    while not explorer(pilot.app).idle and waited < timeout:  # type: ignore[arg-type]
        await pilot.pause(0.02)
        waited += 0.02
    assert explorer(pilot.app).idle, "a command did not finish"  # type: ignore[arg-type]
    await pilot.pause()
    await pilot.pause()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests in a fresh event loop (no pytest-asyncio needed)."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    names = pyfuncitem._fixtureinfo.argnames
    kwargs = {name: pyfuncitem.funcargs[name] for name in names}
    asyncio.run(pyfuncitem.obj(**kwargs))
    return True


def text_of(widget: Widget) -> str:
    """What a widget shows on screen, as plain text (lines joined by newlines)."""
    width, height = widget.outer_size
    strips = widget.render_lines(Region(0, 0, width, height))
    return "\n".join(strip.text for strip in strips)
