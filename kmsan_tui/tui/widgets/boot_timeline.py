"""The boot timeline: every step with its kernel source, the current one highlighted,
and below it what the highlighted step does (scrolls; ``v`` gives it the whole panel)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.reactive import reactive
from textual.visual import VisualType
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from kmsan_tui.tui.frame import Frame, StepInfo
from kmsan_tui.tui.messages import RunToRequested
from kmsan_tui.tui.widgets.step_detail import StepDetail


class StepList(OptionList):
    """An OptionList whose one-line prompts change in place.

    OptionList drops every rendered option when one prompt is replaced (the new prompt
    might wrap to another height). Step prompts never wrap (nowrap, ellipsis), so only
    the replaced option needs rendering again: a step repaints two or three lines
    instead of the whole visible list.
    """

    def _replace_option_prompt(self, index: int, prompt: VisualType) -> None:
        option = self.get_option_at_index(index)
        option._set_prompt(prompt)
        cache = self._option_render_cache
        for key in [key for key in cache.keys() if key[0] is option]:
            cache.discard(key)
        self.refresh()


class BootTimeline(Vertical):
    """Boot steps in kernel order; Enter or a click runs (or steps back) to one."""

    HELP = """\
## Boot timeline

The init calls of the boot, in the kernel's order: `setup_arch()` first, then
`mm_core_init()`.

- `✓` ran, `●` the step that ran last, `›` the next one
- **Enter** or a click on a step: run to it (or step back to it)
- the box below names the kernel function and what it does to memory, ending
  with what it means for KMSAN; it scrolls (mouse wheel, or focus it with tab and
  use the arrows)
- `v` shows the explanation full screen (`v` or escape to come back)
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("v", "toggle_reading", "Read the step", id="timeline.read"),
    ]

    DEFAULT_CSS = """
    BootTimeline {
        #steps { height: 1fr; border: none; padding: 0; text-wrap: nowrap;
                 text-overflow: ellipsis; }
        #detail { height: 7; padding: 0 0 0 1; border-top: hkey $panel-lighten-2;
                  color: $text-muted; }
        #detail.-maximized { border-top: none; padding: 1 2; color: $text; }
    }
    """

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state whose steps are listed."""

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self._steps: tuple[StepInfo, ...] = ()  # the steps the options list
        self._current = -1  # the step_index the prompts show
        self._detail: StepInfo | None = None  # the step whose explanation is shown

    def compose(self) -> ComposeResult:
        yield StepList(id="steps")
        yield StepDetail(id="detail")

    def action_toggle_reading(self) -> None:
        """The explanation full screen (Textual's maximized view), or back."""
        detail = self.query_one(StepDetail)
        if self.screen.maximized is detail:
            self.screen.minimize()
            self.query_one("#steps").focus()
        else:
            detail.focus()
            self.screen.maximize(detail, container=False)

    def watch_frame(self, frame: Frame | None) -> None:
        if frame is None:
            return
        steps = self.query_one("#steps", OptionList)
        if frame.steps != self._steps:  # another kernel's boot: list its steps again
            steps.clear_options()
            steps.add_options(Option(self._prompt(frame.step_index, i, step.name), id=step.name)
                              for i, step in enumerate(frame.steps))
            self._steps = frame.steps
        elif frame.step_index != self._current:
            # A prompt shows one of four marks (ran, last, next, later): only the steps
            # between the old and the new position change theirs.
            lo, hi = sorted((self._current, frame.step_index))
            for i in range(max(0, lo - 2), min(len(frame.steps), hi + 1)):
                if self._mark(self._current, i) != self._mark(frame.step_index, i):
                    steps.replace_option_prompt_at_index(
                        i, self._prompt(frame.step_index, i, frame.steps[i].name))
        self._current = frame.step_index
        steps.highlighted = max(0, frame.step_index - 1)
        self._show_detail(steps.highlighted)

    @staticmethod
    def _mark(step_index: int, i: int) -> int:
        current = step_index - 1
        return 0 if i < current else 1 if i == current else 2 if i == current + 1 else 3

    @classmethod
    def _prompt(cls, step_index: int, i: int, name: str) -> Text:
        mark = cls._mark(step_index, i)
        if mark == 0:
            text = Text.assemble(("✓ ", "green"), (f"{i + 1:2d} ", "dim"), (name, "dim"))
        elif mark == 1:
            text = Text.assemble(("● ", "bold"), (f"{i + 1:2d} ", "bold"), (name, "bold"))
        elif mark == 2:
            text = Text.assemble(("› ", "bold"), (f"{i + 1:2d} ", "bold"), name)
        else:
            text = Text.assemble("  ", f"{i + 1:2d} ", name)
        text.no_wrap = True
        text.overflow = "ellipsis"
        return text

    def _show_detail(self, index: int | None) -> None:
        if self.frame is None or index is None or index >= len(self.frame.steps):
            return
        info = self.frame.steps[index]
        if info == self._detail:
            return  # the same text: no need to render it again
        self._detail = info
        self.query_one(StepDetail).info = info

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        event.stop()
        self._show_detail(event.option_index)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(RunToRequested(event.option_index))
