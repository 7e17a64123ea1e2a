"""The tutorial in the explorer: lessons open on their own state, ask first, reveal,
tick goals from what the learner does, keep what they are about readable, and keep
the learner's progress. Allocating and freeing by hand (``a``, ``X``)."""

from __future__ import annotations

from pathlib import Path

from textual.widgets import Static, TabbedContent

from kmsan_tui.cli.commands.tutorial import lesson_app
from kmsan_tui.session import AllocPages
from kmsan_tui.tui.app import KmsanApp
from kmsan_tui.tui.widgets.free_area_grid import FreeAreaGrid
from kmsan_tui.tui.widgets.tutorial_panel import TutorialPanel
from kmsan_tui.tutorial import Progress, find_lesson, load_lesson

from .conftest import explorer, make_app, settle, text_of
from .test_lessons_pilot import answer, go, typed


def app_for(spec: str, keymap: dict[str, str] | None = None) -> KmsanApp:
    return lesson_app(find_lesson(spec), keymap=keymap, flash_changes=False)


def shown(app: KmsanApp) -> str:
    panel = explorer(app).query_one(TutorialPanel)
    return "\n".join(text_of(w) for w in panel.query(Static) if w.display)


def notes(app: KmsanApp) -> str:
    return "\n".join(n.message for n in app._notifications)


async def test_a_lesson_asks_before_it_shows() -> None:
    app = app_for("buddy")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        assert screen.query_one(TutorialPanel).border_title.startswith("Lesson 1/6 · The buddy")
        assert "Predict:" in shown(app) and "ZONE_DMA32" in shown(app)
        assert screen.frame.steps[screen.frame.step_index].name == "memblock_free_all"
        assert screen.focused is not None and screen.focused.id == "prediction-number"
        await answer(pilot, "8")
        assert screen.frame.step_name == "memblock_free_all"  # the model ran to the reveal
        assert "✓ Right: the model says 8." in shown(app)
        assert "Predict:" not in shown(app)


async def test_a_wrong_answer_gets_the_gap_and_the_explanation() -> None:
    app = app_for("buddy")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await answer(pilot, "3")
        text = " ".join(shown(app).split())
        assert "✗ The model says 8; you said 3, under by 62%." in text
        assert "__free_pages_memory() (mm/memblock.c)" in text
        run = explorer(app).lesson_run
        assert run is not None and not run.answers["dma32-order10"].correct
        assert "dma32-order10" in Progress.load().goals["buddy"]


