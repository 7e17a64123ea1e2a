"""The tutorial panel: the open lesson's text, its question, the feedback and its goals.

The panel draws a ``LessonView``, a frozen snapshot the explorer builds from the
lesson being done (``kmsan_tui.tutorial.LessonRun``) with the keys of the active
keymap already in the text. It owns nothing of the lesson: answers go up as
``PredictionInput.Answered``, the buttons as ``TutorialPanel.Requested``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.markdown import Markdown
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.reactive import reactive
from textual.widgets import Button, Static

from kmsan_tui.tui.widgets.prediction_input import PredictionInput


@dataclass(frozen=True, slots=True)
class Question:
    """The prediction the lesson asks now."""

    id: str
    text: str
    choices: tuple[str, ...]  # empty: a number


@dataclass(frozen=True, slots=True)
class LessonView:
    """Everything the panel shows of a lesson, keys already named."""

    number: int  # in the list of lessons (0: a teacher's file outside it)
    total: int  # shipped lessons
    title: str
    body: str  # Markdown
    question: Question | None  # asked now
    waiting: str  # "" or what the explorer is doing with the answer
    feedback: tuple[tuple[bool, str], ...]  # (right, text) per answered prediction
    goals: tuple[tuple[str, bool], ...]  # (text, reached), in the lesson's order
    locked: bool  # the goals count once the opening question is answered
    complete: bool
    finished_before: bool  # the progress file says the learner finished it once
    hints: str  # the keys that move between lessons and hide the panel


class TutorialPanel(Vertical):
    """The lesson beside the explorer (``T`` hides and shows it)."""

    HELP = """\
## Tutorial

Each lesson opens on its own machine, asks you to **predict** a number or a
choice, then runs the model and tells you how close you were, and why. Its goals
tick when you *do* something (a step, an allocation, a pointer followed), never
because the state already showed it.

