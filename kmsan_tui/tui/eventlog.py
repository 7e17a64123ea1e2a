"""The kernel log of one state, shared with the states before it (no Textual).

The log only grows while the boot goes forward, and a frame is built after every
command: copying the whole log into each frame would cost time proportional to
everything printed so far. An ``EventLog`` is instead the log of an earlier state
(``parent``) plus the lines printed since (``tail``), so a frame costs only its new
lines and frames share their common past. The Kernel log widget appends the lines
after those it wrote, as Textual's ``Log`` appends lines, and redraws only when the
new log does not continue the one it shows (a step back, a switch, another layout).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import chain

from kmsan_tui.model.events import Event


@dataclass(frozen=True, slots=True, eq=False)
class EventLog:
    """``parent``'s events followed by ``tail``; ``length`` of them in all."""

    parent: EventLog | None
    """The log of an earlier state (None: ``tail`` is the whole log)."""
    tail: tuple[Event, ...]
    """The events printed after ``parent``'s (empty only in an empty root)."""
    length: int
    """The number of events, ``len(parent) + len(tail)``."""

    def __len__(self) -> int:
        return self.length

    @classmethod
    def of(cls, events: Sequence[Event], base: EventLog | None = None) -> EventLog:
        """The log ``events`` (a simulation's list), sharing what it has in common with
        ``base`` (the previous frame's log) or with one of its ancestors.

        Args:
            events: The whole log of the state, oldest first.
            base: A log to share nodes with, usually the previous frame's.

        Returns:
            ``base`` or an ancestor of it when ``events`` is that log exactly, a new
            node over one when ``events`` continues it, else a new root.
        """
        anchor = base
        while anchor is not None and not anchor._is_prefix_of(events):
            anchor = anchor.parent
        if anchor is None or anchor.length == 0:  # nothing worth sharing
            return cls(None, tuple(events), len(events))
        if anchor.length == len(events):
            return anchor
        return cls(anchor, tuple(events[anchor.length:]), len(events))

    def _is_prefix_of(self, events: Sequence[Event]) -> bool:
        """Whether ``events`` starts with this log.

        A simulation only appends to its log and its copies share the Event objects
        (Simulation.__deepcopy__), so the same object at the same index means the same
        history; another simulation (a switch, a replay) prints new objects.

        Args:
            events: A simulation's whole log.

        Returns:
            True when this log's last event is ``events``' event at the same index.
        """
        n = self.length
        if n > len(events):
            return False
        return n == 0 or events[n - 1] is self.tail[-1]

    def since(self, earlier: EventLog | None, limit: int) -> tuple[Event, ...] | None:
        """The events printed after ``earlier``, at most the last ``limit`` of them.

        Args:
            earlier: A log this one may continue (None: from the start).
            limit: The most events to return (the newest are kept).

        Returns:
            The events, oldest first, or None when this log does not continue
            ``earlier`` (it is not this log or one of its ancestors).
        """
        chunks: list[tuple[Event, ...]] = []
        wanted = limit
        node: EventLog | None = self
        while node is not earlier:
            if node is None or (earlier is not None and node.length <= earlier.length):
                return None
            if wanted > 0:
                chunk = node.tail[-wanted:]
                chunks.append(chunk)
                wanted -= len(chunk)
            elif earlier is None:
                break  # enough lines, and no continuity to prove
            node = node.parent
        return tuple(chain.from_iterable(reversed(chunks)))
