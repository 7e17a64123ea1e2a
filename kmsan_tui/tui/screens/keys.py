"""``?``: every key of the app, where it applies, and its binding id for keymap files."""

from __future__ import annotations

from typing import ClassVar

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import VerticalScroll
from textual.widgets import Static

from kmsan_tui.tui.keymap import binding_groups
from kmsan_tui.tui.screens.dialog import Dialog


def keys_table(keymap: dict[str, str]) -> Table:
    table = Table(box=None, padding=(0, 1), header_style="bold", expand=True,
                  caption="Rebind any id in a TOML keymap file: step = \"space\" "
                          "(kmsan-tui --keymap FILE, or ~/.config/kmsan-tui/keymap.toml)",
                  caption_justify="left")
    table.add_column("key", no_wrap=True, style="bold")
    table.add_column("action")
    table.add_column("id", style="dim", no_wrap=True)
    for title, bindings in binding_groups():
        table.add_row(Text(title, style="bold underline"), "", "")
        for binding in bindings:
            keys = keymap.get(binding.id or "", binding.key)
            shown = binding.key_display if binding.key_display and binding.id not in keymap \
                else keys
            table.add_row(shown, binding.description or binding.action, binding.id or "")
    table.add_row(Text("also", style="bold underline"), "", "")
    table.add_row("ctrl+p", "command palette: every action, go to a pfn, step or zone", "")
    table.add_row("tab", "next panel", "")
    table.add_row("mouse", "click a cell to inspect it; shift/ctrl + wheel zooms", "")
    return table


class KeysScreen(Dialog[None]):
    """All keys, grouped by where they apply."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,question_mark,q", "dismiss", "Close", id="keys.close")]

    DEFAULT_CSS = """
    KeysScreen { align: center middle; }
    KeysScreen > VerticalScroll {
        width: 90; max-width: 95%; height: 90%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, keymap: dict[str, str]) -> None:
        super().__init__()
        self.keymap = keymap

    def compose(self) -> ComposeResult:
        with VerticalScroll() as scroll:
            scroll.border_title = "Keys"
            yield Static(keys_table(self.keymap))
