"""The top line: where the boot is (``step 14/31 · mem_init · eager · qemu-8g``) and,
on the right, what the explorer is doing (a running command, autoplay, a workload)."""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Label, ProgressBar

from kmsan_tui.tui.frame import Frame


class StatusBar(Horizontal):
    """One line of status; the progress bar shows only while a long command runs."""

    HELP = """\
## Status line

`step 34/53 · mem_init · eager · qemu-8g`: boot steps run of the kernel profile's
53, the init call that ran last, the KMSAN metadata strategy, the layout; then the
session's file (`*`: unsaved changes) and, inside a recording, `▶ replay 3/10`. On
the right, the command running (escape stops it) or autoplay.
"""

    DEFAULT_CSS = """
    StatusBar {
        height: 1; dock: top; background: $panel; color: $foreground;
        #status { width: 1fr; padding: 0 1; }
        ProgressBar { width: 30; display: none; }
        &.-progress ProgressBar { display: block; }
    }
    """

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state the status line describes."""
    activity: reactive[str] = reactive("", repaint=False)
    """What is running, or empty when idle."""
    progress: reactive[tuple[int, int] | None] = reactive(None, repaint=False)
    """(done, total) of the running command, None when it reports no progress."""

    def compose(self) -> ComposeResult:
        yield Label(id="status")
        yield ProgressBar(total=100, show_eta=False, id="progress")

    def watch_frame(self) -> None:
        self._draw()

    def watch_activity(self) -> None:
        self._draw()

    def _draw(self) -> None:
        if self.frame is None or not self.is_mounted:
            return
        label = self.query_one("#status", Label)
        width = label.content_size.width or self.size.width
        # The status on the left, the activity on the right; the status gives way.
        right = Text(self.activity, style="italic")
        right.truncate(max(0, width - 12), overflow="ellipsis")
        left = Text(self.frame.status, style="bold")
        room = max(0, width - right.cell_len - (1 if right.cell_len else 0))
        left.truncate(room, overflow="ellipsis", pad=True)
        line = left + (Text(" ") + right if right.cell_len else Text())
        # One fixed-size line of plain text (a Rich table here was measured on every
        # step): no layout pass either.
        label.update(line, layout=False)

    def on_resize(self, _event: events.Resize) -> None:
        self._draw()

    def on_mount(self) -> None:
        self.tooltip = ("step N/M: boot steps run of the kernel profile's M · the init call "
                        "that ran last · KMSAN strategy · layout · the session file (* unsaved)"
                        " and where a replay is")
        self._draw()

    def watch_progress(self, progress: tuple[int, int] | None) -> None:
        self.set_class(progress is not None, "-progress")
        if progress is not None:
            done, total = progress
            self.query_one(ProgressBar).update(total=max(1, total), progress=done)
