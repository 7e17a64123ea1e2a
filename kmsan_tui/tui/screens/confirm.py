"""A dialog that asks before unsaved work is thrown away: save, discard or cancel."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Label

from kmsan_tui.tui.screens.dialog import Dialog


class ConfirmScreen(Dialog[str | None]):
    """Dismisses with "save", "discard", or None (cancel: escape)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel", id="dialog.cancel"),
        Binding("s", "choose('save')", "Save", show=False, id="confirm.save"),
        Binding("d", "choose('discard')", "Discard", show=False, id="confirm.discard"),
    ]

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 76; max-width: 95%; height: auto;
        border: thick $warning; background: $surface; padding: 0 1;
    }
    ConfirmScreen #question { margin: 1 0; width: 100%; }
    ConfirmScreen Horizontal { height: auto; width: 100%; }
    ConfirmScreen Button { width: 1fr; margin: 0 1 0 0; }
    """

    def __init__(self, title: str, question: str, *, discard: str = "Discard") -> None:
        super().__init__()
        self.title_text = title
        self.question = question
        self.discard_label = discard

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.title_text, classes="dialog-title")
            yield Label(self.question, id="question")
            with Horizontal():
                yield Button("Save (s)", variant="primary", id="save")
                yield Button(f"{self.discard_label} (d)", variant="error", id="discard")
                yield Button("Cancel (esc)", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#save", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.action_choose(event.button.id or "cancel")

    def action_choose(self, choice: str) -> None:
        self.dismiss(None if choice == "cancel" else choice)

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
