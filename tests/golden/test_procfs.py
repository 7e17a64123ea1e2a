"""/proc formats byte for byte against real kernel output, and the model against it.

Each sample of tests/golden/data/procfs (README there: where each comes from) is read
with the jc-shaped readers, turned into the views the writers print, and printed
again: the text must come back identical. For /proc/zoneinfo and /proc/meminfo, of
which the model prints only some lines, the sample is first cut down to those lines.
"""

from __future__ import annotations

import re

import pytest

from kmsan_tui.formats.parse_procfs import (
    parse_buddyinfo,
    parse_meminfo,
    parse_pagetypeinfo,
    parse_zoneinfo,
)
from kmsan_tui.formats.procfs import buddyinfo, meminfo, pagetypeinfo, zoneinfo
from kmsan_tui.formats.snapshot import ZONE_TYPES, ZoneView
from kmsan_tui.formats.watermarks import Watermarks
from kmsan_tui.model import Simulation, vmstat
from tests.conftest import shared_file

BUDDYINFO = ["qemu-4g-linux-6.1-kmsan", "qemu-4g-linux-6.1-plain",
             "qemu-q35-ovmf-4g-linux-6.1-kmsan", "lkml2012_64g_4node", "jc_vm4g"]
PAGETYPEINFO = ["qemu-4g-linux-6.1-kmsan", "qemu-4g-linux-6.1-plain",
                "qemu-q35-ovmf-4g-linux-6.1-kmsan", "jc_vm4g"]
REAL_6_1 = ["qemu-4g-linux-6.1-kmsan", "qemu-4g-linux-6.1-plain", "qemu-q35-ovmf-4g-linux-6.1-kmsan"]


def _sample(stem: str, kind: str) -> str:
    """A sample's text without its "# source" note line."""
    sep = "_" if stem.startswith(("jc_", "lkml")) else "."
    text = shared_file(f"procfs/{stem}{sep}{kind}.txt").read_text()
    return "".join(line + "\n" for line in text.splitlines() if not line.startswith("# source"))


def _zone(nid: int, name: str, **fields: object) -> ZoneView:
    base: dict[str, object] = {"start_pfn": 0, "spanned": 0, "present": 1, "managed": 0,
                               "nr_free": 0, "buddyinfo": ()}
    base.update(fields)
    return ZoneView(nid, name, **base)  # type: ignore[arg-type]


@pytest.mark.parametrize("stem", BUDDYINFO)
def test_buddyinfo_is_byte_exact(stem: str) -> None:
    text = _sample(stem, "buddyinfo")
    zones = [_zone(z["node"], z["zone"], buddyinfo=tuple(z["free_chunks"]))
             for z in parse_buddyinfo(text)]
    rendered = buddyinfo(zones)
    if text.splitlines()[0].endswith(" "):
        assert rendered == text
    else:  # the lkml 2012 sample was mailed without the kernel's trailing spaces
        assert [line.rstrip() for line in rendered.splitlines()] == text.splitlines()


@pytest.mark.parametrize("stem", PAGETYPEINFO)
def test_pagetypeinfo_is_byte_exact(stem: str) -> None:
    text = _sample(stem, "pagetypeinfo")
    doc = parse_pagetypeinfo(text)
    labels = re.split(r"\s+", text.split("Number of blocks type")[1].splitlines()[0].strip())
    zones = []
    for blocks in doc["num_blocks_type"]:
        rows = [r["free"] for r in doc["free_pages"]
                if (r["node"], r["zone"]) == (blocks["node"], blocks["zone"])]
        zones.append(_zone(blocks["node"], blocks["zone"], free_by_type=tuple(map(tuple, rows)),
                           pageblocks=tuple(v for k, v in blocks.items() if k not in ("node", "zone"))))
    assert pagetypeinfo(zones, doc["page_block_order"], labels) == text


ZONEINFO_KEEP = re.compile(r"^(Node \d+, zone +\w+|  pages free .*|        (min|low|high|promo|spanned"
                           r"|present|managed|cma) .*|        protection: .*|      nr_free_pages .*"
                           r"|  start_pfn: .*)$")


