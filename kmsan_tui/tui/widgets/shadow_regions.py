"""Shadow regions: where KMSAN metadata lives and which pages it covers; in fixed mode,
the reserved virtual ranges and whether they fit the kernel's address space."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, Static

from kmsan_tui.model.metadata import Blind, FixedBacking, MetaBacking, MetaLink, MetaPattern
from kmsan_tui.model.strategies.base import VirtualLayout
from kmsan_tui.tui.fmt import size
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.messages import PageSelected
from kmsan_tui.tui.widgets.scrolling import CatchUp

# Documentation/arch/x86/x86_64/mm.rst, 4-level paging: the kernel half.
_X86_64_4LEVEL = (
    (0xFFFF888000000000, 64 << 40, "direct mapping of all physical memory"),
    (0xFFFFC90000000000, 32 << 40, "vmalloc/ioremap space"),
    (0xFFFFEA0000000000, 1 << 40, "virtual memory map (vmemmap)"),
    (0xFFFFEC0000000000, 16 << 40, "KASAN shadow slot (free with KMSAN)"),
    (0xFFFFFFFF80000000, 512 << 20, "kernel text mapping"),
)
_X86_64_5LEVEL = (
    (0xFF11000000000000, 32 << 50, "direct mapping of all physical memory"),
    (0xFFA0000000000000, 12800 << 40, "vmalloc/ioremap space"),
    (0xFFD4000000000000, 512 << 40, "virtual memory map (vmemmap)"),
    (0xFFDF000000000000, 8 << 50, "KASAN shadow slot (free with KMSAN)"),
    (0xFFFFFFFF80000000, 512 << 20, "kernel text mapping"),
)


def describe_extent(start: int, end: int, value: object) -> tuple[str, str, str]:
    """(kind, what it points at / describes, owner) of one KMSAN extent."""
    n = end - start
    if isinstance(value, MetaLink):
        return ("data", f"shadow {start + value.shadow_delta:#x}, "
                        f"origin {start + value.origin_delta:#x}", value.owner)
    if isinstance(value, MetaBacking):
        if value.data_delta is None:
            return f"{value.role.value} held", "nothing yet", value.owner
        data = start + value.data_delta
        return value.role.value, f"data {data:#x}-{data + n - 1:#x}", value.owner
    if isinstance(value, FixedBacking):
        data = start + value.data_delta
        return f"{value.role.value} (fixed)", f"data {data:#x}-{data + n - 1:#x}", value.owner
    if isinstance(value, MetaPattern):
        return ("S,O,D pattern", f"order-{value.order} triples from {value.base:#x}",
                value.owner)
    if isinstance(value, Blind):
        return "BLIND", value.reason, "-"
    return type(value).__name__, "", ""


class ShadowRegions(CatchUp, Vertical):
    """The KMSAN metadata map, extent by extent; Enter jumps to an extent."""

    # The palette's "Maximize" (Textual's) on a focused table takes the whole panel.
    ALLOW_MAXIMIZE = True

    HELP = """\
## Shadow regions

Every extent of the KMSAN metadata map: data pages and where their shadow and
origin live, the shadow/origin pages and the data they describe, held-back blocks
(eager: `held_back[]` chunks waiting for a data chunk, backing nothing yet), S,O,D
patterns of `kmsan_memblock_free_pages()` (shadow, origin, data chunks in turn),
and blind spots (data pages left without metadata: a failed metadata allocation).
In fixed mode the top box shows the virtual ranges reserved for shadow and origin,
in the slot KASAN would use, and whether they fit 4- and 5-level paging.

- **Enter** or a click on a row moves the map cursor to its first page
"""

    DEFAULT_CSS = """
    ShadowRegions {
        #virtual { height: auto; padding: 0 1; display: none; }
        &.-fixed #virtual { display: block; }
        #extents { height: 1fr; }
    }
    """

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state whose metadata map is listed."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._drawn: int | None = None

    def compose(self) -> ComposeResult:
        yield Static(id="virtual")
        yield DataTable(id="extents", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        table = self.query_one("#extents", DataTable)
        for label in ("pfns", "pages", "kind", "covers / points at", "owner"):
            table.add_column(label)

    def watch_frame(self) -> None:
        # Drawn when visible: a TiB machine has thousands of extents.
        if self.is_mounted and self.region.height:
            self._draw()

    def on_show(self, _event: events.Show) -> None:
        self._draw()

    def stale(self) -> bool:
        return self.frame is not None and self._drawn != self.frame.serial

    def catch_up(self) -> None:
        self._draw()

    def _draw(self) -> None:
        frame = self.frame
        if frame is None or self._drawn == frame.serial:
            return
        self._drawn = frame.serial
        layout = frame.virtual_layout
        self.set_class(layout is not None, "-fixed")
        if layout is not None:
            self.query_one("#virtual", Static).update(self.virtual_table(layout))
        table = self.query_one("#extents", DataTable)
        row = table.cursor_row
        table.clear()
        for start, end, value in frame.metadata:
            kind, covers, owner = describe_extent(start, end, value)
            style = "bold red" if kind == "BLIND" else ""
            table.add_row(f"{start:#x}-{end - 1:#x}", f"{end - start:,}", Text(kind, style=style),
                          covers, owner, key=str(start))
        more = frame.metadata_total - len(frame.metadata)
        if more > 0:
            table.add_row(Text(f"… {more:,} more extents", style="dim"), "", "", "", "")
        if not frame.metadata_total:
            table.add_row(Text("no KMSAN metadata yet", style="dim"), "", "", "", "")
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)

    @staticmethod
    def virtual_table(layout: VirtualLayout) -> Table:
        grid = Table(title=f"fixed addresses: {layout.slot}", title_justify="left",
                     box=None, padding=(0, 1), show_header=True, header_style="bold")
        grid.add_column("start", no_wrap=True)
        grid.add_column("size", justify="right", no_wrap=True)
        grid.add_column("region")
        regions = _X86_64_5LEVEL if layout.paging_levels == 5 else _X86_64_4LEVEL
        for start, length, label in regions:
            grid.add_row(f"{start:#018x}", size(length), label,
                         style="dim" if "KASAN" not in label else "")
            if "KASAN" in label:
                grid.add_row(Text(f"{layout.shadow_start:#018x}", style="bold"),
                             size(layout.size_each), Text("  KMSAN shadow", style="bold"))
                grid.add_row(Text(f"{layout.origin_start:#018x}", style="bold"),
                             size(layout.size_each), Text("  KMSAN origin", style="bold"))
        fits = Text.assemble(
            "fits 4-level paging: ", _yes_no(layout.fits_4level),
            "   5-level: ", _yes_no(layout.fits_5level),
            f"   (this machine: {layout.paging_levels}-level)")
        grid.caption = fits
        grid.caption_justify = "left"
        return grid

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        key = event.row_key.value
        if key and key.isdigit():
            self.post_message(PageSelected(int(key), follow=True))


def _yes_no(value: bool) -> Text:
    return Text("yes", style="bold green") if value else Text("NO", style="bold red")
