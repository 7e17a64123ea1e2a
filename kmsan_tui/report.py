"""Plain-text summaries of metrics, for the CLI (the TUI draws its own).

Labels, groups and units come from ``model.metrics.METRICS``: one definition per
metric, shared with ``--json`` and the explorer.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kmsan_tui.model.metrics import GROUPS, METRICS, MetricDef, Metrics

if TYPE_CHECKING:
    from kmsan_tui.model.simulation import Simulation

# Metrics printed as rows (the rest: headline, Memory: line, per-order lists, notes).
SCALAR_UNITS = ("pages", "bytes", "count", "flag")
ROW_GROUPS = ("class", "kernel", "kmsan", "layout")


def mib(pages: int) -> str:
    return f"{pages * 4096 / (1 << 20):,.1f} MiB"


def human_bytes(n: int) -> str:
    for unit, shift in (("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):,.1f} {unit}"
    return f"{n} B"


def rows(group: str) -> tuple[MetricDef, ...]:
    """The scalar metrics of one group, in table order."""
    return tuple(d for d in METRICS if d.group == group and d.unit in SCALAR_UNITS)


def fmt(value: object, unit: str) -> str:
    """A metric's value as the text prints it (JSON carries the plain number)."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "NO"
    assert isinstance(value, int)
    if unit == "pages":
        return f"{value:,} ({mib(value)})"
    if unit == "bytes":
        return human_bytes(value) if value else "0"
    return f"{value:,}"


def _shown(m: Metrics, group: str) -> bool:
    return group != "layout" or m.fits_4level is not None


def summary_lines(m: Metrics, sim: Simulation | None = None) -> list[str]:
    head = f"== {m.step} · {m.strategy}"
    if m.mode:
        head += f" ({m.mode})"
    head += f" · sanitizer {m.sanitizer} · kernel {m.kernel}"
    if sim is not None:
        head += f" · {sim.layout.name}"
    lines = [head, *m.memory_lines()]
    for group in ROW_GROUPS:
        if not _shown(m, group):
            continue
        lines.append(f"  {GROUPS[group]}")
        for d in rows(group):
            lines.append(f"    {d.label:<30} {fmt(getattr(m, d.name), d.unit)}")
    if m.notes:
        lines.append("  notes")
        lines += [f"    - {note}" for note in m.notes]
    lines.append("  order                            " + " ".join(f"{o:>5}" for o in range(11)))
    lines.append("  unusable free index              "
                 + " ".join(f"{v / 1000:5.3f}" for v in m.unusable_free_index))
    lines.append("  fragmentation index              "
                 + " ".join(f"{v / 1000:5.2f}" for v in m.fragmentation_index))
    lines.append("  (definitions: docs/metrics.md)")
    return lines


def compare_table(results: Sequence[tuple[str, Metrics]]) -> list[str]:
    """The metrics side by side; `*` marks a row whose values differ."""
    names = [name for name, _ in results]
    shown = [g for g in ROW_GROUPS if any(_shown(m, g) for _, m in results)]
    cells = {d.name: [fmt(getattr(m, d.name), d.unit) for _, m in results]
             for g in shown for d in rows(g)}
    width = 2 + max(max(len(c) for v in cells.values() for c in v), max(map(len, names)))
    lines = [f"{'':<32}" + "".join(f"{n:>{width}}" for n in names)]
    for group in shown:
        lines.append(GROUPS[group])
        for d in rows(group):
            values = [getattr(m, d.name) for _, m in results]
            mark = " *" if len(set(values)) > 1 else ""
            lines.append(f"  {d.label:<30}" + "".join(f"{c:>{width}}" for c in cells[d.name])
                         + mark)
    lines.append("")
    for name, m in results:
        first, *rest = m.memory_lines()
        lines.append(f"{name}: {first}")
        lines += [f"{'':{len(name) + 2}}{line.strip()}" for line in rest]
        lines += [f"{'':{len(name) + 2}}- {note}" for note in m.notes]
    lines.append("(* differs; definitions: docs/metrics.md)")
    return lines


def definitions_table() -> str:
    """The metrics table of docs/metrics.md, from ``METRICS`` (a test keeps the two
    in step)."""
    lines = ["| key | unit | label | definition |", "|---|---|---|---|"]
    for group in GROUPS:
        lines.append(f"| **{GROUPS[group]}** | | | |")
        for d in METRICS:
            if d.group == group:
                lines.append(f"| `{d.name}` | {d.unit} | {d.label} | {d.definition} |")
    return "\n".join(lines)
