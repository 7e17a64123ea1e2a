from __future__ import annotations

from pathlib import Path

import pytest

from kmsan_tui.model.errors import LayoutError
from kmsan_tui.model.layout import load_layout, parse_size, shipped_layouts

REQUIRED = {"tiny-64m", "qemu-2g", "qemu-4g", "qemu-8g", "laptop-16g", "numa-2x32g",
            "server-1t", "monster-16t"}


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
