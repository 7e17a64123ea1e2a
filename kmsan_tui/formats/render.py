"""The formats `kmsan-tui show` prints, by name: each one's text (the kernel's, or
crash's) and its JSON value."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kmsan_tui.formats import bootlog, debugfs, jsonshape, kmem, procfs
from kmsan_tui.formats.snapshot import MachineView


@dataclass(frozen=True, slots=True)
class Format:
    """One output format: where the kernel prints it, its text and its JSON."""

    name: str
    source: str
    text: Callable[[MachineView, Sequence[str]], str]
    json: Callable[[MachineView, Sequence[str]], Any]


def _meminfo_values(v: MachineView) -> dict[str, int]:
    return procfs.meminfo_values(v.zones, totalram_pages=v.totalram_pages,
                                 nr_free_pages=v.nr_free_pages, percpu_pages=v.percpu_pages,
                                 cpus=v.cpus, paging_levels=v.paging_levels,
                                 sanitizer=v.sanitizer, profile=v.profile)


def _lines(lines: Sequence[str]) -> str:
    return "".join(line + "\n" for line in lines)


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("buddyinfo", "/proc/buddyinfo (mm/vmstat.c frag_show_print)",
           lambda v, _s: procfs.buddyinfo(v.zones), lambda v, _s: jsonshape.buddyinfo_json(v)),
    Format("pagetypeinfo", "/proc/pagetypeinfo (mm/vmstat.c pagetypeinfo_show)",
           lambda v, _s: procfs.pagetypeinfo(v.zones, v.pageblock_order),
           lambda v, _s: jsonshape.pagetypeinfo_json(v)),
    Format("zoneinfo", "/proc/zoneinfo (mm/vmstat.c zoneinfo_show_print)",
           lambda v, _s: procfs.zoneinfo(v.zones, v.profile), lambda v, _s: jsonshape.zoneinfo_json(v)),
    Format("meminfo", "/proc/meminfo (fs/proc/meminfo.c), the lines the model computes",
           lambda v, _s: procfs.meminfo(_meminfo_values(v)), lambda v, _s: _meminfo_values(v)),
    Format("unusable_index", "debugfs extfrag/unusable_index (mm/vmstat.c unusable_show_print)",
           lambda v, _s: debugfs.unusable_index(v.zones),
           lambda v, _s: jsonshape.index_json(v, "unusable_index")),
    Format("extfrag_index", "debugfs extfrag/extfrag_index (mm/vmstat.c extfrag_show_print)",
           lambda v, _s: debugfs.extfrag_index(v.zones),
           lambda v, _s: jsonshape.index_json(v, "extfrag_index")),
    Format("memblock-memory", "debugfs memblock/memory (mm/memblock.c memblock_debug_show)",
           lambda v, _s: debugfs.memblock_debugfs(v.memory, v.profile),
           lambda v, _s: jsonshape.memblock_json(v.memory, v.profile)),
    Format("memblock-reserved", "debugfs memblock/reserved (mm/memblock.c memblock_debug_show)",
           lambda v, _s: debugfs.memblock_debugfs(v.reserved, v.profile),
           lambda v, _s: jsonshape.memblock_json(v.reserved, v.profile)),
    Format("e820", "the firmware map (arch/x86/kernel/e820.c e820__print_table)",
           lambda v, _s: _lines(bootlog.e820_table(v.e820)), lambda v, _s: jsonshape.e820_json(v)),
    Format("boot-log", "the console lines about memory, without timestamps",
           lambda v, s: _lines(bootlog.boot_log(v, s)),
           lambda v, s: {"lines": bootlog.boot_log(v, s)}),
    Format("kmem-f", "crash `kmem -f`, laid out as drgn's crash-compatible command",
           lambda v, _s: kmem.kmem_f(v), lambda v, _s: kmem.kmem_f_json(v)),
)}


def render(view: MachineView, steps_run: Sequence[str], name: str, as_json: bool) -> str | Any:
    """The text of format ``name``, or its JSON value."""
    fmt = FORMATS[name]
    return fmt.json(view, steps_run) if as_json else fmt.text(view, steps_run)
