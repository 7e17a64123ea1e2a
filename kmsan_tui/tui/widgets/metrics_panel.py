"""Metrics of the current state, with the change the last command made to each, and
the definition of the metric under the cursor or the mouse.

Rows, labels and definitions come from ``model.metrics.METRICS``: the same
definitions as the CLI summary, ``--json`` and docs/metrics.md.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from kmsan_tui.model.constants import PAGE_SHIFT
from kmsan_tui.model.metrics import DEFINITIONS, GROUPS, METRICS, Metrics
from kmsan_tui.tui.fmt import pages, size
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.widgets.scrolling import CatchUp

SHOWN_GROUPS = ("class", "kernel", "kmsan", "layout")
_KIND = {"pages": "pages", "bytes": "bytes", "count": "count", "flag": "flag"}

# (label, Metrics field, kind): kind formats the value ("pages", "bytes", "B", "count",
# "flag"); the compare screen shares these rows.
ROWS: tuple[tuple[str, str, str], ...] = tuple(
    (d.label, d.name, "B" if d.name == "struct_page_size" else _KIND[d.unit])
    for group in SHOWN_GROUPS for d in METRICS if d.group == group and d.unit in _KIND)
GROUP_OF = {d.name: d.group for d in METRICS}
BAD = {"blind_spot_pages", "failed_metadata_allocs", "no_metadata_allocs", "bad_pages"}
HINT = "↑↓ or the mouse on a metric: its definition · F1: every definition"
WIDE = 62  # narrower tables cut labels and print pages as sizes


def format_value(value: object, kind: str, compact: bool = False) -> str:
    """A metric's value as the panels print it; ``compact``: pages as their size only."""
    if value is None:
        return "n/a" if kind == "count" else "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    assert isinstance(value, int)
    if kind == "pages":
        return size(value << PAGE_SHIFT) if compact and value else pages(value)
    if kind == "bytes":
        return size(value) if value else "0"
    if kind == "B":
        return f"{value} B"
    return f"{value:,}"


def format_delta(value: object, was: object, kind: str, compact: bool = False) -> Text:
    if not isinstance(value, int) or not isinstance(was, int) or isinstance(value, bool):
        return Text("")
    delta = value - was
    if not delta:
        return Text("")
    sign = "+" if delta > 0 else "−"
    body = format_value(abs(delta), kind if compact else "count" if kind == "pages" else kind,
                        compact)
    return Text(f"{sign}{body}", style="green" if delta > 0 else "red")


def definition(key: str) -> str:
    """``label: definition`` of a metric (or of a group, for a group's heading)."""
    if key in DEFINITIONS:
        d = DEFINITIONS[key]
        return f"{d.label}: {d.definition}"
    if key.startswith("group:"):
        return GROUPS[key[6:]]
    return ""


def metric_rows(metrics: Metrics, before: Metrics | None, label_width: int = 0
                ) -> list[tuple[str, tuple[Text | str, Text | str, Text | str]]]:
    """(key, cells) of every line of the table: a heading per group (key ``group:x``),
    then its metrics. With ``label_width``, labels are cut to it and values compact."""
    rows: list[tuple[str, tuple[Text | str, Text | str, Text | str]]] = []
    group = ""
    compact = label_width > 0

    def cut(text: str) -> str:
        return text if not compact or len(text) <= label_width else text[:label_width - 1] + "…"

    for label, key, kind in ROWS:
        if GROUP_OF[key] == "layout" and metrics.fits_4level is None:
            continue
        if GROUP_OF[key] != group:
            group = GROUP_OF[key]
            heading = GROUPS[group].partition(" (")[0]  # the whole name: in the bar below
            rows.append((f"group:{group}", (Text(cut(heading), style="bold underline"), "", "")))
        value = getattr(metrics, key)
        delta = (format_delta(value, getattr(before, key), kind, compact)
                 if before is not None else "")
        style = "bold red" if key in BAD and value else ""
        rows.append((key, (cut(f" {label}"), Text(format_value(value, kind, compact),
                                                   style=style, justify="right"), delta)))
    return rows


def memory_caption(metrics: Metrics) -> str:
    """The kernel's ``Memory:`` line (as printed, and now where that differs), then the
    strategy's notes."""
    return "\n".join((*metrics.memory_lines(), *(f"· {note}" for note in metrics.notes)))


