"""The heat view: physical memory over the boot, one row per command (time down,
address right, as ``damo report heatmap`` draws accesses), and beside each row the
free memory by order.

Each row is the ``HeatRow`` the runner computed for that state (``HEAT_COLUMNS``
cells of the whole machine); narrower views merge neighbouring cells (the most
common state wins, and a merged cell of several states is drawn mixed, as on the
map). A line-API widget: rows are drawn as they scroll into view.
"""

from __future__ import annotations

from typing import ClassVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kmsan_tui.model import mapindex as mc
from kmsan_tui.model.constants import NR_PAGE_ORDERS, PAGE_SHIFT
from kmsan_tui.model.mapindex import Cells
from kmsan_tui.tui import palettes
from kmsan_tui.tui.fmt import addr_labels, size
from kmsan_tui.tui.frame import HEAT_COLUMNS, ChartPoint
from kmsan_tui.tui.widgets.scrolling import set_virtual_size

LABEL = 24  # " 33 memblock_free_all" and a separator
BARS = " ▁▂▃▄▅▆▇█"  # a free-memory bar: blank for none, then eighths
FREE = NR_PAGE_ORDERS + 8  # the free-by-order column: a bar per order, the total


def merge(cells: Cells, width: int) -> Cells:
    """``cells`` in ``width`` columns or fewer: groups of neighbours, each the most
    common code of its group (with that code's first aux), mixed when the group mixes."""
    n = len(cells.codes)
    group = max(1, -(-n // max(1, width)))
    if group == 1:
        return cells
    m = -(-n // group)
    pad = m * group - n
    codes = np.concatenate([cells.codes, np.repeat(cells.codes[-1:], pad)]).reshape(m, group)
    aux = np.concatenate([cells.aux, np.repeat(cells.aux[-1:], pad)]).reshape(m, group)
    mixed = np.concatenate([cells.mixed, np.repeat(cells.mixed[-1:], pad)]).reshape(m, group)
    shifted = codes.astype(np.int16) + 1  # OUTSIDE (-1) counts too
    counts = np.stack([(shifted == c).sum(axis=1) for c in range(mc.NCODES + 1)], axis=1)
    best = counts.argmax(axis=1)
    rows = np.arange(m)
    first = (shifted == best[:, None]).argmax(axis=1)
    return Cells((best - 1).astype(np.int8), aux[rows, first],
                 mixed.any(axis=1) | (codes != codes[:, :1]).any(axis=1))


def free_bars(blocks: tuple[int, ...]) -> tuple[str, int]:
    """A bar per order for the share of free pages in blocks of that order, and the
    free pages."""
    pages = [count << order for order, count in enumerate(blocks)]
    total = sum(pages)
    if not total:
        return " " * NR_PAGE_ORDERS, 0
    bars = "".join(BARS[0 if not p else max(1, round(8 * p / total))] for p in pages)
    return bars, total


class HeatMap(ScrollView, can_focus=True):
    """Page states over the commands so far; arrows pick a row."""

    HELP = """\
## Heat view

Time runs down, one row per command (the start, each boot step, each workload);
physical address runs right, from 0 to the end of memory. Each cell is the most
common state among a few evenly spaced pages of its range, with the map's glyphs
and colours; a coloured glyph on no background: those pages are in several states.

Right of each row, **free memory by order**: a bar per order 0 to 10, its height
the share of the free pages that are in blocks of that order, then the free
memory. After `memblock_free_all()` nearly everything sits in order 10; workloads
move it down the orders.

- up/down (or a click) pick a row: the line below details it
- escape goes back to the explorer
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(-1)", "Earlier", show=False, id="heat.up"),
        Binding("down", "move(1)", "Later", show=False, id="heat.down"),
        Binding("home", "edge(0)", "First", show=False, id="heat.home"),
        Binding("end", "edge(1)", "Last", show=False, id="heat.end"),
    ]

    DEFAULT_CSS = """
    HeatMap {
        scrollbar-size-vertical: 1; overflow-x: hidden;
        & > .heat-map--cursor { background: $accent; text-style: bold; }
        & > .heat-map--label { color: $text-muted; }
    }
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"heat-map--cursor", "heat-map--label"}

    class RowChosen(Message):
        """The row under the cursor changed."""

        def __init__(self, index: int) -> None:
            self.index = index
            super().__init__()

    series: reactive[tuple[ChartPoint, ...]] = reactive((), repaint=False)
    """The rows: one chart point per command."""
    palette: reactive[str] = reactive(palettes.DEFAULT_PALETTE, repaint=False)
    """The colour palette of page states."""
    cursor: reactive[int] = reactive(-1, repaint=False)
    """The row picked (-1: the last)."""

    @property
    def group(self) -> int:
        """Heat-row cells per drawn cell: the smallest that fits the width."""
        room = max(8, self.scrollable_content_region.width - LABEL - FREE - 2)
        return -(-HEAT_COLUMNS // room)

    @property
    def cells_width(self) -> int:
        """Columns of drawn cells."""
        return -(-HEAT_COLUMNS // self.group)

    @property
    def row(self) -> int:
        """The cursor's row."""
        n = len(self.series)
        return n - 1 if self.cursor < 0 or self.cursor >= n else self.cursor

    def watch_series(self) -> None:
        set_virtual_size(self, Size(self.scrollable_content_region.width, len(self.series)))
        self.scroll_to(y=max(0, self.row - self.size.height + 1), animate=False, immediate=True)
        self.refresh()

    def watch_palette(self) -> None:
        self.refresh()

    def watch_cursor(self) -> None:
        row = self.row
        top = int(self.scroll_offset.y)
        if row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + self.size.height:
            self.scroll_to(y=row - self.size.height + 1, animate=False, immediate=True)
        self.refresh()
        self.post_message(self.RowChosen(row))

    def on_resize(self, _event: events.Resize) -> None:
        set_virtual_size(self, Size(self.scrollable_content_region.width, len(self.series)))
        # The latest rows in sight (the cursor's, which is the last at first).
        self.scroll_to(y=max(0, self.row - self.size.height + 1), animate=False,
                       immediate=True)
        self.refresh()

    def action_move(self, delta: int) -> None:
        if self.series:
            self.cursor = min(max(0, self.row + delta), len(self.series) - 1)

    def action_edge(self, end: int) -> None:
        if self.series:
            self.cursor = len(self.series) - 1 if end else 0

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None:
            row = int(self.scroll_offset.y) + offset.y
            if 0 <= row < len(self.series):
                self.cursor = row
        self.focus()

    def axis(self) -> str:
        """The address scale above the cells: 0, the middle and the end."""
        width = self.cells_width
        last = next((p.heat for p in reversed(self.series) if p.heat is not None), None)
        if last is None:
            return ""
        shown = width
        end = last.span << PAGE_SHIFT
        labels = addr_labels(end // 4, end, 9)
        line = [" "] * (shown + 1)
        for k in range(5):
            text = labels(end * k // 4) if labels.shift >= 0 or k in (0, 4) else ""
            at = min(shown + 1 - len(text), shown * k // 4)
            line[at:at + len(text)] = list(text)
        return f"{'':{LABEL}}{''.join(line)}{' free by order 0→10':<{FREE + 2}}"

    def render_line(self, y: int) -> Strip:
        index = int(self.scroll_offset.y) + y
        width = self.size.width
        if not 0 <= index < len(self.series):
            return Strip.blank(width, self.rich_style)
        point = self.series[index]
        cursor = index == self.row
        label_style = self.rich_style + self.get_component_rich_style(
            "heat-map--cursor" if cursor else "heat-map--label", partial=True)
        label = f"{index:3d} {point.label}"[:LABEL - 1]
        segments = [Segment(f"{label:<{LABEL - 1}}", label_style),
                    Segment("│", self.rich_style)]
        shown = self.cells_width
        if point.heat is None or not point.heat.has_memory:
            note = "" if point.heat is None else " memblock knows no RAM yet"
            segments.append(Segment(f"{note:<{shown}}"[:shown], self.rich_style + Style(dim=True)))
        else:
            cells = merge(point.heat.cells(), shown)
            glyphs = palettes.glyph_row(cells.codes, cells.aux, cells.mixed)
            keys = cells.codes.astype(np.int16) * 2 + cells.mixed
            bounds = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist(), len(keys)]
            for a, b in zip(bounds, bounds[1:], strict=False):
                code, mixed = int(cells.codes[a]), bool(cells.mixed[a])
                segments.append(Segment(glyphs[a:b], self.rich_style + palettes.style(
                    self.palette, code, mixed)))
            segments.append(Segment(" " * (shown - len(glyphs)), self.rich_style))
        bars, total = free_bars(point.free_blocks)
        segments.append(Segment("│", self.rich_style))
        segments.append(Segment(bars, self.rich_style + Style(color="green")))
        segments.append(Segment(f" {size(total << PAGE_SHIFT) if total else '-':>7}",
                                label_style))
        return Strip(segments).adjust_cell_length(width, self.rich_style)
