"""The struct page inspector: the page under the cursor as the kernel describes it."""

from __future__ import annotations

from rich.console import Console
from rich.text import Text
from textual import events
from textual.reactive import reactive
from textual.widgets import Static

from kmsan_tui.model.constants import PAGE_SHIFT
from kmsan_tui.model.owners import category
from kmsan_tui.model.pages import PageState, PageView
from kmsan_tui.tui.fmt import size
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.messages import FollowRequested
from kmsan_tui.tui.palettes import state_label

LABEL_WIDTH = 7  # "origin " and the like: the value column starts after it

_WHERE = {
    "struct page": "pointers in struct page",
    "page_ext": "pointers in page_ext",
    "fixed mapping": "fixed offset",
}


class PageInspector(Static, can_focus=True):
    """``struct page`` of the pfn under the cursor, and where its KMSAN metadata lives."""

    HELP = """\
## struct page inspector

The page under the map cursor: pfn, physical address, zone, decoded flags, buddy
order and migratetype, who reserved or allocated it, and its KMSAN metadata:
the `kmsan_shadow` / `kmsan_origin` pointers (eager, lazy), the page_ext entry
(lazy with page_ext storage) or the computed fixed address (fixed).

**state** is one of:

- **free**: on a buddy free list (`block` gives its order and migratetype)
- **allocated**: handed out by the buddy allocator (`owner` says for what)
- **reserved**: PG_reserved, memblock's (kernel image, memmap, page tables...)
- **RAM memblock still owns**: before `memblock_free_all()` hands it over
- **KMSAN shadow / origin**: metadata of the data page `of` names (one shadow
  byte per data byte; one 4-byte origin id per 4 data bytes)
- **held back (eager)**: kept in `held_back[]` as shadow or origin for a data
  chunk not paired yet: it backs nothing
- **blind spot**: a data page that should have metadata and has none (a failed
  metadata allocation): KMSAN checks it against its dummy pages
- **hole**: no RAM, no usable struct page

- `s` follow the shadow pointer, `o` the origin pointer
- `d` from a shadow or origin page, go to the data page it describes
- `b` go back to where you followed from
"""

    DEFAULT_CSS = """
    PageInspector { padding: 0 1; overflow-y: auto; height: 1fr; }
    """

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state the page is read from."""
    cursor: reactive[int] = reactive(0, repaint=False)
    """The pfn to describe."""

    _shown: tuple[PageView, str, int] | None = None

    def watch_frame(self) -> None:
        self._refresh_view()

    def watch_cursor(self) -> None:
        self._refresh_view()

    def on_resize(self, _event: events.Resize) -> None:
        self._shown = None  # values wrap to the new width
        self._refresh_view()

    def _refresh_view(self) -> None:
        if self.frame is None:
            return
        view = self.frame.lookup.page(self.cursor)
        width = self.content_size.width
        key = (view, self.frame.strategy, width)
        if key == self._shown:
            return  # the same page, described the same: nothing to redraw
        self._shown = key
        # A fixed-size panel: no layout pass needed (it would redo the whole screen).
        self.update(self.describe(view, self.frame, width, self.app.console), layout=False)

    def action_follow(self, kind: str) -> None:
        self.post_message(FollowRequested(kind))

    @staticmethod
    def describe(view: PageView, frame: Frame, width: int, console: Console) -> Text:
        """The page as label / value lines; a long value wraps under its value column.
        (Text, not a Rich table: a table measures every cell again on each cursor move,
        several ms a keypress.)"""
        rows: list[tuple[str, str | Text]] = [
            ("pfn", f"{view.pfn:#x} ({view.pfn:,})"),
            ("phys", f"{view.phys:#x}"),
            ("zone", "-" if view.zone is None else f"node {view.nid}, {view.zone}"),
        ]
        state = Text(state_label(view.state))
        if view.blind:
            state.append(" · BLIND SPOT", style="bold red")
        flags = view.flags.describe()
        if flags != "none":
            state.append("  " + "|".join(f"PG_{name}" for name in flags.split("|")), style="dim")
        rows.append(("state", state))
        if view.order is not None:
            head = view.head_pfn if view.head_pfn is not None else view.pfn
            mt = f" · {view.migratetype.label}" if view.migratetype is not None else ""
            rows.append(("block", f"order {view.order} ({size(1 << (view.order + PAGE_SHIFT))})"
                                  f" at {head:#x}{mt}"))
        if view.owner:
            rows.append(("owner", f"{view.owner} [{category(view.owner).letter}]"))
        where = _WHERE.get(view.metadata_in or "", "")
        rows.append(("kmsan", Text.assemble((frame.strategy, "bold"),
                                            f" · {where}" if where else "")))
        if view.kmsan_shadow is not None:
            rows.append(("shadow", Text.from_markup(
                f"{view.kmsan_shadow:#x} [@click=follow('shadow')]\\[s][/]")))
        if view.kmsan_origin is not None:
            rows.append(("origin", Text.from_markup(
                f"{view.kmsan_origin:#x} [@click=follow('origin')]\\[o][/]")))
        if view.shadow_vaddr is not None:
            rows.append(("vaddr", f"S {view.shadow_vaddr:#x}"))
            rows.append(("", f"O {view.origin_vaddr:#x}"))
        if view.meta_for is not None:
            role = "shadow" if view.state is PageState.SHADOW else "origin"
            rows.append(("of", Text.from_markup(
                f"{role} of data {view.meta_for:#x} [@click=follow('data')]\\[d][/]")))
        elif view.state is PageState.HELD_BACK:
            rows.append(("of", "nothing yet: held back for a data block"))
        elif (view.kmsan_shadow is None and not view.blind
              and view.state is not PageState.HOLE):
            rows.append(("", Text("no metadata for this page", style="dim")))
        out = Text()
        room = max(8, width - LABEL_WIDTH)
        for label, value in rows:
            text = value if isinstance(value, Text) else Text(value)
            for i, line in enumerate(text.wrap(console, room, overflow="fold")):
                if out:
                    out.append("\n")
                out.append(f"{label if i == 0 else '':<{LABEL_WIDTH}}", style="bold")
                out.append_text(line)
        return out
