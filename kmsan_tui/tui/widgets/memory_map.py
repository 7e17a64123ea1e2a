"""The physical memory map: the whole address space as a heatmap, on Textual's line API.

A ``ScrollView`` that renders each visible row as a ``Strip``; rows of cells are
computed from the frame's ``MapIndex`` a viewport at a time and cached in
``LRUCache``s keyed by the frame serial, so scrolling and moving the cursor redraw
only the lines that changed and never touch the model. One cell is
``pages_per_cell`` pages (a power of two), from the whole machine down to one page.
Cells that differ from ``reference`` (the state before the last command, or the
other strategy in the comparison) are underlined, and flash once when they appear.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.cache import LRUCache
from textual.geometry import Region, Size
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from kmsan_tui.model.constants import PAGE_SHIFT
from kmsan_tui.model.mapdiff import Changes
from kmsan_tui.model.mapindex import Cells, MapIndex
from kmsan_tui.tui import palettes
from kmsan_tui.tui.cellinfo import CellInfo, cell_info
from kmsan_tui.tui.fmt import AddrLabels, addr_labels, size
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.messages import PageSelected, ZoomRequested
from kmsan_tui.tui.widgets.scrolling import set_virtual_size

GUTTER = 8  # the narrowest gutter: "  3.25G" and a separator
MAX_LABEL = 11  # row labels longer than this are hex (see fmt.addr_labels)
REUSE_DEPTH = 4  # earlier states whose cells a row may reuse
FLASH_SECONDS = 0.6


def fit_pages_per_cell(span: int, cols: int, rows: int) -> int:
    """The smallest power-of-two cell size that shows ``span`` pages in cols x rows.

    Powers of two only: a cell of three blocks would alias with eager's period-three
    shadow, origin, data triples and show memory as all shadow or all free.
    """
    ppc = 1
    while -(-span // (cols * ppc)) > max(1, rows):
        ppc *= 2
    return ppc


@dataclass(frozen=True, slots=True)
class Geometry:
    """How the map lays its cells out in a given content area."""

    gutter: int  # row label and separator
    cols: int  # cells per row
    pages_per_cell: int
    labels: AddrLabels  # exact row labels: every row's first address, distinct

    @property
    def row_pages(self) -> int:
        return self.cols * self.pages_per_cell


def map_geometry(span: int, width: int, height: int, zoom: int) -> Geometry:
    """The narrowest gutter that holds every row's exact label, and what is left for
    cells. The labels depend on the row's size, so on the columns the gutter leaves:
    the gutter widens one column at a time until its labels fit."""
    def layout(gutter: int) -> tuple[int, int, AddrLabels]:
        cols = max(8, width - gutter)
        fit = fit_pages_per_cell(span, cols, height)
        ppc = fit if zoom <= 0 else min(zoom, fit)
        rows = -(-span // (cols * ppc))
        return cols, ppc, addr_labels((cols * ppc) << PAGE_SHIFT,
                                      ((rows - 1) * cols * ppc) << PAGE_SHIFT, MAX_LABEL)

    gutter = GUTTER
    cols, ppc, labels = layout(gutter)
    while labels.width >= gutter:
        # Hex labels (the last resort) hold any address: the next pass is the last.
        gutter = labels.width + 1 if labels.shift < 0 else gutter + 1
        cols, ppc, labels = layout(gutter)
    return Geometry(gutter, cols, ppc, labels)


class MemoryMap(ScrollView, can_focus=True):
    """Every page of the machine, one cell per ``pages_per_cell`` pages."""

    HELP = """\
## Physical memory map

Physical memory from address 0, left to right and top to bottom; each row starts
at the address in the gutter (exact: `253.75G` is 253 GiB + 768 MiB). One cell is
the number of pages the bottom border says.

Each cell is a **glyph** and a **colour**:

