"""Fragmentation per order over the steps so far: one row per order, one column per step."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual import events
from textual.binding import Binding, BindingType
from textual.reactive import reactive
from textual.widgets import Static

from kmsan_tui.model.constants import NR_PAGE_ORDERS
from kmsan_tui.tui.frame import ChartPoint, Frame
from kmsan_tui.tui.widgets.scrolling import CatchUp

BARS = "▁▂▃▄▅▆▇█"  # 0 is the lowest bar, not a blank: 0 is a value (shortage, not fragmentation)
SUCCEEDS = "·"  # fragmentation index -1: a block of the order is free, nothing to measure


def bar(value: int) -> str:
    """One glyph for a value in thousandths (0..1000); below 0 the allocation succeeds."""
    if value < 0:
        return SUCCEEDS
    return BARS[min(len(BARS) - 1, round(value * (len(BARS) - 1) / 1000))]


def chart(series: tuple[ChartPoint, ...], width: int, unusable: bool) -> Text:
    name = "unusable free index" if unusable else "fragmentation index (extfrag)"
    text = Text(f"{name} per order, one column per command", style="bold")
    text.append("\n")
    columns = max(1, width - 14)
    points = series[-columns:]
    for order in reversed(range(NR_PAGE_ORDERS)):
        text.append(f"order {order:2d} ", style="dim")
        for point in points:
            values = point.unusable if unusable else point.fragmentation
            text.append(bar(values[order]), style="cyan" if values[order] >= 500 else "")
        last = (points[-1].unusable if unusable else points[-1].fragmentation)[order] \
            if points else -1000
        text.append(f" {last / 1000:5.2f}" if last >= 0 else "   ok", style="bold")
        text.append("\n")
    if points:
        text.append(f"{'':9}↑ {points[0].label}", style="dim")
        text.append(f"  …  {points[-1].label} ↑", style="dim")
    text.append(f"\n{SUCCEEDS} a block of that order is free; bars 0 → 1: a failure would be"
                " for lack of memory (▁) ... for fragmentation (█)", style="dim")
    return text


class FragChart(CatchUp, Static, can_focus=True):
    """The extfrag index of each order after each command, as a bar per step."""

    HELP = """\
## Fragmentation chart

For every order (rows) and every command so far (columns, oldest left): the
kernel's fragmentation index (`/sys/kernel/debug/extfrag/extfrag_index`):
`·` when a free block of that order exists, else a bar from 0 (failure would be
for lack of memory) to 1 (failure due to fragmentation). Run a workload (`w`)
after the boot to watch the strategies fragment memory differently.

The **unusable free index** (`U`) is the share of free memory that is in blocks too
small for that order (0: every free page could serve it; 1: none). The heat view
(command palette) shows the free memory itself, by order, for every step.

- `U` switches to the unusable free index
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("U", "toggle_index", "Unusable index", id="frag_chart.toggle"),
    ]

    DEFAULT_CSS = """
    FragChart { height: 1fr; padding: 0 1; }
    """

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state whose history is charted."""
    unusable: reactive[bool] = reactive(False, repaint=False)
    """Chart the unusable free index instead of the fragmentation index."""

    def watch_frame(self) -> None:
        # A hidden tab is drawn when it is shown, not on every step.
        if self.region.height:
            self._draw()

    def on_show(self, _event: events.Show) -> None:
        self._draw()

    def watch_unusable(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    _drawn: tuple[object, ...] = ()

    def _key(self) -> tuple[object, ...]:
        return (self.frame.serial if self.frame else None, self.size.width, self.unusable)

    def _draw(self) -> None:
        if self.frame is not None:
            self._drawn = self._key()
            self.update(chart(self.frame.series, self.size.width or 80, self.unusable),
                        layout=False)

    def stale(self) -> bool:
        return self.frame is not None and self._drawn != self._key()

    def catch_up(self) -> None:
        self._draw()

    def action_toggle_index(self) -> None:
        self.unusable = not self.unusable
