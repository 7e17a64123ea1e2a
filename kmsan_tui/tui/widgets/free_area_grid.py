"""The free_area grid: one row per zone and migratetype, one column per order.

A line-API widget: the free lists change with every step and a DataTable re-renders
every cell on any update; here a row is a couple of segments built from the counts,
cached per row and redrawn only when its numbers or the cursor change.

Every order fits the panel whenever it can (order 10 is where nearly all the free
memory of a booted machine is): the grid picks the first of three forms that fits
its width: counts with their change (``21k+21k``), counts with an arrow (``21k▲``),
then short labels and changed counts underlined (green up, red down).
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kmsan_tui.model.constants import NR_PAGE_ORDERS
from kmsan_tui.tui.widgets.scrolling import set_virtual_size

LABEL_WIDTH = 16  # the label column of the full form
FULL, ARROWS, SHORT = 0, 1, 2  # the grid's forms, widest first


def compact(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return str(n)


@dataclass(frozen=True, slots=True)
class GridRow:
    """One line of the grid: a zone's total or one migratetype of it."""

    key: str  # "zone index:type index" or "zone index:all"
    label: str
    counts: tuple[int, ...]  # free blocks per order
    deltas: tuple[int, ...] | None  # change since the previous state (None: no previous)
    total: bool = False
    short: str = ""  # the label of the narrowest form ("" : the label)

    def delta(self, order: int) -> int:
        return self.deltas[order] if self.deltas is not None else 0

    def cell(self, order: int, form: int = FULL) -> tuple[str, str]:
        """(count text, change text) of one order in one of the grid's forms."""
        delta = self.delta(order)
        if not delta or form == SHORT:
            return compact(self.counts[order]), ""
        if form == ARROWS:
            return compact(self.counts[order]), "▲" if delta > 0 else "▼"
        sign = "+" if delta > 0 else "−"
        return compact(self.counts[order]), f"{sign}{compact(abs(delta))}"


