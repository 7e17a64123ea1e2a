"""The map's legend: each state's glyph on its colour, and the owner letters in use."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.reactive import reactive
from textual.widgets import Static

from kmsan_tui.tui import palettes
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.owners import CATEGORIES, OTHER


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


class MapLegend(Vertical):
    """What the glyphs and colours of the memory map mean (owners hide when narrow)."""

    DEFAULT_CSS = """
    MapLegend { height: auto; padding: 0 1; color: $text-muted; }
    MapLegend Static { height: auto; }
    """

    frame: reactive[Frame | None] = reactive(None)
    """The frame whose owners are listed."""
    palette: reactive[str] = reactive(palettes.DEFAULT_PALETTE)
    """The colour palette of page states."""

    def compose(self) -> ComposeResult:
        yield Static(states_text(self.palette), id="legend-states")
        yield Static(id="legend-owners")

    def watch_frame(self, frame: Frame | None) -> None:
        if frame is not None and self.is_mounted:
            self.query_one("#legend-owners", Static).update(owners_text(frame.index.owner_letters))

    def watch_palette(self, palette: str) -> None:
        if self.is_mounted:
            self.query_one("#legend-states", Static).update(states_text(palette))
