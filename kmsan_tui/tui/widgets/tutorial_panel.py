"""The tutorial panel: one lesson at a time, with its goal ticked off as the user reaches it."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from kmsan_tui.tui.tutorial import LESSONS, TutorialState


class TutorialPanel(VerticalScroll):
    """The guided tutorial, beside the explorer (``T`` opens and closes it)."""

    HELP = """\
## Tutorial

Eight short lessons on how the kernel sets up memory and where KMSAN keeps its
metadata. Each sets a goal you reach with the explorer's own keys; the goal is
ticked when the screen shows it.

- `.` next lesson, `,` the previous one
- `T` closes the tutorial (it remembers the lesson)
"""

    DEFAULT_CSS = """
    TutorialPanel {
        width: 40;
        height: 1fr;
        padding: 0 1;
        border: round $accent;
        border-title-color: $accent;
        #tutorial-body { margin: 1 0; }
        #tutorial-goal { margin: 0 0 1 0; }
        #tutorial-keys { color: $text-muted; }
    }
    """

    index: reactive[int] = reactive(0, repaint=False)
    """The lesson shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state: TutorialState | None = None
        self._shown: tuple[int, bool] | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="tutorial-title")
        yield Static(id="tutorial-body")
        yield Static(id="tutorial-goal")
        yield Static("[b].[/] next lesson   [b],[/] previous   [b]T[/] close",
                     id="tutorial-keys")

    @property
    def reached(self) -> bool:
        """Whether the shown lesson's goal is met."""
        return self._state is not None and LESSONS[self.index].reached(self._state)

    def show(self, state: TutorialState) -> None:
        """The explorer's state changed: tick the goal if it is met now."""
        self._state = state
        self._draw()

    def move(self, delta: int) -> None:
        self.index = min(max(self.index + delta, 0), len(LESSONS) - 1)

    def watch_index(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if not self.is_mounted:
            return
        lesson = LESSONS[self.index]
        reached = self.reached
        if (self.index, reached) == self._shown:
            return
        first = self._shown is None or self._shown[0] != self.index
        self._shown = (self.index, reached)
        self.border_title = f"Tutorial {self.index + 1}/{len(LESSONS)}"
        if first:
            self.query_one("#tutorial-title", Static).update(
                Text(lesson.title, style="bold"))
            self.query_one("#tutorial-body", Static).update(lesson.body)
            self.scroll_home(animate=False)
        mark = "[green]✓[/] " if reached else "○ "
        done = ("  [green]Done.[/] [b].[/] for the next lesson." if reached
                and self.index + 1 < len(LESSONS) else
                "  [green]That was the last lesson.[/]" if reached else "")
        self.query_one("#tutorial-goal", Static).update(f"{mark}{lesson.goal}{done}")
