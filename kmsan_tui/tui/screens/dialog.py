"""What every dialog of the explorer shares: it answers once.

A key typed fast (Enter three times in the save dialog) reaches a dialog again after
its first answer, before Textual has popped it: a second ``dismiss`` would then pop
the screen *below* it (the explorer) or fail with ``ScreenStackError``. A screen with
``DismissOnce`` ignores every ``dismiss`` after the first, and any while it is not the
screen on top, so input that arrives after a dialog closed does nothing.

``SafeOptionList`` and ``SafeCommandPalette`` work around textual 8.2.8's OptionList,
whose PageUp/PageDown raise ``KeyError: 0`` before the list has been laid out
(``_move_page`` reads a line cache that is still empty).
"""

from __future__ import annotations

from typing import Any, TypeVar

from textual.await_complete import AwaitComplete
from textual.command import CommandPalette
from textual.screen import ModalScreen
from textual.widgets import OptionList

T = TypeVar("T")


class DismissOnce:
    """Mixin of a Screen: ``dismiss`` acts once, and only while the screen is on top."""

    _dismissed = False

    def dismiss(self, result: Any = None) -> AwaitComplete:
        screen: Any = self
        if self._dismissed or not screen.is_active:  # is_active: the screen on top
            return AwaitComplete()
        self._dismissed = True
        done: AwaitComplete = super().dismiss(result)  # type: ignore[misc]
        return done

    @property
    def dismissed(self) -> bool:
        """Whether the screen has answered (further input is ignored)."""
        return self._dismissed


class Dialog(DismissOnce, ModalScreen[T]):
    """A modal dialog that answers once."""


class SafeOptionList(OptionList):
    """An OptionList whose page keys cannot fail before it is laid out."""

    def _move_page(self, direction: Any) -> None:
        try:
            super()._move_page(direction)
        except (KeyError, IndexError):  # textual 8.2.8: the line cache is still empty
            if direction < 0:
                self.action_first()
            else:
                self.action_last()


class SafeCommandPalette(DismissOnce, CommandPalette):
    """Textual's command palette, answering once, its page keys safe (see above)."""

    def _action_command_list(self, action: str) -> None:
        try:
            super()._action_command_list(action)
        except (KeyError, IndexError):  # textual 8.2.8 OptionList._move_page, see above
            pass
