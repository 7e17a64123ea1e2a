"""The comparison: two strategies at the same step, side by side, differences marked.

The left side is the explorer's frame; the right side re-runs the session's boot
steps and workloads under another strategy, or shows a branch's parent at the same
boot step, in a thread worker (a replay engine of its own: nothing is shared with
the explorer's). Each map underlines the cells where the other side differs; the
table marks every metric that differs.
"""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.reactive import reactive
from textual.screen import Screen
from textual.widgets import Label, Static

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import STRATEGIES
from kmsan_tui.model.metrics import Metrics
from kmsan_tui.session import Session, files
from kmsan_tui.tui import palettes
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.messages import PageSelected, ZoomRequested
from kmsan_tui.tui.palettes import state_label
from kmsan_tui.tui.runner import other_strategy_frame, parent_frame
from kmsan_tui.tui.screens.dialog import DismissOnce
from kmsan_tui.tui.widgets.keys_footer import KeysFooter
from kmsan_tui.tui.widgets.memory_map import MemoryMap
from kmsan_tui.tui.widgets.metrics_panel import ROWS, format_value

PARENT = "parent"
"""The comparison's other side: the branch's parent rather than a strategy."""


def compare_table(left: Metrics, right: Metrics,
                  names: tuple[str, str] | None = None) -> Table:
    """The metrics side by side; ``names`` head the columns (default: the strategies)."""
    table = Table(box=None, padding=(0, 1), header_style="bold")
    table.add_column("metric", no_wrap=True)
    table.add_column(names[0] if names else left.strategy, justify="right", no_wrap=True)
    table.add_column(names[1] if names else right.strategy, justify="right", no_wrap=True)
    table.add_column("", no_wrap=True)
    for label, key, kind in ROWS:
        a, b = getattr(left, key), getattr(right, key)
        differs = a != b
        style = "bold" if differs else "dim"
        table.add_row(Text(label, style=style), Text(format_value(a, kind), style=style),
                      Text(format_value(b, kind), style=style),
                      Text("≠", style="bold yellow") if differs else "")
    return table


