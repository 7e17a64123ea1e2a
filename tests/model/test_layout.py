from __future__ import annotations

from pathlib import Path

import pytest

from kmsan_tui.model.errors import LayoutError
from kmsan_tui.model.layout import (
    E820Entry,
    load_layout,
    numa_emulation,
    parse_layout,
    parse_size,
    shipped_layouts,
)

REQUIRED = {"tiny-64m", "qemu-2g", "qemu-4g", "qemu-8g", "laptop-16g", "numa-2x32g",
            "server-1t", "monster-16t", "qemu-q35-ovmf-4g", "gce-8g"}


def test_every_required_layout_is_shipped() -> None:
    assert REQUIRED <= set(shipped_layouts())


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_shipped_layout_loads_with_usable_ram_and_nodes(name: str) -> None:
    layout = load_layout(name)
    assert layout.ram_bytes > 0
    assert layout.nodes and layout.cpus >= 1
    assert layout.name == name


def test_qemu_4g_is_the_machine_of_the_boot_logs() -> None:
    layout = load_layout("qemu-4g")
    usable = [(e.start, e.end) for e in layout.e820 if e.type == "usable"]
    assert usable == [(0, 0x9FBFF), (0x100000, 0xBFFDFFFF), (0x100000000, 0x13FFFFFFF)]
    assert layout.kernel.version == "v6.1" and layout.cpus == 2


@pytest.mark.parametrize(("text", "value"), [
    ("4096", 4096), ("64K", 65536), ("512M", 512 << 20), ("4G", 4 << 30), ("16T", 16 << 40),
    ("0x1000", 4096), ("1.5G", 3 << 29), ("2GiB", 2 << 30),
])
def test_parse_size_accepts_units_and_hex(text: str, value: int) -> None:
    assert parse_size(text) == value


RAM = "[machine]\ne820 = [{start = 0, end = 0x3fffffff}]\n"

