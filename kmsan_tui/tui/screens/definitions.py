"""Every figure the explorer shows, defined: the metrics (``model.metrics.METRICS``,
the one table of definitions), the Memory: line, the map's glyphs and the panels'
columns. Pushed from the command palette ("Definitions"), on any screen."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Label, Markdown

from kmsan_tui.tui.widgets.free_lists import FreeLists
from kmsan_tui.tui.widgets.memory_map import MemoryMap
from kmsan_tui.tui.widgets.metrics_panel import metrics_help


def definitions() -> str:
    """The text the screen shows (Markdown)."""
    return "\n".join([metrics_help(), "", MemoryMap.HELP, "", FreeLists.HELP])


class DefinitionsScreen(ModalScreen[None]):
    """The definitions, scrollable; escape closes."""

    HELP = "## Definitions\n\nEvery figure of the explorer, defined. Escape closes."

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "close", "Close", id="definitions.close")]

    DEFAULT_CSS = """
    DefinitionsScreen { align: center middle; }
    DefinitionsScreen > VerticalScroll {
        width: 100; max-width: 100%; height: 90%; border: thick $primary;
        background: $surface; padding: 0 1;
    }
    DefinitionsScreen .dialog-title { text-style: bold; }
    """

    def compose(self) -> ComposeResult:
        with VerticalScroll():
            yield Label("Definitions (escape closes)", classes="dialog-title")
            yield Markdown(definitions())

    def on_mount(self) -> None:
        self.query_one(VerticalScroll).focus()

    def action_close(self) -> None:
        self.dismiss()
