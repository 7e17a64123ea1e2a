"""The heat view's screen: the page states of every command so far, time down and
address right, with the free memory by order of each (pushed from the command palette)."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.widgets import Label, Static

from kmsan_tui.model.constants import NR_PAGE_ORDERS, PAGE_SHIFT
from kmsan_tui.tui.fmt import size
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.widgets.heat_map import HeatMap
from kmsan_tui.tui.widgets.keys_footer import KeysFooter
from kmsan_tui.tui.widgets.map_legend import legend_text


def row_detail(frame: Frame, index: int, group: int = 1) -> Text:
    """The picked row in words: what ran, the free memory and its split by order
    (``group``: heat-row cells per drawn cell)."""
    point = frame.series[index]
    pages = [count << order for order, count in enumerate(point.free_blocks)]
    total = sum(pages)
    text = Text.assemble((f"{index}: {point.label}", "bold"),
                         f" · free {size(total << PAGE_SHIFT) if total else 'none'}")
    if point.heat is not None:
        cell = point.heat.pages_per_column * group
        text.append(f" · a cell is {cell:,} pages ({size(cell << PAGE_SHIFT)})", style="dim")
    if total:
        text.append("\nfree by order: ")
        text.append(" · ".join(f"{order}: {size(p << PAGE_SHIFT)}"
                               for order, p in enumerate(pages) if p) or "-")
    elif len(point.free_blocks) == NR_PAGE_ORDERS:
        text.append("\nno free blocks: the buddy allocator has no memory yet")
    return text


class HeatScreen(Screen[None]):
    """Page states over time; escape goes back to the explorer."""

    HELP = HeatMap.HELP

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Back", id="heat.close"),
    ]

    DEFAULT_CSS = """
    HeatScreen { layout: vertical; }
    HeatScreen #heat-title { height: 1; padding: 0 1; background: $panel; width: 100%; }
    HeatScreen #heat-axis { height: 1; color: $text-muted; }
    HeatScreen HeatMap { height: 1fr; }
    HeatScreen #heat-detail { height: auto; max-height: 4; padding: 0 1;
                              border-top: hkey $panel-lighten-2; }
    HeatScreen #heat-legend { height: auto; padding: 0 1; color: $text-muted; }
    """

    def __init__(self, frame: Frame, palette: str) -> None:
        super().__init__()
        self.frame = frame
        self.palette = palette

    def compose(self) -> ComposeResult:
        yield Label(Text.assemble(
            ("Heat view", "bold"),
            f" · {self.frame.layout_name} · {self.frame.strategy} — time down (one row per "
            "command), physical address right"), id="heat-title")
        yield Static(id="heat-axis")
        heat = HeatMap(id="heat")
        heat.series = self.frame.series
        heat.palette = self.palette
        yield heat
        yield Static(id="heat-detail")
        yield Static(id="heat-legend")
        yield KeysFooter()

    def on_mount(self) -> None:
        heat = self.query_one(HeatMap)
        heat.focus()
        self.call_after_refresh(self._draw)

    def on_resize(self) -> None:
        self.call_after_refresh(self._draw)

    def _draw(self) -> None:
        heat = self.query_one(HeatMap)
        self.query_one("#heat-axis", Static).update(Text(heat.axis(), no_wrap=True))
        self.query_one("#heat-detail", Static).update(row_detail(self.frame, heat.row,
                                                                 heat.group))
        width = max(20, self.size.width - 2)
        self.query_one("#heat-legend", Static).update(
            legend_text(self.palette, (), width, owners=False))

    @on(HeatMap.RowChosen)
    def _row_chosen(self, message: HeatMap.RowChosen) -> None:
        self.query_one("#heat-detail", Static).update(
            row_detail(self.frame, message.index, self.query_one(HeatMap).group))

    def action_close(self) -> None:
        self.dismiss()
