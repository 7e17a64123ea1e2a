"""Events a step produces: kernel-style log lines plus what they did to memory."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the simulated dmesg, tagged with the step that printed it.

    ``pfn``/``nr_pages`` name the memory the event touched (for the map's change marks).
    """

    step: str
    text: str
    kind: str = "log"  # log | memblock | alloc | free | meta | warn | bug
    pfn: int | None = None
    nr_pages: int = 0
