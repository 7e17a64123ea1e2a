"""`show --json`: each format as a JSON value. /proc/buddyinfo, pagetypeinfo, zoneinfo
and meminfo are shaped as the ``jc`` parsers shape them (and as ``parse_procfs`` reads
the text back); the other formats have a shape of their own, documented per function.
Built from the view, not by parsing the text, so the two can be checked against each
other.
"""

from __future__ import annotations

from typing import Any

from kmsan_tui.formats.bootlog import E820_TYPE_NAMES
from kmsan_tui.formats.debugfs import memblock_flag_name
from kmsan_tui.formats.kversion import prints
from kmsan_tui.formats.procfs import PAGETYPE_LABELS
from kmsan_tui.formats.snapshot import MachineView, RegionView
from kmsan_tui.formats.watermarks import zone_watermarks
from kmsan_tui.model.constants import NR_PAGE_ORDERS
from kmsan_tui.model.vmstat import fragmentation_index, unusable_free_index


def buddyinfo_json(view: MachineView) -> list[dict[str, Any]]:
    """jc proc_buddyinfo."""
    return [{"node": z.nid, "zone": z.name, "free_chunks": list(z.buddyinfo)}
            for z in view.populated_zones()]


def pagetypeinfo_json(view: MachineView) -> dict[str, Any]:
    """jc proc_pagetypeinfo (every node's rows, in the order printed)."""
    keys = [_jc_type(label) for label in PAGETYPE_LABELS]
    zones = view.populated_zones()
    return {
        "page_block_order": view.pageblock_order,
        "pages_per_block": 1 << view.pageblock_order,
        "free_pages": [{"node": z.nid, "zone": z.name, "type": label, "free": list(counts)}
                       for z in zones
                       for label, counts in zip(PAGETYPE_LABELS, z.free_by_type, strict=True)],
        "num_blocks_type": [{"node": z.nid, "zone": z.name, **dict(zip(keys, z.pageblocks, strict=True))}
                            for z in zones],
    }


def _jc_type(label: str) -> str:
    return "high_atomic" if label == "HighAtomic" else label.lower()


def zoneinfo_json(view: MachineView) -> list[dict[str, Any]]:
    """jc proc_zoneinfo: a dict per node, a "pages" dict per zone with the fields
    printed (start_pfn lands there too: there are no pagesets to hold it)."""
    marks = zone_watermarks(view.zones, view.profile)
    promo = prints(view.profile, "zoneinfo_promo")
    nodes: list[dict[str, Any]] = []
    for z in view.zones:
        if not nodes or nodes[-1]["node"] != z.nid:
            nodes.append({"node": z.nid})
        w = marks[(z.nid, z.name)]
        pages: dict[str, Any] = {"free": z.nr_free, "min": w.min, "low": w.low, "high": w.high}
        if promo:
            pages["promo"] = w.promo
        pages |= {"spanned": z.spanned, "present": z.present, "managed": z.managed, "cma": 0,
                  "protection": list(w.protection)}
        if z.populated:
            pages |= {"nr_free_pages": z.nr_free, "start_pfn": z.start_pfn}
        nodes[-1][z.name] = {"pages": pages}
    return nodes


def index_json(view: MachineView, kind: str) -> list[dict[str, Any]]:
    """extfrag/unusable_index or extfrag_index: [{"node", "zone", "index": [per order]}],
    the indices as the numbers printed (-1.0 for a free block of the order)."""
    fn = unusable_free_index if kind == "unusable_index" else fragmentation_index
    return [{"node": z.nid, "zone": z.name,
             "index": [fn(z.buddyinfo, order) / 1000 for order in range(NR_PAGE_ORDERS)]}
            for z in view.populated_zones()]


def memblock_json(regions: tuple[RegionView, ...], profile: str) -> list[dict[str, Any]]:
    """debugfs memblock/memory or reserved: [{"index", "base", "end" (inclusive),
    "size", "nid" (null: none set), "flags": the name debugfs prints}]."""
    return [{"index": i, "base": r.base, "end": r.base + r.size - 1, "size": r.size,
             "nid": r.nid, "flags": memblock_flag_name(r.flags, profile)}
            for i, r in enumerate(regions)]


def e820_json(view: MachineView) -> list[dict[str, Any]]:
    """The firmware map: [{"start", "end" (inclusive), "type"}]."""
    return [{"start": e.start, "end": e.end, "type": E820_TYPE_NAMES.get(e.type, e.type)}
            for e in view.e820]
