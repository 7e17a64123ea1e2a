"""When the cyclic garbage collector runs: between interactions, not during them (no Textual).

The model's free lists are circular doubly linked lists, like the kernel's
``list_head``, so every simulation state that is dropped (a step undone, a replaced
frame) is cyclic garbage only the collector frees. Left to its thresholds, the
collector walks every long-lived object it tracks (undo checkpoints, the widgets'
line caches) in the middle of whatever keypress happens to trip it: 20-50 ms on
server-1t.

So the long-lived objects are kept out of its sight instead: after every command
``command_done()`` freezes what is alive (``gc.freeze()``, O(1)), and young
collections only ever see what the last command or keypress made, a few ms at most.
Cyclic garbage among frozen objects waits for the next idle moment: when no key and
no command came for ``IDLE_SECONDS``, ``tick()`` unfreezes, collects everything and
freezes the survivors again. Memory stays bounded by what one burst of activity
drops; the pause happens when nobody is waiting for the screen.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

IDLE_SECONDS = 1.0
"""No input for this long counts as idle: the full collection may run."""

YOUNG_THRESHOLD = 5_000
"""Tracked allocations between young collections (each walks at most these)."""


class GcPolicy:
    """Young collections during interaction, the full one when the user is idle."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 idle_seconds: float = IDLE_SECONDS) -> None:
        self._clock = clock
        self._idle_seconds = idle_seconds
        self._last_activity = clock()
        self._pending = False  # frozen since the last full collection
        self.full_collections = 0
        self.last_freed = 0  # unreachable objects the last full collection found

    def start(self) -> None:
        """After start-up. The first idle tick collects once and freezes the survivors
        (modules, CSS, widgets): not now, while the first frame is still being drawn."""
        gc.set_threshold(YOUNG_THRESHOLD, 10, 1_000_000)
        self._pending = True

    def activity(self) -> None:
        """A key, a click: the user may be waiting for the screen."""
        self._last_activity = self._clock()

    def command_done(self) -> None:
        """A command's frame is bound: what it keeps alive leaves the young generation."""
        gc.freeze()
        self._pending = True
        self._last_activity = self._clock()

    def tick(self) -> bool:
        """Called periodically: the full collection, if the user has been idle.
        Returns whether it ran."""
        if not self._pending or self._clock() - self._last_activity < self._idle_seconds:
            return False
        gc.unfreeze()
        self.last_freed = gc.collect()
        gc.freeze()
        self._pending = False
        self.full_collections += 1
        return True

    @staticmethod
    def stop() -> None:
        """Give the collector everything back (the app is closing, or a test ends)."""
        gc.unfreeze()
        gc.set_threshold(700, 10, 10)
