"""`kmsan-tui show FORMAT`: each format in the kernel's layout, its JSON as jc shapes it,
and the text read back by the jc-shaped readers equal to that JSON."""

from __future__ import annotations

import json
import re

import pytest

from kmsan_tui.cli import main
from kmsan_tui.formats import debugfs, kmem
from kmsan_tui.formats.bootlog import boot_log, e820_table
from kmsan_tui.formats.dmesg import read_dmesg
from kmsan_tui.formats.layout_writer import build_layout
from kmsan_tui.formats.parse_procfs import (
    parse_buddyinfo,
    parse_meminfo,
    parse_pagetypeinfo,
    parse_zoneinfo,
)
from kmsan_tui.formats.reality import boot, check_layout
from kmsan_tui.formats.render import FORMATS, render
from kmsan_tui.formats.snapshot import RegionView, ZoneView, view_of
from kmsan_tui.model import Simulation
from kmsan_tui.model.layout_types import E820Entry
from tests.conftest import shared_file
from tests.formats.test_dmesg import LOGS

READERS = {"buddyinfo": parse_buddyinfo, "pagetypeinfo": parse_pagetypeinfo,
           "zoneinfo": parse_zoneinfo, "meminfo": parse_meminfo}


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_prints_for_a_booted_machine(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, err = _run(capsys, "show", fmt, "--layout", "tiny-64m")
    assert code == 0, err
    assert out.endswith("\n") and out.strip()
    code, out, err = _run(capsys, "show", fmt, "--layout", "tiny-64m", "--json")
    assert code == 0, err
    json.loads(out)


@pytest.mark.parametrize(("layout", "strategy", "until", "workload"), [
    ("qemu-4g", "eager", None, None),
    ("numa-2x32g", "lazy", None, "fragmenter"),
    ("tiny-64m", "fixed", "memblock_free_all", None),
])
@pytest.mark.parametrize("fmt", list(READERS))
def test_text_reads_back_as_the_json(layout: str, strategy: str, until: str | None,
                                     workload: str | None, fmt: str) -> None:
    sim = Simulation(layout, strategy)
    if until:
        sim.run_to(until)
    else:
        sim.run()
    if workload:
        sim.run_workload(workload, 3000)
    view = view_of(sim)
    text = render(view, sim.step_names_run, fmt, False)
    assert READERS[fmt](text, fmt) == render(view, sim.step_names_run, fmt, True)


def test_bad_format_and_step_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["show", "slabinfo"])
    assert exc.value.code == 2 and "invalid choice" in capsys.readouterr().err
    code, _, err = _run(capsys, "show", "buddyinfo", "--layout", "tiny-64m", "--until", "nope")
    assert code == 2 and "unknown step" in err and len(err.strip().splitlines()) == 1


def _zone(buddy: tuple[int, ...], nid: int = 0, name: str = "Normal") -> ZoneView:
    return ZoneView(nid, name, 0x100000, 0x40000, 0x40000, 0x40000, 0, buddy)


# Hand-worked from mm/vmstat.c: unusable_free_index() and __fragmentation_index().
@pytest.mark.parametrize(("buddy", "unusable", "extfrag"), [
    ((0,) * 11, "1.000 " * 11, " 0.000 " * 11),
    ((4,) + (0,) * 10, "0.000 " + "1.000 " * 10,
     "-1.000  0.250  0.500  0.625  0.688  0.719  0.735  0.743  0.747  0.749  0.750 "),
    ((0,) * 10 + (1,), "0.000 " * 11, "-1.000 " * 11),
    ((2, 1) + (0,) * 9, "0.000 0.500 " + "1.000 " * 9,
     "-1.000 -1.000  0.334  0.500  0.584  0.625  0.646  0.657  0.662  0.665  0.666 "),
])
def test_extfrag_files_print_the_kernel_indices(buddy: tuple[int, ...], unusable: str,
                                                 extfrag: str) -> None:
    assert debugfs.unusable_index([_zone(buddy)]) == f"Node 0, zone   Normal {unusable}\n"
    assert debugfs.extfrag_index([_zone(buddy)]) == f"Node 0, zone   Normal {extfrag}\n"


@pytest.mark.parametrize(("profile", "expected"), [
    ("v6.1", ["   0: 0x0000000000001000..0x000000000009efff",
              "   1: 0x0000000001000000..0x0000000002a07fff"]),
    ("v6.8", ["   0: 0x0000000000001000..0x000000000009efff    0 NONE",
              "   1: 0x0000000001000000..0x0000000002a07fff    x HOTPLUG"]),
    ("mainline", ["   0: 0x0000000000001000..0x000000000009efff    0 NONE",
                  "   1: 0x0000000001000000..0x0000000002a07fff    x HOTPLUG"]),
])
def test_memblock_debugfs_prints_node_and_flags_from_6_4(profile: str, expected: list[str]) -> None:
    regions = (RegionView(0x1000, 0x9E000, 0, 0), RegionView(0x1000000, 0x1A08000, None, 1))
    assert debugfs.memblock_debugfs(regions, profile).splitlines() == expected