def metrics_table(metrics: Metrics, before: Metrics | None) -> Table:
    """The whole table as one Rich renderable (text exports and tests)."""
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold",
                  caption=memory_caption(metrics), caption_justify="left")
    table.add_column("metric", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("Δ last", justify="right", no_wrap=True)
    for _key, cells in metric_rows(metrics, before):
        table.add_row(*cells)
    return table


def metrics_help() -> str:
    """Every metric shown, with its definition (F1 on the panel; the comparison and the
    definitions screen show the same)."""
    lines = ["## Metrics", "",
             "The cost of the current state. Every present page is in exactly one of the "
             "five page classes, which sum to the present pages; the kernel's own counters "
             "are shown beside them. `Δ last` is the change made by the last command; the "
             "line under the table is the kernel's `Memory:` line. Full table: "
             "docs/metrics.md.", ""]
    for group in SHOWN_GROUPS:
        lines.append(f"**{GROUPS[group]}**")
        lines.append("")
        lines += [f"- **{d.label}** — {d.definition}" for d in METRICS
                  if d.group == group and d.unit in _KIND]
        lines.append("")
    printed, memory = DEFINITIONS["printed_memory_line"], DEFINITIONS["memory_line"]
    lines += ["**the Memory: line**", "",
              f"- **{printed.label}** — {printed.definition}",
              f"- **{memory.label}** — {memory.definition}: `available` = free pages, "
              "`reserved` = present - totalram_pages (both in KiB)", ""]
    return "\n".join(lines)


class MetricsPanel(CatchUp, Vertical):
    """What the current state costs, in the numbers the strategies are compared by."""

    # The palette's "Maximize" (Textual's) on a focused table takes the whole panel.
    ALLOW_MAXIMIZE = True

    HELP = metrics_help()

    DEFAULT_CSS = """
    MetricsPanel {
        #metric-definition { dock: bottom; height: auto; max-height: 4; padding: 0 1;
                             color: $text-muted; border-top: hkey $panel-lighten-2; }
        #metrics-table { height: 1fr; }
    }
    """

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state whose metrics are shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._drawn: int | None = None  # the frame serial the table shows
        self._keys: list[str] = []  # the row keys, top to bottom
        self._defined: str | None = None  # the metric whose definition the bar shows
        self._label_width = 0  # labels cut to this (0: whole)

    def compose(self) -> ComposeResult:
        table: DataTable[Text | str] = DataTable(id="metrics-table", cursor_type="row",
                                                 zebra_stripes=True)
        yield table
        yield Static(id="metric-definition")

    def on_mount(self) -> None:
        table = self.query_one("#metrics-table", DataTable)
        table.add_column("metric", key="metric")
        table.add_column("value", key="value")
        table.add_column("Δ last", key="delta")

    def watch_frame(self, frame: Frame | None) -> None:
        # A hidden tab is drawn when it is shown, not on every step.
        if frame is None or not self.region.height or self._drawn == frame.serial:
            return
        self._drawn = frame.serial
        before = frame.before.metrics if frame.before is not None else None
        table = self.query_one("#metrics-table", DataTable)
        # Too narrow for the whole labels and values: labels cut, values compact (the
        # bar below has the whole name; the comparison and maximizing have them all).
        room = table.scrollable_content_region.width
        label_width = 0 if not room or room >= WIDE else max(10, room - 24)
        rows = metric_rows(frame.metrics, before, label_width)
        keys = [key for key, _cells in rows]
        if label_width != self._label_width:
            self._keys, self._label_width = [], label_width
        if keys == self._keys:  # the same rows: only their values change
            for key, (_label, value, delta) in rows:
                table.update_cell(key, "value", value)
                table.update_cell(key, "delta", delta)
        else:
            cursor = table.cursor_row
            table.clear()
            for key, cells in rows:
                table.add_row(*cells, key=key)
            self._keys = keys
            table.move_cursor(row=min(cursor, len(keys) - 1), animate=False)
        self._show_definition()

    def on_show(self, _event: events.Show) -> None:
        self.watch_frame(self.frame)

    def stale(self) -> bool:
        return self.frame is not None and self._drawn != self.frame.serial

    def catch_up(self) -> None:
        self.watch_frame(self.frame)

    def on_resize(self, _event: events.Resize) -> None:
        self._drawn = None
        self.watch_frame(self.frame)

    def _show_definition(self) -> None:
        """The bar under the table: the definition of the metric under the cursor (the
        table focused) or the mouse; else the kernel's Memory: line and the notes."""
        bar = self.query_one("#metric-definition", Static)
        if self._defined is not None:
            bar.update(definition(self._defined))
        elif self.frame is not None:
            bar.update(Text.assemble(memory_caption(self.frame.metrics), "\n", (HINT, "dim")))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        if event.row_key.value is not None and event.data_table.has_focus:
            self._defined = event.row_key.value
            self._show_definition()

    def on_descendant_focus(self, _event: events.DescendantFocus) -> None:
        table = self.query_one("#metrics-table", DataTable)
        if table.has_focus and 0 <= table.cursor_row < len(self._keys):
            self._defined = self._keys[table.cursor_row]
            self._show_definition()

    def on_descendant_blur(self, _event: events.DescendantBlur) -> None:
        self._defined = None
        self._show_definition()

    def on_leave(self, _event: events.Leave) -> None:
        if not self.query_one("#metrics-table", DataTable).has_focus:
            self._defined = None
            self._show_definition()

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """The definition of the metric under the mouse (and as its tooltip)."""
        table = self.query_one("#metrics-table", DataTable)
        offset = event.get_content_offset(table) if event.widget is table else None
        if offset is None:
            return
        row = int(table.scroll_offset.y) + offset.y - 1  # the header's line
        if 0 <= row < len(self._keys):
            self._defined = self._keys[row]
            self._show_definition()
            table.tooltip = definition(self._keys[row])
