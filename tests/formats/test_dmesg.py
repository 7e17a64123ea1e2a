"""Reading boot logs: the facts of each real log, the same facts whatever wraps the
lines, and never a traceback on a hostile file."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsan_tui.formats.dmesg import parse_memory_line, read_dmesg
from kmsan_tui.formats.e820 import E820_ACPI, E820_NVS, E820_RAM, E820_RESERVED
from kmsan_tui.formats.facts import BootFacts
from tests.conftest import shared_file

LOGS = {
    "qemu-4g-kmsan": "dmesg/qemu-4g-linux-6.1-kmsan-memblockdebug.console.txt",
    "qemu-4g-plain": "dmesg/qemu-4g-linux-6.1-plain-memblockdebug.console.txt",
    "q35-efi": "dmesg/qemu-q35-ovmf-4g-linux-6.1-kmsan-memblockdebug.console.txt",
    "gce-6.8": "dmesg/gce-8g-linux-6.8-rc1-kmsan.console-rebuilt.txt",
    "lkp-3.14": "dmesg/lkp-3.14-next-20140307-x86_64-randconfig-256m.console.txt",
}


def _facts(name: str) -> BootFacts:
    path = shared_file(LOGS[name])
    return read_dmesg(path.read_text(), str(path))


# (log, release, sanitizer found, CPUs, e820 entries, usable bytes, nodes, percpu pages,
#  Memory: available K, pageblock order)
EXPECTED = [
    ("qemu-4g-kmsan", "6.1.192", "kmsan", 2, 8, 0xFFF7FC00, 1, 158,
     1253232, 10),
    ("qemu-4g-plain", "6.1.192", None, 2, 8, None, 1, 39, 4039068, 10),
    ("q35-efi", "6.1.192", "kmsan", 2, 18, None, 1, 158, 1210528, 10),
    ("gce-6.8", "6.8.0-rc1-syzkaller-00012-g22ffa13a3c01", None, 2, 7, None, 2, 176, 2290736, None),
    ("lkp-3.14", "3.14.0-rc5-next-20140307", None, 1, 7, None, 1, 8, 231140, None),
]


@pytest.mark.parametrize(("name", "release", "sanitizer", "cpus", "entries", "usable", "nodes",
                          "percpu", "available", "pageblock"), EXPECTED)
def test_each_real_log_gives_its_facts(name: str, release: str, sanitizer: str | None, cpus: int,
                                       entries: int, usable: int | None, nodes: int, percpu: int,
                                       available: int, pageblock: int | None) -> None:
    f = _facts(name)
    assert f.release_text == release
    assert f.sanitizer == sanitizer
    assert f.cpus == cpus
    assert len(f.e820) == entries
    if usable is not None:
        assert f.ram_bytes == usable
    assert len({s.nid for s in f.node_ranges}) == nodes
    assert f.percpu_pages == percpu
    assert f.memory is not None and f.memory.available_k == available
    assert f.pageblock_order == pageblock
    assert not [n for n in f.notes if n.kind == "warning"]


def test_efi_log_uses_the_extended_map_and_finds_setup_data_and_boot_services() -> None:
    f = _facts("q35-efi")
    assert f.efi and f.efi_version == "EFI v2.70 by EDK II"
    assert "reserve setup_data" in f.e820_origin
    assert f.setup_data == [(0x7DBCD018, 0x7DBD6C57), (0x7DB8F018, 0x7DBCC057)]
    assert f.memattr_addr == 0x7DEA1118
    assert f.efi_boot_services_freed_k == 42520
    above = sum(b + 1 - a for a, b in f.boot_services_reserved if a >= 0x100000) >> 10
    assert above == 42520
    assert [t[0] for t in f.acpi_tables] == ["FACP", "DSDT", "FACS", "APIC", "HPET", "MCFG",
                                              "WAET", "BGRT"]
    types = [e.type for e in f.e820]
    assert E820_NVS in types and E820_ACPI in types


def test_fake_nodes_and_kernel_config_of_the_syzbot_log() -> None:
    f = _facts("gce-6.8")
    assert [(s.nid, s.start, s.end) for s in f.fake_nodes] == [
        (0, 0, 0x140000000), (1, 0x140000000, 0x240000000)]
    assert f.nr_cpus_config == 64
    assert f.percpu_static == 683016 and f.percpu_reserved == 8192
    assert f.cmdline_options()["numa"] == "fake=2"
    assert f.zone_ranges["Device"] is None


def test_first_memblock_dump_and_initrd_are_read() -> None:
    f = _facts("qemu-4g-kmsan")
    assert (0x1000000, 0x2A07FFF) in f.first_reserved
    assert f.ramdisk == (0x7FEF4000, 0x7FFFFFFF)
    assert f.unavailable == [(0, "DMA", 1), (0, "DMA", 97), (0, "Normal", 32)]


def test_old_kernel_formats_are_read() -> None:
    """3.14: "e820: BIOS-provided ...", a Memory: line without cma, a UP percpu."""
    f = _facts("lkp-3.14")
    assert f.memory is not None and f.memory.cma_k == 0 and f.memory.reserved_k == 30604
    assert f.ramdisk == (0x0FCE6000, 0x0FFEFFFF)
    assert f.percpu_static == 0
    assert [e.type for e in f.e820][:2] == [E820_RAM, E820_RESERVED]


# ----------------------------------------------------------------- wrappers

def _variants(text: str) -> dict[str, str]:
    lines = text.splitlines()
    bare = [line.split("] ", 1)[1] if line.startswith("[") and "] " in line else line
            for line in lines]
    return {
        "crlf": "\r\n".join(lines) + "\r\n",
        "no timestamps": "\n".join(bare) + "\n",
        "syslog": "\n".join(f"Mar 20 12:00:01 host kernel: {line}" for line in bare) + "\n",
        "journalctl iso": "\n".join(f"2024-03-20T12:00:01+0000 host kernel: {line}"
                                    for line in bare) + "\n",
        "dmesg -x": "\n".join(f"kern  :info  : {line}" for line in lines) + "\n",
        "caller ids": "\n".join(line.replace("] ", "] [    T0] ", 1) if line.startswith("[") else line
                                for line in lines) + "\n",
        "interleaved": "\n".join(f"{line}\nsystemd[1]: Started something.\n<junk \x7f>"
                                 for line in lines) + "\n",
    }


def _summary(f: BootFacts) -> tuple[object, ...]:
    return (f.release_text, f.cmdline, [(e.start, e.end, e.type) for e in f.e820], f.cpus,
            f.percpu_pages, f.memory and f.memory.available_k, f.sanitizer, f.ramdisk,
            f.first_reserved, [(s.nid, s.start, s.end) for s in f.node_ranges],
            f.pageblock_order, f.setup_data, f.boot_services_reserved, f.acpi_tables)


@pytest.mark.parametrize("name", ["qemu-4g-kmsan", "q35-efi", "gce-6.8"])
@pytest.mark.parametrize("variant", ["crlf", "no timestamps", "syslog", "journalctl iso",
                                     "dmesg -x", "caller ids", "interleaved"])
def test_facts_do_not_depend_on_how_the_lines_are_wrapped(name: str, variant: str) -> None:
    text = shared_file(LOGS[name]).read_text()
    assert _summary(read_dmesg(_variants(text)[variant], "x")) == _summary(read_dmesg(text, "x"))


# ----------------------------------------------------------------- hostile input

@pytest.mark.parametrize(("line", "warning"), [
    ("BIOS-e820: [mem 0x0000000000200000-0x0000000000100000] usable", "ends at"),
    ("BIOS-e820: [mem 0x0010000000000000-0x0010000000000fff] usable", "52-bit"),
    ("BIOS-e820: [mem 0x0000000000000000-0x000000000009ffff] magic", "not one the kernel prints"),
    ("e820: update [mem 0x00100000-0x00000fff] usable ==> reserved", "empty range"),
    ("A" * 5000, "characters long"),
    ("\x00\x01binary\x02", "control characters"),
])
def test_bad_lines_are_warnings_naming_the_line(line: str, warning: str) -> None:
    f = read_dmesg(f"[    0.0] Linux version 6.1.0 (x)\n{line}\n", "x")
    notes = [str(n) for n in f.notes if n.kind == "warning"]
    assert any("line 2" in n and warning in n for n in notes), notes


def test_overlapping_e820_entries_are_sanitized_like_the_kernel() -> None:
    text = ("BIOS-e820: [mem 0x0000000000000000-0x000000000fffffff] usable\n"
            "BIOS-e820: [mem 0x0000000008000000-0x0000000008ffffff] reserved\n")
    f = read_dmesg(text, "x")
    assert [(e.start, e.end, e.type) for e in f.e820] == [
        (0, 0x7FFFFFF, E820_RAM), (0x8000000, 0x8FFFFFF, E820_RESERVED),
        (0x9000000, 0xFFFFFFF, E820_RAM)]
    assert any("overlap" in str(n) for n in f.notes)


def test_only_the_first_boot_of_a_capture_is_read() -> None:
    text = shared_file(LOGS["qemu-4g-plain"]).read_text()
    twice = text + text.replace("6.1.192", "9.9.9")
    f = read_dmesg(twice, "x")
    assert f.release_text == "6.1.192"
    assert any("second boot" in str(n) for n in f.notes)


def test_fix_ups_after_the_last_table_apply_but_the_standard_two_are_left_to_the_model() -> None:
    text = ("BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable\n"
            "BIOS-e820: [mem 0x0000000000100000-0x000000007fffffff] usable\n"
            "e820: update [mem 0x00000000-0x00000fff] usable ==> reserved\n"
            "e820: remove [mem 0x000a0000-0x000fffff] usable\n"
            "e820: update [mem 0x70000000-0x7fffffff] usable ==> reserved\n")
    f = read_dmesg(text, "x")
    assert [(e.start, e.end, e.type) for e in f.e820] == [
        (0, 0x9FBFF, E820_RAM), (0x100000, 0x6FFFFFFF, E820_RAM),
        (0x70000000, 0x7FFFFFFF, E820_RESERVED)]


def test_memory_line_parser() -> None:
    m = parse_memory_line("Memory: 1253232K/4193784K available (16384K kernel code, 912K rwdata, "
                          "492K rodata, 2004K init, 976K bss, 424324K reserved, 0K cma-reserved)")
    assert m is not None and (m.available_k, m.total_k, m.reserved_k, m.totalram_k) == \
        (1253232, 4193784, 424324, 3769460)
    assert parse_memory_line("Memory: 12K/34K available (garbage)") is None


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.one_of(
    st.text(max_size=200),
    st.sampled_from([
        "BIOS-e820: [mem 0x{:016x}-0x{:016x}] usable",
        "e820: update [mem 0x{:08x}-0x{:08x}] usable ==> reserved",
        "  node   0: [mem 0x{:016x}-0x{:016x}]", "Faking node 1 at [mem 0x{:016x}-0x{:016x}] (4096MB)",
        "memblock_reserve: [0x{:016x}-0x{:016x}] efi_reserve_boot_services+0x1",
        "RAMDISK: [mem 0x{:x}-0x{:x}]", " reserved[0x0]\t[0x{:016x}-0x{:016x}], 0x1 bytes flags: 0x0",
    ]).flatmap(lambda fmt: st.tuples(st.integers(0, 1 << 64), st.integers(0, 1 << 64)).map(
        lambda ab: fmt.format(*ab))),
    st.sampled_from(["MEMBLOCK configuration:", "efi: EFI v2.70 by EDK II", "Zone ranges:",
                     "Memory: 1K/2K available (1K kernel code, 1K rwdata, 1K rodata, 1K init, "
                     "1K bss, 1K reserved, 0K cma-reserved)", "smpboot: Allowing 99999 CPUs, 0 hotplug CPUs",
                     "pcpu-alloc: [0] 0 1 [1] 2 -", "Linux version 6.1"]),
), max_size=40))
def test_any_text_reads_without_an_exception(lines: list[str]) -> None:
    facts = read_dmesg("\n".join(lines), "fuzz")
    for e in facts.e820:
        assert e.start <= e.end < 1 << 52
