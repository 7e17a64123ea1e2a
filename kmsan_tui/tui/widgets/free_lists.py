"""Free lists: ``free_area[order]`` x migratetype per zone, what /proc/pagetypeinfo shows,
with the change since the last command; a cell expands to its blocks, head first."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import DataTable, OptionList, Static
from textual.widgets.option_list import Option

from kmsan_tui.model.constants import NR_PAGE_ORDERS, PAGETYPEINFO_TYPES
from kmsan_tui.model.procfs import buddyinfo, pagetypeinfo
from kmsan_tui.tui.frame import Frame, ZoneFree
from kmsan_tui.tui.messages import PageSelected

BLOCK_LIMIT = 512  # blocks listed per free list (the list says when there are more)


def compact(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}k"
    return str(n)


class FreeLists(Vertical):
    """Per zone and migratetype, the number of free blocks of each order."""

    HELP = """\
## Free lists

`free_area[order].nr_free` of every zone, split by migratetype (the numbers of
`/proc/pagetypeinfo`; the `all` row is `/proc/buddyinfo`). A `+n`/`-n` after a
count is its change since the last command.

- **Enter** or a click on a count lists the blocks on that free list, head first
- **Enter** on a block jumps the map cursor to it
- `p` toggles the kernel's own text format
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_procfs", "/proc format", id="free_lists.procfs"),
    ]

    DEFAULT_CSS = """
    FreeLists {
        #free-grid { width: 1fr; height: 1fr; }
        #blocks { width: 26; height: 1fr; display: none; border-left: vkey $panel-lighten-2; }
        &.-expanded #blocks { display: block; }
        #procfs { display: none; height: 1fr; overflow: auto; }
        &.-procfs #procfs { display: block; }
        &.-procfs #free-body { display: none; }
    }
    """

    frame: reactive[Frame | None] = reactive(None)
    """The state whose free lists are shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._expanded: tuple[int, int, int] | None = None  # zone index, type index, order

    def compose(self) -> ComposeResult:
        with Horizontal(id="free-body"):
            yield DataTable(id="free-grid", cursor_type="cell", zebra_stripes=True)
            yield OptionList(id="blocks")
        yield Static(id="procfs")

    def on_mount(self) -> None:
        grid = self.query_one("#free-grid", DataTable)
        grid.add_column("zone · type", key="label", width=15)
        for order in range(NR_PAGE_ORDERS):
            grid.add_column(f"{order}", key=str(order))

    def watch_frame(self, frame: Frame | None) -> None:
        if frame is None or not self.is_mounted:
            return
        grid = self.query_one("#free-grid", DataTable)
        cursor = grid.cursor_coordinate
        grid.clear()
        before = {z.key: z for z in frame.before.free} if frame.before else {}
        for zi, zone in enumerate(frame.free):
            old = before.get(zone.key)
            label = f"N{zone.nid} {zone.name}"
            totals = [sum(row[o] for row in zone.by_type) for o in range(NR_PAGE_ORDERS)]
            old_totals = ([sum(row[o] for row in old.by_type) for o in range(NR_PAGE_ORDERS)]
                          if old else None)
            grid.add_row(Text(f"{label} all", style="bold"),
                         *[self._cell(totals[o], old_totals[o] if old_totals else None, True)
                           for o in range(NR_PAGE_ORDERS)], key=f"{zi}:all")
            for ti, mt in enumerate(PAGETYPEINFO_TYPES):
                counts = zone.by_type[ti]
                was = old.by_type[ti] if old else None
                grid.add_row(f"  {mt.label}",
                             *[self._cell(counts[o], was[o] if was else None)
                               for o in range(NR_PAGE_ORDERS)], key=f"{zi}:{ti}")
        if not frame.free:
            grid.add_row(Text("no zones yet", style="dim"), *[""] * NR_PAGE_ORDERS)
        if grid.row_count:
            grid.cursor_coordinate = grid.validate_cursor_coordinate(cursor)
        self._update_procfs(frame)
        if self._expanded is not None:
            self._show_blocks(*self._expanded)

    @staticmethod
    def _cell(count: int, was: int | None, bold: bool = False) -> Text:
        text = Text(compact(count), style="bold" if bold else ("dim" if not count else ""))
        if was is not None and was != count:
            delta = count - was
            text.append(f"{'+' if delta > 0 else '−'}{compact(abs(delta))}",
                        style="green" if delta > 0 else "red")
        return text

    def _update_procfs(self, frame: Frame) -> None:
        if not self.has_class("-procfs"):
            return
        zones = frame.sim.zones
        text = (buddyinfo(zones) + "\n" + pagetypeinfo(zones, zones[0].pageblock_order)) if zones \
            else "no zones yet"
        self.query_one("#procfs", Static).update(Text(text, no_wrap=True))

    def action_toggle_procfs(self) -> None:
        self.toggle_class("-procfs")
        if self.frame is not None:
            self._update_procfs(self.frame)

    def on_data_table_cell_selected(self, event: DataTable.CellSelected) -> None:
        event.stop()
        row_key = event.cell_key.row_key.value or ""
        column = event.cell_key.column_key.value or ""
        zi_text, _, ti_text = row_key.partition(":")
        if not column.isdigit() or not zi_text.isdigit():
            return
        ti = -1 if ti_text == "all" else int(ti_text)
        self._expanded = (int(zi_text), ti, int(column))
        self.add_class("-expanded")
        self._show_blocks(*self._expanded)
        self.query_one("#blocks", OptionList).focus()

    def _show_blocks(self, zi: int, ti: int, order: int) -> None:
        frame = self.frame
        blocks = self.query_one("#blocks", OptionList)
        blocks.clear_options()
        if frame is None or zi >= len(frame.sim.zones):
            return
        zone = frame.sim.zones[zi]
        types = PAGETYPEINFO_TYPES if ti < 0 else (PAGETYPEINFO_TYPES[ti],)
        info: ZoneFree = frame.free[zi]
        for mt in types:
            heads = zone.free_list(order, mt, limit=BLOCK_LIMIT)
            count = info.by_type[PAGETYPEINFO_TYPES.index(mt)][order]
            blocks.add_option(Option(Text(f"{mt.label} order {order}: {count}", style="bold"),
                                     disabled=True))
            blocks.add_options(Option(f"  {head:#x}", id=f"{mt.value}:{head}") for head in heads)
            if count > len(heads):
                blocks.add_option(Option(Text(f"  … {count - len(heads):,} more", style="dim"),
                                         disabled=True))
        if blocks.option_count == 0:
            blocks.add_option(Option("empty", disabled=True))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        option_id = event.option.id or ""
        if ":" in option_id:
            self.post_message(PageSelected(int(option_id.split(":")[1]), follow=True))

    def collapse(self) -> bool:
        """Close the block list; False when it was not open."""
        if self._expanded is None:
            return False
        self._expanded = None
        self.remove_class("-expanded")
        self.query_one("#free-grid", DataTable).focus()
        return True
