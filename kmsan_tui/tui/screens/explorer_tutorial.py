"""The explorer's handlers for the tutorial: open a lesson on its own machine, ask its
predictions, reveal the answers, report what the learner does, keep the progress.

A mixin of ``ExplorerScreen``. The lesson itself (its file, its checks, the run of
it) is ``kmsan_tui.tutorial``; this module only shows it and feeds it ``Activity``
records: what the learner did after the lesson opened, read from the frames the
commands produce (a step, a step back, a switch, a workload), from the handlers
(follow, tab, compare, alloc, free, answer) and from the cursor (inspect).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import events, on
from textual.binding import Binding
from textual.css.query import NoMatches
from textual.widgets import TabbedContent

from kmsan_tui.model.errors import UserError
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.keymap import APP_BINDINGS, EXPLORER_BINDINGS
from kmsan_tui.tui.runner import Cancelled
from kmsan_tui.tui.screens.command_screen import CommandScreen
from kmsan_tui.tui.screens.pick import PickScreen
from kmsan_tui.tui.tutor import Tutor
from kmsan_tui.tui.widgets.prediction_input import PredictionInput
from kmsan_tui.tui.widgets.tutorial_panel import LessonView, Question, TutorialPanel
from kmsan_tui.tutorial import Activity, Feedback, Lesson, LessonRun, Progress, render
from kmsan_tui.tutorial.lesson import shipped_lessons

if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

TAB_OF_PANEL = {"free-lists": "free-lists", "regions": "regions", "metrics": "metrics",
                "frag": "chart", "log": "log"}
"""A lesson's panel name -> the explorer's tab id."""
PANEL_OF_TAB = {tab: panel for panel, tab in TAB_OF_PANEL.items()}


class TutorialActions(CommandScreen):
    """The lesson beside the explorer (``T``), and what the learner does in it."""

    cursor: int
    tutor: Tutor | None = None
    """The lesson open (shown or hidden), if any."""
    _waiting = ""
    _expected_tab: str | None = None  # a tab the lesson opened (not the learner)
    _progress: Progress | None = None
    _finished_before = False
    _lesson_tab_shown = False  # the lesson's tab panel was brought forward

    if TYPE_CHECKING:  # provided by the explorer, SessionActions and HandActions
        def confirm_leave(self, what: str, then: Callable[[], None],
                          verb: str = "go on") -> None: ...

        def from_job(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None: ...

    @property
    def lesson(self) -> Lesson | None:
        """The lesson open (shown or hidden), if any."""
        return self.tutor.lesson if self.tutor is not None else None

    @property
    def lesson_run(self) -> LessonRun | None:
        """What the learner has done of it."""
        return self.tutor.run if self.tutor is not None else None

    # ------------------------------------------------------------------ opening

    @property
    def progress_file(self) -> Progress:
        """The learner's progress (read once; a file that cannot be used is said once)."""
        if self._progress is None:
            self._progress = Progress.load()
            if self._progress.problem:
                self.notify(f"tutorial progress starts afresh: {self._progress.problem}",
                            severity="warning", timeout=8)
        return self._progress

    def action_tutorial(self) -> None:
        """``T``: show or hide the open lesson; with none open, choose one."""
        if self.lesson is None:
            self.pick_lesson()
            return
        self.toggle_class("-tutorial")
        self._lesson_layout()
        self.refresh_bindings()
        if self.has_class("-tutorial"):
            self._draw_lesson()

    def action_tutorial_move(self, delta: int) -> None:
        """``.``/``,``: the next or previous shipped lesson."""
        lessons = shipped_lessons()
        number = self.lesson.number if self.lesson is not None else 0
        index = next((i for i, lesson in enumerate(lessons) if lesson.number == number), -1)
        target = index + delta
        if not 0 <= target < len(lessons):
            self.notify("that was the last lesson" if delta > 0 else "this is the first lesson",
                        timeout=2)
            return
        self.open_lesson(lessons[target])

    def pick_lesson(self) -> None:
        """The list of lessons, the finished ones ticked; the first unfinished one first."""
        progress = self.progress_file
        lessons = shipped_lessons()
        options = [(lesson.slug, f"{lesson.number}. {lesson.title}"
                    f"{'  ✓' if lesson.slug in progress.finished else ''}") for lesson in lessons]
        first = next((lesson.slug for lesson in lessons if lesson.slug not in progress.finished),
                     lessons[0].slug)

        def chosen(slug: str | None) -> None:
            lesson = next((lesson for lesson in lessons if lesson.slug == slug), None)
            if lesson is not None:
                self.open_lesson(lesson)

        self.app.push_screen(PickScreen("Tutorial: which lesson?", options, highlight=first),
                             chosen)

    def open_lesson(self, lesson: Lesson, *, ask: bool = True) -> None:
        """Open ``lesson`` on its own starting state (after asking about unsaved work,
        unless the learner already chose to throw it away: Restart)."""
        def job() -> Frame:
            tutor, frame = Tutor.opening(self.runner, lesson)
            self.from_job(self.begin_lesson, tutor)
            return frame

        def go() -> None:
            self.submit(f"opening lesson {lesson.number}", job)

        if ask:
            self.confirm_leave(f"opening lesson {lesson.number or lesson.slug}", go, "open")
        else:
            go()

    def begin_lesson(self, tutor: Tutor) -> None:
        """The explorer shows the lesson's starting state: the lesson begins, and only
        what the learner does from now on counts."""
        lesson = tutor.lesson
        self.tutor = tutor
        self._waiting = ""
        self._finished_before = lesson.slug in self.progress_file.finished
        self.add_class("-tutorial")
        self._mount_panel()
        self._lesson_layout()
        self.refresh_bindings()
        self._lesson_tab_shown = False
        if tutor.run.pending_prediction() is None:
            self._show_lesson_tab()
        self._draw_lesson()
        self.panel().focus_answer()

    def _show_lesson_tab(self) -> None:
        """The first tab panel the lesson names; shown once its opening question is
        answered, so that the panel does not give the answer away (lesson 5's Shadow
        regions print the size of the ranges it asks about)."""
        self._lesson_tab_shown = True
        lesson = self.lesson
        tab = next((TAB_OF_PANEL[p] for p in lesson.panels if p in TAB_OF_PANEL), None) \
            if lesson is not None else None
        if tab is not None:
            tabs = self.query_one(TabbedContent)
            if tabs.active != tab:
                self._expected_tab = tab
                tabs.active = tab

    def restart_lesson(self) -> None:
        if self.lesson is not None:
            progress = self.progress_file
            progress.restart(self.lesson.slug)
            self._save_progress()
            self.open_lesson(self.lesson, ask=False)  # the Restart button is the answer

    @on(events.ScreenResume)
    def _lesson_resumed(self) -> None:
        """Back from a dialog or the comparison: a question asked meanwhile gets the keys."""
        run = self.lesson_run
        if run is not None and run.pending_prediction() is not None and \
                self.has_class("-tutorial") and not self._waiting:
            self.panel().focus_answer()

    @on(TutorialPanel.Requested)
    def _panel_requested(self, message: TutorialPanel.Requested) -> None:
        if message.what == "restart":
            self.restart_lesson()
        else:
            self.action_tutorial_move(1)

    # ------------------------------------------------------------------ the panel

    def panel(self) -> TutorialPanel:
        return self.query_one(TutorialPanel)

    def _slot(self) -> str:
        """Where the panel goes: in place of a panel the lesson does not name."""
        panels = self.lesson.panels if self.lesson is not None else ()
        if "timeline" not in panels:
            return "top"  # the timeline's place, beside the map
        if not any(p in TAB_OF_PANEL for p in panels):
            return "bottom"  # the tabs' place, beside the inspector
        return "side"

    def _mount_panel(self) -> None:
        slot = self._slot()
        try:
            panel = self.panel()
            if panel.has_class(f"-in-{slot}"):
                return
            panel.remove()
        except NoMatches:
            pass
        panel = TutorialPanel(id="tutorial", classes=f"-in-{slot}")
        if slot == "top":
            self.query_one("#top").mount(panel, before="#map-panel")
        elif slot == "bottom":
            self.query_one("#bottom").mount(panel)
        else:
            self.query_one("#body").mount(panel)

    def _lesson_layout(self) -> None:
        """Make what the lesson is about readable: the panel takes the place of one the
        lesson does not name, and the inspector gives way to a tab panel it names."""
        shown = self.has_class("-tutorial") and self.lesson is not None
        panels = self.lesson.panels if self.lesson is not None and shown else ()
        slot = self._slot() if shown else ""
        tab_at = next((i for i, p in enumerate(panels) if p in TAB_OF_PANEL), None)
        inspector_at = panels.index("inspector") if "inspector" in panels else None
        classes = {
            "-lesson-top": slot == "top",
            "-lesson-bottom": slot == "bottom",
            "-lesson-side": slot == "side",
            "-lesson-tabs-first": bool(panels) and panels[0] in TAB_OF_PANEL,
            "-lesson-no-inspector": tab_at is not None and inspector_at is None,
            "-lesson-tab-first": tab_at is not None and inspector_at is not None
            and tab_at < inspector_at,
            "-lesson-both": tab_at is not None and inspector_at is not None
            and inspector_at < tab_at,
        }
        for name, on_ in classes.items():
            self.set_class(on_, name)

    def _key_names(self) -> dict[str, str]:
        """Binding id -> the key the active keymap binds, as the footer names it."""
        keymap: dict[str, str] = getattr(self.app, "keymap", {})
        names = {}
        for binding in (*EXPLORER_BINDINGS, *APP_BINDINGS):
            if not binding.id:
                continue
            if binding.id in keymap:
                key = keymap[binding.id].split(",")[0].strip()
                names[binding.id] = self.app.get_key_display(Binding(key, binding.action))
            else:
                names[binding.id] = self.app.get_key_display(binding)
        return names

    def _draw_lesson(self) -> None:
        lesson, run = self.lesson, self.lesson_run
        if lesson is None or run is None or not self.has_class("-tutorial"):
            return
        keys = self._key_names()
        pending = run.pending_prediction()
        question = None if pending is None or self._waiting else \
            Question(pending.id, render(pending.question, keys), pending.choices)
        feedback = tuple((f.correct, render(f.text, keys)) for p in lesson.predictions
                         if (f := run.answers.get(p.id)) is not None)
        goals = tuple((render(g.text, keys), g.id in run.reached) for g in lesson.goals)
        hints = (f"{keys['tutorial_next']} next · {keys['tutorial_prev']} previous · "
                 f"{keys['tutorial']} hide")
        total = len(shipped_lessons())
        try:
            self.panel().view = LessonView(
                number=lesson.number if lesson.number <= total else 0, total=total,
                title=lesson.title, body=render(lesson.body, keys), question=question,
                waiting=self._waiting, feedback=feedback, goals=goals,
                locked=pending is not None, complete=run.complete,
                finished_before=self._finished_before, hints=hints)
        except NoMatches:
            pass

    # ------------------------------------------------------------------ predictions

    @on(PredictionInput.Answered)
    def _answered(self, message: PredictionInput.Answered) -> None:
        message.stop()
        tutor = self.tutor
        if tutor is None or self._waiting:
            return
        lesson, run = tutor.lesson, tutor.run
        prediction = next((p for p in lesson.predictions if p.id == message.prediction), None)
        if prediction is None or prediction.id in run.answers:
            return
        given = message.text
        frame = self.frame
        reveal = None
        if prediction.reveal and frame is not None and prediction.reveal in frame.step_names:
            index = frame.step_names.index(prediction.reveal)
            if frame.step_index <= index:
                reveal = index  # not run yet: the explorer runs to it, the learner watches
        judging = tutor.judging(prediction, given, self.runner)
        self._waiting = (f"the model runs to {prediction.reveal}…" if reveal is not None
                         else "the model works it out…")
        self._draw_lesson()

        def job() -> Frame:
            shown = self.runner.frame
            if reveal is not None:
                try:
                    shown = self.runner.run_to(reveal, cancel=self.cancelled,
                                               on_frame=self.on_frame, progress=self.on_progress)
                except Cancelled:
                    pass  # the answer is judged on the lesson's own state all the same
            try:
                feedback = judging()
            except Exception as exc:  # a model bug: say it, keep the lesson going
                self.from_job(self._judged, None, f"{type(exc).__name__}: {exc}")
            else:
                self.from_job(self._judged, feedback, "")
            assert shown is not None
            return shown

        self.submit("judging your answer", job)

    def _judged(self, feedback: Feedback | None, problem: str) -> None:
        self._waiting = ""
        tutor = self.tutor
        if tutor is None:
            return
        run = tutor.run
        # The run to the reveal step was the lesson's doing, not the learner's.
        if self.runner.frame is not None:
            tutor.serial = max(tutor.serial, self.runner.frame.serial)
            tutor.seen_step = self.runner.frame.step_index
        if feedback is None:
            self.notify(f"the answer could not be judged: {problem}", severity="error")
            self._draw_lesson()
            return
        run.accept(feedback)
        if not self._lesson_tab_shown and run.pending_prediction() is None:
            self._show_lesson_tab()
        self.progress_file.reach(run.lesson.slug, feedback.prediction)
        self.report(Activity.of("answer", prediction=feedback.prediction,
                                correct=feedback.correct))
        self._draw_lesson()
        if run.pending_prediction() is not None:
            self.panel().focus_answer()
        else:
            self.query_one("#map").focus()

    # ------------------------------------------------------------------ activities

    def report(self, activity: Activity) -> None:
        """Tell the open lesson what the learner did (judged on the state shown now)."""
        tutor = self.tutor
        if tutor is None:
            return
        run = tutor.run
        asked = run.pending_prediction()
        reached = tutor.record(activity, self.runner)
        if not reached and activity.kind != "answer":
            return
        progress = self.progress_file
        for goal in reached:
            progress.reach(run.lesson.slug, goal.id)
        if run.complete and run.lesson.slug not in progress.finished:
            progress.finish(run.lesson.slug)
            following = f": {self._key_names()['tutorial_next']} opens the next one" \
                if run.lesson.number and run.lesson.number < len(shipped_lessons()) else ""
            self.notify(f"Lesson complete{following}", timeout=4)
        elif reached:
            self.notify(f"✓ goal reached ({len(run.reached)} of {len(run.lesson.goals)})",
                        timeout=3)
        self._save_progress()
        self._draw_lesson()
        pending = run.pending_prediction()
        if pending is not None and pending is not asked:
            self.panel().focus_answer()  # a closing question, now that its goal is reached

    def _save_progress(self) -> None:
        try:
            self.progress_file.save()
        except UserError as exc:
            self.notify(f"tutorial progress not saved: {exc}", severity="warning", timeout=6)

    def lesson_frame(self, frame: Frame) -> None:
        """Report what a finished command's frame shows the learner did."""
        if self.tutor is not None:
            for activity in self.tutor.activities(frame):
                self.report(activity)

    def report_tab(self, tab: str) -> None:
        if self._expected_tab == tab:
            self._expected_tab = None
            return
        self.report(Activity.of("tab", tab=PANEL_OF_TAB.get(tab, tab)))
