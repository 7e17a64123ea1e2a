"""The top line: where the boot is (``step 14/31 · mem_init · eager · qemu-8g``) and
what the explorer is doing (a running command, autoplay, a workload's progress)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.reactive import reactive
from textual.widgets import Label, ProgressBar

from kmsan_tui.tui.frame import Frame


class StatusBar(Horizontal):
    """One line of status; the progress bar shows only while a long command runs."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1; dock: top; background: $panel; color: $foreground;
        #status { width: 1fr; text-style: bold; padding: 0 1; }
        #activity { width: auto; color: $text-accent; padding: 0 1; }
        ProgressBar { width: 36; display: none; }
        &.-progress ProgressBar { display: block; }
    }
    """

    frame: reactive[Frame | None] = reactive(None)
    """The state the status line describes."""
    activity: reactive[str] = reactive("")
    """What is running, or empty when idle."""
    progress: reactive[tuple[int, int] | None] = reactive(None)
    """(done, total) of the running command, None when it reports no progress."""

    def compose(self) -> ComposeResult:
        yield Label(id="status")
        yield Label(id="activity")
        yield ProgressBar(total=100, show_eta=False, id="progress")

    def watch_frame(self, frame: Frame | None) -> None:
        if frame is not None:
            self.query_one("#status", Label).update(frame.status)

    def watch_activity(self, activity: str) -> None:
        self.query_one("#activity", Label).update(activity)

    def watch_progress(self, progress: tuple[int, int] | None) -> None:
        self.set_class(progress is not None, "-progress")
        if progress is not None:
            done, total = progress
            self.query_one(ProgressBar).update(total=max(1, total), progress=done)