- `0`-`9`, `A`: free, the order of the largest block
- `K` `M` `L`...: reserved by memblock, by owner (see the legend)
- `k` `m` `l`...: allocated by the buddy allocator, by owner
- `S` / `O`: KMSAN shadow / origin
- `H`: held back by the eager strategy, not yet paired
- `!`: blind spot, data with no metadata
- `·`: RAM memblock has not handed over yet; blank: a hole

A **solid** block of colour: every page of the cell is in that state. A coloured
glyph on **no background** (dim in mono): the cell is **mixed**, its pages are in
several states and the glyph is the most common among 16 evenly spaced pages
(`░`: mostly hole). The title names the cursor's cell with the share of each
state; hovering the mouse over a cell lists them all, with page counts. Eager's
shadow, origin and data chunks alternate every 4 MiB: zoomed out, whole rows of
eager memory are mixed.

Underlined cells changed with the last command. Arrows move the cursor, `+`/`-`
zoom (or shift/ctrl + wheel), `0` shows the whole machine, a click inspects a cell.
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("left", "move(-1, 0)", "Cell left", show=False, id="map.left"),
        Binding("right", "move(1, 0)", "Cell right", show=False, id="map.right"),
        Binding("up", "move(0, -1)", "Row up", show=False, id="map.up"),
        Binding("down", "move(0, 1)", "Row down", show=False, id="map.down"),
        Binding("pageup", "move(0, -10)", "Page up", show=False, id="map.page_up"),
        Binding("pagedown", "move(0, 10)", "Page down", show=False, id="map.page_down"),
        Binding("home", "edge(0)", "First page", show=False, id="map.home"),
        Binding("end", "edge(1)", "Last page", show=False, id="map.end"),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "memory-map--gutter", "memory-map--cursor-gutter", "memory-map--cursor"}

    DEFAULT_CSS = """
    MemoryMap {
        scrollbar-size-vertical: 1;
        scrollbar-gutter: stable;
        overflow-x: hidden;
        & > .memory-map--gutter { color: $text-muted; }
        & > .memory-map--cursor-gutter { color: $accent; text-style: bold; }
        & > .memory-map--cursor { text-style: bold reverse; }
    }
    """

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state to draw (bound from the screen)."""
    cursor: reactive[int] = reactive(0, repaint=False)
    """The pfn under the cursor."""
    zoom: reactive[int] = reactive(0, repaint=False)
    """Pages per cell; 0 fits the whole machine in the view."""
    palette: reactive[str] = reactive(palettes.DEFAULT_PALETTE, repaint=False)
    """The colour palette of page states."""
    reference: reactive[MapIndex | None] = reactive(None, repaint=False)
    """The state cells are compared with for change marks (None: no marks)."""
    animate_changes: reactive[bool] = reactive(True, repaint=False)
    """Flash changed cells once after a new frame."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._cells: LRUCache[tuple[object, ...], Cells] = LRUCache(4096)
        self._strips: LRUCache[tuple[object, ...], Strip] = LRUCache(2048)
        # Rows by what they show: a step changes few rows, the others are reused.
        self._drawn: LRUCache[tuple[object, ...], Strip] = LRUCache(2048)
        self._ref_token = 0
        self._signatures: dict[int, tuple[object, ...] | None] = {}  # what each line shows
        self._diff_pending = False
        self._geometry_key: tuple[int, ...] = ()
        self._geometry_value = Geometry(GUTTER, 8, 1, addr_labels(1, 1))
        self._flash = False
        self._styles: dict[tuple[int, bool, bool, bool], Style] = {}
        self._region_key: tuple[object, ...] = ()
        self._region = Region()
        self._style_token = 0
        self._infos: LRUCache[tuple[object, ...], CellInfo] = LRUCache(256)

    # ------------------------------------------------------------------ geometry

    @property
    def span(self) -> int:
        return self.frame.index.span if self.frame is not None else 1

    def _content(self) -> Region:
        """scrollable_content_region, cached: it costs ~30 us and the geometry
        properties need it hundreds of times a frame. It depends only on the widget's
        size, its scrollbars and its styles."""
        # Cheap inputs only: the outer size and which scrollbars show (self.size itself
        # is a region computation).
        key = (self._size, self.show_vertical_scrollbar, self.show_horizontal_scrollbar,
               self._style_token)
        if key != self._region_key:
            self._region_key, self._region = key, self.scrollable_content_region
        return self._region

    def _geometry(self) -> Geometry:
        """Gutter, columns, cell size and row labels for the current size and zoom
        (cached: the properties below need it hundreds of times a frame)."""
        content = self._content()
        key = (content.width, content.height, self.span, self.zoom)
        if key != self._geometry_key:
            self._geometry_key, self._geometry_value = key, map_geometry(
                self.span, content.width, content.height, self.zoom)
        return self._geometry_value

    @property
    def label_width(self) -> int:
        """Columns of the row labels and their separator."""
        return self._geometry().gutter

    @property
    def cols(self) -> int:
        return self._geometry().cols

    @property
    def pages_per_cell(self) -> int:
        """The effective cell size (the fit size when zoom is 0)."""
        return self._geometry().pages_per_cell

    @property
    def nrows(self) -> int:
        return -(-self.span // (self.cols * self.pages_per_cell))

    def cell_of(self, pfn: int) -> tuple[int, int]:
        """(row, column) of the cell containing pfn."""
        index = pfn // self.pages_per_cell
        return divmod(index, self.cols)

    def pfn_at(self, row: int, col: int) -> int:
        return (row * self.cols + col) * self.pages_per_cell

    def _update_geometry(self) -> None:
        virtual = Size(self.scrollable_content_region.width, self.nrows)
        if set_virtual_size(self, virtual):  # a zoom must not lay out the whole screen
            self.refresh()
        ppc = self.pages_per_cell
        end = self.span << PAGE_SHIFT
        subtitle = (f"1 cell = {ppc:,} page{'s' if ppc > 1 else ''} "
                    f"({size(ppc << PAGE_SHIFT)}) · 0–{addr_labels(end, end)(end)}")
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle
        self._update_title()

    def _cell_info(self, pfn: int) -> CellInfo | None:
        """What the cell holding ``pfn`` holds (cached per state, cell and size)."""
        if self.frame is None or not self.frame.index.has_memory:
            return None
        ppc = self.pages_per_cell
        start = pfn // ppc * ppc
        key = (self.frame.index, start, ppc)
        info = self._infos.get(key)
        if info is None:
            info = cell_info(self.frame.index, start, ppc)
            self._infos.set(key, info)
        return info

    def _update_title(self) -> None:
        """The title names the cursor's cell and, when it mixes states, their shares."""
        info = self._cell_info(self.cursor)
        title = "Physical memory"
        if info is not None:
            title = f"Physical memory · ▶ {info.line()}"
            if len(title) > self.size.width - 4:  # narrow: glyphs for names
                title = f"Memory ▶ {info.line(compact=True)}"
        # Setting a border title repaints the whole widget, even to the same text.
        if self.border_title != title:
            self.border_title = title

    # ------------------------------------------------------------------ watchers

    def on_resize(self, _event: events.Resize) -> None:
        self._update_geometry()
        self._scroll_to_cursor(center=True)

    def watch_frame(self, old: Frame | None, new: Frame | None) -> None:
        if new is None:
            return
        self._update_geometry()
        if old is None:
            self._scroll_to_cursor(center=True)
        if self.animate_changes and new.before is not None:
            self._flash = True
            self.set_timer(FLASH_SECONDS, self._end_flash)
        self._refresh_changed_soon()

    def _end_flash(self) -> None:
        self._flash = False
        self._refresh_changed_soon()

    def watch_reference(self) -> None:
        self._ref_token += 1
        self._refresh_changed_soon()

    def _refresh_changed_soon(self) -> None:
        """Redraw the rows that look different, once the frame and its reference are
        both set (they arrive one after the other)."""
        if not self._diff_pending:
            self._diff_pending = True
            self.call_later(self._refresh_changed)

    def _refresh_changed(self) -> None:
        """Only changed regions are refreshed: a row whose cells, marks and cursor are
        drawn as before keeps its Strip (the same object), and is not redrawn."""
        self._diff_pending = False
        if not self.size.height or self.frame is None:
            self.refresh()
            return
        height = self.size.height
        frame, ref = self.frame, self.reference
        ppc, cols, nrows = self.pages_per_cell, self.cols, self.nrows
        top = int(self.scroll_offset.y)
        cursor_row, cursor_col = self.cell_of(self.cursor)
        # What every line draws besides its cells (computed once, not per line).
        common = (ppc, cols, self.size.width, self.palette, self._flash)
        changed = []
        for y in range(height):
            row = top + y
            signature: tuple[object, ...] | None = None
            if row < nrows and frame.index.has_memory:
                cells = self._row_cells(frame.index, row, ppc, cols)
                before = self._row_cells(ref, row, ppc, cols) if ref is not None else None
                signature = (row, common, cursor_col if row == cursor_row else -1,
                             cells.codes.tobytes(), cells.aux.tobytes(), cells.mixed.tobytes(),
                             None if before is None else
                             (before.codes.tobytes(), before.aux.tobytes(),
                              before.mixed.tobytes()))
            if signature is None or self._signatures.get(y) != signature:
                self._signatures[y] = signature
                changed.append(y)
        if len(changed) > height // 2:
            self.refresh()
        else:
            for y in changed:
                self.refresh_line(y)

    def watch_zoom(self) -> None:
        self._update_geometry()
        self._scroll_to_cursor(center=True)
        self.refresh()

    def watch_palette(self) -> None:
        self._styles.clear()
        self.refresh()

    def watch_cursor(self, old: int, new: int) -> None:
        if self.frame is None or not self.size.height:
            return
        self._update_title()
        old_row, _ = self.cell_of(old)
        new_row, _ = self.cell_of(new)
        self._scroll_to_cursor()
        top = int(self.scroll_offset.y)
        for row in {old_row, new_row}:
            if top <= row < top + self.size.height:
                self.refresh_line(row - top)

    def _scroll_to_cursor(self, center: bool = False) -> None:
        if self.frame is None or not self.size.height:
            return
        row, _ = self.cell_of(self.cursor)
        height = self.scrollable_content_region.height
        top = int(self.scroll_offset.y)
        if center:
            self.scroll_to(y=max(0, row - height // 2), animate=False, immediate=True)
        elif row < top:
            self.scroll_to(y=row, animate=False, immediate=True)
        elif row >= top + height:
            self.scroll_to(y=row - height + 1, animate=False, immediate=True)

    # ------------------------------------------------------------------ actions

    def action_move(self, dx: int, dy: int) -> None:
        if self.frame is None:
            return
        ppc, cols = self.pages_per_cell, self.cols
        rows = dy * max(1, self.scrollable_content_region.height - 1) // 10 \
            if abs(dy) == 10 else dy
        index = self.cursor // ppc + dx + rows * cols
        index = min(max(index, 0), (self.span - 1) // ppc)
        self.post_message(PageSelected(index * ppc))

    def action_edge(self, end: int) -> None:
        self.post_message(PageSelected(self.span - 1 if end else 0))

    def zoom_step(self, direction: int) -> int:
        """The zoom value one step in (-1) or out (+1) from the current scale: powers of
        two down to one page per cell, up to the whole machine (0)."""
        ppc = self.pages_per_cell
        fit = fit_pages_per_cell(self.span, self.cols, self.scrollable_content_region.height)
        power = 1 << (ppc.bit_length() - 1)  # the power of two at or below ppc
        if direction < 0:
            return max(1, power // 2 if power == ppc else power)
        return 0 if power * 2 >= fit else power * 2

    def on_mouse_move(self, event: events.MouseMove) -> None:
        """The tooltip: what the cell under the mouse holds, share by share."""
        offset = event.get_content_offset(self)
        if self.frame is None or offset is None:
            return
        col = offset.x - self.label_width
        row = int(self.scroll_offset.y) + offset.y
        info = None
        if 0 <= col < self.cols and 0 <= row < self.nrows:
            info = self._cell_info(min(self.pfn_at(row, col), self.span - 1))
        self.tooltip = info.text() if info is not None else None

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if self.frame is None or offset is None:
            return
        col = offset.x - self.label_width
        row = int(self.scroll_offset.y) + offset.y
        if 0 <= col < self.cols and 0 <= row < self.nrows:
            pfn = min(self.pfn_at(row, col), self.span - 1)
            self.post_message(PageSelected(pfn))
        self.focus()

    def on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        if event.ctrl or event.shift:
            self.post_message(ZoomRequested(self.zoom_step(-1)))
            event.stop()

    def on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        if event.ctrl or event.shift:
            self.post_message(ZoomRequested(self.zoom_step(+1)))
            event.stop()

    # ------------------------------------------------------------------ drawing

    def _row_cells(self, index: MapIndex, row: int, ppc: int, cols: int) -> Cells:
        """The cells of one row of ``cols`` cells of ``ppc`` pages, computing the rest of
        the viewport with it on a miss."""
        # Keyed by the index itself: the previous frame's cells serve as the reference.
        key = (index, ppc, cols, row)
        cells = self._cells.get(key)
        if cells is not None:
            return cells
        top = max(0, int(self.scroll_offset.y))
        height = max(1, self.size.height)
        rows = range(top, top + height) if top <= row < top + height else range(row, row + 1)
        self._fill(index, [r for r in rows if self._cells.get((index, ppc, cols, r)) is None],
                   ppc, cols)
        return self._cells.get(key) or index.cells(row * cols * ppc, ppc, cols)

    def _fill(self, index: MapIndex, rows: list[int], ppc: int, cols: int) -> None:
        """Cache the cells of ``rows``. A row that no command since an earlier state
        touched takes that state's cells as they are (the last few states are looked
        at, so a zoom after a step or two reuses what that zoom showed before); the
        others are computed together."""
        pages = ppc * cols  # pages per row
        # The states before this one, nearest first, each with every change since it.
        ancestors: list[tuple[MapIndex, list[Changes]]] = []
        changes, chain = index.changes, []
        while changes is not None and len(ancestors) < REUSE_DEPTH:
            base = changes.base
            if base is None:
                break
            chain = [*chain, changes]
            ancestors.append((base, chain))
            changes = base.changes
        todo: list[int] = []
        for row in rows:
            for base, since in ancestors:
                old = self._cells.get((base, ppc, cols, row))
                if old is not None and not any(
                        c.touches(row * pages, (row + 1) * pages) for c in since):
                    self._cells.set((index, ppc, cols, row), old)
                    break
            else:
                todo.append(row)
        if not todo:
            return
        # One query for every row left, contiguous or not.
        firsts = (np.array(todo, dtype=np.int64)[:, None] * pages
                  + np.arange(cols, dtype=np.int64)[None, :] * ppc).ravel()
        batch = index.cells_at(firsts, ppc)
        for k, row in enumerate(todo):
            self._cells.set((index, ppc, cols, row), batch.part(k * cols, (k + 1) * cols))

    def notify_style_update(self) -> None:
        """The theme or CSS changed: styles and drawn rows are stale."""
        super().notify_style_update()
        self._style_token += 1
        self._styles.clear()
        self._strips.clear()
        self._drawn.clear()

    def _style(self, code: int, mixed: bool, changed: bool, cursor: bool) -> Style:
        """The full style of a cell (widget base included), cached: a row of 1 GiB cells
        alternates states at every cell, so this runs per cell."""
        key = (code, mixed, changed, cursor, self._flash)
        style = self._styles.get(key)
        if style is None:
            style = self.rich_style + palettes.style(self.palette, code, mixed)
            if changed:
                style += Style(underline=True, bold=True)
                if self._flash:
                    style += Style(reverse=True)
            if cursor:
                style += self.get_component_rich_style("memory-map--cursor", partial=True)
            self._styles[key] = style
        return style

    def render_line(self, y: int) -> Strip:
        return self._line(y)

    def _line(self, y: int) -> Strip:
        frame = self.frame
        width = self.size.width
        row = int(self.scroll_offset.y) + y
        if frame is None or row >= self.nrows:
            return Strip.blank(width, self.rich_style)
        if not frame.index.has_memory:
            lines = textwrap.wrap("memblock knows no RAM yet: press n to run the first boot "
                                  "steps", max(10, width - self.label_width - 1))
            note = lines[row] if row < len(lines) else ""
            return Strip([Segment(f"{'':{self.label_width}}{note}",
                                  self.rich_style + Style(dim=True))]
                         ).adjust_cell_length(width, self.rich_style)
        cursor_row, cursor_col = self.cell_of(self.cursor)
        col = cursor_col if row == cursor_row else -1
        ref = self.reference
        key = (frame.serial, self.pages_per_cell, self.cols, row, col, self.palette,
               self._ref_token if ref is not None else None, self._flash)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._render_row(frame, row, col, ref)
            self._strips.set(key, strip)
        return strip

    def _render_row(self, frame: Frame, row: int, cursor_col: int,
                    ref: MapIndex | None) -> Strip:
        index = frame.index
        ppc, cols = self.pages_per_cell, self.cols
        cells = self._row_cells(index, row, ppc, cols)
        codes = cells.codes
        glyphs = palettes.glyph_row(codes, cells.aux, cells.mixed)
        # What draws a cell, as bits: state code, mixed, changed, cursor.
        keys = codes.astype(np.int16) * 8 + 4 * cells.mixed
        if ref is not None:
            before = self._row_cells(ref, row, ppc, cols)
            old = palettes.glyph_row(before.codes, before.aux, before.mixed)
            changed = (np.frombuffer(glyphs.encode("utf-32-le"), dtype=np.uint32)
                       != np.frombuffer(old.encode("utf-32-le"), dtype=np.uint32))
            keys += 2 * (changed | (codes != before.codes) | (cells.mixed != before.mixed))
        if cursor_col >= 0:
            keys[cursor_col] += 1
        geometry = self._geometry()
        addr = geometry.labels(self.pfn_at(row, 0) << PAGE_SHIFT)
        drawn_key = (glyphs, keys.tobytes(), addr, self._flash, self.palette, self.size.width)
        strip = self._drawn.get(drawn_key)
        if strip is not None:
            return strip
        gutter_class = "memory-map--cursor-gutter" if cursor_col >= 0 else "memory-map--gutter"
        gutter_style = self.rich_style + self.get_component_rich_style(gutter_class, partial=True)
        mark = "▶" if cursor_col >= 0 else "│"
        segments = [Segment(f"{addr:>{geometry.gutter - 1}}{mark}", gutter_style)]
        # One segment per run of cells drawn alike.
        bounds = [0, *(np.flatnonzero(np.diff(keys)) + 1).tolist(), len(keys)]
        style_of = self._style
        for a, b in zip(bounds, bounds[1:], strict=False):
            key = int(keys[a])
            segments.append(Segment(glyphs[a:b], style_of(key >> 3, bool(key & 4), bool(key & 2),
                                                          bool(key & 1))))
        strip = Strip(segments).adjust_cell_length(self.size.width, self.rich_style)
        self._drawn.set(drawn_key, strip)
        return strip