BROKEN = [
    ("[machine\nram = 'lots'\n", "bad.toml: "),
    ("[machine]\nname = 'x'\n", "bad.toml: e820: missing"),
    ("[machine]\ne820 = [{start = 0, end = 0x1000, type = 'bogus'}]\n",
     "bad.toml: machine.e820[0].type: expected one of"),
    ("[machine]\ncpus = 0\ne820 = [{start = 0, end = 0x1000}]\n", "bad.toml: machine.cpus"),
    ("[machine]\ne820 = [{start = 0, end = 0x3fffffff}, {start = 0x1000, end = 0x2000}]\n",
     "bad.toml: machine.e820[1]: overlaps"),
    ("[machine]\ne820 = [{start = 0, size = 'lots'}]\n", "bad.toml: machine.e820[0].size: not a size"),
    ("[machine]\ne820 = [{start = 0, end = 0x3fffffff}]\n[kernel]\nsanitizer = 'ubsan'\n",
     "bad.toml: kernel.sanitizer: expected one of kmsan, kasan, none"),
    ("[machine]\ne820 = [{start = 0, end = 0x3fffffff}]\n[kernel.image.kmsan]\nreserved = '4M'\n",
     "bad.toml: kernel.image.kmsan.reserved: 0x400000 is smaller than the sections"),
    ("[machine]\npaging_levels = 3\ne820 = [{start = 0, end = 0x3fffffff}]\n",
     "bad.toml: machine.paging_levels"),
    ("[machine]\ne820 = [{start = 0, end = 0x3fffffff, type = 'reserved'}]\n",
     "bad.toml: machine.e820: no usable RAM"),
    (RAM + "[kernel]\nversion = 'v5.4'\n", "bad.toml: kernel.version: expected one of v6.1, v6.8"),
    (RAM + "[firmware]\ntype = 'coreboot'\n", "bad.toml: firmware.type: expected one of bios, efi"),
    (RAM + "[firmware]\nboot_services = [{start = 0x100000, end = 0x1fffff}]\n",
     "bad.toml: firmware.type: EFI tables and ranges need type = \"efi\""),
    (RAM + "[firmware]\ntype = 'efi'\nboot_services = [{start = 0x2000000, end = 0x20fffff}, "
     "{start = 0x100000, end = 0x1fffff}]\n", "bad.toml: firmware.boot_services[1]: overlaps or is"),
    (RAM + "[firmware]\ntype = 'efi'\nsetup_data = [{start = 0x50000000, end = 0x50000fff}]\n",
     "bad.toml: firmware.setup_data[0]: [0x50000000-0x50000fff] is not inside one usable"),
    (RAM + "[firmware]\nacpi_tables = [{signature = 'FACPX', start = 0xf0000, length = 0x74}]\n",
     "bad.toml: firmware.acpi_tables[0].signature: expected 4 printable characters"),
    (RAM + "[kernel]\ncmdline = 'numa=fake=2G'\n",
     "bad.toml: kernel.cmdline: numa=fake=2G: only numa=fake=N"),
    (RAM + "[kernel]\nnode_data_size = 0x4800\n", "bad.toml: kernel.node_data_size"),
    (RAM + "[kernel]\nnr_cpus = 0\n", "bad.toml: kernel.nr_cpus"),
    (RAM + "[kernel.image.kmsan]\npercpu_static = 616992\npercpu_pages = 100\n",
     "bad.toml: kernel.image.kmsan.percpu_pages: 100 does not match percpu_static"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_broken_layout_is_one_line_naming_file_and_key(tmp_path: Path, text: str,
                                                       message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(LayoutError) as info:
        load_layout(path)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_unknown_layout_name_lists_the_shipped_ones() -> None:
    with pytest.raises(LayoutError, match="no such layout.*qemu-8g"):
        load_layout("qemu-9000g")


def test_missing_file_is_a_layout_error(tmp_path: Path) -> None:
    with pytest.raises(LayoutError, match="cannot read"):
        load_layout(tmp_path / "nope.toml")


def test_numa_fake_splits_ram_as_numa_emulation_does() -> None:
    # The GCE boot of the shared data: "Faking node 0 at [mem 0x0-0x13fffffff] (5120MB)",
    # "Faking node 1 at [mem 0x140000000-0x23fffffff] (4096MB)"; the CPUs stay on node 0.
    layout = load_layout("gce-8g")
    assert [(n.start, n.end) for n in layout.nodes] == [(0, 0x140000000),
                                                        (0x140000000, 0x240000000)]
    assert [n.cpus for n in layout.nodes] == [2, 0]


def test_numa_emulation_gives_each_node_the_same_ram_holes_aside() -> None:
    e820 = [E820Entry(0, 0x9FBFF, "usable"), E820Entry(0x100000, 0xBFFDFFFF, "usable"),
            E820Entry(0x100000000, 0x43FFFFFFF, "usable")]
    spans = numa_emulation(e820, 4)
    assert spans[0][0] == 0 and spans[-1][1] == 0x440000000
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:], strict=False))
    ram = [sum(max(0, min(e.end + 1, b) - max(e.start, a)) for e in e820) for a, b in spans]
    assert max(ram) - min(ram) <= 2 * (32 << 20) + (1 << 20)


def test_efi_firmware_of_the_q35_machine() -> None:
    layout = load_layout("qemu-q35-ovmf-4g")
    fw = layout.firmware
    assert fw.efi and fw.memmap == (0x7F772040, 0x1AD0)
    assert fw.setup_data[0] == (0x7DBCD018, 0x7DBD6C57)  # the boot loader's list order
    above_1m = sum(end + 1 - max(start, 1 << 20) for start, end in fw.boot_services
                   if end >= 1 << 20)
    assert above_1m == 42520 << 10  # "efi: Freeing EFI boot services memory: 42520K"
    assert [t.signature for t in fw.acpi_tables][:3] == ["FACP", "DSDT", "FACS"]
    assert load_layout("qemu-4g").firmware.type == "bios"


def test_percpu_pages_follow_from_the_static_size() -> None:
    image = load_layout("gce-8g").kernel.image()
    # percpu: Embedded 176 pages/cpu s683016 r8192 d29688
    assert (image.percpu_pages, image.percpu_static, image.percpu_reserved) == (176, 683016, 8192)


def test_parse_layout_reads_text_with_the_same_checks() -> None:
    layout = parse_layout(RAM + "[kernel]\nversion = 'v6.8'\n", "inline")
    assert layout.kernel.version == "v6.8" and layout.nodes[0].end == 0x40000000
    with pytest.raises(LayoutError, match="inline: kernel.version"):
        parse_layout(RAM + "[kernel]\nversion = 'v9'\n", "inline")
