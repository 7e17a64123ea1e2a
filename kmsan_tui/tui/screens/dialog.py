"""What every dialog of the explorer shares: it answers once.

A key typed fast (Enter three times in the save dialog) reaches a dialog again after
its first answer, before Textual has popped it: a second ``dismiss`` would then pop
the screen *below* it (the explorer) or fail with ``ScreenStackError``. A screen with
``DismissOnce`` ignores every ``dismiss`` after the first, and any while it is not the
screen on top, so input that arrives after a dialog closed does nothing.

Three bugs of textual 8.2.8 are worked around here: an OptionList's PageUp/PageDown
raise ``KeyError: 0`` before the list has been laid out (``_move_page`` reads a line
cache that is still empty; the command palette's list, a Select's overlay and our
pickers all are OptionLists); text measured at a width of 0 (an option list in a
terminal 20 columns wide) raises ``ValueError`` in rich's ``chop_cells``; and the
command palette's gathering worker fails when the palette closes meanwhile.
``patch_textual`` mends the first two for every widget, once (tests/tui/test_abuse.py
checks they are still needed and that the patches work).
"""

from __future__ import annotations

from typing import Any, TypeVar

from textual import work
from textual.await_complete import AwaitComplete
from textual.command import CommandPalette
from textual.content import Content
from textual.css.query import NoMatches
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


def _safe_move_page(self: OptionList, direction: Any) -> None:
    try:
        _MOVE_PAGE(self, direction)
    except (KeyError, IndexError):  # the line cache is still empty: go to an end
        if direction < 0:
            self.action_first()
        else:
            self.action_last()


_MOVE_PAGE = OptionList._move_page
_GET_HEIGHT = Content.get_height


def _safe_get_height(self: Content, rules: Any, width: int) -> int:
    return _GET_HEIGHT(self, rules, max(1, width))  # a line of no width wraps at 1


def patch_textual() -> None:
    """Make OptionList's page keys safe before the list is laid out, and measuring
    text at a width of 0 (textual 8.2.8)."""
    OptionList._move_page = _safe_move_page  # type: ignore[method-assign]
    Content.get_height = _safe_get_height  # type: ignore[method-assign]


class SafeCommandPalette(DismissOnce, CommandPalette):
    """Textual's command palette, answering once; closing it while it gathers commands
    is no error (textual 8.2.8's gathering worker queries its CommandList after the
    palette has been taken down: NoMatches)."""

    @work(exclusive=True, group=CommandPalette._GATHER_COMMANDS_GROUP)
    async def _gather_commands(self, search_value: str) -> None:
        try:
            await _GATHER(self, search_value)
        except NoMatches:  # the palette closed meanwhile: nothing to show commands in
            pass


_GATHER = CommandPalette._gather_commands.__wrapped__  # type: ignore[attr-defined]
