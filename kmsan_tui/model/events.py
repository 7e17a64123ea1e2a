"""Events a step produces: kernel-style log lines plus what they did to memory."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

EventKind = Literal["log", "memblock", "alloc", "free", "meta", "warn", "bug", "note"]
"""What a console line is about: ``log`` a plain printk; ``memblock`` a memblock=debug
line; ``alloc``/``free`` a buddy allocation or free (the map marks its pages); ``meta``
KMSAN metadata given or taken; ``warn`` a pr_warn (an allocation failure); ``bug`` what
the kernel would report as a BUG or bad_page(); ``note`` the model explaining a step
that does nothing on this configuration (not a line the kernel prints)."""

EVENT_KINDS: tuple[str, ...] = get_args(EventKind)


@dataclass(frozen=True, slots=True)
class Event:
    """One line of the simulated dmesg, tagged with the step that printed it.

    ``pfn``/``nr_pages`` name the memory the event touched (for the map's change marks).
    """

    step: str
    text: str
    kind: EventKind = "log"
    pfn: int | None = None
    nr_pages: int = 0
