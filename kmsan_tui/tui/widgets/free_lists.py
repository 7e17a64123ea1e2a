"""Free lists: ``free_area[order]`` x migratetype per zone, what /proc/pagetypeinfo shows,
with the change since the last command; a cell expands to its blocks, head first."""

from __future__ import annotations

from typing import ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.reactive import reactive
from textual.widgets import Log, OptionList
from textual.widgets.option_list import Option

from kmsan_tui.model.constants import NR_PAGE_ORDERS, PAGETYPEINFO_TYPES
from kmsan_tui.tui.frame import Frame, ZoneFree
from kmsan_tui.tui.messages import PageSelected
from kmsan_tui.tui.widgets.free_area_grid import FreeAreaGrid, GridRow

BLOCK_LIMIT = 512  # blocks listed per free list (the list says when there are more)
SHORT_TYPES = {"Unmovable": "Unmov", "Movable": "Mov", "Reclaimable": "Recl",
               "HighAtomic": "HiAt", "Isolate": "Iso", "CMA": "CMA"}


def grid_rows(frame: Frame) -> tuple[GridRow, ...]:
    """A zone's total, then one row per migratetype, with the change since before."""
    before = {z.key: z for z in frame.before.free} if frame.before else {}
    rows: list[GridRow] = []
    orders = range(NR_PAGE_ORDERS)
    for zi, zone in enumerate(frame.free):
        old = before.get(zone.key)
        totals = tuple(sum(row[o] for row in zone.by_type) for o in orders)
        deltas = None
        if old is not None:
            deltas = tuple(totals[o] - sum(row[o] for row in old.by_type) for o in orders)
        rows.append(GridRow(f"{zi}:all", f"N{zone.nid} {zone.name}", totals, deltas, True))
        for ti, mt in enumerate(PAGETYPEINFO_TYPES):
            counts = zone.by_type[ti]
            was = old.by_type[ti] if old is not None else None
            rows.append(GridRow(f"{zi}:{ti}", f"  {mt.label}", counts,
                                tuple(c - w for c, w in zip(counts, was, strict=True))
                                if was is not None else None,
                                short=f" {SHORT_TYPES.get(mt.label, mt.label[:5])}"))
    return tuple(rows)


class FreeLists(Vertical):
    """Per zone and migratetype, the number of free blocks of each order."""

    # The palette's "Maximize" (Textual's) on a focused table takes the whole panel.
    ALLOW_MAXIMIZE = True

    HELP = """\
## Free lists

`free_area[order].nr_free` of every zone, split by migratetype (the numbers of
`/proc/pagetypeinfo`; a zone's first row, in bold, is `/proc/buddyinfo`): the
number of free **blocks** of 2^order pages (order 10: 4 MiB blocks, where a booted
machine keeps nearly all its free memory). Columns are orders 0 to 10.

A `+n`/`−n` after a count is its change since the last command; when the panel is
too narrow for every order with those, a `▲`/`▼`, and narrower still the changed
count is underlined (green: more, red: fewer). Counts above 9,999 are rounded
(`21k`, `1.2M`); `/proc` format (`p`) has them exact.

- **Enter** or a click on a count lists the blocks on that free list, head first
- **Enter** on a block jumps the map cursor to it; **escape** closes the list
- `p` shows `/proc/buddyinfo` and `/proc/pagetypeinfo` as the kernel prints them,
  full screen (escape: back to the panel, still in that format; `p` again: the grid)
"""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("p", "toggle_procfs", "/proc format", id="free_lists.procfs"),
    ]

    DEFAULT_CSS = """
    FreeLists {
        #free-grid { width: 1fr; height: 1fr; }
        #blocks { width: 26; height: 1fr; display: none; border-left: vkey $panel-lighten-2; }
        &.-expanded #blocks { display: block; }
        #procfs { display: none; height: 1fr; }
        &.-procfs #procfs { display: block; }
        &.-procfs #free-body { display: none; }
    }
    """

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state whose free lists are shown."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._expanded: tuple[int, int, int] | None = None  # zone index, type index, order

    def compose(self) -> ComposeResult:
        with Horizontal(id="free-body"):
            # Before free_area_init() the grid says so itself: showing another widget
            # instead would cost a layout of the whole screen when the zones appear.
            yield FreeAreaGrid(id="free-grid", empty_text=(
                "No zones yet: free_area_init() builds them, memblock_free_all() fills "
                "their free lists."))
            yield OptionList(id="blocks")
        # Log: lines as the kernel prints them, never wrapped (they scroll sideways).
        yield Log(id="procfs", auto_scroll=False)

    def watch_frame(self, frame: Frame | None) -> None:
        if frame is None or not self.is_mounted:
            return
        self.query_one(FreeAreaGrid).rows = grid_rows(frame)
        self._update_procfs(frame)
        if self._expanded is not None:
            self._show_blocks(*self._expanded)

    def _update_procfs(self, frame: Frame) -> None:
        if not self.has_class("-procfs"):
            return
        # Built on demand: the /proc text is only needed while it is shown.
        text = frame.lookup.procfs() or "no zones yet"
        log = self.query_one("#procfs", Log)
        log.clear()
        log.write(text.rstrip("\n"), scroll_end=False)  # write_lines drops blank lines

    def action_toggle_procfs(self) -> None:
        """The kernel's text, full screen (its lines are up to 120 columns: the panel
        would wrap or cut them), or back to the grid."""
        self.toggle_class("-procfs")
        if self.frame is not None:
            self._update_procfs(self.frame)
        log = self.query_one("#procfs", Log)
        if self.has_class("-procfs"):
            log.focus()
            self.screen.maximize(log, container=False)
        else:
            if self.screen.maximized is log:
                self.screen.minimize()
            self.query_one(FreeAreaGrid).focus()

    def on_free_area_grid_cell_chosen(self, event: FreeAreaGrid.CellChosen) -> None:
        event.stop()
        zi_text, _, ti_text = event.row_key.partition(":")
        ti = -1 if ti_text == "all" else int(ti_text)
        self._expanded = (int(zi_text), ti, event.order)
        self.add_class("-expanded")
        self._show_blocks(*self._expanded)
        self.query_one("#blocks", OptionList).focus()

    def _show_blocks(self, zi: int, ti: int, order: int) -> None:
        frame = self.frame
        blocks = self.query_one("#blocks", OptionList)
        blocks.clear_options()
        if frame is None or zi >= len(frame.free):
            return
        types = PAGETYPEINFO_TYPES if ti < 0 else (PAGETYPEINFO_TYPES[ti],)
        info: ZoneFree = frame.free[zi]
        for mt in types:
            # Asked when a list is expanded: copying every list into every frame would
            # cost time in proportion to the free blocks.
            heads = frame.lookup.free_list(zi, order, mt, BLOCK_LIMIT)
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
        self.query_one(FreeAreaGrid).focus()
        return True
