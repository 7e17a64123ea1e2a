"""Readers of /proc/buddyinfo, /proc/pagetypeinfo, /proc/zoneinfo and /proc/meminfo,
returning what the ``jc`` parsers return (kellyjonbrazil/jc jc/parsers/proc_*.py):
plain lists and dicts of ints, so a script written for ``jc --proc`` reads ours.

The text is untrusted: a line that is not the kernel's gives one ``InputError``
naming the file and the line. Where jc is wrong on the kernel's own output, these
follow the kernel: pagetypeinfo is read for every node (jc keeps the last one), its
block counts for the types the header names (jc always expects five), and keys keep
no trailing colon ("start_pfn", not "start_pfn:"). A first line starting with "#"
(the source note of the samples in ../shared/data/procfs) is skipped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from kmsan_tui.model.safeio import InputError

# Counts in /proc are unsigned long: anything longer than 20 digits is not the kernel's.
_NUM = r"\d{1,20}"
_BUDDY = re.compile(rf"Node\s+({_NUM}),\s+zone\s+(\S{{1,16}})((?:\s+{_NUM})+)\s*")
_FREE = re.compile(rf"Node\s+({_NUM}),\s+zone\s+(\S{{1,16}}),\s+type\s+(\S{{1,16}})((?:\s+>?{_NUM})+)\s*")
_BLOCKS = re.compile(rf"Node\s+({_NUM}),\s+zone\s+(\S{{1,16}})((?:\s+{_NUM})+)\s*")
_ZONE = re.compile(rf"Node\s+({_NUM}),\s+zone\s+(\S{{1,16}})\s*")
_KEYVAL = re.compile(rf"\s+([A-Za-z_][\w()]{{0,63}}):?\s+(-?{_NUM})\s*")
_PROTECTION = re.compile(rf"\s+protection:\s+\(((?:\s*-?{_NUM}\s*,)*\s*-?{_NUM}\s*)\)\s*")
_PAGESET = re.compile(rf"([A-Za-z_][\w ]{{0,63}}):\s+(-?{_NUM})")
_MEMINFO = re.compile(rf"([A-Za-z_][\w()]{{0,63}}):\s+({_NUM})(?:\s+kB)?\s*")
MAX_LINE = 4096


def _lines(text: str, name: str) -> Iterator[tuple[int, str]]:
    """(line number, line) of the lines to read: blank lines and a leading "#" note
    dropped; an absurdly long line is an error, not a slow regex."""
    for number, line in enumerate(text.splitlines(), 1):
        if len(line) > MAX_LINE:
            raise InputError(f"{name}: line {number}: {len(line)} characters: not a /proc line")
        if not line.strip() or (line.startswith("#") and number == 1):
            continue
        yield number, line


def _bad(name: str, number: int, line: str, what: str) -> InputError:
    shown = line.strip()
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return InputError(f"{name}: line {number}: not a {what} line: {shown!r}")


def parse_buddyinfo(text: str, name: str = "buddyinfo") -> list[dict[str, Any]]:
    """jc proc_buddyinfo: [{"node", "zone", "free_chunks": [per order]}]."""
    out: list[dict[str, Any]] = []
    for number, line in _lines(text, name):
        m = _BUDDY.fullmatch(line)
        if not m:
            raise _bad(name, number, line, "/proc/buddyinfo")
        out.append({"node": int(m[1]), "zone": m[2], "free_chunks": [int(x) for x in m[3].split()]})
    if not out:
        raise InputError(f"{name}: no zone in it: not /proc/buddyinfo")
    return out


def _count(cell: str) -> int:
    return int(cell.lstrip(">"))


def parse_pagetypeinfo(text: str, name: str = "pagetypeinfo") -> dict[str, Any]:
    """jc proc_pagetypeinfo: page_block_order, pages_per_block, free_pages
    [{"node", "zone", "type", "free"}] and num_blocks_type [{"node", "zone", <type>...}]
    with the types named as jc names them (unmovable, movable, reclaimable,
    high_atomic, cma, isolate)."""
    out: dict[str, Any] = {"free_pages": [], "num_blocks_type": []}
    section = ""
    types: list[str] = []
    for number, line in _lines(text, name):
        if line.startswith("Page block order:"):
            out["page_block_order"] = _int_after(line, name, number)
            section = ""
        elif line.startswith("Pages per block:"):
            out["pages_per_block"] = _int_after(line, name, number)
        elif line.startswith("Free pages count per migrate type at order"):
            section = "free"
        elif line.startswith("Number of blocks type"):
            section = "blocks"
            types = [_jc_type(t) for t in line[len("Number of blocks type"):].split()]
            if not types:
                raise _bad(name, number, line, "/proc/pagetypeinfo")
        elif line.startswith("Number of mixed blocks"):
            section = "mixed"
        elif section == "free" and (m := _FREE.fullmatch(line)):
            out["free_pages"].append({"node": int(m[1]), "zone": m[2], "type": m[3],
                                      "free": [_count(x) for x in m[4].split()]})
        elif section == "blocks" and (m := _BLOCKS.fullmatch(line)):
            counts = [int(x) for x in m[3].split()]
            if len(counts) != len(types):
                raise InputError(f"{name}: line {number}: {len(counts)} block counts for "
                                 f"{len(types)} types")
            out["num_blocks_type"].append({"node": int(m[1]), "zone": m[2],
                                           **dict(zip(types, counts, strict=True))})
        elif section == "mixed" and _BLOCKS.fullmatch(line):
            continue  # page_owner's "Number of mixed blocks": not in jc's schema
        else:
            raise _bad(name, number, line, "/proc/pagetypeinfo")
    if "page_block_order" not in out or not out["free_pages"]:
        raise InputError(f"{name}: no \"Page block order:\" or no free list: not /proc/pagetypeinfo")
    return out


def _jc_type(label: str) -> str:
    """jc's key for a migratetype label: "HighAtomic" -> "high_atomic"."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", label).lower()


