"""Sessions in the explorer: save, open, autosave, asking before unsaved work goes,
playing and seeking a recording, bookmarks, branching and comparing with the parent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from textual.widgets import Input, OptionList, TabbedContent

from kmsan_tui.model import load_layout
from kmsan_tui.session import Bookmark, RunAll, RunTo, Session, SwitchStrategy, Workload, files
from kmsan_tui.tui.app import KmsanApp
from kmsan_tui.tui.runner import Runner
from kmsan_tui.tui.screens import explorer_session
from kmsan_tui.tui.screens.compare import CompareScreen
from kmsan_tui.tui.screens.confirm import ConfirmScreen
from kmsan_tui.tui.screens.pick import PickScreen
from kmsan_tui.tui.screens.prompt import PromptScreen

from .conftest import explorer, make_app, settle


def recorded(tmp_path: Path) -> Path:
    """A saved session: tiny-64m to mem_init, a bookmark, to the end, a workload."""
    s = Session(load_layout("tiny-64m"), "eager", 1)
    s.run_to("mem_init")
    s.apply(Bookmark("mem_init: look here"))
    s.run_all()
    s.apply(Workload("pagecache", 300))
    path = tmp_path / "rec.json"
    files.save(s, path)
    return path


def opened(path: Path) -> KmsanApp:
    return KmsanApp(Runner(files.load(path)), flash_changes=False)


async def test_ctrl_s_asks_for_a_name_the_first_time_only(tmp_path: Path) -> None:
    app = make_app("tiny-64m", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = "first"
        await pilot.press("enter")
        await settle(pilot)
        saved = explorer(app).runner.session.saved
        assert saved is not None and saved.path.name == "first.json" and saved.path.exists()
        assert "kmsan-tui/saves" in str(saved.path)  # no saves/ here: the data directory
        assert "first.json" in explorer(app).frame.status
        await pilot.press("n")
        await settle(pilot)
        assert "first.json*" in explorer(app).frame.status
        await pilot.press("ctrl+s")
        await settle(pilot)
        assert not isinstance(app.screen, PromptScreen)
        assert len(files.load(saved.path).log) == 2


async def test_a_save_that_cannot_be_written_is_reported_at_once(tmp_path: Path) -> None:
    app = make_app("tiny-64m")
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        explorer(app).save_to(tmp_path)  # a directory
        await settle(pilot)
        assert any("not a regular file" in n.message for n in app._notifications)


async def test_quitting_with_unsaved_work_asks_first() -> None:
    app = make_app("tiny-64m", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        explorer(app).run_workload("slab", 100)
        await settle(pilot)
        await pilot.press("ctrl+q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("escape")
        assert app.screen is explorer(app) and app.return_code is None
        await pilot.press("ctrl+q")
        await pilot.press("d")
    assert app.return_code == 0


async def test_stepping_the_boot_alone_quits_without_a_question() -> None:
    app = make_app("tiny-64m")
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("n", "n")
        await settle(pilot)
        await pilot.press("ctrl+q")
    assert app.return_code == 0


async def test_save_then_quit_from_the_question(tmp_path: Path) -> None:
    app = make_app("tiny-64m", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        explorer(app).run_workload("slab", 100)
        await settle(pilot)
        await pilot.press("ctrl+q")
        await pilot.press("s")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = str(tmp_path / "kept.json")
        await pilot.press("enter")
        await pilot.pause(0.5)
    assert app.return_code == 0
    assert files.load(tmp_path / "kept.json").log[-1].command == Workload("slab", 100)


async def test_loading_a_layout_over_unsaved_work_asks_first() -> None:
    app = make_app("tiny-64m", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        explorer(app).run_workload("slab", 100)
        await settle(pilot)
        explorer(app).load_layout("qemu-2g")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("d")
        await settle(pilot)
        assert explorer(app).frame.layout_name == "qemu-2g"


async def test_an_opened_session_comes_back_where_it_was_saved(tmp_path: Path) -> None:
    s = Session(load_layout("tiny-64m"), "lazy", 2)
    s.run_all()
    path = tmp_path / "v.json"
    from kmsan_tui.session import View

    files.save(s, path, View(cursor=0x321, zoom=4, tab="metrics"))
    app = opened(path)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        screen = explorer(app)
        assert screen.cursor == 0x321 and screen.zoom == 4
        assert screen.query_one(TabbedContent).active == "metrics"
        assert screen.frame.strategy == "lazy" and screen.frame.done


async def test_ctrl_o_lists_saved_sessions_and_opens_one(tmp_path: Path) -> None:
    (tmp_path / "saves").mkdir()  # the working directory's saves/ (a checkout)
    recorded(tmp_path / "saves")
    app = make_app("tiny-64m")
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("ctrl+o")
        assert isinstance(app.screen, PickScreen)
        options = app.screen.query_one(OptionList)
        ids = [options.get_option_at_index(i).id for i in range(options.option_count)]
        assert str(Path("saves") / "rec.json") in ids
        options.highlighted = ids.index(str(Path("saves") / "rec.json"))
        await pilot.press("enter")
        await settle(pilot)
        frame = explorer(app).frame
        assert frame.session.file == "rec.json" and frame.session.log_len == 4


async def test_a_recording_plays_and_seeks_entry_by_entry(tmp_path: Path) -> None:
    path = recorded(tmp_path)
    session = files.load(path)
    session.seek_now(0)
    app = KmsanApp(Runner(session), flash_changes=False)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        screen = explorer(app)
        assert screen.frame.session.replaying and "▶ replay 0/4" in screen.frame.status
        await pilot.press("right_curly_bracket")
        await settle(pilot)
        assert screen.frame.step_name == "mem_init"
        await pilot.press("right_curly_bracket")
        await settle(pilot)
        assert any("mem_init: look here" in n.message for n in app._notifications)
        await pilot.press("left_curly_bracket", "left_curly_bracket")
        await settle(pilot)
        assert screen.frame.session.position == 0
        await pilot.press("space")  # play the recording
        for _ in range(100):
            await pilot.pause(0.05)
            if not screen.frame.session.replaying:
                break
        await pilot.press("space")
        await settle(pilot)
        assert screen.frame.session.position == 4
        assert not screen.runner.session.dirty  # playing changes nothing


async def test_j_seeks_to_a_boot_step_inside_a_run(tmp_path: Path) -> None:
    app = opened(recorded(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("j")
        assert isinstance(app.screen, PickScreen)
        options = app.screen.query_one(OptionList)
        labels = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        target = next(i for i, text in enumerate(labels) if "kmem_cache_init" in text
                      and text.startswith("step"))
        options.highlighted = target
        await pilot.press("enter")
        await settle(pilot)
        frame = explorer(app).frame
        assert frame.step_name == "kmem_cache_init" and frame.session.detour > 0


async def test_a_command_in_the_past_branches_and_the_branch_compares_with_its_parent(
        tmp_path: Path) -> None:
    parent = recorded(tmp_path)
    app = opened(parent)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        await settle(pilot)
        screen = explorer(app)
        screen.seek_text("mem_init")
        await settle(pilot)
        await pilot.press("2")  # lazy from here
        await settle(pilot)
        session = screen.runner.session
        assert [e.command for e in session.log][-1] == SwitchStrategy("lazy")
        assert screen.frame.session.branch == "branch of rec.json at 2"  # after the note
        assert any("branch" in n.message for n in app._notifications)
        await pilot.press("e")
        await settle(pilot)
        await pilot.press("ctrl+s")
        assert isinstance(app.screen, PromptScreen)  # a branch is a new file
        app.screen.query_one(Input).value = str(tmp_path / "branch.json")
        await pilot.press("enter")
        await settle(pilot)
        doc = json.loads((tmp_path / "branch.json").read_text())
        assert doc["parent"]["file"] == "rec.json" and doc["parent"]["branch_point"] == 2
        assert doc["parent"]["digest"] == json.loads(parent.read_text())["digest"]
        await pilot.press("P")
        assert isinstance(app.screen, CompareScreen)
        compare = app.screen
        for _ in range(200):
            await pilot.pause(0.02)
            if compare.right is not None:
                break
        assert compare.right is not None and compare.right.strategy == "eager"
        assert compare.right.step_index == compare.left.step_index
        assert compare.left.strategy == "lazy"


async def test_a_saved_branch_finds_its_parent_beside_it(tmp_path: Path) -> None:
    parent_path = recorded(tmp_path)
    parent = files.load(parent_path)
    branch = parent.fork(1)
    branch.apply(SwitchStrategy("fixed"))
    branch.apply(RunAll())
    files.save(branch, tmp_path / "b.json")
    app = opened(tmp_path / "b.json")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("P")
        compare = app.screen
        for _ in range(200):
            await pilot.pause(0.02)
            if getattr(compare, "right", None) is not None:
                break
        assert compare.right.strategy == "eager" and compare.right.done


async def test_b_bookmarks_here(tmp_path: Path) -> None:
    app = make_app("tiny-64m", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("B")
        assert isinstance(app.screen, PromptScreen)
        app.screen.query_one(Input).value = "the hand-over is done"
        await pilot.press("enter")
        await settle(pilot)
        assert explorer(app).runner.session.log[-1].command == Bookmark("the hand-over is done")


async def test_g_to_a_page_is_recorded(tmp_path: Path) -> None:
    app = make_app("tiny-64m", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        explorer(app).go_to("0x2345")
        await settle(pilot)
        log = explorer(app).runner.session.log
        assert log[-1].command.kind == "goto" and explorer(app).cursor == 0x2345


async def test_the_autosave_keeps_unsaved_work(private_data_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(explorer_session, "AUTOSAVE_DELAY", 0.05)
    app = make_app("tiny-64m", at="mem_init")
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        explorer(app).run_workload("slab", 100)
        await settle(pilot)
        autosaves = private_data_dir / "kmsan-tui" / "autosave"
        for _ in range(100):
            await pilot.pause(0.05)
            if autosaves.is_dir() and list(autosaves.iterdir()):
                break
        (saved,) = list(autosaves.iterdir())
        assert files.load(saved).log[-1].command == Workload("slab", 100)
        assert files.load(saved).log[0].command == RunTo("mem_init")
        await pilot.press("ctrl+q", "d")
    assert not list(autosaves.iterdir())  # a normal exit leaves none behind


async def test_the_palette_seeks_to_a_bookmark(tmp_path: Path) -> None:
    app = opened(recorded(tmp_path))
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"bookmark look here")
        await pilot.pause(0.5)
        await pilot.press("enter")
        await settle(pilot)
        frame = explorer(app).frame
        assert frame.session.position == 2 and frame.session.landmark == "mem_init: look here"