@pytest.mark.parametrize("stem", REAL_6_1)
def test_zoneinfo_prints_its_lines_as_the_kernel_does(stem: str) -> None:
    text = _sample(stem, "zoneinfo")
    kept = "".join(line + "\n" for line in text.splitlines() if ZONEINFO_KEEP.match(line))
    zones, marks = [], {}
    for node in parse_zoneinfo(text):
        for name in ZONE_TYPES:
            pages = node[name]["pages"]
            pagesets = node[name].get("pagesets", [{}])
            zones.append(ZoneView(node["node"], name, pagesets[-1].get("start_pfn", 0),
                                  pages["spanned"], pages["present"], pages["managed"],
                                  pages["free"], ()))
            marks[(node["node"], name)] = Watermarks(pages["min"], pages["low"], pages["high"],
                                                     0, tuple(pages["protection"]))
    assert zoneinfo(zones, "v6.1", marks) == kept


@pytest.mark.parametrize("stem", REAL_6_1)
def test_meminfo_prints_its_lines_as_the_kernel_does(stem: str) -> None:
    text = _sample(stem, "meminfo")
    real = parse_meminfo(text)
    labels = ("MemTotal", "MemFree", "MemAvailable", "CommitLimit", "VmallocTotal", "Percpu")
    kept = "".join(line + "\n" for line in text.splitlines() if line.split(":")[0] in labels)
    assert meminfo({label: real[label] for label in labels}) == kept


@pytest.mark.parametrize("stem", REAL_6_1)
def test_model_meminfo_computes_what_the_kernel_computes_from_the_same_counts(stem: str) -> None:
    """CommitLimit, VmallocTotal and Percpu follow from MemTotal, the build and the CPUs
    exactly as the kernel derives them (2 CPUs; KMSAN quarters vmalloc)."""
    from kmsan_tui.formats.procfs import meminfo_values

    real = parse_meminfo(_sample(stem, "meminfo"))
    kmsan = "kmsan" in stem
    got = meminfo_values([], totalram_pages=real["MemTotal"] // 4, nr_free_pages=0,
                         percpu_pages=158 if kmsan else 39, cpus=2, paging_levels=4,
                         sanitizer="kmsan" if kmsan else "none", profile="v6.1")
    for key in ("MemTotal", "CommitLimit", "VmallocTotal", "Percpu"):
        assert got[key] == real[key], key


def test_model_buddyinfo_and_pagetypeinfo_keep_the_writers_format() -> None:
    """The model's own /proc writers (explorer, run summary) print the same lines."""
    sim = Simulation("qemu-4g", "eager", sanitizer="kmsan", kernel="v6.1")
    sim.run()
    from kmsan_tui.formats.snapshot import view_of

    view = view_of(sim)
    assert vmstat.buddyinfo(sim.zones) == buddyinfo(view.zones)
    assert vmstat.pagetypeinfo(sim.zones, sim.config.pageblock_order) == \
        pagetypeinfo(view.zones, view.pageblock_order)


@pytest.mark.parametrize(("sanitizer", "stem"), [
    ("none", "qemu-4g-linux-6.1-plain"),
    ("kmsan", "qemu-4g-linux-6.1-kmsan"),
])
def test_booted_qemu_4g_ends_near_the_real_free_lists(sanitizer: str, stem: str) -> None:
    """The samples were read after user space started, so only the big blocks compare."""
    real = {z["zone"]: z["free_chunks"] for z in parse_buddyinfo(_sample(stem, "buddyinfo"))}
    sim = Simulation("qemu-4g", "eager", sanitizer=sanitizer, kernel="v6.1")
    sim.run()
    assert vmstat.pagetypeinfo(sim.zones, sim.config.pageblock_order).splitlines()[:2] == \
        _sample(stem, "pagetypeinfo").splitlines()[:2]
    for zone in sim.zones:
        got = zone.buddyinfo()[10]
        want = real[zone.name][10]
        assert abs(got - want) <= max(2, want * 0.03), (zone.name, got, want)
