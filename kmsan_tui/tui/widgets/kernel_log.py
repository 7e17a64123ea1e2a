"""The kernel log: the simulated dmesg, appended as the boot goes on.

Like Textual's ``Log``, it only appends: each frame carries its log as an
``EventLog`` that shares the lines of the states before it, so the widget writes the
lines after those it wrote, and redraws from the start only when the frame's log does
not continue them (a step back, a strategy switch, another layout).
"""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import RichLog

from kmsan_tui.tui.eventlog import EventLog
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
        self._written: EventLog | None = None  # the log shown, to append only what follows
        self._last_step: str | None = None  # the step of the last event written

    def watch_frame(self) -> None:
        if self.region.height:
            self._sync()

    def watch_memblock_debug(self) -> None:
        self._written = None
        self._sync()

    def on_show(self, _event: events.Show) -> None:
        self._sync()

    def action_toggle_debug(self) -> None:
        self.memblock_debug = not self.memblock_debug

    def _sync(self) -> None:
        frame = self.frame
        if frame is None:
            return
        log = frame.log
        if log is self._written:
            return
        new = log.since(self._written, MAX_LINES) if self._written is not None else None
        if new is None:  # undone, switched, reloaded or refiltered: redraw from the start
            self.clear()
            self._last_step = None
            new = log.since(None, MAX_LINES) or ()
        step = self._last_step
        for event in new:
            if event.step != step:
                step = event.step
                self.write(Text(f"── {step} ──", style="bold dim"))
            if event.kind == "memblock" and not self.memblock_debug:
                continue
            self.write(Text(event.text, style=_KIND_STYLE.get(event.kind, "")))
        self._last_step = step
        self._written = log
