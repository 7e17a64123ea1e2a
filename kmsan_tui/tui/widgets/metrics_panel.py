"""Metrics of the current state, with the change the last command made to each."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.reactive import reactive
from textual.widgets import Static

from kmsan_tui.model.metrics import Metrics
from kmsan_tui.tui.fmt import pages, size
from kmsan_tui.tui.frame import Frame

# (label, Metrics field, kind): kind formats the value ("pages", "bytes", "count").
ROWS: tuple[tuple[str, str, str], ...] = (
    ("present", "present_pages", "pages"),
    ("usable (buddy-managed)", "usable_pages", "pages"),
    ("free", "free_pages", "pages"),
    ("allocated", "allocated_pages", "pages"),
    ("PG_reserved", "reserved_pages", "pages"),
    ("KMSAN metadata", "metadata_pages", "pages"),
    ("held back, not paired", "held_back_pages", "pages"),
    ("blind spots", "blind_spot_pages", "pages"),
    ("struct page size", "struct_page_size", "B"),
    ("memmap", "memmap_bytes", "bytes"),
    ("page_ext", "page_ext_bytes", "bytes"),
    ("back-fill walk (struct pages)", "backfill_walked_pages", "count"),
    ("back-filled blocks", "backfill_blocks", "count"),
    ("vmap ranges repaired", "vmap_repairs", "count"),
    ("failed metadata allocations", "failed_metadata_allocs", "count"),
    ("allocs without metadata", "no_metadata_allocs", "count"),
    ("virtual space reserved", "virtual_reserved_bytes", "bytes"),
    ("page-table pages", "pagetable_pages", "count"),
    ("bad pages", "bad_pages", "count"),
)
BAD = {"blind_spot_pages", "failed_metadata_allocs", "no_metadata_allocs", "bad_pages"}


def format_value(value: object, kind: str) -> str:
    if value is None:
        return "-"
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


def format_delta(value: int, was: int, kind: str) -> Text:
    delta = value - was
    if not delta:
        return Text("")
    sign = "+" if delta > 0 else "−"
    body = format_value(abs(delta), "count" if kind == "pages" else kind)
    return Text(f"{sign}{body}", style="green" if delta > 0 else "red")


def metrics_table(metrics: Metrics, before: Metrics | None) -> Table:
    table = Table(box=None, padding=(0, 1), show_header=True, header_style="bold",
                  caption=metrics.memory_line, caption_justify="left")
    table.add_column("metric", no_wrap=True)
    table.add_column("value", justify="right", no_wrap=True)
    table.add_column("Δ last", justify="right", no_wrap=True)
    for label, key, kind in ROWS:
        value = getattr(metrics, key)
        delta = format_delta(value, getattr(before, key), kind) if before is not None else ""
        style = "bold red" if key in BAD and value else ""
        table.add_row(label, Text(format_value(value, kind), style=style), delta)
    if metrics.fits_4level is not None:
        table.add_row("fits 4-level / 5-level",
                      f"{format_value(metrics.fits_4level, '')} / "
                      f"{format_value(metrics.fits_5level, '')}", "")
    return table


class MetricsPanel(VerticalScroll):
    """What the current state costs, in the numbers the strategies are compared by."""

    HELP = """\
## Metrics

The cost of the current state: usable memory, KMSAN metadata, struct page size,
memmap and page_ext, blind spots (data without metadata), the lazy strategy's
back-fill work and failed metadata allocations, the fixed strategy's reserved
virtual space. `Δ last` is the change made by the last command. The caption is
the kernel's `Memory:` line.
"""

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state whose metrics are shown."""

    _rows = -1

    def compose(self) -> ComposeResult:
        yield Static(id="metrics-body")

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
