"""The kernel log: the simulated dmesg, appended as the boot goes on."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import RichLog

from kmsan_tui.model.events import Event
from kmsan_tui.tui.frame import Frame

MAX_LINES = 5000
_KIND_STYLE = {"warn": "bold yellow", "bug": "bold red", "meta": "cyan", "memblock": "dim",
               "alloc": "", "free": "", "log": ""}


class KernelLog(RichLog):
    """dmesg lines as the kernel prints them, a rule before each boot step."""

    HELP = """\
## Kernel log

The simulated `dmesg`: what the kernel would print, in its own format, a rule
before each boot step. Warnings are yellow, bugs (oopses, panics, bad pages) red,
KMSAN lines cyan.

- `D` shows or hides memblock=debug lines
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("D", "toggle_debug", "memblock=debug", id="kernel_log.debug"),
    ]

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state whose log is shown."""
    memblock_debug: reactive[bool] = reactive(False, repaint=False)
    """Show memblock=debug lines."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=MAX_LINES, wrap=False, markup=False, auto_scroll=True)
        self._written: list[Event] = []  # the events the log shows, to append only new ones

    def watch_frame(self) -> None:
        if self.region.height:
            self._sync()

    def watch_memblock_debug(self) -> None:
        self._written = []
        self._sync()

    def on_show(self, _event: events.Show) -> None:
        self._sync()

    def action_toggle_debug(self) -> None:
        self.memblock_debug = not self.memblock_debug

    def _sync(self) -> None:
        frame = self.frame
        if frame is None:
            return
        events_ = frame.sim.events
        n = len(self._written)
        if n and (len(events_) < n or events_[n - 1] != self._written[-1]
                  or events_[0] != self._written[0]):
            n = 0  # undone, switched or reloaded: redraw from the start
        if n == 0:
            self.clear()
            self._written = []
        new = events_[n:][-MAX_LINES:]
        step = self._written[-1].step if self._written else None
        for event in new:
            if event.step != step:
                step = event.step
                self.write(Text(f"── {step} ──", style="bold dim"))
            if event.kind == "memblock" and not self.memblock_debug:
                continue
            self.write(Text(event.text, style=_KIND_STYLE.get(event.kind, "")))
        self._written = list(events_)
