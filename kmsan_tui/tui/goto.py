"""What a user typed to go somewhere, resolved against the state on screen (no Textual).

``g`` and the command palette accept a pfn (``0x1234``, ``pfn 4660``), a physical
address (``phys 0x40000000``, ``@0x1000``, ``4G``), a boot step's name, a zone
(``DMA32``, ``node 1 Normal``) or, in a recorded session, a bookmark or a position.
Nothing is clamped silently: a number past the last page frame that is a physical
address inside memory is taken as one, and the user is told; a place past the end
of memory is refused with the machine's limits.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from kmsan_tui.model.constants import PAGE_SHIFT
from kmsan_tui.tui.fmt import parse_location
from kmsan_tui.tui.frame import Frame

Kind = Literal["pfn", "step", "seek", "error"]


@dataclass(frozen=True, slots=True)
class Target:
    """Where to go: a page (``pfn``), a boot step to run to (``step``, 0-based), the
    session's log (``seek``: the text names a bookmark or a position), or nowhere
    (``error``); ``note`` is what to tell the user (empty: nothing to say)."""

    kind: Kind
    pfn: int = 0
    step: int = 0
    note: str = ""


def _limits(span: int) -> str:
    return (f"memory ends at pfn {span - 1:#x} "
            f"(physical address {(span << PAGE_SHIFT) - 1:#x})")


def resolve_location(text: str, span: int) -> Target | None:
    """A pfn or an address typed as ``text`` on a machine of ``span`` page frames
    (None: the text is not a number or an address)."""
    location = parse_location(text)
    if location is None:
        return None
    kind, value = location
    raw = text.strip()
    if kind == "phys":
        pfn = value >> PAGE_SHIFT
        if pfn >= span:
            return Target("error", note=f"{raw}: past the end of memory; {_limits(span)}")
        return Target("pfn", pfn)
    if value < span:
        return Target("pfn", value)
    explicit = raw.lower().startswith("pfn")
    if not explicit and value >> PAGE_SHIFT < span:
        # A bare number too large for a pfn but inside memory as an address: most
        # likely an address copied from a log (e820, memblock, /proc/iomem).
        pfn = value >> PAGE_SHIFT
        return Target("pfn", pfn, note=(
            f"{raw} is past the last pfn ({span - 1:#x}): taken as a physical address, "
            f"pfn {pfn:#x} (type 'pfn {raw}' or 'phys {raw}' to say which)"))
    what = "as a pfn" if explicit else "as a pfn and as an address"
    return Target("error", note=f"{raw}: past the end of memory {what}; {_limits(span)}")


def parse_target(text: str, frame: Frame) -> Target:
    """What ``text`` names on the state ``frame`` shows."""
    raw = text.strip()
    if not raw:
        return Target("error", note="type a pfn, an address, a boot step or a zone")
    location = resolve_location(raw, frame.index.span)
    if location is not None:
        return location
    wanted = raw.lower()
    steps = [name.lower() for name in frame.step_names]
    if wanted in steps:
        return Target("step", step=steps.index(wanted))
    for zone in frame.free:
        names = {zone.name.lower(), f"node {zone.nid} {zone.name}".lower(),
                 f"n{zone.nid} {zone.name}".lower()}
        if wanted in names:
            return Target("pfn", zone.start_pfn)
    if frame.session.log_len:
        return Target("seek")  # a bookmark's note, or a position of the log
    return Target("error", note=f"{raw!r}: not a pfn, an address, a boot step or a zone")
