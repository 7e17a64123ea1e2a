"""Number formats the panels share: addresses, sizes, pfns (no Textual)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from kmsan_tui.model.constants import PAGE_SHIFT

_UNITS = (("T", 40), ("G", 30), ("M", 20), ("K", 10))
_SHIFTS = {"k": 10, "m": 20, "g": 30, "t": 40}


def short_addr(addr: int) -> str:
    """A physical address in at most 7 characters: ``0``, ``640K``, ``3.25G``, ``1.02T``."""
    if addr == 0:
        return "0"
    for unit, shift in _UNITS:
        if addr >= 1 << shift:
            value = addr / (1 << shift)
            if value == int(value):
                return f"{int(value)}{unit}"
            if value >= 100:
                return f"{value:.0f}{unit}"
            if value >= 10:
                return f"{value:.1f}{unit}"
            return f"{value:.2f}{unit}"
    return f"{addr}"


@dataclass(frozen=True, slots=True)
class AddrLabels:
    """Exact labels for the multiples of one step: ``shift`` is the unit (40 T, 30 G,
    20 M, 10 K, 0 bytes; -1: hex), ``decimals`` the most any label needs."""

    shift: int
    decimals: int
    width: int  # the longest label's length

    def __call__(self, addr: int) -> str:
        if self.shift < 0:
            return f"{addr:#x}"
        if addr == 0:
            return "0"
        scale = 10 ** self.decimals
        whole, rest = divmod(addr * scale >> self.shift, scale)
        unit = _UNIT_OF[self.shift]
        if not rest:
            return f"{whole}{unit}"
        return f"{whole}.{rest:0{self.decimals}d}".rstrip("0") + unit


_UNIT_OF = {40: "T", 30: "G", 20: "M", 10: "K", 0: ""}


def addr_labels(step: int, last: int, max_width: int = 11) -> AddrLabels:
    """Labels for the addresses ``k * step`` up to ``last``: exact, so distinct, in the
    largest unit that keeps them so within ``max_width`` characters (the map's rows:
    ``253.75G`` rather than a rounded ``254G`` three rows running); hex otherwise."""
    step = max(1, step)
    for shift in (40, 30, 20, 10, 0):
        for decimals in (0, 1, 2):
            if (step * 10 ** decimals) % (1 << shift):
                continue
            digits = len(str(last >> shift)) + (decimals + 1 if decimals else 0)
            width = digits + len(_UNIT_OF[shift])
            # Page-sized steps read better in hex than as a long count of KiB.
            if width <= (max_width if shift >= 20 else min(max_width, 8)):
                return AddrLabels(shift, decimals, width)
            break  # more decimals only make it longer
    return AddrLabels(-1, 0, len(f"{last:#x}"))


def size(nbytes: int) -> str:
    """``4 KiB``, ``2 MiB``, ``1.5 GiB``: a size as the kernel's log would round it."""
    for unit, shift in (("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if nbytes >= 1 << shift:
            value = nbytes / (1 << shift)
            return f"{value:.0f} {unit}" if value == int(value) else f"{value:.1f} {unit}"
    return f"{nbytes} B"


def pages(n: int) -> str:
    """A page count with its size: ``1,024 (4 MiB)``."""
    return f"{n:,} ({size(n << PAGE_SHIFT)})"


def pfn(value: int) -> str:
    return f"{value:#x}"


def phys(value_pfn: int) -> str:
    return f"{value_pfn << PAGE_SHIFT:#x}"


def parse_location(text: str) -> tuple[str, int] | None:
    """Parse what a user types to go somewhere: ``pfn 0x1234``, ``0x1234`` (a pfn),
    ``phys 0x12345000`` / ``@0x12345000`` (an address), or ``4G`` (an address).

    Returns ``("pfn", n)`` or ``("phys", n)``, or None when it is not a location.
    """
    raw = text.strip().lower().replace("_", "")
    kind = "pfn"
    for prefix, k in (("pfn", "pfn"), ("phys", "phys"), ("addr", "phys"), ("@", "phys")):
        if raw.startswith(prefix):
            raw, kind = raw[len(prefix):].strip(" :="), k
            break
    if not raw:
        return None
    sized = re.fullmatch(r"([0-9]+(?:\.[0-9]+)?)\s*([kmgt])(?:i?b)?", raw)
    try:
        if sized is not None:
            value = int(float(sized[1]) * (1 << _SHIFTS[sized[2]]))
            kind = "phys"
        else:
            value = int(raw, 0)
    except ValueError:
        return None
    if value < 0:
        return None
    return kind, value