async def test_a_goal_already_true_when_the_lesson_opens_ticks_only_when_the_learner_acts(
        tmp_path: Path) -> None:
    # A teacher's lesson: the cursor opens on the kernel image, a reserved page.
    lesson = tmp_path / "07-reserved.md"
    lesson.write_text(
        "+++\ntitle = 'Reserved pages'\npanels = ['map', 'inspector']\n[start]\n"
        "layout = 'tiny-64m'\nsanitizer = 'none'\nuntil = 'sparse_init'\n[[goal]]\n"
        "id = 'reserved'\ntext = 'Put the cursor on a reserved page.'\nevent = 'inspect'\n"
        "match = { state = 'reserved' }\n+++\nThe kernel image is reserved.\n")
    app = lesson_app(load_lesson(lesson), flash_changes=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        assert screen.frame.lookup.page(screen.cursor).state.value == "reserved"
        assert screen.lesson_run is not None and screen.lesson_run.reached == {}
        assert "○ Put the cursor on a reserved page." in shown(app)
        await pilot.press("n")  # a step: not what the goal waits for
        await settle(pilot)
        assert screen.lesson_run.reached == {}
        await pilot.press("right")  # the learner moves onto a reserved page
        await settle(pilot)
        assert list(screen.lesson_run.reached) == ["reserved"]
        assert "✓ Put the cursor on a reserved page." in shown(app)
        assert "Lesson complete." in shown(app)
        # not a shipped lesson: no number
        assert screen.query_one(TutorialPanel).border_title == "Lesson · Reserved pages"


async def test_lesson_text_names_the_keys_of_the_active_keymap() -> None:
    app = app_for("buddy", keymap={"alloc_page": "A", "free_page": "ctrl+x"})
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        text = " ".join(shown(app).split())
        assert "Allocate one page by hand (A)" in text
        assert "Free that page (^x;" in text
        assert "(a)" not in text


async def test_the_free_lists_show_every_order_beside_lesson_1() -> None:
    for size in ((120, 40), (80, 24)):
        app = app_for("buddy")
        async with app.run_test(size=size) as pilot:
            await settle(pilot)
            await answer(pilot, "8")
            screen = explorer(app)
            grid = screen.query_one(FreeAreaGrid)
            assert screen.query_one(TabbedContent).active == "free-lists"
            assert grid.virtual_size.width <= grid.scrollable_content_region.width, size
            assert "10" in text_of(grid).splitlines()[0]
            assert not screen.query_one("#inspector").display  # not what lesson 1 is about
            panel = screen.query_one(TutorialPanel)
            assert panel.region.width >= 30 and panel.region.right <= size[0]


async def test_shadow_regions_show_their_columns_beside_lesson_5() -> None:
    app = app_for("fixed")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        # Not before the answer: the regions print the size the question asks for.
        assert screen.query_one(TabbedContent).active == "free-lists"
        await answer(pilot, "20")
        assert screen.query_one(TabbedContent).active == "regions"
        regions = screen.query_one("#regions-panel")
        assert regions.region.width >= 70  # the virtual table fits, not two columns
        assert screen.query_one("#inspector").display  # lesson 5 is about it too


async def test_hiding_the_panel_gives_the_layout_back() -> None:
    app = app_for("buddy")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await pilot.click("#map")
        await pilot.press("T")
        await settle(pilot)
        assert not screen.has_class("-tutorial") and not screen.has_class("-lesson-top")
        assert screen.query_one("#timeline").display and screen.query_one("#inspector").display
        await pilot.press("T")
        await settle(pilot)
        assert screen.query_one(TutorialPanel).display and screen.has_class("-lesson-top")


async def test_t_without_a_lesson_lists_them_and_opens_the_one_chosen() -> None:
    app = make_app("qemu-8g")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await pilot.press("full_stop")  # nothing without a lesson
        assert screen.lesson is None
        await pilot.press("T")
        await pilot.pause()
        await pilot.press("down", "down", "down", "enter")  # 4. lazy
        await settle(pilot)
        assert screen.lesson is not None and screen.lesson.slug == "lazy"
        assert screen.frame.layout_name == "tiny-64m" and screen.frame.strategy == "lazy"
        assert dict(screen.runner.session.config.options)["lazy_activation"] == "page_ext_init"
        await answer(pilot, "16000")
        assert screen.query_one(TabbedContent).active == "metrics"


async def test_finishing_a_lesson_is_kept_and_the_next_one_opens() -> None:
    app = app_for("fixed")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await answer(pilot, "18")
        await pilot.press("x")
        await settle(pilot)
        await answer(pilot, "4")
        await go(pilot, "4G")
        await pilot.press("s")
        await settle(pilot)
        assert Progress.load().finished == {"fixed"}
        assert "Lesson complete." in shown(app)
        await pilot.click("#tutorial-next")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"  # the go-to is in the session
        await pilot.press("d")
        await settle(pilot)
        assert screen.lesson is not None and screen.lesson.slug == "tradeoff"
        assert screen.frame.layout_name == "server-1t"


async def test_restart_opens_the_lesson_again_and_forgets_its_progress() -> None:
    app = app_for("buddy")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await answer(pilot, "8")
        await pilot.press("a", "enter")
        await pilot.pause()
        await pilot.press("up", "enter")
        await settle(pilot)
        await pilot.press("X")
        await settle(pilot)
        assert "buddy" in Progress.load().finished
        await pilot.click("#tutorial-restart")
        await settle(pilot)
        assert "buddy" not in Progress.load().finished
        assert screen.lesson_run is not None and not screen.lesson_run.answers
        assert screen.frame.steps[screen.frame.step_index].name == "memblock_free_all"
        assert "Predict:" in shown(app)


async def test_moving_on_to_the_next_lesson_asks_before_unsaved_work_goes() -> None:
    app = app_for("buddy")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await answer(pilot, "8")
        await pilot.press("w")
        await pilot.pause()
        await pilot.press("enter")  # a workload: work worth asking about
        await settle(pilot, timeout=60)
        await pilot.press("full_stop")
        await pilot.pause()
        assert type(app.screen).__name__ == "ConfirmScreen"
        assert explorer(app).lesson is not None and explorer(app).lesson.slug == "buddy"


# ---------------------------------------------------------------------- a and X


async def test_a_block_allocated_by_hand_is_split_off_and_freed_back() -> None:
    app = make_app("tiny-64m", at="memblock_free_all")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        screen = explorer(app)
        before = screen.frame.metrics.free_pages
        await pilot.press("a")
        await pilot.pause()
        await typed(pilot, "")
        await pilot.press("down", "down", "down", "enter", "enter")  # order 3, Movable
        await settle(pilot)
        view = screen.frame.lookup.page(screen.cursor)
        assert view.state.value == "allocated" and view.order == 3 and view.owner == "by hand"
        assert screen.frame.metrics.free_pages == before - 8
        assert "alloc_pages order:3 Movable" in notes(app)
        await pilot.press("X")
        await settle(pilot)
        assert screen.frame.metrics.free_pages == before
        assert screen.frame.lookup.page(screen.cursor).state.value == "free"


async def test_a_refused_free_shows_the_kernels_bad_page_line() -> None:
    app = make_app("tiny-64m", at="memblock_free_all")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await go(pilot, "0x2000")  # a free page
        await pilot.press("X")
        await settle(pilot)
        assert ("BUG: Bad page state in process swapper/0  pfn:02000 (page dumped because: "
                "freeing a page that is not allocated)") in notes(app)
        assert explorer(app).frame.metrics.bad_pages == 1


async def test_step_back_takes_back_what_was_done_by_hand_first() -> None:
    app = make_app("tiny-64m", at="memblock_free_all")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        screen = explorer(app)
        free = screen.frame.metrics.free_pages
        await pilot.press("a", "enter", "enter")
        await settle(pilot)
        assert screen.frame.metrics.free_pages == free - 1
        await pilot.press("u")
        await settle(pilot)
        assert screen.frame.metrics.free_pages == free
        assert screen.frame.step_name == "memblock_free_all"  # the boot step stayed
        await pilot.press("u")
        await settle(pilot)
        assert screen.frame.step_index < screen.frame.step_names.index("memblock_free_all") + 1


async def test_work_by_hand_is_part_of_the_session_and_of_what_comes_after() -> None:
    app = make_app("tiny-64m", at="memblock_free_all")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        screen = explorer(app)
        await pilot.press("a", "enter", "enter")
        await settle(pilot)
        pfn = screen.cursor
        await pilot.press("n")
        await settle(pilot)
        session = screen.runner.session
        assert [e.command for e in session.log if isinstance(e.command, AllocPages)] == [
            AllocPages(0, "Movable")]
        assert screen.frame.lookup.page(pfn).owner == "by hand"  # still allocated


async def test_an_allocation_that_fails_is_the_kernels_failure_and_stays_recorded() -> None:
    app = make_app("tiny-64m", at="memblock_free_all")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        for _ in range(2):  # eager on 64 MiB: one order-10 block at most, then none
            await pilot.press("a", *["down"] * 10, "enter", "enter")
            await settle(pilot)
        failures = [n for n in app._notifications if n.title == "page allocation failure"]
        assert failures and "page allocation failure: order:10" in failures[-1].message
        session = explorer(app).runner.session
        assert [e.command for e in session.log[-2:]] == [AllocPages(10, "Movable")] * 2
        assert session.sim.check() == []


async def test_allocating_before_the_hand_over_says_why_it_cannot() -> None:
    app = make_app("tiny-64m")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        await pilot.press("a", "enter", "enter")
        await settle(pilot)
        assert "step through memblock_free_all() first" in notes(app)


# ---------------------------------------------------------------------- frames -> activities


def test_frames_say_what_the_learner_did() -> None:
    from kmsan_tui.model import load_layout
    from kmsan_tui.session import GoTo, Session
    from kmsan_tui.tui.runner import Runner
    from kmsan_tui.tui.tutor import Tutor

    runner = Runner(Session(load_layout("tiny-64m"), "lazy", 0))
    runner.start()
    tutor = Tutor.here(runner, find_lesson("lazy"))
    steps = runner.session.steps
    kinds = [(a.kind, dict(a.data)) for a in tutor.activities(runner.run_to(2))]
    assert kinds == [("step", {"step": steps[0]}), ("step", {"step": steps[1]}),
                     ("step", {"step": steps[2]})]  # a run is one step per boot step
    assert [a.kind for a in tutor.activities(runner.undo())] == ["back"]
    runner.run_to(len(steps) - 1)
    work = tutor.activities(runner.workload("fragmenter", 500))
    assert [(a.kind, dict(a.data)) for a in work] == [
        ("workload", {"workload": "fragmenter", "ops": 500})]
    assert [dict(a.data) for a in tutor.activities(runner.switch("eager"))] == [
        {"strategy": "eager"}]
    assert tutor.activities(runner.note(GoTo(5), "go to 0x5")) == []  # a note: nothing done
