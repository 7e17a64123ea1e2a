"""The guided tutorial: lessons whose goals tick as the explorer shows them reached."""

from __future__ import annotations

from textual.widgets import Static, TabbedContent

from kmsan_tui.model.pages import PageState
from kmsan_tui.tui.tutorial import LESSONS, TutorialState
from kmsan_tui.tui.widgets.tutorial_panel import TutorialPanel

from .conftest import explorer, make_app, settle, text_of

STEPS = ("e820__memblock_setup", "sparse_init", "kmsan_init_shadow", "memblock_free_all",
         "mem_init")


def shown(panel: TutorialPanel) -> str:
    return panel.border_title + "\n" + "\n".join(text_of(w) for w in panel.query(Static))


def state(**changes: object) -> TutorialState:
    base: dict[str, object] = dict(
        steps=STEPS, step_index=0, strategy="eager", sanitizer="kmsan",
        page_state=PageState.HOLE, tab="free-lists", done=frozenset())
    base.update(changes)
    return TutorialState(**base)  # type: ignore[arg-type]


def test_goals_follow_the_state_they_name() -> None:
    first, reserved, shadow, handover, follow, lazy, fixed, compare = LESSONS
    assert not first.reached(state()) and first.reached(state(step_index=1))
    assert not reserved.reached(state(step_index=2, page_state=PageState.FREE))
    assert reserved.reached(state(step_index=2, page_state=PageState.RESERVED))
    assert shadow.reached(state(step_index=3))
    assert not shadow.reached(state(step_index=3, sanitizer="kasan"))
    assert handover.reached(state(step_index=4))
    assert not handover.reached(state(step_index=4, strategy="lazy"))
    assert not handover.reached(state(step_index=4, tab="metrics"))
    assert not follow.reached(state(page_state=PageState.SHADOW))
    assert follow.reached(state(page_state=PageState.ORIGIN, done=frozenset({"follow"})))
    assert lazy.reached(state(step_index=5, strategy="lazy"))
    assert not lazy.reached(state(step_index=4, strategy="lazy"))
    assert fixed.reached(state(strategy="fixed", tab="regions"))
    assert compare.reached(state(done=frozenset({"compare"})))


async def test_the_tutorial_opens_ticks_its_goal_and_moves_on() -> None:
    app = make_app()
    async with app.run_test(size=(140, 40)) as pilot:
        screen = explorer(app)
        panel = screen.query_one(TutorialPanel)
        assert not panel.display
        await pilot.press("full_stop")  # the lesson keys do nothing while it is closed
        await pilot.press("T")
        await settle(pilot)
        assert panel.display and panel.index == 0
        assert "memblock learns where the RAM is" in shown(panel)
        assert not panel.reached and "○" in shown(panel)
        for _ in range(screen.frame.step_names.index("e820__memblock_setup") + 1):
            await pilot.press("n")
        await settle(pilot)
        assert panel.reached and "✓" in shown(panel) and "Done." in shown(panel)
        await pilot.press("full_stop")
        await settle(pilot)
        assert panel.index == 1 and "Early reservations" in shown(panel)
        await pilot.press("comma")
        await settle(pilot)
        assert panel.index == 0
        await pilot.press("T")
        await settle(pilot)
        assert not panel.display


async def test_following_a_pointer_and_the_regions_tab_reach_their_lessons() -> None:
    app = make_app(at="mem_init")
    async with app.run_test(size=(140, 40)) as pilot:
        screen = explorer(app)
        panel = screen.query_one(TutorialPanel)
        await pilot.press("T")
        panel.index = 4  # struct page points at its metadata
        await settle(pilot)
        assert not panel.reached
        await pilot.press("s")  # the kernel image page's shadow pointer
        await settle(pilot)
        assert screen.frame.lookup.page(screen.cursor).state is PageState.SHADOW
        assert panel.reached
        panel.index = 6  # fixed addresses
        await pilot.press("3")
        await settle(pilot)
        assert not panel.reached
        await pilot.press("x")
        await settle(pilot)
        assert screen.query_one(TabbedContent).active == "regions" and panel.reached