class CompareScreen(DismissOnce, Screen[None]):
    """Two strategies at the same step; `1`/`2`/`3` choose the right-hand one."""

    HELP = """\
## Comparison

The left map is the explorer's state; the right map re-runs the same commands
under another strategy (`1` eager, `2` lazy, `3` fixed), or shows the session this
branch was cut from at the same boot step (`p`). Cells where the two differ are
underlined on both maps; metrics that differ are bold and marked `≠`. The cursor
and zoom are shared. `escape` goes back to the explorer.
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,c", "close", "Back", id="compare.close"),
        Binding("1", "other('eager')", "vs eager", id="compare.eager"),
        Binding("2", "other('lazy')", "vs lazy", id="compare.lazy"),
        Binding("3", "other('fixed')", "vs fixed", id="compare.fixed"),
        Binding("p", "other('parent')", "vs parent", id="compare.parent"),
        Binding("plus,equals_sign", "zoom(-1)", "Zoom in", key_display="+",
                id="compare.zoom_in"),
        Binding("minus", "zoom(1)", "Zoom out", key_display="-", id="compare.zoom_out"),
        Binding("0", "zoom_fit", "Whole machine", show=False, id="compare.zoom_fit"),
    ]

    left: reactive[Frame | None] = reactive(None, repaint=False)
    """The explorer's state."""
    right: reactive[Frame | None] = reactive(None, repaint=False)
    """The same commands under the other strategy."""
    cursor: reactive[int] = reactive(0, repaint=False)
    """The pfn under both cursors."""
    zoom: reactive[int] = reactive(0, repaint=False)
    """Pages per cell of both maps (0: whole machine)."""
    palette: reactive[str] = reactive(palettes.DEFAULT_PALETTE, repaint=False)
    """The colours of page states."""

    def __init__(self, session: Session, frame: Frame, cursor: int, palette: str,
                 other: str | None = None) -> None:
        super().__init__()
        # Read now: the explorer's session moves on when the user returns to it.
        self._setup = session.setup
        self._plan = session.state.plan
        self._initial = session.initial
        self._session = session  # read by the worker for a parent's file only
        self._parent_log = session.parent.log if session.parent else None
        self._has_parent = session.parent is not None
        self.set_reactive(CompareScreen.left, frame)
        self.set_reactive(CompareScreen.cursor, cursor)
        self.set_reactive(CompareScreen.palette, palette)
        if other is None:
            i = STRATEGIES.index(frame.strategy) if frame.strategy in STRATEGIES else -1
            other = STRATEGIES[(i + 1) % len(STRATEGIES)]
        self.other = other
        self._serial = 1 << 40

    def compose(self) -> ComposeResult:
        yield Label(id="compare-title")
        with Horizontal(id="compare-maps"):
            with Vertical():
                yield Label(id="left-title", classes="side-title")
                left = MemoryMap(id="left-map").data_bind(
                    frame=CompareScreen.left, cursor=CompareScreen.cursor,
                    zoom=CompareScreen.zoom, palette=CompareScreen.palette)
                left.animate_changes = False
                yield left
            with Vertical():
                yield Label(id="right-title", classes="side-title")
                right = MemoryMap(id="right-map").data_bind(
                    frame=CompareScreen.right, cursor=CompareScreen.cursor,
                    zoom=CompareScreen.zoom, palette=CompareScreen.palette)
                right.animate_changes = False
                yield right
        yield Static(id="compare-page")
        with VerticalScroll(id="compare-metrics"):
            yield Static(id="compare-table")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#left-map", MemoryMap).focus()
        self._load_other()

    def _load_other(self) -> None:
        self.right = None
        self._titles()
        self._simulate(self.other)

    @work(thread=True, exclusive=True, group="compare", exit_on_error=False)
    def _simulate(self, other: str) -> None:
        self._serial += 1
        try:
            if other == PARENT:
                if self._parent_log is None:
                    self._parent_log = files.parent_log(self._session)
                frame = parent_frame(self._setup, self._initial, self._plan, self._parent_log,
                                     self._serial)
            else:
                frame = other_strategy_frame(self._setup, self._plan, other, self._serial)
        except UserError as exc:
            self.app.call_from_thread(self._failed, other, str(exc))
            return
        except Exception as exc:  # a model bug: one line, the comparison stays open
            self.app.call_from_thread(self._failed, other,
                                      f"model error: {type(exc).__name__}: {exc}")
            return
        self.app.call_from_thread(self._show_other, other, frame)

    def _failed(self, other: str, message: str) -> None:
        if self.dismissed or not self.is_mounted:
            return  # closed while the other side was simulated
        self.notify(message, severity="error", timeout=6)
        if other == self.other:
            self.other = other  # keep the choice: the title says why nothing shows
            self.query_one("#right-title", Label).update(Text(f"{other}: {message}",
                                                              style="bold red"))

    def _show_other(self, other: str, frame: Frame) -> None:
        if other != self.other or self.dismissed or not self.is_mounted:
            return  # a newer choice is being simulated, or the comparison was closed
        self.right = frame

    def watch_right(self) -> None:
        self._titles()
        left_map = self.query_one("#left-map", MemoryMap)
        right_map = self.query_one("#right-map", MemoryMap)
        left_map.reference = self.right.index if self.right is not None else None
        right_map.reference = self.left.index if self.left is not None else None
        self._describe_cursor()
        if self.left is not None and self.right is not None:
            self.query_one("#compare-table", Static).update(
                compare_table(self.left.metrics, self.right.metrics,
                              ("branch", "parent") if self.other == PARENT else None))

    def watch_cursor(self) -> None:
        self._describe_cursor()

    def _titles(self) -> None:
        left = self.left
        if left is None:
            return
        other = self._other_label()
        self.query_one("#compare-title", Label).update(Text.assemble(
            (f"{self._left_label()} vs {other}", "bold"),
            f" at step {left.step_index}/{left.nsteps} · {left.step_name} · {left.layout_name}"
            " — cells and metrics that differ are marked"))
        self.query_one("#left-title", Label).update(Text(self._left_label(), style="bold"))
        right = "…re-simulating" if self.right is None else ""
        self.query_one("#right-title", Label).update(
            Text.assemble((other, "bold"), (f" {right}", "dim")))

    def _left_label(self) -> str:
        left = self.left
        assert left is not None
        return f"branch ({left.strategy})" if self.other == PARENT else left.strategy

    def _other_label(self) -> str:
        if self.other != PARENT:
            return self.other
        right = self.right
        if right is None:
            return "parent"
        return f"parent ({right.strategy}, {right.note.removeprefix('parent ')}, " \
               f"step {right.step_index})"

    def _describe_cursor(self) -> None:
        if self.left is None:
            return
        parts = [f"pfn {self.cursor:#x}: "]
        for frame in (self.left, self.right):
            if frame is None:
                continue
            view = frame.lookup.page(self.cursor)
            name = self._left_label() if frame is self.left else self._other_label()
            parts.append(f"{name}: {state_label(view.state)}"
                         f"{' (blind)' if view.blind else ''}   ")
        self.query_one("#compare-page", Static).update("".join(parts))

    @on(PageSelected)
    def _page_selected(self, message: PageSelected) -> None:
        span = self.left.index.span if self.left is not None else 1
        self.cursor = min(max(0, message.pfn), span - 1)

    @on(ZoomRequested)
    def _zoom_requested(self, message: ZoomRequested) -> None:
        self.zoom = message.pages_per_cell

    def action_zoom(self, direction: int) -> None:
        self.zoom = self.query_one("#left-map", MemoryMap).zoom_step(direction)

    def action_zoom_fit(self) -> None:
        self.zoom = 0

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "other" and parameters == (PARENT,):
            return self._has_parent  # "vs parent" only for a branch
        return True

    def action_other(self, strategy: str) -> None:
        if strategy != self.other:
            self.other = strategy
            self._load_other()

    def action_close(self) -> None:
        self.dismiss()
