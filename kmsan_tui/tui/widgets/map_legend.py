"""The map's legend: each state's glyph on its colour, and the owner letters in use."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from kmsan_tui.model import mapindex as mc
from kmsan_tui.model.owners import CATEGORIES, OTHER
from kmsan_tui.tui import palettes
from kmsan_tui.tui.frame import Frame


def state_items(palette: str) -> list[Text]:
    """One entry per page state: its glyph drawn as on the map, and its name; last,
    how a mixed cell looks."""
    items = []
    for look in palettes.looks(palette):
        cell = palettes.style(palette, look.code)
        item = Text()
        item.append(look.glyph, cell if look.bg or palette == "mono"
                    else cell + Style(underline=True))
        item.append(f" {look.short}")
        items.append(item)
    mixed = Text()
    mixed.append("S", palettes.style(palette, mc.SHADOW, mixed=True))
    mixed.append(" mixed (mostly S)")
    items.append(mixed)
    return items


def owner_items(letters: tuple[str, ...]) -> list[Text]:
    labels = {c.letter: c.short for c in (*CATEGORIES, OTHER)}
    return [Text(f"{letter}/{letter.lower()} {labels.get(letter, '?')}")
            for letter in sorted(set(letters))]


def pack(items: list[Text], width: int, first: Text | None = None) -> Text:
    """Items two spaces apart, a line broken only between items (a glyph never ends
    up on one line and its name on the next)."""
    out = Text()
    line = 0
    if first is not None:
        out.append_text(first)
        line = first.cell_len
    for item in items:
        gap = 2 if line else 0
        if line and line + gap + item.cell_len > width:
            out.append("\n")
            line, gap = 0, 0
        out.append(" " * gap)
        out.append_text(item)
        line += gap + item.cell_len
    return out


def legend_text(palette: str, letters: tuple[str, ...], width: int, owners: bool) -> Text:
    text = pack(state_items(palette), width)
    if owners and letters:
        text.append("\n")
        text.append_text(pack(owner_items(letters), width, Text("owner ", style="bold")))
    return text


class MapLegend(Static):
    """What the glyphs and colours of the memory map mean; the owner letters in use
    are listed when the legend is wide enough (not at 80 columns)."""

    HELP = """\
## Map legend

Each page state's glyph on its colour, as the map draws it: a **solid** block is a
cell whose pages are all in that state; a coloured glyph on **no background** is a
**mixed** cell (several states; the glyph is the most common). Below, the owner
letters in use: upper case for memblock-reserved pages, lower case for pages the
buddy allocator handed out (`K`/`k` kernel image, `M`/`m` memmap...).
"""

    DEFAULT_CSS = """
    MapLegend { height: auto; padding: 0 1; color: $text-muted; }
    """

    NARROW = 60  # below this width the owner letters give way to the map

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The frame whose owners are listed."""
    palette: reactive[str] = reactive(palettes.DEFAULT_PALETTE, repaint=False)
    """The colour palette of page states."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[object, ...] = ()
        self._lines = 0

    def watch_frame(self) -> None:
        self._draw()

    def watch_palette(self) -> None:
        self._draw()

    def on_resize(self) -> None:
        self._draw()

    def _draw(self) -> None:
        letters = tuple(sorted(set(self.frame.index.owner_letters))) if self.frame else ()
        width = max(1, self.content_size.width)
        wide = self.size.width >= self.NARROW
        key = (letters, self.palette, wide, width)
        if key == self._shown:
            return  # a new owner is rare: no layout pass per step
        self._shown = key
        text = legend_text(self.palette, letters, width, wide)
        # A layout pass costs tens of ms on a big screen: only when the height changes.
        lines = text.plain.count("\n") + 1
        self.update(text, layout=lines != self._lines)
        self._lines = lines
