"""Snapshots of the explorer (SVG, compared with tests/tui/__snapshots__).

Deterministic: the state is reached before the app starts, animations are off, the
cursor blink is off, there are no timestamps. Update after checking them by eye:
``pytest tests/tui/test_snapshots.py --snapshot-update``.

The screens a new user meets are taken at 80x24, 120x40 and 200x60: the explorer
right after the hand-over (order 10 in the free lists), a long step explanation read
to its end, the kernel log with wrapped lines, the comparison and the heat view.
"""

from __future__ import annotations

import pytest
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from kmsan_tui.model.pages import PageState
from kmsan_tui.tui.screens.heat import HeatScreen
from kmsan_tui.tui.widgets.boot_timeline import BootTimeline
from kmsan_tui.tui.widgets.step_detail import StepDetail

from .conftest import explorer, make_app, settle, step_before

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40"),
         pytest.param((200, 60), id="200x60")]


async def _steady(pilot: Pilot) -> None:
    for widget in pilot.app.query(Input):
        widget.cursor_blink = False
    await settle(pilot)


def test_main_screen_80x24(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(at="mem_init"), terminal_size=(80, 24), run_before=_steady)


def test_main_screen_160x48(snap_compare) -> None:  # type: ignore[no-untyped-def]
    assert snap_compare(make_app(at="mem_init"), terminal_size=(160, 48), run_before=_steady)


def test_inspector_on_a_shadow_page(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def follow_shadow(pilot: Pilot) -> None:
        screen = explorer(pilot.app)  # type: ignore[arg-type]
        frame = screen.frame
        pfn = next(p for p in range(0x1000, frame.index.span, 0x800)
                   if frame.lookup.page(p).kmsan_shadow is not None
                   and frame.lookup.page(p).state is not PageState.HOLE)
        screen.go_to_pfn(pfn)
        await pilot.press("plus", "plus", "plus", "s")
        await _steady(pilot)

    assert snap_compare(make_app(at="mem_init"), terminal_size=(120, 40),
                        run_before=follow_shadow)


def test_fixed_mode_address_layout(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def regions(pilot: Pilot) -> None:
        await pilot.press("x")
        await _steady(pilot)

    assert snap_compare(make_app(strategy="fixed", at="mem_init"), terminal_size=(120, 40),
                        run_before=regions)


@pytest.mark.parametrize("size", SIZES)
def test_explorer_after_memblock_free_all(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """server-1t right after the hand-over: every free count changed, and order 10 (the
    4 MiB blocks that hold nearly all free memory) is in sight at every size."""
    async def hand_over(pilot: Pilot) -> None:
        await pilot.press("n")
        await _steady(pilot)

    app = make_app("server-1t", at=step_before("memblock_free_all", "server-1t"))
    assert snap_compare(app, terminal_size=size, run_before=hand_over)


@pytest.mark.parametrize("size", SIZES)
def test_long_step_explanation_read_to_its_end(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """The longest explanation, its last sentence (what it means for KMSAN) in sight:
    scrolled to its end in the timeline's box, or full screen (v) at 80x24, where the
    box has three lines."""
    async def read(pilot: Pilot) -> None:
        screen = explorer(pilot.app)  # type: ignore[arg-type]
        await pilot.press("t")
        steps = screen.frame.steps
        longest = max(range(len(steps)), key=lambda i: len(steps[i].explanation))
        screen.query_one(BootTimeline).query_one("#steps", OptionList).highlighted = longest
        await pilot.pause()
        detail = screen.query_one(StepDetail)
        if size == (80, 24):
            await pilot.press("v")
        else:
            detail.focus()
        await pilot.pause()
        detail.scroll_end(animate=False, immediate=True)
        await _steady(pilot)

    assert snap_compare(make_app(at="mem_init"), terminal_size=size, run_before=read)


@pytest.mark.parametrize("size", SIZES)
def test_kernel_log_with_wrapped_lines(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    """Right after mem_init_print_info(): the log ends with the kernel's Memory: line,
    139 characters, wrapped with its continuation indented at every size."""
    async def log(pilot: Pilot) -> None:
        await pilot.press("K")
        await _steady(pilot)

    app = make_app(at="mem_init_print_info")
    assert snap_compare(app, terminal_size=size, run_before=log)


@pytest.mark.parametrize("size", SIZES)
def test_comparison_eager_vs_lazy(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    async def compare(pilot: Pilot) -> None:
        await pilot.press("c")
        screen = pilot.app.screen
        for _ in range(500):
            await pilot.pause(0.02)
            if getattr(screen, "right", None) is not None:
                break
        await pilot.pause()

    assert snap_compare(make_app(at="mem_init"), terminal_size=size, run_before=compare)


@pytest.mark.parametrize("size", SIZES)
def test_heat_view_of_the_boot_and_a_workload(snap_compare, size) -> None:  # type: ignore[no-untyped-def]
    async def heat(pilot: Pilot) -> None:
        screen = explorer(pilot.app)  # type: ignore[arg-type]
        pilot.app.push_screen(HeatScreen(screen.frame, screen.palette))
        await pilot.pause()
        await pilot.pause()

    app = make_app("qemu-8g", at="efi_free_boot_services")
    app.runner.workload("fragmenter", 20000)
    assert snap_compare(app, terminal_size=size, run_before=heat)
