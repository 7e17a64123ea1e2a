"""The footer: Textual's ``Footer``, rebuilt only when the keys it shows change."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


class KeysFooter(Footer):
    """``Footer`` rebuilds its key widgets whenever the screen's bindings *may* have
    changed (focus moves, a panel mounts, a screen resumes): fourteen times while the
    explorer starts, ~7 ms each, though the keys it shows almost never change. This
    one compares what it would show with what it shows, and rebuilds only on a
    difference."""

    # Compact footers give every key a right margin, the palette key (docked right)
    # too: the keys scrolled under it showed through that last column.
    DEFAULT_CSS = """
    KeysFooter.-compact FooterKey.-command-palette { margin-right: 0; padding-right: 1; }
    """

    _shown: tuple[object, ...] | None = None

    def _signature(self) -> tuple[object, ...]:
        """Everything ``Footer.compose()`` reads from the bindings."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return (self.compact, self.show_command_palette, tuple(
            (key, binding.key, binding.action, binding.description, binding.group, enabled,
             tooltip)
            for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == palette))

    def bindings_changed(self, screen: Screen[object]) -> None:
        if (self._shown is not None and self.is_attached and screen is self.screen
                and self._signature() == self._shown):
            return
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        children = list(super().compose())
        # Footer composes nothing until the screen has reported its bindings once.
        self._shown = self._signature() if children else None
        yield from children
