"""Plain-text summaries of metrics, for the CLI (the TUI draws its own)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from kmsan_tui.model.metrics import Metrics

if TYPE_CHECKING:
    from kmsan_tui.model.simulation import Simulation


def mib(pages: int) -> str:
    return f"{pages * 4096 / (1 << 20):,.1f} MiB"


def human_bytes(n: int) -> str:
    for unit, shift in (("PiB", 50), ("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift:
            return f"{n / (1 << shift):,.1f} {unit}"
    return f"{n} B"


ROWS: tuple[tuple[str, str, str], ...] = (
    ("present pages", "present_pages", "pages"),
    ("usable (buddy-managed) pages", "usable_pages", "pages"),
    ("free pages", "free_pages", "pages"),
    ("allocated pages", "allocated_pages", "pages"),
    ("PG_reserved pages", "reserved_pages", "pages"),
    ("KMSAN metadata pages", "metadata_pages", "pages"),
    ("held back, not yet paired", "held_back_pages", "pages"),
    ("struct page size", "struct_page_size", "bytes"),
    ("memmap", "memmap_bytes", "size"),
    ("page_ext", "page_ext_bytes", "size"),
    ("blind spots (no metadata)", "blind_spot_pages", "pages"),
    ("back-fill walk (struct pages)", "backfill_walked_pages", "count"),
    ("back-filled blocks", "backfill_blocks", "count"),
    ("vmap ranges to repair", "vmap_repairs", "count"),
    ("failed metadata allocations", "failed_metadata_allocs", "count"),
    ("virtual space reserved", "virtual_reserved_bytes", "size"),
)


def _fmt(value: object, kind: str) -> str:
    if isinstance(value, bool) or value is None:
        return "-" if value is None else ("yes" if value else "no")
    assert isinstance(value, int)
    if kind == "pages":
        return f"{value:,} ({mib(value)})"
    if kind == "size":
        return human_bytes(value) if value else "0"
    if kind == "bytes":
        return f"{value} B"
    return f"{value:,}"


def summary_lines(m: Metrics, sim: Simulation | None = None) -> list[str]:
    head = f"== {m.step} · {m.strategy} · sanitizer {m.sanitizer} · kernel {m.kernel}"
    if sim is not None:
        head += f" · {sim.layout.name}"
    lines = [head, m.memory_line]
    for label, key, kind in ROWS:
        lines.append(f"  {label:<32} {_fmt(getattr(m, key), kind)}")
    if m.fits_4level is not None:
        lines.append(f"  {'fits 4-level / 5-level':<32} {_fmt(m.fits_4level, '')} / "
                     f"{_fmt(m.fits_5level, '')}")
    lines.append("  order                            " + " ".join(f"{o:>5}" for o in range(11)))
    lines.append("  unusable free index              "
                 + " ".join(f"{v / 1000:5.3f}" for v in m.unusable_free_index))
    lines.append("  fragmentation index              "
                 + " ".join(f"{v / 1000:5.2f}" for v in m.fragmentation_index))
    return lines


def compare_table(results: Sequence[tuple[str, Metrics]]) -> list[str]:
    names = [name for name, _ in results]
    width = 2 + max(len(_fmt(getattr(m, key), kind)) for _, m in results for _, key, kind in ROWS)
    lines = [f"{'':<32}" + "".join(f"{n:>{width}}" for n in names)]
    for label, key, kind in ROWS:
        values = [getattr(m, key) for _, m in results]
        cells = [_fmt(v, kind) for v in values]
        mark = " *" if len(set(values)) > 1 else ""
        lines.append(f"{label:<32}" + "".join(f"{c:>{width}}" for c in cells) + mark)
    lines.append("")
    for name, m in results:
        lines.append(f"{name:>6}: {m.memory_line}")
    return lines
