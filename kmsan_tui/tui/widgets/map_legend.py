"""The map's legend: each state's glyph on its colour, and the owner letters in use."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from kmsan_tui.tui import palettes
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.owners import CATEGORIES, OTHER


class MapLegend(Static):
    """What the glyphs and colours of the memory map mean."""

    DEFAULT_CSS = """
    MapLegend { height: auto; max-height: 4; padding: 0 1; color: $text-muted; }
    """

    frame: reactive[Frame | None] = reactive(None)
    """The frame whose owners are listed."""
    palette: reactive[str] = reactive(palettes.DEFAULT_PALETTE)
    """The colour palette of page states."""

    def watch_frame(self) -> None:
        self.update(self.legend())

    def watch_palette(self) -> None:
        self.update(self.legend())

    def legend(self) -> Text:
        text = Text()
        for look in palettes.looks(self.palette):
            cell = palettes.style(self.palette, look.code)
            text.append(look.glyph, cell if look.bg or self.palette == "mono"
                        else cell + Style(underline=True))
            text.append(f" {look.short}  ")
        if self.frame is not None:
            letters = sorted(set(self.frame.index.owner_letters))
            labels = {c.letter: c.short for c in (*CATEGORIES, OTHER)}
            if letters:
                text.append("\nowner: ", Style(bold=True))
                text.append("  ".join(f"{letter}/{letter.lower()} {labels.get(letter, '?')}"
                                      for letter in letters))
        return text
