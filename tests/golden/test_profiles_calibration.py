"""The shared machines booted under their kernels' profiles, against the real boots.

- qemu-4g (Linux 6.1, SeaBIOS) and qemu-q35-ovmf-4g (Linux 6.1, OVMF/EFI): complete
  consoles. Every kernel-format line the model prints (Event kind "log") is a line of
  the real console, in the same order: character for character, the Memory: line
  included for the BIOS pair; the EFI boot's Memory: line within 1% (available) and
  3% (reserved).
- gce-8g (Linux 6.8-rc1, syzbot on GCE): only the facts of the boot are public; each
  family of lines the rebuilt console holds must be printed exactly, the Memory: line
  within 1% and 3%.
"""

from __future__ import annotations

import json
import re

import pytest

from kmsan_tui.model import Simulation
from tests.conftest import shared_file
from tests.golden.bootlog import BootLog

CONSOLES = {
    ("qemu-4g", "kmsan"): "bootlogs/qemu-4g-linux-6.1-kmsan-memblockdebug.console.txt",
    ("qemu-4g", "none"): "bootlogs/qemu-4g-linux-6.1-plain-memblockdebug.console.txt",
    ("qemu-q35-ovmf-4g", "kmsan"):
        "bootlogs/qemu-q35-ovmf-4g-linux-6.1-kmsan-memblockdebug.console.txt",
}
GCE_CONSOLE = "bootlogs/gce-8g-linux-6.8-rc1-kmsan.console-rebuilt.txt"
GCE_SUMMARY = "bootlogs/gce-8g-linux-6.8-rc1-kmsan.summary.json"
_MEMORY = re.compile(r"Memory: (\d+)K/(\d+)K available .* (\d+)K reserved")


def kernel_lines(layout: str, sanitizer: str) -> list[str]:
    """What the model prints in the kernel's own formats, for the layout's kernel."""
    sim = Simulation(layout, "eager", sanitizer=sanitizer)
    sim.run()
    return [e.text for e in sim.events if e.kind == "log"]


def memory_numbers(line: str) -> tuple[int, int, int]:
    m = _MEMORY.search(line)
    assert m, line
    return int(m[1]), int(m[2]), int(m[3])


def assert_subsequence(model: list[str], real: list[str]) -> None:
    """Each model line is a real line, and they come in the real order."""
    i = 0
    for line in model:
        while i < len(real) and real[i] != line:
            i += 1
        assert i < len(real), f"not in the real console (or out of order): {line!r}"
        i += 1


@pytest.mark.parametrize(("layout", "sanitizer"), sorted(CONSOLES))
def test_every_kernel_line_the_model_prints_is_in_the_real_console_in_order(
        layout: str, sanitizer: str) -> None:
    real = BootLog.read(shared_file(CONSOLES[layout, sanitizer])).lines
    model = kernel_lines(layout, sanitizer)
    if layout == "qemu-q35-ovmf-4g":  # within tolerance, tested below
        model = [line for line in model if not line.startswith("Memory: ")]
    assert len(model) > 40
    assert_subsequence(model, real)


@pytest.mark.parametrize(("layout", "sanitizer"), sorted(CONSOLES))
def test_the_log_lines_the_model_prints_are_all_there(layout: str, sanitizer: str) -> None:
    """The families of lines the model prints are printed completely: none is missing."""
    real = BootLog.read(shared_file(CONSOLES[layout, sanitizer])).lines
    model = kernel_lines(layout, sanitizer)
    families = ("BIOS-e820: ", "ACPI: Reserving ", "NODE_DATA(", "  node ", "On node ",
                "Initmem setup node", "percpu: ", "pcpu-alloc: ", "Fallback order",
                "Built ", "reserve setup_data: ", "e820: ", "last_pfn")
    for prefix in families:
        want = [line for line in real if line.startswith(prefix)]
        got = [line for line in model if line.startswith(prefix)]
        assert got == want, prefix


def test_efi_boot_memory_line_within_one_percent_available_and_three_reserved() -> None:
    real = BootLog.read(shared_file(CONSOLES["qemu-q35-ovmf-4g", "kmsan"])).memory_line()
    line = next(x for x in kernel_lines("qemu-q35-ovmf-4g", "kmsan") if x.startswith("Memory:"))
    available, total, reserved = memory_numbers(line)
    assert total == real[1]
    assert abs(available - real[0]) <= 0.01 * real[0]
    assert abs(reserved - real[2]) <= 0.03 * real[2]


def test_efi_boot_services_are_reserved_until_freed_late() -> None:
    sim = Simulation("qemu-q35-ovmf-4g", "eager")
    sim.run_to("mem_init_print_info")
    assert sim.memblock.is_region_reserved(0x900000, 0xC00000)
    sim.run()
    freed = next(e.text for e in sim.events if "Freeing EFI boot services" in e.text)
    # The real boot: "efi: Freeing EFI boot services memory: 42520K" (above 1 MiB only).
    assert freed == "efi: Freeing EFI boot services memory: 42520K"
    assert sim.zone_of(0x900).managed_pages == 1792  # type: ignore[union-attr]


def gce_facts() -> dict[str, object]:
    return dict(json.loads(shared_file(GCE_SUMMARY).read_text()))


def test_gce_kernel_6_8_memory_line_within_one_percent_available_and_three_reserved() -> None:
    mem = gce_facts()["memory_line"]
    assert isinstance(mem, dict)
    line = next(x for x in kernel_lines("gce-8g", "kmsan") if x.startswith("Memory:"))
    available, total, reserved = memory_numbers(line)
    assert total == mem["total_k"]
    assert abs(available - mem["available_k"]) <= 0.01 * mem["available_k"]
    assert abs(reserved - mem["reserved_k"]) <= 0.03 * mem["reserved_k"]
    for part in ("237568K kernel code", "9701K rwdata", "18212K rodata", "36392K init",
                 "2524K bss"):
        assert part in line


def test_gce_line_families_match_the_boot_character_for_character() -> None:
    real = [line for line in BootLog.read(shared_file(GCE_CONSOLE)).lines
            if not line.startswith(("Linux version", "Memory:", "NX ", "DMI:"))]
    model = kernel_lines("gce-8g", "kmsan")
    for line in real:
        assert line in model, line
    assert_subsequence([line for line in model if line in real], real)


def test_gce_facts_the_summary_keeps() -> None:
    facts = gce_facts()["other_facts"]
    assert isinstance(facts, dict)
    model = kernel_lines("gce-8g", "kmsan")
    assert f"Built 2 zonelists, mobility grouping on.  Total pages: " \
           f"{facts['zonelist_total_pages']}" in model
    for nid, span in facts["node_data"].items():
        start, end = span.split("-")
        assert f"NODE_DATA({nid}) allocated [mem {int(start, 16):#010x}-{int(end, 16):#010x}]" \
            in model
    assert f"percpu: {facts['percpu']}" in model
    assert "On node 0, zone DMA: 1 pages in unavailable ranges" in model
    assert "On node 0, zone DMA: 97 pages in unavailable ranges" in model
    assert "On node 0, zone Normal: 3 pages in unavailable ranges" in model
    order = [line for line in model if line.startswith(("Memory:", "SLUB:",
                                                         "Starting KernelMemorySanitizer"))]
    assert [line.split(":")[0] for line in order] == ["Memory", "SLUB",
                                                      "Starting KernelMemorySanitizer"]