class FreeAreaGrid(ScrollView, can_focus=True):
    """Counts of free blocks; arrows move a cell cursor, Enter chooses a cell."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "move(0, -1)", "Up", show=False, id="free_grid.up"),
        Binding("down", "move(0, 1)", "Down", show=False, id="free_grid.down"),
        Binding("left", "move(-1, 0)", "Left", show=False, id="free_grid.left"),
        Binding("right", "move(1, 0)", "Right", show=False, id="free_grid.right"),
        Binding("enter", "choose", "List blocks", id="free_grid.choose"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "free-area-grid--header", "free-area-grid--cursor", "free-area-grid--zebra"}

    DEFAULT_CSS = """
    FreeAreaGrid {
        overflow-x: auto;
        scrollbar-size-vertical: 1;
        & > .free-area-grid--header { text-style: bold; background: $panel; }
        & > .free-area-grid--cursor { background: $accent; color: $text; }
        & > .free-area-grid--zebra { background: $surface-lighten-1; }
    }
    """

    class CellChosen(Message):
        """Enter or a click on a count: list the blocks of that free list."""

        def __init__(self, row_key: str, order: int) -> None:
            self.row_key = row_key
            self.order = order
            super().__init__()

    rows: reactive[tuple[GridRow, ...]] = reactive((), repaint=False)
    """The lines to show, top to bottom."""

    def __init__(self, *, id: str | None = None, empty_text: str = "") -> None:
        super().__init__(id=id)
        self.empty_text = empty_text  # shown while there are no rows
        self.cursor_row = 0
        self.cursor_col = 0  # an order
        self._widths: list[int] = [3] * NR_PAGE_ORDERS
        self._form = FULL
        self._label_width = LABEL_WIDTH
        self._cache: LRUCache[tuple[object, ...], Strip] = LRUCache(256)
        self._version = 0

    # ------------------------------------------------------------------ data

    @staticmethod
    def _needs(rows: tuple[GridRow, ...], form: int) -> tuple[int, list[int]]:
        """(label width, column widths) the rows need in one form."""
        gap = 2 if form == FULL else 1
        widths = [len(str(order)) + gap for order in range(NR_PAGE_ORDERS)]
        label = 0
        for row in rows:
            label = max(label, len(row.short or row.label) if form == SHORT else len(row.label))
            for order in range(NR_PAGE_ORDERS):
                count, delta = row.cell(order, form)
                widths[order] = max(widths[order], len(count) + len(delta) + gap)
        return min(LABEL_WIDTH, label + 1), widths

    def _fit(self, rows: tuple[GridRow, ...], sticky: bool) -> bool:
        """Choose the widest form whose columns fit the width; True if the form, the
        label or a column width changed. With ``sticky``, columns only grow within a
        form (a new virtual size costs a layout of the whole screen)."""
        room = self.scrollable_content_region.width
        before = (self._form, self._label_width, list(self._widths))
        for form in (FULL, ARROWS, SHORT):
            label, widths = self._needs(rows, form)
            if sticky and form == self._form:
                widths = [max(w, old) for w, old in zip(widths, self._widths, strict=True)]
            if not room or label + sum(widths) <= room or form == SHORT:
                break
        self._form, self._label_width, self._widths = form, label, widths
        return before != (self._form, self._label_width, self._widths)

    def on_resize(self) -> None:
        if self._fit(self.rows, sticky=False):
            self._version += 1
            set_virtual_size(self, Size(self._label_width + sum(self._widths),
                                        len(self.rows) + 1))
            self.refresh()

    def watch_rows(self, old: tuple[GridRow, ...], rows: tuple[GridRow, ...]) -> None:
        reshaped = self._fit(rows, sticky=True)
        self._version += 1
        self.cursor_row = min(self.cursor_row, max(0, len(rows) - 1))
        size = Size(self._label_width + sum(self._widths), len(rows) + 1)
        if size != self.virtual_size or reshaped or len(old) != len(rows):
            set_virtual_size(self, size)  # rows appearing must not lay out the screen
            self.refresh()
            return
        # Same columns: redraw only the rows whose numbers changed.
        top = int(self.scroll_offset.y)
        for index, (was, now) in enumerate(zip(old, rows, strict=True)):
            if was != now and top <= index < top + self.size.height - 1:
                self.refresh_line(index - top + 1)

    def notify_style_update(self) -> None:
        """The theme changed: drawn rows carry the old colours."""
        super().notify_style_update()
        self._cache.clear()

    @property
    def current(self) -> GridRow | None:
        return self.rows[self.cursor_row] if self.rows else None

    def move_to(self, row_key: str, order: int) -> None:
        """Put the cursor on a cell."""
        keys = [row.key for row in self.rows]
        if row_key in keys:
            self.cursor_row, self.cursor_col = keys.index(row_key), order
            self._scroll_cursor_into_view()
            self.refresh()

    # ------------------------------------------------------------------ actions

    def action_move(self, dx: int, dy: int) -> None:
        if not self.rows:
            return
        self.cursor_row = min(max(0, self.cursor_row + dy), len(self.rows) - 1)
        self.cursor_col = min(max(0, self.cursor_col + dx), NR_PAGE_ORDERS - 1)
        self._scroll_cursor_into_view()
        self.refresh()

    def action_choose(self) -> None:
        if self.current is not None:
            self.post_message(self.CellChosen(self.current.key, self.cursor_col))

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is None or offset.y == 0:
            return
        row = int(self.scroll_offset.y) + offset.y - 1
        x = int(self.scroll_offset.x) + offset.x - self._label_width
        if not 0 <= row < len(self.rows) or x < 0:
            return
        for order, width in enumerate(self._widths):
            if x < width:
                self.cursor_row, self.cursor_col = row, order
                self.refresh()
                self.action_choose()
                return
            x -= width

    def _scroll_cursor_into_view(self) -> None:
        height = max(1, self.scrollable_content_region.height - 1)
        top = int(self.scroll_offset.y)
        if self.cursor_row < top:
            self.scroll_to(y=self.cursor_row, animate=False, immediate=True)
        elif self.cursor_row >= top + height:
            self.scroll_to(y=self.cursor_row - height + 1, animate=False, immediate=True)
        label = self._label_width
        left = label + sum(self._widths[:self.cursor_col])
        right = left + self._widths[self.cursor_col]
        width = self.scrollable_content_region.width
        scroll_x = int(self.scroll_offset.x)
        if right > scroll_x + width:
            self.scroll_to(x=right - width, animate=False, immediate=True)
        elif left - label < scroll_x:
            self.scroll_to(x=max(0, left - label), animate=False, immediate=True)

    # ------------------------------------------------------------------ drawing

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if not self.rows:
            lines = textwrap.wrap(self.empty_text, max(8, width - 2))
            text = f" {lines[y]}" if y < len(lines) else ""
            return Strip([Segment(text, self.rich_style + Style(dim=True))]
                         ).adjust_cell_length(width, self.rich_style)
        scroll_x = int(self.scroll_offset.x)
        if y == 0:
            strip = self._header()
        else:
            index = int(self.scroll_offset.y) + y - 1
            if index >= len(self.rows):
                return Strip.blank(width, self.rich_style)
            cursor = self.cursor_col if index == self.cursor_row and self.has_focus else -1
            key = (self._version, index, cursor)
            strip = self._cache.get(key)
            if strip is None:
                strip = self._row(self.rows[index], index, cursor)
                self._cache.set(key, strip)
        # The label column stays put; the counts scroll sideways.
        lw = self._label_width
        label = strip.crop(0, lw)
        counts = strip.crop(lw + scroll_x, lw + scroll_x + max(0, width - lw))
        return Strip.join([label, counts]).adjust_cell_length(width, self.rich_style)

    def _header(self) -> Strip:
        style = self.rich_style + self.get_component_rich_style("free-area-grid--header",
                                                                partial=True)
        title = "zone · type" if self._label_width > 11 else "zone"
        text = f"{title:<{self._label_width}}" + "".join(
            f"{order:>{w - 1}} " for order, w in enumerate(self._widths))
        return Strip([Segment(text, style)])

    def _row(self, row: GridRow, index: int, cursor: int) -> Strip:
        base = self.rich_style
        if index % 2:
            base += self.get_component_rich_style("free-area-grid--zebra", partial=True)
        bold = Style(bold=True) if row.total else Style()
        lw, form = self._label_width, self._form
        label = row.short or row.label if form == SHORT else row.label
        segments = [Segment(f"{label:<{lw}}"[:lw], base + bold)]
        cursor_style = self.get_component_rich_style("free-area-grid--cursor", partial=True)
        for order, width in enumerate(self._widths):
            count, delta = row.cell(order, form)
            style = base + bold + (Style(dim=True) if count == "0" else Style())
            change = row.delta(order)
            if form == SHORT and change:  # no room for the change: underlined, coloured
                style += Style(color="green" if change > 0 else "red", bold=True, underline=True)
            if order == cursor:
                style += cursor_style
            pad = width - 1 - len(count) - len(delta)
            segments.append(Segment(" " * pad + count, style))
            if delta:
                colour = Style(color="green" if delta[0] in "+▲" else "red", bold=True)
                segments.append(Segment(delta, style + colour))
            segments.append(Segment(" ", base))
        return Strip(segments)
