"""Line-API widgets whose rows change without their size changing."""

from __future__ import annotations

from textual.geometry import Size
from textual.scroll_view import ScrollView


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
