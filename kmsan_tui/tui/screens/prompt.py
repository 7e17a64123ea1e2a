"""A one-line dialog: where to go, which file to open or save."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import Input, Label

from kmsan_tui.tui.screens.dialog import Dialog


class PromptScreen(Dialog[str | None]):
    """Ask for one line of text; dismisses with it, or None on escape (once: input
    after the answer is ignored)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel", id="dialog.cancel")]

    DEFAULT_CSS = """
    PromptScreen { align: center middle; }
    PromptScreen > Vertical {
        width: 64; max-width: 90%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    """

    def __init__(self, title: str, placeholder: str = "", value: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.placeholder = placeholder
        self.value = value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="dialog-title")
            yield Input(self.value, placeholder=self.placeholder)

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        value = event.value.strip()
        # A control character pasted into the line is no name or place anyone means.
        self.dismiss(value if value and value.isprintable() else None)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
