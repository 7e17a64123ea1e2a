"""Plain-text tables laid out as drgn's crash-compatible commands lay them out
(drgn.helpers.common.format.print_table(), used by its `kmem -f`).

A table is a list of rows; a row is a tuple of cells, or an empty tuple for a blank
line. Each row belongs to a group (0 unless ``Row`` says otherwise) and each group
has its own column widths, so a zone's header line and the free-list lines under it
align separately. Numbers are right-aligned and text left-aligned unless a ``Cell``
gives a format spec ("^" centre, ">" right, "<" left, then a type such as "x").
Columns are two spaces apart and a line never ends with a space.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SEPARATOR = "  "


@dataclass(frozen=True, slots=True)
class Cell:
    """A value with a Python format spec: alignment first, then the type."""

    value: int | str
    spec: str = ""


@dataclass(frozen=True, slots=True)
class Row:
    """Cells that take their column widths from the rows of the same group."""

    cells: tuple[Cell | int | str, ...]
    group: int = 0


TableRow = Row | tuple[Cell | int | str, ...]


def _parts(cell: Cell | int | str) -> tuple[str, str]:
    """(text, alignment) of a cell."""
    if isinstance(cell, Cell):
        align = cell.spec[:1] if cell.spec[:1] in "<^>" else ""
        kind = cell.spec[len(align):]
        text = format(cell.value, kind) if kind else str(cell.value)
        return text, align or (">" if isinstance(cell.value, int) else "<")
    return str(cell), ">" if isinstance(cell, int) else "<"


def format_table(rows: Sequence[TableRow]) -> list[str]:
    """The table's lines."""
    normal: list[tuple[int, tuple[Cell | int | str, ...]]] = []
    for row in rows:
        normal.append((row.group, row.cells) if isinstance(row, Row) else (0, row))
    widths: dict[int, list[int]] = {}
    for group, cells in normal:
        w = widths.setdefault(group, [])
        for i, cell in enumerate(cells):
            text, _ = _parts(cell)
            if i == len(w):
                w.append(0)
            w[i] = max(w[i], len(text))
    lines = []
    for group, cells in normal:
        out = []
        for i, cell in enumerate(cells):
            text, align = _parts(cell)
            out.append(f"{text:{align}{widths[group][i]}}")
        lines.append(SEPARATOR.join(out).rstrip())
    return lines
