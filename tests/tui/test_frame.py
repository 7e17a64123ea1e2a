"""Frames are frozen snapshots: widgets and screens draw plain data and never see the
model's Simulation; the kernel log is shared between frames, not copied into each."""

from __future__ import annotations

import ast
import dataclasses
import importlib
import importlib.util
import inspect
import pkgutil
import typing
from pathlib import Path
from types import ModuleType

import pytest

from kmsan_tui.model import load_layout
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.session import Session
from kmsan_tui.tui import screens, widgets
from kmsan_tui.tui.eventlog import EventLog
from kmsan_tui.tui.frame import Frame, PageLookup
from kmsan_tui.tui.runner import Runner

SIMULATION_MODULE = "kmsan_tui.model.simulation"


def _ui_modules() -> list[ModuleType]:
    """Every module under kmsan_tui/tui/widgets and kmsan_tui/tui/screens, imported."""
    found = []
    for package in (widgets, screens):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            found.append(importlib.import_module(info.name))
    return found


UI_MODULES = _ui_modules()


def _source(module: ModuleType) -> str:
    return Path(inspect.getsourcefile(module) or "").read_text()


def _imported(source: str, package: str) -> set[str]:
    """Every name an import statement anywhere in ``source`` brings in, as
    ``package.module`` or ``package.module.Name`` (TYPE_CHECKING blocks and imports
    inside functions included; relative imports resolved against ``package``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = importlib.util.resolve_name("." * node.level + base, package)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def _imports_the_simulation(names: set[str]) -> bool:
    """The module, anything in it, or the class re-exported by ``kmsan_tui.model``."""
    return any(name == SIMULATION_MODULE or name.startswith(SIMULATION_MODULE + ".")
               or name == "kmsan_tui.model.Simulation" for name in names)


def test_the_ui_modules_are_found() -> None:
    names = {m.__name__.rsplit(".", 1)[1] for m in UI_MODULES}
    assert {"explorer", "compare", "kernel_log", "free_lists", "page_inspector",
            "shadow_regions", "boot_timeline"} <= names


@pytest.mark.parametrize("source", [
    "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
    "    from kmsan_tui.model.simulation import Simulation\n",
    "def f():\n    import kmsan_tui.model.simulation\n",
    "from kmsan_tui.model import Simulation\n",
    "from kmsan_tui.model import simulation as s\n",
    "from ...model.simulation import Simulation\n",
])
def test_the_check_finds_every_way_to_import_the_simulation(source: str) -> None:
    assert _imports_the_simulation(_imported(source, "kmsan_tui.tui.widgets"))


def test_the_check_lets_other_model_modules_through() -> None:
    source = "from kmsan_tui.model.pages import PageView\nfrom kmsan_tui.model import load_layout\n"
    assert not _imports_the_simulation(_imported(source, "kmsan_tui.tui.widgets"))


@pytest.mark.parametrize("module", UI_MODULES, ids=lambda m: m.__name__)
def test_no_widget_or_screen_imports_the_simulation(module: ModuleType) -> None:
    imported = _imported(_source(module), module.__package__ or "")
    assert not _imports_the_simulation(imported), sorted(
        name for name in imported if "simulation" in name.lower())


@pytest.mark.parametrize("module", UI_MODULES, ids=lambda m: m.__name__)
def test_no_widget_or_screen_reads_a_simulation_attribute(module: ModuleType) -> None:
    uses = [node.lineno for node in ast.walk(ast.parse(_source(module)))
            if isinstance(node, ast.Attribute) and node.attr == "sim"]
    assert not uses, f"{module.__name__}: `.sim` on lines {uses}"


def _mentions_simulation(hint: object) -> bool:
    if hint is Simulation:
        return True
    return any(_mentions_simulation(arg) for arg in typing.get_args(hint))


def test_no_frame_field_is_typed_as_a_simulation() -> None:
    hints = typing.get_type_hints(Frame)
    names = [field.name for field in dataclasses.fields(Frame)]
    assert "sim" not in names
    assert not [name for name in names if _mentions_simulation(hints[name])]
    assert hints["lookup"] is PageLookup


def test_no_frame_field_holds_a_simulation() -> None:
    runner = Runner(Session(load_layout("qemu-2g"), "eager", 0))
    runner.start()
    frame = runner.run_to(runner.session.sim.index_of("mem_init"))
    for field in dataclasses.fields(Frame):
        value = getattr(frame, field.name)
        assert not isinstance(value, Simulation), field.name
        if isinstance(value, tuple):
            assert not any(isinstance(item, Simulation) for item in value), field.name


# ---------------------------------------------------------------------- the log


def runner_at(step: str) -> Runner:
    runner = Runner(Session(load_layout("qemu-2g"), "eager", 0))
    runner.start()
    runner.run_to(runner.session.sim.index_of(step))
    return runner


def everything(log: EventLog) -> tuple[object, ...]:
    return log.since(None, len(log)) or ()


def test_a_frames_log_is_the_simulations() -> None:
    runner = runner_at("mem_init")
    assert runner.frame is not None
    assert everything(runner.frame.log) == tuple(runner.session.sim.events)


def test_a_step_adds_only_its_lines_to_the_previous_frames_log() -> None:
    runner = runner_at("memblock_free_all")
    before = runner.frame
    assert before is not None
    after = runner.step()
    assert after.log.parent is before.log
    assert after.log.tail == tuple(runner.session.sim.events[len(before.log):])
    assert after.log.since(before.log, 10**6) == after.log.tail


def test_a_step_back_gives_back_the_earlier_frames_log() -> None:
    runner = runner_at("memblock_free_all")
    assert runner.frame is not None
    earlier = runner.frame.log
    runner.step()
    runner.step()
    assert runner.undo().log is not earlier
    assert runner.undo().log is earlier


def test_a_log_that_does_not_continue_another_says_so() -> None:
    runner = runner_at("memblock_free_all")
    assert runner.frame is not None
    shown = runner.frame.log
    back = runner.undo().log
    assert back.since(shown, 100) is None
    switched = runner.switch("lazy").log
    assert switched.parent is None
    assert switched.since(back, 100) is None


def test_since_keeps_the_newest_lines_up_to_the_limit() -> None:
    runner = runner_at("mem_init")
    assert runner.frame is not None
    log = runner.frame.log
    events = tuple(runner.session.sim.events)
    assert log.since(None, 5) == events[-5:]
    assert log.since(None, 0) == ()
    assert log.since(log, 5) == ()
