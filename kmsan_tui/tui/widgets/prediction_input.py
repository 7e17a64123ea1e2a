"""Where the learner commits to an answer: a number, or one of a lesson's choices."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.message import Message
from textual.widgets import Input, OptionList
from textual.widgets.option_list import Option


class PredictionInput(Vertical):
    """A number field (Enter answers) or a list of choices (Enter on one answers)."""

    DEFAULT_CSS = """
    PredictionInput {
        height: auto;
        Input { width: 1fr; }
        OptionList { height: auto; max-height: 8; }
    }
    """

    class Answered(Message):
        """The learner answered ``prediction`` with ``text``."""

        def __init__(self, prediction: str, text: str) -> None:
            self.prediction = prediction
            self.text = text
            super().__init__()

    def __init__(self, prediction: str, choices: tuple[str, ...] = (), *,
                 id: str | None = None) -> None:
        super().__init__(id=id)
        self.prediction = prediction
        """The id of the prediction answered here."""
        self.choices = choices
        """The answers to choose from (empty: a number)."""

    def compose(self) -> ComposeResult:
        if self.choices:
            yield OptionList(*[Option(choice, id=choice) for choice in self.choices],
                             id="prediction-choices", compact=True)
        else:
            yield Input(placeholder="a number, then Enter", type="number",
                        id="prediction-number", compact=True)

    def on_mount(self) -> None:
        if self.choices:
            self.query_one(OptionList).highlighted = 0

    def focus_answer(self) -> None:
        """Put the keyboard on the answer (the lesson asks before it shows)."""
        self.query_one("#prediction-choices, #prediction-number").focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        if event.value.strip():
            self.post_message(self.Answered(self.prediction, event.value.strip()))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.post_message(self.Answered(self.prediction, event.option.id or ""))
