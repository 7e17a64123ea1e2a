"""The explorer's handlers for blocks allocated and freed by hand (``a`` and ``X``).

A mixin of ``ExplorerScreen``. The operations are session commands (``tui/hand.py``
says what each did): ``u`` takes one back, a save keeps them.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kmsan_tui.model.constants import MigrateType
from kmsan_tui.tui import hand as by_hand
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.screens.command_screen import CommandScreen
from kmsan_tui.tui.screens.pick import PickScreen
from kmsan_tui.tutorial import Activity


class HandActions(CommandScreen):
    """``a`` allocates a block of a chosen order and migratetype, ``X`` frees the block
    under the cursor; both are reported to an open lesson."""

    cursor: int

    if TYPE_CHECKING:  # provided by the explorer and TutorialActions
        def go_to_pfn(self, pfn: int, remember: bool = False) -> None: ...

        def report(self, activity: Activity) -> None: ...

    _ui_thread: int | None = None

    def from_job(self, callback: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Run ``callback`` on the UI thread, from a job that may run there (a short
        command on a quick machine) or in the worker thread."""
        if threading.get_ident() == self._ui_thread:
            callback(*args, **kwargs)
        else:
            self.app.call_from_thread(callback, *args, **kwargs)

    def submit(self, label: str, job: Callable[[], Frame], *, short: bool = False) -> None:
        self._ui_thread = threading.get_ident()  # submit runs on the UI thread
        super().submit(label, job, short=short)

    def action_alloc_page(self) -> None:
        """Ask an order (0..10), then a migratetype, and allocate."""
        orders = [(str(order), f"order {order:2d}  ({_size(order)})") for order in
                  range(by_hand.MAX_ORDER + 1)]

        def order_chosen(order: str | None) -> None:
            if order:
                types = [(str(int(mt)), mt.label) for mt in by_hand.TYPES]
                self.app.push_screen(
                    PickScreen(f"alloc_pages(order {order}): which migratetype?", types,
                               highlight=str(int(MigrateType.MOVABLE))),
                    lambda mt: self.alloc_page(int(order), MigrateType(int(mt))) if mt else None)

        self.app.push_screen(PickScreen("alloc_pages(): which order?", orders, highlight="0"),
                             order_chosen)

    def alloc_page(self, order: int, migratetype: MigrateType) -> None:
        def job() -> Frame:
            frame, done = by_hand.alloc(self.runner, order, migratetype)
            self.from_job(self._hand_done, done)
            return frame

        self.submit(f"alloc order {order}", job, short=True)

    def action_free_page(self) -> None:
        """__free_pages() of the allocated block under the cursor."""
        pfn = self.cursor

        def job() -> Frame:
            frame, done = by_hand.free(self.runner, pfn)
            self.from_job(self._hand_done, done)
            return frame

        self.submit("free", job, short=True)

    def _hand_done(self, done: by_hand.Done) -> None:
        if not done.ok:  # recorded all the same: the kernel logs it, a replay repeats it
            title = "page allocation failure" if done.kind == "alloc" else "bad_page()"
            self.notify(done.message, title=title, severity="warning", timeout=8)
            return
        if done.kind == "alloc":
            self.go_to_pfn(done.pfn, remember=True)
            self.notify(f"{done.message}; the cursor is on it", timeout=4)
        else:
            self.notify(done.message, timeout=3)
        self.report(Activity.of(done.kind, order=done.order, pfn=done.pfn,
                                migratetype=done.migratetype))


def _size(order: int) -> str:
    kib = 4 << order
    return f"{kib} KiB" if kib < 1024 else f"{kib >> 10} MiB"
