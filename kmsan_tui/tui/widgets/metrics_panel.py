"""Metrics of the current state, with the change the last command made to each.

Rows, labels and the help text come from ``model.metrics.METRICS``: the same
definitions as the CLI summary, ``--json`` and docs/metrics.md.
"""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from kmsan_tui.model.metrics import GROUPS, METRICS, Metrics
from kmsan_tui.tui.fmt import pages, size
from kmsan_tui.tui.frame import Frame

SHOWN_GROUPS = ("class", "kernel", "kmsan", "layout")
_KIND = {"pages": "pages", "bytes": "bytes", "count": "count", "flag": "flag"}

# (label, Metrics field, kind): kind formats the value ("pages", "bytes", "B", "count",
# "flag"); the compare screen shares these rows.
ROWS: tuple[tuple[str, str, str], ...] = tuple(
    (d.label, d.name, "B" if d.name == "struct_page_size" else _KIND[d.unit])
    for group in SHOWN_GROUPS for d in METRICS if d.group == group and d.unit in _KIND)
GROUP_OF = {d.name: d.group for d in METRICS}
BAD = {"blind_spot_pages", "failed_metadata_allocs", "no_metadata_allocs", "bad_pages"}


def format_value(value: object, kind: str) -> str:
    if value is None:
        return "n/a" if kind == "count" else "-"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    assert isinstance(value, int)
    if kind == "pages":
        return pages(value)
    if kind == "bytes":
        return size(value) if value else "0"
    if kind == "B":
        return f"{value} B"
    return f"{value:,}"


def format_delta(value: object, was: object, kind: str) -> Text:
    if not isinstance(value, int) or not isinstance(was, int) or isinstance(value, bool):
        return Text("")
    delta = value - was
    if not delta:
        return Text("")
    sign = "+" if delta > 0 else "−"
    body = format_value(abs(delta), "count" if kind == "pages" else kind)
    return Text(f"{sign}{body}", style="green" if delta > 0 else "red")


def metrics_table(metrics: Metrics, before: Metrics | None) -> Table:
    caption = "\n".join((metrics.memory_line, *(f"· {note}" for note in metrics.notes)))
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold",
                  caption=caption, caption_justify="left")
    table.add_column("metric", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("Δ last", justify="right", no_wrap=True)
    group = ""
    for label, key, kind in ROWS:
        if GROUP_OF[key] == "layout" and metrics.fits_4level is None:
            continue
        if GROUP_OF[key] != group:
            group = GROUP_OF[key]
            table.add_row(Text(GROUPS[group], style="bold underline"), "", "")
        value = getattr(metrics, key)
        delta = format_delta(value, getattr(before, key), kind) if before is not None else ""
        style = "bold red" if key in BAD and value else ""
        table.add_row(f" {label}", Text(format_value(value, kind), style=style), delta)
    return table


def _help() -> str:
    lines = ["## Metrics", "",
             "The cost of the current state. Every present page is in exactly one of the "
             "five page classes, which sum to the present pages; the kernel's own counters "
             "are shown beside them. `Δ last` is the change made by the last command; the "
             "caption is the kernel's `Memory:` line. Full table: docs/metrics.md.", ""]
    for group in SHOWN_GROUPS:
        lines.append(f"**{GROUPS[group]}**")
        lines.append("")
        lines += [f"- **{d.label}** — {d.definition}" for d in METRICS
                  if d.group == group and d.unit in _KIND]
        lines.append("")
    return "\n".join(lines)


class MetricsPanel(VerticalScroll):
    """What the current state costs, in the numbers the strategies are compared by."""

    HELP = _help()

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state whose metrics are shown."""

    _rows = -1

    def compose(self) -> ComposeResult:
        yield Static(id="metrics-body")

    def on_mount(self) -> None:
        self.tooltip = ("free + allocated for data + KMSAN metadata + held back + other "
                        "reserved = present pages (F1: every definition)")

    def watch_frame(self, frame: Frame | None) -> None:
        # A hidden tab is drawn when it is shown, not on every step.
        if frame is None or not self.region.height:
            return
        before = frame.before.metrics if frame.before is not None else None
        table = metrics_table(frame.metrics, before)
        rows = table.row_count
        # Same rows as last time: the size is unchanged, skip the layout pass.
        self.query_one("#metrics-body", Static).update(table, layout=rows != self._rows)
        self._rows = rows

    def on_show(self, _event: events.Show) -> None:
        self.watch_frame(self.frame)
