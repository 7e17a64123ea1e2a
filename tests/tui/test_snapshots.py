"""Snapshots of the explorer (SVG, compared with tests/tui/__snapshots__).

Deterministic: the state is reached before the app starts, animations are off, the
cursor blink is off, there are no timestamps. Update after checking them by eye:
``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

from textual.pilot import Pilot
from textual.widgets import Input

from kmsan_tui.model.pages import PageState

from .conftest import explorer, make_app, settle


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


def test_comparison_eager_vs_lazy(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def compare(pilot: Pilot) -> None:
        await pilot.press("c")
        screen = pilot.app.screen
        for _ in range(500):
            await pilot.pause(0.02)
            if getattr(screen, "right", None) is not None:
                break
        await pilot.pause()

    assert snap_compare(make_app(at="mem_init"), terminal_size=(120, 40), run_before=compare)


def test_fixed_mode_address_layout(snap_compare) -> None:  # type: ignore[no-untyped-def]
    async def regions(pilot: Pilot) -> None:
        await pilot.press("x")
        await _steady(pilot)

    assert snap_compare(make_app(strategy="fixed", at="mem_init"), terminal_size=(120, 40),
                        run_before=regions)
