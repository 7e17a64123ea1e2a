"""Line-API widgets whose rows change without their size changing, and panels that
draw only while visible."""

from __future__ import annotations

from textual.geometry import Region, Size
from textual.scroll_view import ScrollView
from textual.strip import Strip


def set_virtual_size(view: ScrollView, size: Size) -> bool:
    """Give ``view`` a new virtual size without a layout of the whole screen.

    Setting ``virtual_size`` the usual way asks for a layout pass, which reflows and
    repaints every panel (tens of ms on a large screen). A panel sized by the screen
    (``1fr``), whose own size never depends on its rows, needs only its scrollbars
    brought up to date; a scrollbar that appears or goes away asks for the layout
    itself. Returns whether the size changed (the caller refreshes what it draws).
    """
    if size == view.virtual_size:
        return False
    view.set_reactive(ScrollView.virtual_size, size)
    view._scroll_update(size)
    return True


class CatchUp:
    """Mixin of a panel that draws its frame only while it is visible: when it is
    painted and ``stale()`` says it shows an older state, it redraws (``catch_up()``)
    right after.

    Panels in hidden tabs skip frames and redraw on ``Show``; textual 8.2.8 does not
    always send ``Show`` (nor ``Resize``) to a widget whose tab is shown again after
    some others, which left such a panel blank or a few steps behind. Being painted is
    the one sure sign that it is visible.
    """

    _catching_up = False

    def stale(self) -> bool:
        """Whether what is drawn is not the current frame."""
        raise NotImplementedError

    def catch_up(self) -> None:
        """Draw the current frame."""
        raise NotImplementedError

    def render_lines(self, crop: Region) -> list[Strip]:
        if not self._catching_up and self.stale():
            self._catching_up = True
            self.call_later(self._caught_up)  # type: ignore[attr-defined]
        return super().render_lines(crop)  # type: ignore[misc, no-any-return]

    def _caught_up(self) -> None:
        self._catching_up = False
        self.catch_up()
