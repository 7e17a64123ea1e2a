"""How page states look: a glyph and a colour per state, in a few palettes.

The glyph alone tells the state (colour is never the only signal): ``0``-``9``/``A``
free blocks by order, upper-case owner letters for memblock-reserved pages, lower
case for buddy allocations, ``S``/``O`` shadow and origin, ``H`` held back, ``!``
blind spots, ``·`` RAM memblock still owns, blank for holes. The default palette
uses the Okabe-Ito colours, distinguishable with every common colour-vision
deficiency; every cell is drawn on its own background, so the map reads the same
on light and dark themes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from rich.style import Style

from kmsan_tui.model import mapindex as mc
from kmsan_tui.model.pages import PageState
from kmsan_tui.model.pagestate import CODE_OF, NCODES

ORDER_GLYPHS = "0123456789A"  # free block order (MAX_PAGE_ORDER = 10 is "A")


@dataclass(frozen=True, slots=True)
class StateLook:
    code: int
    label: str
    short: str
    glyph: str  # the legend's glyph (owner letters and orders vary per cell)
    bg: str | None
    fg: str


# code: (label, legend label, glyph)
_LABELS = {
    mc.HOLE: ("hole (no RAM)", "hole", " "),
    mc.MEMBLOCK_FREE: ("RAM memblock still owns", "memblock", "·"),
    mc.FREE: ("free", "free(order)", "9"),
    mc.RESERVED: ("reserved", "reserved", "K"),
    mc.ALLOCATED: ("allocated", "allocated", "l"),
    mc.HELD_BACK: ("held back (eager)", "held back", "H"),
    mc.SHADOW: ("KMSAN shadow", "shadow", "S"),
    mc.ORIGIN: ("KMSAN origin", "origin", "O"),
    mc.BLIND: ("blind spot (no metadata)", "blind spot", "!"),
}

# (background, foreground) per state code.
_COLOURS: dict[str, dict[int, tuple[str | None, str]]] = {
    # Okabe & Ito (2008), "Color Universal Design": safe for protan, deutan and tritan.
    "okabe-ito": {
        mc.HOLE: (None, "#808080"),
        mc.MEMBLOCK_FREE: ("#6b6b6b", "#e8e8e8"),
        mc.FREE: ("#009E73", "#000000"),
        mc.RESERVED: ("#0072B2", "#ffffff"),
        mc.ALLOCATED: ("#E69F00", "#000000"),
        mc.HELD_BACK: ("#F0E442", "#000000"),
        mc.SHADOW: ("#56B4E9", "#000000"),
        mc.ORIGIN: ("#CC79A7", "#000000"),
        mc.BLIND: ("#D55E00", "#ffffff"),
    },
    "classic": {
        mc.HOLE: (None, "#808080"),
        mc.MEMBLOCK_FREE: ("#9e9e9e", "#000000"),
        mc.FREE: ("#2e7d32", "#ffffff"),
        mc.RESERVED: ("#455a64", "#ffffff"),
        mc.ALLOCATED: ("#1565c0", "#ffffff"),
        mc.HELD_BACK: ("#f9a825", "#000000"),
        mc.SHADOW: ("#6a1b9a", "#ffffff"),
        mc.ORIGIN: ("#ad1457", "#ffffff"),
        mc.BLIND: ("#d50000", "#ffffff"),
    },
    # Glyphs only, in the terminal's own colours (for monochrome terminals and print).
    "mono": {code: (None, "default") for code in _LABELS},
}
PALETTES: tuple[str, ...] = tuple(_COLOURS)
DEFAULT_PALETTE = "okabe-ito"


def looks(palette: str) -> list[StateLook]:
    """The legend: every state in drawing order with its glyph and colours."""
    colours = _COLOURS.get(palette, _COLOURS[DEFAULT_PALETTE])
    return [StateLook(code, label, short, glyph, *colours[code])
            for code, (label, short, glyph) in _LABELS.items()]


def style(palette: str, code: int, mixed: bool = False) -> Style:
    """A cell's look. A mixed cell (its pages are not all in one state) shows the
    glyph of most of its pages in that state's colour on no background, where a
    uniform cell is a solid block of colour; in mono, uniform glyphs are bold and
    mixed ones dim."""
    colours = _COLOURS.get(palette, _COLOURS[DEFAULT_PALETTE])
    bg, fg = colours.get(code, (None, "default"))
    if mixed:
        if palette == "mono":
            return Style(dim=True)
        return Style(color=bg or fg, bold=True)
    bold = code in (mc.BLIND, mc.SHADOW, mc.ORIGIN) or palette == "mono" and code != mc.HOLE
    return Style(color=fg, bgcolor=bg, bold=bold)


# Glyph of each code (OUTSIDE, -1, indexes the last element); orders with -1 -> "f".
_BASE = np.array([_LABELS[code][2] if code in _LABELS else "?" for code in range(NCODES)]
                 + [" "], dtype="<U1")
_ORDERS = np.array(list(ORDER_GLYPHS) + ["f"], dtype="<U1")


MIXED_HOLE = "░"  # a mixed cell that is mostly hole (a blank would hide the mark)


def glyph_row(codes: np.ndarray, aux: np.ndarray, mixed: np.ndarray | None = None) -> str:
    """The characters of a row of cells (vectorised ``glyph``)."""
    letters = mc.LETTERS
    out = _BASE[codes]
    free = codes == mc.FREE
    out[free] = _ORDERS[aux[free]]
    reserved = codes == mc.RESERVED
    out[reserved] = letters[aux[reserved]]
    allocated = codes == mc.ALLOCATED
    out[allocated] = np.char.lower(letters[aux[allocated]])
    if mixed is not None:
        out[mixed & (codes == mc.HOLE)] = MIXED_HOLE
    return "".join(out.tolist())


def glyph(code: int, aux: int) -> str:
    """The glyph of one cell (or one share of a cell)."""
    return glyph_row(np.array([code], dtype=np.int8), np.array([aux], dtype=np.int16))


def state_label(state: PageState) -> str:
    return _LABELS[CODE_OF[state]][0]


def short_label(code: int) -> str:
    """The legend's name of a state code (``shadow``, ``free``, ``blind spot``)."""
    return "free" if code == mc.FREE else _LABELS[code][1] if code in _LABELS else "?"
