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
from kmsan_tui.tui.widgets.scrolling import CatchUp

MAX_LINES = 5000
INDENT = 4  # continuation lines of a wrapped message
_KIND_STYLE = {"warn": "bold yellow", "bug": "bold red", "meta": "cyan", "memblock": "dim",
               "alloc": "", "free": "", "log": ""}


class KernelLog(CatchUp, RichLog):
    """dmesg lines as the kernel prints them, a rule before each boot step."""

    HELP = """\
## Kernel log

The simulated `dmesg`: what the kernel would print, in its own format, a rule
before each boot step. Warnings are yellow, bugs (oopses, panics, bad pages) red,
KMSAN lines cyan. Long lines wrap to the panel's width. The `Memory:` line
(mem_init_print_info()) is the kernel's own summary: `available` is free pages,
`reserved` is present - totalram_pages (the Metrics tab defines each figure).

- `D` shows or hides memblock=debug lines
"""

    # Lines wrap: no sideways scrolling; the vertical scrollbar's column is kept, so
    # the wrap width does not change when it appears.
    DEFAULT_CSS = """
    KernelLog { overflow-x: hidden; scrollbar-gutter: stable; }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("D", "toggle_debug", "memblock=debug", id="kernel_log.debug"),
    ]

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state whose log is shown."""
    memblock_debug: reactive[bool] = reactive(False, repaint=False)
    """Show memblock=debug lines."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, max_lines=MAX_LINES, wrap=True, markup=False, auto_scroll=True,
                         min_width=16)
        self._written: EventLog | None = None  # the log shown, to append only what follows
        self._last_step: str | None = None  # the step of the last event written
        self._wrapped_at = 0  # the width the lines shown were wrapped to

    def watch_frame(self) -> None:
        if self.region.height:
            self._sync()

    def watch_memblock_debug(self) -> None:
        self._written = None
        self._sync()

    def on_show(self, _event: events.Show) -> None:
        self._sync()

    def stale(self) -> bool:
        return self.frame is not None and (
            self.frame.log is not self._written
            or self.scrollable_content_region.width != self._wrapped_at)

    def catch_up(self) -> None:
        self._sync()

    def action_toggle_debug(self) -> None:
        self.memblock_debug = not self.memblock_debug

    def _hanging(self, text: Text) -> Text:
        """A long line wrapped with its continuation lines indented (as dmesg reads
        in a narrow terminal, but with the start of each message standing out)."""
        width = self.scrollable_content_region.width
        if not width or text.cell_len <= width:
            return text
        cut = len(text.wrap(self.app.console, width)[0].plain)
        while cut < len(text.plain) and text.plain[cut] == " ":
            cut += 1
        head, tail = text.divide([cut])
        head.rstrip()
        rest = tail.wrap(self.app.console, max(8, width - INDENT))
        out = Text("\n").join([head, *(Text(" " * INDENT) + line for line in rest)])
        out.no_wrap = True
        return out

    def _sync(self) -> None:
        frame = self.frame
        width = self.scrollable_content_region.width
        if frame is None or not width:
            return  # lines are wrapped to the width: written once it is known
        # A log mounted in a hidden tab may never get the Resize that tells RichLog its
        # size is known (it would defer every write): the width is known here.
        self._size_known = True
        if width != self._wrapped_at:
            # RichLog wraps a line once, when it is written: a new width writes them again.
            self._written = None
            self._wrapped_at = width
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
                self.write(Text(f"── {step} ──", style="bold dim"), width=width)
            if event.kind == "memblock" and not self.memblock_debug:
                continue
            # The width given: RichLog would measure against the console's, not ours.
            self.write(self._hanging(Text(event.text, style=_KIND_STYLE.get(event.kind, ""))),
                       width=width)
        self._last_step = step
        self._written = log
