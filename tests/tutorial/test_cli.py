"""`kmsan-tui tutorial`: --list, and one line + exit 2 for anything wrong, before the
terminal is taken over."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsan_tui.cli import main
from kmsan_tui.tutorial import Progress, find_lesson
from kmsan_tui.tutorial.start import start_session


@pytest.fixture(autouse=True)
def private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The progress file of the test's own, never the user's."""
    data = tmp_path / "data"
    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    return data


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_prints_the_numbered_lessons(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "tutorial", "--list")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split()[:2] == ["1", "buddy"]
    assert lines[5].split()[:2] == ["6", "tradeoff"]
    assert "The buddy allocator: orders, splitting and merging" in lines[0]
    assert "0 of 6 finished" in out


def test_list_ticks_the_finished_lessons_and_counts_the_rest(
        capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress.load()
    progress.reach("buddy", "split")
    progress.finish("buddy")
    progress.reach("lazy", "backfill-walk")
    progress.save()
    code, out, _ = run(capsys, "tutorial", "--list")
    assert code == 0
    assert "[✓ finished]" in out.splitlines()[0]
    assert "[1/5]" in out.splitlines()[3]
    assert "1 of 6 finished" in out


BROKEN_LESSONS = [
    ("+++\ntitle = 'x'\n[[goal]]\nid = 'a'\ntext = 't'\nevent = 'dance'\n+++\nbody\n",
     "07-mine.md: goal[0]: event: expected one of"),
    ("+++\ntitle = 'x'\nbad = = 1\n+++\nbody\n", "07-mine.md"),
    ("+++\ntitle = 'x'\n[start]\nlayout = 'no-such-machine'\n[[goal]]\nid = 'a'\ntext = 't'\n"
     "event = 'step'\n+++\nbody\n", "07-mine.md: start: "),
    ("+++\ntitle = 'x'\n[start]\nlayout = 'tiny-64m'\nuntil = 'no_such_step'\n[[goal]]\n"
     "id = 'a'\ntext = 't'\nevent = 'step'\n+++\nbody\n", "07-mine.md: start: "),
    (b"+++\ntitle = '\xff'\n+++\n", "07-mine.md"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN_LESSONS)
def test_a_broken_lesson_is_one_line_and_exit_2_before_the_terminal(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, text: str | bytes,
        message: str) -> None:
    lesson = tmp_path / "07-mine.md"
    if isinstance(text, bytes):
        lesson.write_bytes(text)
    else:
        lesson.write_text(text)
    code, out, err = run(capsys, "tutorial", "--lesson", str(lesson))
    assert code == 2
    assert out == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err


def test_an_unknown_lesson_number_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "tutorial", "--lesson", "42")
    assert code == 2 and "no lesson '42'" in err and err.count("\n") == 1


def test_restart_forgets_the_progress_of_that_lesson_only(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    progress = Progress.load()
    for slug in ("buddy", "lazy"):
        progress.reach(slug, "x")
        progress.finish(slug)
    progress.save()
    from kmsan_tui.tui.app import KmsanApp

    monkeypatch.setattr(KmsanApp, "run", lambda self: 0)  # no terminal in a test
    code, _, err = run(capsys, "tutorial", "--lesson", "buddy", "--restart")
    assert code == 0, err
    assert Progress.load().finished == {"lazy"}


def test_with_no_lesson_it_opens_the_first_one_not_finished(
        monkeypatch: pytest.MonkeyPatch) -> None:
    progress = Progress.load()
    progress.finish("buddy")
    progress.save()
    opened: list[str] = []
    from kmsan_tui.cli.commands import tutorial

    def fake_app(lesson: object, **_kw: object) -> object:
        opened.append(lesson.slug)  # type: ignore[attr-defined]

        class App:
            return_code = 0

            def run(self) -> int:
                return 0
        return App()

    monkeypatch.setattr(tutorial, "lesson_app", fake_app)
    assert main(["tutorial"]) == 0
    assert opened == ["memblock"]


def test_a_lesson_can_start_from_a_saved_session() -> None:
    saves = Path(__file__).resolve().parents[2] / "saves"
    lesson_text = (f"+++\ntitle = 'a tour'\n[start]\nsession = '{saves / 'boot-tour.json'}'\n"
                   "[[goal]]\nid = 'a'\ntext = 'step'\nevent = 'step'\n+++\nbody\n")
    from kmsan_tui.tutorial.lesson import parse_lesson

    session = start_session(parse_lesson(lesson_text, "tour.md", 0, "tour"))
    assert session.log  # the recording, ready to be replayed and branched


def test_the_shipped_lessons_start_where_they_say() -> None:
    buddy = start_session(find_lesson("buddy")).sim  # right before the hand-over
    assert buddy.steps[buddy.current] == "memblock_free_all"
    assert start_session(find_lesson("lazy")).sim.step_name == "memblock_free_all"


def test_a_teachers_lesson_finds_its_layout_beside_it(tmp_path: Path) -> None:
    layouts = Path(__file__).resolve().parents[2] / "kmsan_tui" / "layouts"
    (tmp_path / "class.toml").write_text((layouts / "tiny-64m.toml").read_text())
    lesson = tmp_path / "07-mine.md"
    lesson.write_text("+++\ntitle = 'x'\n[start]\nlayout = 'class.toml'\nuntil = 'sparse_init'\n"
                      "[[goal]]\nid = 'a'\ntext = 't'\nevent = 'step'\n+++\nbody\n")
    from kmsan_tui.tutorial import load_lesson

    session = start_session(load_lesson(lesson))
    assert session.sim.step_name == "sparse_init"
    assert session.layout.source.endswith("class.toml")
