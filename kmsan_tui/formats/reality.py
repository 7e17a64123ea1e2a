"""The distance between a simulated boot and a real one: the same figures side by side
with their relative error (`kmsan-tui diff dmesg`, `kmsan-tui diff buddyinfo`,
docs/validation.md).

From a boot log: the ``Memory:`` line (available, total, reserved, the image's
sections) and totalram (total - reserved - cma, as mem_init_print_info() prints
reserved), and per node and zone the spanned and present pages, computed from the
log's "Early memory node ranges" as free_area_init() computes them. From
/proc/buddyinfo: the free blocks per zone and order, and the free pages they make.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kmsan_tui.formats.bootlog import PfnRange, zone_spans
from kmsan_tui.formats.dmesg import parse_memory_line
from kmsan_tui.formats.facts import BootFacts, MemoryLine
from kmsan_tui.formats.snapshot import MachineView
from kmsan_tui.model import layout as layout_mod
from kmsan_tui.model.errors import LayoutError, UserError
from kmsan_tui.model.layout_types import Layout
from kmsan_tui.model.simulation import Simulation


@dataclass(frozen=True, slots=True)
class Row:
    """One figure: simulated and real, in ``unit``."""

    figure: str
    simulated: int | None
    real: int | None
    unit: str = ""

    @property
    def difference(self) -> int | None:
        if self.simulated is None or self.real is None:
            return None
        return self.simulated - self.real

    @property
    def relative(self) -> float | None:
        """(simulated - real) / real, None when real is 0 or missing."""
        if self.difference is None or not self.real:
            return None
        return self.difference / self.real

    def as_dict(self) -> dict[str, Any]:
        return {"figure": self.figure, "simulated": self.simulated, "real": self.real,
                "unit": self.unit, "difference": self.difference, "relative": self.relative}


def check_layout(text: str, name: str) -> Layout:
    """Load an imported layout's text as `run --layout` would; a refusal is reported as
    an import failure naming the key (the importer must never write such a file)."""
    parse = getattr(layout_mod, "parse_layout", None)
    try:
        if parse is not None:
            layout: Layout = parse(text, name, "imported")
            return layout
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "imported.toml")
            with open(path, "w", encoding="utf-8") as f:
                f.write(text)
            return layout_mod.load_layout(path)
    except LayoutError as exc:
        raise UserError(f"the imported layout does not load: {exc}") from None


def boot(layout: Layout, *, strategy: str | None = None, kernel: str | None = None,
         sanitizer: str | None = None, until: str | None = None) -> Simulation:
    """A simulation of ``layout`` booted to the end (or to ``until``)."""
    sim = Simulation(layout, strategy, 0, kernel=kernel, sanitizer=sanitizer)
    if until:
        sim.run_to(until)
    else:
        sim.run()
    return sim


def simulated_memory_line(sim: Simulation) -> MemoryLine | None:
    """The Memory: line the simulated boot printed (the first one)."""
    for event in sim.events:
        if event.text.startswith("Memory: "):
            return parse_memory_line(event.text)
    return None


def memory_rows(sim_mem: MemoryLine | None, real: MemoryLine | None) -> list[Row]:
    def pick(m: MemoryLine | None, attr: str) -> int | None:
        return getattr(m, attr) if m is not None else None

    rows = [Row(f"Memory: {label}", pick(sim_mem, attr), pick(real, attr), "K")
            for label, attr in (("available", "available_k"), ("total", "total_k"),
                                ("reserved", "reserved_k"), ("totalram", "totalram_k"))]
    rows += [Row(f"Memory: {label}", pick(sim_mem, attr), pick(real, attr), "K")
             for label, attr in (("kernel code", "code_k"), ("rwdata", "rwdata_k"),
                                 ("rodata", "rodata_k"), ("init", "init_k"), ("bss", "bss_k"))]
    return rows


def real_zones(facts: BootFacts) -> dict[tuple[int, str], tuple[int, int]]:
    """(spanned, present) per (node, zone) of the real boot, from its node ranges."""
    ranges = [PfnRange(s.start >> 12, s.end >> 12, s.nid) for s in facts.node_ranges]
    ranges = [r for r in ranges if r.end > r.start]
    if not ranges:
        return {}
    out = {}
    for (nid, name), (start, end) in zone_spans(ranges, max(r.end for r in ranges)).items():
        present = sum(max(0, min(r.end, end) - max(r.start, start)) for r in ranges if r.nid == nid)
        out[(nid, name)] = (end - start, present)
    return out


def zone_rows(view: MachineView, facts: BootFacts) -> list[Row]:
    real = real_zones(facts)
    sim = {(z.nid, z.name): (z.spanned, z.present) for z in view.zones if z.populated}
    rows = []
    for key in sorted(set(real) | set(sim), key=lambda k: (k[0], _zone_rank(k[1]))):
        s, r = sim.get(key), real.get(key)
        label = f"node {key[0]} {key[1]}"
        rows.append(Row(f"{label} spanned", s[0] if s else None, r[0] if r else None, "pages"))
        rows.append(Row(f"{label} present", s[1] if s else None, r[1] if r else None, "pages"))
    return rows


def _zone_rank(name: str) -> int:
    order = ("DMA", "DMA32", "Normal", "HighMem", "Movable", "Device")
    return order.index(name) if name in order else len(order)


def dmesg_rows(sim: Simulation, view: MachineView, facts: BootFacts) -> list[Row]:
    """The figures of a boot log, simulated against real."""
    return memory_rows(simulated_memory_line(sim), facts.memory) + zone_rows(view, facts)


def buddyinfo_rows(view: MachineView, real: Sequence[dict[str, Any]]) -> list[Row]:
    """Free blocks per zone and order, and each zone's free pages, simulated and real."""
    sim = {(z.nid, z.name): z.buddyinfo for z in view.populated_zones()}
    want = {(r["node"], r["zone"]): tuple(r["free_chunks"]) for r in real}
    rows = []
    for key in sorted(set(sim) | set(want), key=lambda k: (k[0], _zone_rank(k[1]))):
        s, r = sim.get(key), want.get(key)
        orders = max(len(s or ()), len(r or ()))
        label = f"node {key[0]} {key[1]}"
        for order in range(orders):
            rows.append(Row(f"{label} order {order}", _at(s, order), _at(r, order), "blocks"))
        rows.append(Row(f"{label} free", _pages(s), _pages(r), "pages"))
    return rows


def _at(counts: tuple[int, ...] | None, order: int) -> int | None:
    if counts is None:
        return None
    return counts[order] if order < len(counts) else 0


def _pages(counts: tuple[int, ...] | None) -> int | None:
    return None if counts is None else sum(n << o for o, n in enumerate(counts))


def format_rows(rows: Sequence[Row]) -> list[str]:
    """A plain table: figure, simulated, real, difference, relative error."""
    head = ("figure", "simulated", "real", "difference", "error")
    cells = [head]
    for r in rows:
        suffix = "K" if r.unit == "K" else ""
        sim = "-" if r.simulated is None else f"{r.simulated}{suffix}"
        real = "-" if r.real is None else f"{r.real}{suffix}"
        rel = "-" if r.relative is None else f"{r.relative:+.2%}"
        diff = "-" if r.difference is None else f"{r.difference:+d}{suffix}"
        cells.append((r.figure, sim, real, diff, rel))
    widths = [max(len(c[i]) for c in cells) for i in range(len(head))]
    out = []
    for c in cells:
        out.append("  ".join(f"{c[0]:<{widths[0]}}" if i == 0 else f"{c[i]:>{widths[i]}}"
                             for i in range(len(head))).rstrip())
    return out
