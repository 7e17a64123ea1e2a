"""What one boot step does: its kernel source and explanation, wrapped and scrollable.

A line-API ``ScrollView``: the text is wrapped to the width here and the view's
virtual size set without a layout pass (``set_virtual_size``), so showing the next
step's explanation after every step costs a few lines, not a layout of the screen.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kmsan_tui.tui.frame import StepInfo
from kmsan_tui.tui.widgets.scrolling import set_virtual_size


def step_text(info: StepInfo) -> Text:
    """A step's source in bold, then what it does."""
    return Text.assemble((info.source, "bold"), "\n", info.explanation)


class StepDetail(ScrollView, can_focus=True):
    """The highlighted step's source and explanation; arrows and the wheel scroll it."""

    HELP = """\
## Step explanation

The kernel function of the highlighted step, its source file, and what it does
to memory, ending with what that means for KMSAN. Arrows, page keys and the mouse
wheel scroll it; `v` in the timeline shows it full screen (escape comes back).
"""

    DEFAULT_CSS = """
    StepDetail { overflow-y: scroll; overflow-x: hidden; scrollbar-size-vertical: 1; }
    """

    info: reactive[StepInfo | None] = reactive(None, repaint=False)
    """The step to explain."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._lines: list[Strip] = []
        self._wrapped: tuple[object, ...] = ()

    @property
    def text(self) -> str:
        """The explanation as plain text (what the box scrolls through)."""
        return "\n".join(strip.text.rstrip() for strip in self._lines)

    def on_mount(self) -> None:
        self.watch(self.screen, "maximized", self._maximized, init=False)

    def _maximized(self, widget: object) -> None:
        # Inline: the app's stylesheet gives the box a few lines beside the step list;
        # full screen, it takes the screen's height.
        self.styles.height = "1fr" if widget is self else None

    def watch_info(self) -> None:
        self.scroll_to(y=0, animate=False, immediate=True)
        self._wrap()

    def on_resize(self, _event: events.Resize) -> None:
        self._wrap()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._wrapped = ()
        self._wrap()

    def _wrap(self) -> None:
        width = self.scrollable_content_region.width
        key = (self.info, width)
        if self.info is None or width <= 0 or key == self._wrapped:
            return
        self._wrapped = key
        console = self.app.console
        base = self.rich_style
        self._lines = [
            Strip(list(line.render(console)), line.cell_len).apply_style(base)
            for line in step_text(self.info).wrap(console, width)]
        set_virtual_size(self, Size(width, len(self._lines)))
        self.refresh()

    def render_line(self, y: int) -> Strip:
        row = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        if 0 <= row < len(self._lines):
            return self._lines[row].adjust_cell_length(width, self.rich_style)
        return Strip([Segment(" " * width, self.rich_style + Style())])
