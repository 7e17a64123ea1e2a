"""The map's legend: each state's glyph on its colour, and the owner letters in use."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from kmsan_tui.model.owners import CATEGORIES, OTHER
from kmsan_tui.tui import palettes
from kmsan_tui.tui.frame import Frame


def states_text(palette: str) -> Text:
    text = Text()
    for look in palettes.looks(palette):
        cell = palettes.style(palette, look.code)
        text.append(look.glyph, cell if look.bg or palette == "mono"
                    else cell + Style(underline=True))
        text.append(f" {look.short}  ")
    return text


def owners_text(letters: tuple[str, ...]) -> Text:
    labels = {c.letter: c.short for c in (*CATEGORIES, OTHER)}
    text = Text("owner ", style="bold")
    text.append("  ".join(f"{letter}/{letter.lower()} {labels.get(letter, '?')}"
                          for letter in sorted(set(letters))))
    return text


class MapLegend(Static):
    """What the glyphs and colours of the memory map mean; the owner letters in use
    are listed when the legend is wide enough (not at 80 columns)."""

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
        wide = self.size.width >= self.NARROW
        key = (letters, self.palette, wide)
        if key == self._shown:
            return  # a new owner is rare: no layout pass per step
        self._shown = key
        text = states_text(self.palette)
        if wide and letters:
            text.append("\n")
            text.append_text(owners_text(letters))
        # A layout pass costs tens of ms on a big screen: only when the height changes.
        lines = len(text.wrap(self.app.console, max(1, self.content_size.width)))
        self.update(text, layout=lines != self._lines)
        self._lines = lines
