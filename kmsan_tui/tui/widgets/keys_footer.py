"""The footer: Textual's ``Footer``, fitted to its width and rebuilt only when the keys
it shows change."""

from __future__ import annotations

from textual import events
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Footer
from textual.widgets._footer import FooterKey

# Shorter descriptions for narrow terminals (by binding description).
SHORT = {"Next init call": "Next", "Run to end": "End", "Play/Pause": "Play",
         "Strategy": "Strat", "Workload": "Work", "Compare": "Comp", "Whole machine": "All"}
# Keys dropped first when even the short descriptions do not fit, by action: every
# key stays in the `?` list and in the command palette (ctrl+p), which always shows.
DROP_FIRST = ("next_initcall", "quit", "workload", "goto", "compare", "cycle_strategy",
              "toggle_help", "keys", "run_all", "autoplay")


def key_width(key: FooterKey) -> int:
    """Cells a compact footer key takes: the key, a space, the description, a margin."""
    return len(key.key_display) + (1 + len(key.description) if key.description else 0) + 1


def fit(keys: list[FooterKey], room: int) -> tuple[bool, frozenset[str]]:
    """(short descriptions?, actions dropped) so that ``keys`` fit in ``room`` cells."""
    def width(short: bool, dropped: frozenset[str]) -> int:
        return sum(len(k.key_display) + 2 + len(SHORT.get(k.description, k.description)
                                                if short else k.description)
                   for k in keys if k.action not in dropped)

    if not room or width(False, frozenset()) <= room:
        return False, frozenset()
    dropped: frozenset[str] = frozenset()
    for action in (None, *DROP_FIRST):
        if action is not None:
            dropped = dropped | {action}
        if width(True, dropped) <= room:
            break
    return True, dropped


class KeysFooter(Footer):
    """``Footer`` rebuilds its key widgets whenever the screen's bindings *may* have
    changed (focus moves, a panel mounts, a screen resumes): fourteen times while the
    explorer starts, ~7 ms each, though the keys it shows almost never change. This
    one compares what it would show with what it shows, and rebuilds only on a
    difference. When the keys do not fit (80 columns), descriptions get shorter and
    the least needed keys give way (``DROP_FIRST``); ``?`` and the palette list all."""

    # Compact footers give every key a right margin, the palette key (docked right)
    # too: the keys scrolled under it showed through that last column.
    DEFAULT_CSS = """
    KeysFooter.-compact FooterKey.-command-palette { margin-right: 0; padding-right: 1; }
    """

    _shown: tuple[object, ...] | None = None

    def _signature(self) -> tuple[object, ...]:
        """Everything ``Footer.compose()`` reads from the bindings, and the width."""
        palette = self.app.COMMAND_PALETTE_BINDING
        return (self.compact, self.show_command_palette, self.size.width, tuple(
            (key, binding.key, binding.action, binding.description, binding.group, enabled,
             tooltip)
            for key, (_node, binding, enabled, tooltip) in self.screen.active_bindings.items()
            if binding.show or key == palette))

    def bindings_changed(self, screen: Screen[object]) -> None:
        if (self._shown is not None and self.is_attached and screen is self.screen
                and self._signature() == self._shown):
            return
        super().bindings_changed(screen)

    def on_resize(self, _event: events.Resize) -> None:
        if self._shown is not None and self._signature() != self._shown:
            self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        children = list(super().compose())
        # Footer composes nothing until the screen has reported its bindings once.
        self._shown = self._signature() if children else None
        keys = [c for c in children if isinstance(c, FooterKey)
                and not c.has_class("-command-palette")]
        palette = sum(key_width(c) + 2 for c in children if c.has_class("-command-palette"))
        short, dropped = fit(keys, max(0, self.size.width - palette))
        kept: list[Widget] = []
        for child in children:
            if isinstance(child, FooterKey) and child in keys:
                if child.action in dropped:
                    continue
                if short:
                    child.description = SHORT.get(child.description, child.description)
            kept.append(child)
        yield from kept
