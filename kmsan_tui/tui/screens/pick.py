"""A dialog that picks one item from a list (a step to run to, a layout)."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Label, OptionList
from textual.widgets.option_list import Option

from kmsan_tui.tui.screens.dialog import Dialog


class PickScreen(Dialog[str | None]):
    """Choose one option; dismisses with its id, or None on escape (once)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel", id="dialog.cancel")]

    DEFAULT_CSS = """
    PickScreen { align: center middle; }
    PickScreen > Vertical {
        width: 60; max-width: 90%; height: auto; max-height: 80%;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    PickScreen OptionList { height: auto; max-height: 30; border: none; }
    """

    def __init__(self, title: str, options: list[tuple[str, str]],
                 highlight: str | None = None) -> None:
        super().__init__()
        self.title_text = title
        self.options = options
        self.highlight = highlight

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="dialog-title")
            yield OptionList(*[Option(label, id=value or "-") for value, label in self.options])

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        ids = [value or "-" for value, _ in self.options]
        if self.highlight in ids:
            options.highlighted = ids.index(self.highlight)
        options.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        value = event.option.id or ""
        self.dismiss("" if value == "-" else value)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