def _int_after(line: str, name: str, number: int) -> int:
    value = line.partition(":")[2].strip()
    if not re.fullmatch(_NUM, value):
        raise _bad(name, number, line, "/proc/pagetypeinfo")
    return int(value)


def parse_zoneinfo(text: str, name: str = "zoneinfo") -> list[dict[str, Any]]:
    """jc proc_zoneinfo: one dict per node {"node", <zone>: {"pages": {...},
    "pagesets": [...]}, <per-node stat>...}; a node starts at its DMA zone, as in jc,
    or at a new node number."""
    out: list[dict[str, Any]] = []
    node: dict[str, Any] = {}
    zone: dict[str, Any] | None = None
    section = ""
    pageset: dict[str, int] | None = None
    for number, line in _lines(text, name):
        if m := _ZONE.fullmatch(line):
            nid, zname = int(m[1]), m[2]
            if node and (zname == "DMA" or node["node"] != nid):
                out.append(node)
                node = {}
            if not node:
                node = {"node": nid}
            zone = node.setdefault(zname, {})
            section, pageset = "stats", None
            continue
        if zone is None:
            raise _bad(name, number, line, "/proc/zoneinfo")
        stripped = line.strip()
        if stripped == "per-node stats":
            continue
        if stripped.startswith("pages free"):
            section = "pages"
            zone["pages"] = {"free": _value(stripped.split()[-1], name, number, line)}
        elif stripped == "pagesets":
            section = "pagesets"
            zone["pagesets"] = []
        elif section == "pages" and (m := _PROTECTION.fullmatch(line)):
            zone["pages"]["protection"] = [int(x) for x in m[1].replace(",", " ").split()]
        elif section == "pagesets" and (m := _PAGESET.fullmatch(stripped)):
            key, value = m[1].strip(), int(m[2])
            if key == "cpu":
                pageset = {"cpu": value}
                zone["pagesets"].append(pageset)
            elif pageset is None:
                raise _bad(name, number, line, "/proc/zoneinfo")
            else:
                pageset[key] = value
        elif section != "pagesets" and (m := _KEYVAL.fullmatch(line)):
            if section == "stats":
                node[m[1]] = int(m[2])
            else:
                zone.setdefault("pages", {})[m[1]] = int(m[2])
        else:
            raise _bad(name, number, line, "/proc/zoneinfo")
    if node:
        out.append(node)
    if not out:
        raise InputError(f"{name}: no zone in it: not /proc/zoneinfo")
    return out


def _value(text: str, name: str, number: int, line: str) -> int:
    if not re.fullmatch(_NUM, text):
        raise _bad(name, number, line, "/proc/zoneinfo")
    return int(text)


def parse_meminfo(text: str, name: str = "meminfo") -> dict[str, int]:
    """jc proc_meminfo: {"MemTotal": kB, ...}."""
    out: dict[str, int] = {}
    for number, line in _lines(text, name):
        m = _MEMINFO.fullmatch(line)
        if not m:
            raise _bad(name, number, line, "/proc/meminfo")
        out[m[1]] = int(m[2])
    if not out:
        raise InputError(f"{name}: no line in it: not /proc/meminfo")
    return out
