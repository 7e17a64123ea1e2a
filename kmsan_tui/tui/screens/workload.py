"""The workload dialog: which workload, how many operations, which seed."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Input, Label, Select

from kmsan_tui.model.workloads import WORKLOADS
from kmsan_tui.session.commands import MAX_OPS, MAX_SEED
from kmsan_tui.tui.screens.dialog import Dialog

DEFAULT_OPS = 20000


class WorkloadScreen(Dialog[tuple[str, int, int] | None]):
    """Dismisses with (workload, operations, seed), or None on escape."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "dismiss_none", "Cancel", id="dialog.cancel")]

    DEFAULT_CSS = """
    WorkloadScreen { align: center middle; }
    WorkloadScreen > Vertical {
        width: 70; max-width: 95%; height: auto;
        border: thick $primary; background: $surface; padding: 0 1;
    }
    WorkloadScreen Horizontal { height: auto; }
    WorkloadScreen Horizontal > Vertical { width: 1fr; height: auto; }
    WorkloadScreen #description { color: $text-muted; height: auto; }
    WorkloadScreen #run { margin-top: 1; }
    """

    def __init__(self, names: list[str], seed: int) -> None:
        super().__init__()
        self.names = names
        self.seed = seed

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label("Run a workload", classes="dialog-title")
            yield Select([(name, name) for name in self.names], value=self.names[0],
                         allow_blank=False, id="name")
            yield Label(WORKLOADS[self.names[0]].description, id="description")
            with Horizontal():
                with Vertical():
                    yield Label("operations")
                    yield Input(str(DEFAULT_OPS), type="integer", id="ops", max_length=9)
                with Vertical():
                    yield Label("seed of the operations")
                    yield Input(str(self.seed), type="integer", id="seed", max_length=16)
            yield Button("Run", variant="primary", id="run")

    def on_mount(self) -> None:
        self.query_one("#run", Button).focus()  # Enter runs the defaults

    def on_select_changed(self, event: Select.Changed) -> None:
        if isinstance(event.value, str) and event.value in WORKLOADS:
            self.query_one("#description", Label).update(WORKLOADS[event.value].description)

    def _submit(self) -> None:
        if self.dismissed:
            return
        try:
            ops = int(self.query_one("#ops", Input).value)
            seed = int(self.query_one("#seed", Input).value)
        except ValueError:
            self.notify("operations and seed must be integers", severity="warning")
            return
        if not 0 < ops <= MAX_OPS:
            self.notify(f"operations: 1 to {MAX_OPS:,}", severity="warning")
            return
        if not 0 <= seed <= MAX_SEED:
            self.notify("seed: 0 to 2**53-1", severity="warning")
            return
        name = self.query_one("#name", Select).value
        assert isinstance(name, str)
        self.dismiss((name, ops, seed))

    def on_button_pressed(self, _event: Button.Pressed) -> None:
        self._submit()

    def on_input_submitted(self, _event: Input.Submitted) -> None:
        self._submit()

    def action_dismiss_none(self) -> None:
        self.dismiss(None)
