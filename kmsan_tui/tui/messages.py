"""Messages widgets post upwards; screens turn them into session commands or view moves.

Data flows down (a screen binds a ``Frame`` into its widgets), messages go up: a
widget never reaches into the app, the session or another widget.
"""

from __future__ import annotations

from textual.message import Message


class PageSelected(Message):
    """The user picked a page (map click, a free block, a shadow region, a pointer)."""

    def __init__(self, pfn: int, follow: bool = False) -> None:
        self.pfn = pfn
        self.follow = follow  # True: remember where we came from, for "back"
        super().__init__()


class ZoomRequested(Message):
    """The map wants another scale: pages per cell, 0 for the whole machine."""

    def __init__(self, pages_per_cell: int) -> None:
        self.pages_per_cell = pages_per_cell
        super().__init__()


class StepRequested(Message):
    """Run the next boot step."""


class RunToRequested(Message):
    """Run (or step back) to the boot step with this 0-based index."""

    def __init__(self, index: int) -> None:
        self.index = index
        super().__init__()


class FollowRequested(Message):
    """Follow a pointer of the inspected page: "shadow", "origin", "data" or "back"."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        super().__init__()
