"""Every shipped lesson, done as a learner does it: keys only, from `kmsan-tui tutorial`."""

from __future__ import annotations

from textual.pilot import Pilot

from kmsan_tui.cli.commands.tutorial import lesson_app
from kmsan_tui.tui.app import KmsanApp
from kmsan_tui.tui.screens.explorer import ExplorerScreen
from kmsan_tui.tutorial import Progress, find_lesson, shipped_lessons

from .conftest import explorer, settle


def app_for(spec: str, keymap: dict[str, str] | None = None) -> KmsanApp:
    return lesson_app(find_lesson(spec), keymap=keymap, flash_changes=False)


async def typed(pilot: Pilot, text: str) -> None:
    await pilot.press(*[{" ": "space", ".": "full_stop"}.get(c, c) for c in text])


async def answer(pilot: Pilot, text: str) -> None:
    """Type a number into the question the panel asks, and press Enter."""
    await typed(pilot, text)
    await pilot.press("enter")
    await settle(pilot)


async def go(pilot: Pilot, place: str) -> None:
    """``g`` and a place: a pfn, an address, a boot step."""
    await pilot.press("g")
    await pilot.pause()
    await typed(pilot, place)
    await pilot.press("enter")
    await settle(pilot)


def finished(screen: ExplorerScreen) -> bool:
    run = screen.lesson_run
    assert run is not None
    return run.complete and run.lesson.slug in Progress.load().finished


async def test_lesson_1_buddy_split_and_merge() -> None:
    app = app_for("1")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await answer(pilot, "8")
        assert screen.frame.step_name == "memblock_free_all"  # the reveal ran the hand-over
        await pilot.press("a", "enter")  # order 0
        await pilot.pause()
        await pilot.press("up", "enter")  # Unmovable (the list opens on Movable)
        await settle(pilot)
        assert screen.lesson_run.reached.keys() == {"split"}
        await pilot.press("X")  # the cursor is on the new page
        await settle(pilot)
        assert finished(screen)


async def test_lesson_2_memblock_then_the_hand_off() -> None:
    app = app_for("memblock")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        assert screen.lesson_run.pending_prediction() is None  # it asks after the memmap
        for _ in range(screen.frame.step_names.index("sparse_init") + 1):
            await pilot.press("n")
        await settle(pilot)
        assert "memmap" in screen.lesson_run.reached
        await answer(pilot, "3900")
        assert screen.frame.step_name == "memblock_free_all"
        await go(pilot, "0x1001")  # the kernel image
        await go(pilot, "0x20000")  # 512 MiB: handed over
        assert finished(screen)


async def test_lesson_3_kmsan_shadow_and_origin() -> None:
    app = app_for("3")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await answer(pilot, "2500")
        await pilot.press("s")  # the kernel image's shadow
        await settle(pilot)
        await pilot.press("d")  # back to its data
        await settle(pilot)
        await go(pilot, "kmsan_init_runtime")
        assert finished(screen)


async def test_lesson_4_lazy_blind_spots_and_the_back_fill() -> None:
    app = app_for("lazy")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await answer(pilot, "16384")
        assert screen.frame.step_name == "page_ext_init"
        await pilot.press("e")  # the end of the boot: the kernel image's metadata failed
        await settle(pilot)
        sim = screen.runner.session.sim
        blind = next(start for start, _end, value in sim.kmsan
                     if type(value).__name__ == "Blind")  # the learner sees a ! cell
        await go(pilot, hex(blind))
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("enter")  # the fragmenter, 20,000 operations
        await settle(pilot, timeout=60)
        assert screen.frame.metrics.failed_metadata_allocs > 1
        await pilot.press("K")
        await settle(pilot)
        assert finished(screen)


async def test_lesson_5_fixed_addresses() -> None:
    app = app_for("fixed")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await answer(pilot, "18")
        await pilot.press("x")  # Shadow regions (already shown: the key counts)
        await settle(pilot)
        await answer(pilot, "4")  # the question asked after the regions
        assert screen.frame.done
        await go(pilot, "4G")
        await pilot.press("s")
        await settle(pilot)
        assert finished(screen)


async def test_lesson_6_the_trade_off_ends_on_a_conclusion() -> None:
    app = app_for("tradeoff")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await pilot.press("down", "down", "enter")  # fixed
        await settle(pilot, timeout=60)
        assert screen.lesson_run.answers["most-usable"].correct
        await pilot.press("c")
        await pilot.pause()
        await pilot.press("escape")
        await settle(pilot)
        await pilot.press("down", "enter")  # no
        await settle(pilot)
        assert screen.lesson_run.answers["conclusion"].correct
        assert finished(screen)


def test_every_shipped_lesson_has_a_test_here() -> None:
    assert len(shipped_lessons()) == 6