def test_memblock_debugfs_prints_the_dummy_region_of_an_empty_array() -> None:
    assert debugfs.memblock_debugfs((), "v6.1") == "   0: 0x0000000000000000..0xffffffffffffffff\n"


def test_e820_table_prints_like_e820__print_table() -> None:
    table = [E820Entry(0, 0x9FBFF, "usable"), E820Entry(0xBFFE0000, 0xBFFFFFFF, "ACPI data"),
             E820Entry(0x100000000, 0x13FFFFFFF, "persistent")]
    assert e820_table(table) == [
        "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable",
        "BIOS-e820: [mem 0x00000000bffe0000-0x00000000bfffffff] ACPI data",
        "BIOS-e820: [mem 0x0000000100000000-0x000000013fffffff] persistent (type 7)",
    ]


def test_kmem_f_lays_out_drgn_s_table() -> None:
    sim = Simulation("tiny-64m", "eager")
    sim.run()
    lines = kmem.kmem_f(view_of(sim)).splitlines()
    assert re.fullmatch(r"ZONE +NAME +SIZE +FREE +MEM_MAP +START_PADDR +START_PFN", lines[0])
    assert re.fullmatch(r" 0 +DMA +\d+ +\d+ +ffffea[0-9a-f]{10} +1000 +1", lines[1])
    assert re.fullmatch(r"ORDER +SIZE +MIGRATE +BLOCKS +PAGES", lines[2])
    assert re.fullmatch(r" +0 +4k +UNMOVABLE +\d+ +\d+", lines[3])
    assert lines[-1].startswith("nr_free_pages: ") and lines[-1].endswith("(verified)")
    assert not any(line.endswith(" ") for line in lines)


BOOT_LINES = re.compile(r"^(BIOS-e820: |Zone ranges:|  (DMA|DMA32|Normal) |Movable zone start"
                        r"|Early memory node ranges|  node +\d+: |Initmem setup node|On node \d+, zone"
                        r"|percpu: Embedded|Faking node \d)")


@pytest.mark.parametrize("name", ["qemu-4g-kmsan", "qemu-4g-plain", "q35-efi", "gce-6.8"])
def test_boot_log_of_an_imported_machine_prints_the_real_lines(name: str) -> None:
    """The e820 table, zones, node ranges, holes and percpu line of the real boot come
    back character for character from the simulated boot of its imported layout."""
    path = shared_file(LOGS[name])
    facts = read_dmesg(path.read_text(), str(path))
    sim = boot(check_layout(build_layout(facts).text, name))
    got = [line for line in boot_log(view_of(sim), sim.step_names_run) if BOOT_LINES.match(line)]
    real = [re.sub(r"^\[ *\d+\.\d+\] ", "", line) for line in path.read_text().splitlines()]
    real = [line for line in real if BOOT_LINES.match(line)]
    if name == "q35-efi":  # the table the layout holds is the one printed after setup_data
        real = [line for line in real if not line.startswith("BIOS-e820")]
        got = [line for line in got if not line.startswith("BIOS-e820")]
    # The syzbot console was rebuilt from a summary: compare the kinds of line it has.
    kinds = {_kind(line) for line in real}
    assert [line for line in got if _kind(line) in kinds] == real


def _kind(line: str) -> str:
    m = BOOT_LINES.match(line)
    assert m is not None
    return m[1].split()[0]


@pytest.mark.parametrize("layout", ["qemu-4g", "numa-2x32g", "gce-8g"])
def test_boot_log_reads_back_with_the_dmesg_importer(layout: str) -> None:
    """What `show boot-log` prints is a log `import dmesg` reads: the same map, node
    ranges, zones and Memory: line as the machine that printed it."""
    sim = Simulation(layout)
    sim.run()
    view = view_of(sim)
    facts = read_dmesg(render(view, sim.step_names_run, "boot-log", False), "boot-log")
    assert [(e.start, e.end) for e in facts.e820] == [(e.start, e.end) for e in view.e820]
    assert [(s.nid, s.start, s.end) for s in facts.node_ranges] == [
        (r.nid if r.nid is not None else 0, r.base, r.base + r.size) for r in view.memory]
    assert facts.memory is not None and view.memory_line is not None
    assert f"Memory: {facts.memory.available_k}K/" in view.memory_line
    assert facts.percpu_pages == view.percpu_pages
    assert facts.sanitizer == ("kmsan" if view.kmsan_started else None)


def test_e820_reads_back_with_the_dmesg_importer() -> None:
    sim = Simulation("laptop-16g")
    sim.run_to("e820__memory_setup")
    view = view_of(sim)
    facts = read_dmesg(render(view, sim.step_names_run, "e820", False), "e820")
    assert [(e.start, e.end) for e in facts.e820] == [(e.start, e.end) for e in view.e820]
