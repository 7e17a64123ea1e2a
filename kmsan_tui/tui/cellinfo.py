"""What one map cell holds, in words: its range and the share of each page look (no Textual).

The map draws one glyph per cell; a cell of many pages may mix states (the glyph is
then drawn as *mixed*). This is what the map's title says of the cursor's cell and
what its tooltip says of the cell under the mouse: exact page counts from
``MapIndex.composition`` (or, for the largest cells, counts scaled from samples, and
it says so).
"""

from __future__ import annotations

from dataclasses import dataclass

from kmsan_tui.model import mapindex as mc
from kmsan_tui.model.constants import PAGE_SHIFT
from kmsan_tui.model.mapindex import MapIndex, Share
from kmsan_tui.model.owners import ALL_CATEGORIES
from kmsan_tui.tui.fmt import size
from kmsan_tui.tui.palettes import glyph, short_label


def share_label(share: Share) -> str:
    """``reserved K (kernel)``, ``free``, ``shadow``: a look's name with its glyph."""
    name = short_label(share.code)
    if share.code in (mc.RESERVED, mc.ALLOCATED) and 0 <= share.aux < len(ALL_CATEGORIES):
        return f"{name} {glyph(share.code, share.aux)} ({ALL_CATEGORIES[share.aux].short})"
    return name


def share_glyph(share: Share) -> str:
    """A look in one or two characters: ``S``, ``K``, ``k``, ``free``, ``hole``."""
    if share.code == mc.FREE:
        return "free"
    if share.code in (mc.HOLE, mc.MEMBLOCK_FREE):
        return short_label(share.code)  # "hole", "memblock": their glyphs are blank, ·
    return glyph(share.code, share.aux)


def percent(part: int, whole: int) -> str:
    """``33%``, ``<1%``, ``>99%``: never 0% or 100% for a share that is not."""
    if part == whole:
        return "100%"
    value = 100 * part / whole
    if value < 1:
        return "<1%"
    if value > 99:
        return ">99%"
    return f"{value:.0f}%"


@dataclass(frozen=True, slots=True)
class CellInfo:
    """One cell: where it is, and what its pages are."""

    start: int  # first pfn
    pages: int  # pages of the cell inside the map (the last cell may be cut by the end)
    shares: tuple[Share, ...]  # most pages first
    exact: bool  # counted page by page (else scaled from evenly spaced samples)

    @property
    def mixed(self) -> bool:
        return len(self.shares) > 1

    def where(self) -> str:
        """``pfn 0x40000 +1 GiB`` (or ``pfn 0x1000`` for a one-page cell)."""
        if self.pages == 1:
            return f"pfn {self.start:#x}"
        return f"pfn {self.start:#x} +{size(self.pages << PAGE_SHIFT)}"

    def line(self, limit: int = 3, compact: bool = False) -> str:
        """One line: ``pfn 0x40000 +1 GiB: 33% shadow · 33% origin · 33% free``;
        ``compact``: ``0x40000+1 GiB: mixed 33% S 33% O 33% free``."""
        where = self.where().removeprefix("pfn ").replace(" +", "+") if compact \
            else self.where()
        name = share_glyph if compact else share_label
        if not self.shares:
            return f"{where}: past the end of memory"
        if not self.mixed:
            return f"{where}: all {share_label(self.shares[0])}"
        approx = "" if self.exact else "≈"
        parts = [f"{approx}{percent(s.pages, self.pages)} {name(s)}"
                 for s in self.shares[:limit]]
        if len(self.shares) > limit:
            parts.append(f"+{len(self.shares) - limit}")
        return f"{where}: mixed " + (" " if compact else " · ").join(parts)

    def text(self) -> str:
        """Several lines: the range, then one line per look with its pages."""
        end = self.start + self.pages - 1
        lines = [f"pfn {self.start:#x}–{end:#x} ({self.pages:,} pages, "
                 f"{size(self.pages << PAGE_SHIFT)})"]
        if self.mixed:
            lines.append("mixed: its pages are not all in one state" +
                         ("" if self.exact else " (shares from 4096 samples)"))
        for share in self.shares:
            lines.append(f"  {percent(share.pages, self.pages):>5} {share.pages:>12,}  "
                         f"{share_label(share)}")
        return "\n".join(lines)


def cell_info(index: MapIndex, start: int, pages: int) -> CellInfo:
    """The looks of the cell of ``pages`` pages from ``start``."""
    pages = max(0, min(pages, index.span - start))
    shares, exact = index.composition(start, pages)
    return CellInfo(start, pages, shares, exact)