- type the answer and press **Enter** (or pick a choice)
- `.` / `,` the next and previous lesson, `T` hides the panel
- *Restart* opens the lesson again from its start
"""

    DEFAULT_CSS = """
    TutorialPanel {
        height: 1fr;
        border: round $accent;
        border-title-color: $accent;
        border-title-style: bold;
        padding: 0 1;
        #tutorial-title { text-style: bold; height: auto; }
        #tutorial-scroll { height: 1fr; scrollbar-size-vertical: 1; }
        #tutorial-question, #tutorial-feedback, #tutorial-goals, #tutorial-done {
            height: auto; margin-top: 1;
        }
        #tutorial-question { color: $text-accent; }
        #tutorial-ask { height: auto; }
        #tutorial-waiting { height: auto; color: $text-muted; text-style: italic; }
        #tutorial-buttons { height: auto; display: none; }
        &.-complete #tutorial-buttons { display: block; }
        #tutorial-buttons Button { margin-right: 1; }
        #tutorial-keys { height: auto; color: $text-muted; }
    }
    """

    view: reactive[LessonView | None] = reactive(None, repaint=False)
    """The lesson as the explorer sees it now."""

    class Requested(Message):
        """A button: ``restart`` the lesson, or open the ``next`` one."""

        def __init__(self, what: str) -> None:
            self.what = what
            super().__init__()

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._asking: str | None = None  # the prediction whose input is mounted
        self._feedback_shown = 0
        self._reached_shown = 0
        self._drawn: LessonView | None = None
        self._ready = False  # composed and mounted: the view can be drawn

    def compose(self) -> ComposeResult:
        yield Static(id="tutorial-title")
        with VerticalScroll(id="tutorial-scroll", can_focus=True):
            yield Static(id="tutorial-body")
            yield Static(id="tutorial-question")
            yield Static(id="tutorial-feedback")
            yield Static(id="tutorial-goals")
            yield Static(id="tutorial-done")
            with Horizontal(id="tutorial-buttons"):
                yield Button("Restart", id="tutorial-restart", compact=True)
                yield Button("Next lesson", id="tutorial-next", variant="primary",
                             compact=True)
        with Vertical(id="tutorial-ask"):  # the answer, always in sight below the text
            yield Static(id="tutorial-waiting")
        yield Static(id="tutorial-keys")

    def on_mount(self) -> None:
        self._ready = True
        self._draw()

    def watch_view(self) -> None:
        self._draw()

    def _draw(self) -> None:
        view = self.view
        if view is None or not self._ready or view == self._drawn:
            return
        first = self._drawn is None or (self._drawn.number, self._drawn.title) != \
            (view.number, view.title)
        self._drawn = view
        self.border_title = (f"Lesson {view.number}/{view.total}" if view.number
                             else "Lesson") + f" · {view.title}"
        if first:
            self.query_one("#tutorial-title", Static).update(Text(view.title))
            self.query_one("#tutorial-body", Static).update(Markdown(view.body))
            self.query_one("#tutorial-scroll").scroll_home(animate=False)
            self._feedback_shown = self._reached_shown = 0
        self._draw_feedback(view)
        self._draw_goals(view)
        self._draw_question(view)
        self.query_one("#tutorial-waiting", Static).update(view.waiting)
        self.query_one("#tutorial-waiting").display = bool(view.waiting)
        self.query_one("#tutorial-keys", Static).update(view.hints)
        self.set_class(view.complete, "-complete")
        last = view.number >= view.total or not view.number
        self.query_one("#tutorial-next", Button).display = not last
        reached = sum(done for _, done in view.goals)
        if reached > self._reached_shown or view.complete:
            # A goal just ticked, or the lesson is done: show it (and what comes next).
            target = "#tutorial-buttons" if view.complete else "#tutorial-goals"
            self._scroll_to(target)
        self._reached_shown = reached

    def _scroll_to(self, selector: str, top: bool = False) -> None:
        scroll = self.query_one("#tutorial-scroll", VerticalScroll)
        self.call_after_refresh(lambda: scroll.scroll_to_widget(
            self.query_one(selector), animate=False, top=top))

    def _draw_feedback(self, view: LessonView) -> None:
        text = Text()
        for i, (right, line) in enumerate(view.feedback):
            if i:
                text.append("\n\n")
            text.append("✓ " if right else "✗ ", style="bold green" if right else "bold red")
            text.append(line)
        widget = self.query_one("#tutorial-feedback", Static)
        widget.update(text)
        widget.display = bool(view.feedback)
        if len(view.feedback) > self._feedback_shown:
            self._feedback_shown = len(view.feedback)
            scroll = self.query_one("#tutorial-scroll", VerticalScroll)
            self.call_after_refresh(lambda: scroll.scroll_to_widget(widget, top=True,
                                                                    animate=False))

    def _draw_goals(self, view: LessonView) -> None:
        text = Text()
        text.append("Goals", style="bold")
        if view.locked:
            text.append(" (they count once you have answered)", style="dim")
        for goal, reached in view.goals:
            text.append("\n")
            text.append("✓ " if reached else "○ ", style="bold green" if reached else "")
            text.append(goal, style="dim" if view.locked else "")
        self.query_one("#tutorial-goals", Static).update(text)
        self.query_one("#tutorial-goals").display = bool(view.goals)
        done = Text()
        if view.complete:
            done.append("Lesson complete.", style="bold green")
            if view.number and view.number < view.total:
                done.append(" The next one is waiting.")
        elif view.finished_before:
            done.append("You finished this lesson before: this is a new try.", style="dim")
        self.query_one("#tutorial-done", Static).update(done)
        self.query_one("#tutorial-done").display = bool(done)

    def _draw_question(self, view: LessonView) -> None:
        question = view.question
        ask = self.query_one("#tutorial-ask")
        ask.display = question is not None or bool(view.waiting)
        wanted = question.id if question is not None else None
        shown = self.query_one("#tutorial-question", Static)
        shown.update(Text.assemble(("Predict: ", "bold"), question.text, "\n↓ your answer below")
                     if question else "")
        shown.display = question is not None
        if wanted == self._asking:
            return
        for old in self.query(PredictionInput):
            old.remove()
        self._asking = wanted
        if question is not None:
            ask.mount(PredictionInput(question.id, question.choices, id="prediction"),
                      before="#tutorial-waiting")
            # The question in sight (the text above it scrolls back).
            self._scroll_to("#tutorial-question", top=True)

    def focus_answer(self) -> None:
        """Give the keyboard to the question asked now (after it is mounted)."""
        def focus() -> None:
            for widget in self.query(PredictionInput):
                widget.focus_answer()
        self.call_after_refresh(focus)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.post_message(self.Requested("restart" if event.button.id == "tutorial-restart"
                                         else "next"))
