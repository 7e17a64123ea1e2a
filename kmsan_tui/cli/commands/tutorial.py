"""`kmsan-tui tutorial`: the guided lessons, listed or opened in the explorer.

``--list`` prints the numbered lessons (the finished ones ticked, from the learner's
progress file); ``--lesson N|SLUG|PATH`` opens one (a number or a name from the list,
or a teacher's own lesson file); with neither, the first lesson not finished yet.
The lesson file is read and its starting state built before the terminal is taken
over, so a broken lesson is one line naming the file and the line, exit 2.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the tutorial package and the app are imported when the command runs
    from kmsan_tui.tui.app import KmsanApp
    from kmsan_tui.tutorial import Lesson, Progress

NAME = "tutorial"
HELP = "guided lessons: predict, then watch the model (--list, --lesson N)"
ORDER = 12


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--list", action="store_true", help="print the numbered lessons and exit")
    p.add_argument("--lesson", metavar="N|SLUG|PATH",
                   help="a lesson's number or name (see --list), or a lesson file of your own")
    p.add_argument("--restart", action="store_true",
                   help="forget your progress in that lesson first")
    p.add_argument("--keymap", dest="tutorial_keymap", default=None,
                   help="a TOML file rebinding keys (the lessons name the keys you bound)")


def print_list(progress: Progress) -> None:
    from kmsan_tui.tutorial import shipped_lessons

    lessons = shipped_lessons()
    for lesson in lessons:
        done = lesson.slug in progress.finished
        reached = len(progress.goals.get(lesson.slug, ()))
        asked = len(lesson.goals) + len(lesson.predictions)
        mark = "✓ finished" if done else f"{reached}/{asked}" if reached else ""
        print(f"{lesson.number:>2}  {lesson.slug:<14} {lesson.title}"
              + (f"  [{mark}]" if mark else ""))
    finished = sum(lesson.slug in progress.finished for lesson in lessons)
    print(f"\n{finished} of {len(lessons)} finished. Open one: kmsan-tui tutorial --lesson N")


def lesson_app(lesson: Lesson, *, keymap: dict[str, str] | None = None,
               flash_changes: bool = True) -> KmsanApp:
    """The explorer on ``lesson``'s starting state, the lesson open beside it (the
    start is built here: a bad one is a UserError before any terminal is touched)."""
    from kmsan_tui.tui.app import make_app
    from kmsan_tui.tutorial.start import start_session

    session = start_session(lesson)
    return make_app(session.layout, keymap=keymap, session=session,
                    flash_changes=flash_changes, lesson=lesson)


def run(args: argparse.Namespace) -> int:
    from kmsan_tui.tutorial import Progress, find_lesson, shipped_lessons

    progress = Progress.load()
    if progress.problem:
        print(f"kmsan-tui: tutorial progress starts afresh: {progress.problem}", file=sys.stderr)
    if args.list:
        print_list(progress)
        return 0
    from kmsan_tui.tui.app import user_keymap

    if args.lesson is not None:
        lesson = find_lesson(args.lesson)
    else:
        lessons = shipped_lessons()
        lesson = next((les for les in lessons if les.slug not in progress.finished), lessons[0])
    bindings = user_keymap(args.tutorial_keymap)  # a bad keymap before any work
    if args.restart:
        progress.restart(lesson.slug)
        progress.save()
    app = lesson_app(lesson, keymap=bindings)  # a bad start is one line, before the terminal
    result = app.run()
    if app.return_code not in (None, 0):
        return app.return_code
    return int(result or 0)
