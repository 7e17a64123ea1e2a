"""/proc formats byte for byte against real kernel output, and the model against it."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from kmsan_tui.model import Simulation
from kmsan_tui.model.constants import PAGETYPEINFO_TYPES, MigrateType
from kmsan_tui.model.vmstat import buddyinfo, pagetypeinfo, parse_buddyinfo
from tests.conftest import shared_file


@dataclass
class FakeZone:
    """A zone as a /proc sample describes it."""

    nid: int
    name: str
    counts: tuple[int, ...]
    by_type: dict[MigrateType, list[int]]
    blocks: dict[MigrateType, int]

    def buddyinfo(self) -> tuple[int, ...]:
        return self.counts

    def nr_free_by_type(self) -> dict[MigrateType, list[int]]:
        return self.by_type

    def pageblock_counts(self) -> dict[MigrateType, int]:
        return self.blocks


def _strip_source(text: str) -> str:
    return "".join(line + "\n" for line in text.splitlines() if not line.startswith("# source"))


@pytest.mark.parametrize("name", [
    "procfs/qemu-4g-linux-6.1-kmsan.buddyinfo.txt",
    "procfs/qemu-4g-linux-6.1-plain.buddyinfo.txt",
    "procfs/lkml2012_64g_4node_buddyinfo.txt",
    "procfs/jc_vm4g_buddyinfo.txt",
])
def test_buddyinfo_format_is_byte_exact(name: str) -> None:
    text = _strip_source(shared_file(name).read_text())
    zones = [FakeZone(nid, zone, counts, {}, {}) for nid, zone, counts in parse_buddyinfo(text)]
    rendered = buddyinfo(zones)  # type: ignore[arg-type]
    # Some samples were saved without the kernel's trailing space.
    assert [line.rstrip() for line in rendered.splitlines()] == \
        [line.rstrip() for line in text.splitlines()]
    if text.splitlines()[0].endswith(" "):
        assert rendered == text


def _parse_pagetypeinfo(text: str) -> tuple[int, list[FakeZone]]:
    lines = text.splitlines()
    order = int(lines[0].split(":")[1])
    zones: dict[tuple[int, str], FakeZone] = {}
    names = {mt.label: mt for mt in MigrateType}
    for line in lines:
        if ", type " in line:
            head, _, rest = line.partition(", type ")
            nid = int(head.split()[1].rstrip(","))
            zone = head.split("zone")[1].strip()
            label, *counts = rest.split()
            z = zones.setdefault((nid, zone), FakeZone(nid, zone, (), {}, {}))
            z.by_type[names[label]] = [int(c) for c in counts]
    block_lines = lines[lines.index(next(x for x in lines if x.startswith("Number of blocks"))) + 1:]
    for line in block_lines:
        if not line.strip():
            continue
        head, _, rest = line.partition("zone")
        nid = int(head.split()[1].rstrip(","))
        parts = rest.split()
        z = zones[(nid, parts[0])]
        z.blocks = dict(zip(PAGETYPEINFO_TYPES, (int(x) for x in parts[1:]), strict=False))
    return order, list(zones.values())


@pytest.mark.parametrize("name", ["procfs/qemu-4g-linux-6.1-kmsan.pagetypeinfo.txt",
                                  "procfs/qemu-4g-linux-6.1-plain.pagetypeinfo.txt"])
def test_pagetypeinfo_format_is_byte_exact(name: str) -> None:
    text = shared_file(name).read_text()
    order, zones = _parse_pagetypeinfo(text)
    assert pagetypeinfo(zones, order) == text  # type: ignore[arg-type]


@pytest.mark.parametrize(("sanitizer", "name"), [
    ("none", "procfs/qemu-4g-linux-6.1-plain.buddyinfo.txt"),
    ("kmsan", "procfs/qemu-4g-linux-6.1-kmsan.buddyinfo.txt"),
])
def test_booted_qemu_4g_ends_near_the_real_free_lists(sanitizer: str, name: str) -> None:
    """The samples were read after user space started, so only the big blocks compare."""
    real = {zone: counts for _nid, zone, counts in parse_buddyinfo(shared_file(name).read_text())}
    sim = Simulation("qemu-4g", "eager", sanitizer=sanitizer, kernel="v6.1")
    sim.run()
    assert pagetypeinfo(sim.zones, sim.config.pageblock_order).splitlines()[:2] == \
        shared_file(name.replace("buddyinfo", "pagetypeinfo")).read_text().splitlines()[:2]
    for zone in sim.zones:
        got = zone.buddyinfo()[10]
        want = real[zone.name][10]
        assert abs(got - want) <= max(2, want * 0.03), (zone.name, got, want)
