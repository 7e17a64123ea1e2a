"""The qemu-4g layout against the real 6.1 boot logs of ../shared/data/bootlogs."""

from __future__ import annotations

import pytest

from kmsan_tui.model import Simulation
from tests.conftest import shared_file
from tests.golden.bootlog import BootLog

LOGS = {
    "none": "bootlogs/qemu-4g-linux-6.1-plain-memblockdebug.console.txt",
    "kmsan": "bootlogs/qemu-4g-linux-6.1-kmsan-memblockdebug.console.txt",
}


def boot(sanitizer: str, until: str) -> Simulation:
    sim = Simulation("qemu-4g", "eager", sanitizer=sanitizer, kernel="v6.1")
    sim.run_to(until)
    return sim


@pytest.mark.parametrize("sanitizer", ["none", "kmsan"])
def test_memory_regions_match_the_first_dump(sanitizer: str) -> None:
    log = BootLog.read(shared_file(LOGS[sanitizer]))
    want = [line for line in log.dumps()[0] if line.startswith(" memory")]
    sim = boot(sanitizer, "e820__memblock_setup")
    got = [line for line in sim.memblock.dump() if line.startswith(" memory")]
    assert got == want


@pytest.mark.parametrize("sanitizer", ["none", "kmsan"])
def test_memblock_dump_after_numa_init_matches_the_log_byte_for_byte(sanitizer: str) -> None:
    log = BootLog.read(shared_file(LOGS[sanitizer]))
    sim = boot(sanitizer, "initmem_init")
    assert sim.memblock.dump() == log.dumps()[-1]


@pytest.mark.parametrize("sanitizer", ["none", "kmsan"])
def test_reserved_at_memblock_free_all_matches_the_log(sanitizer: str) -> None:
    log = BootLog.read(shared_file(LOGS[sanitizer]))
    want = log.reserved_before_memory_line()
    sim = boot(sanitizer, "pci_iommu_alloc")
    got = sim.memblock.reserved.total_size
    # Sub-page allocations (ACPI, resources) are modelled by size, not all by caller.
    assert abs(got - want) <= 4 << 10, f"model {got:#x} vs log {want:#x}"


@pytest.mark.parametrize(("sanitizer", "tolerance"), [("none", 0.0), ("kmsan", 0.0)])
def test_memory_line_matches_the_real_kernel(sanitizer: str, tolerance: float) -> None:
    log = BootLog.read(shared_file(LOGS[sanitizer]))
    available, total, reserved = log.memory_line()
    sim = boot(sanitizer, "mem_init_print_info")
    line = sim.events[-1].text
    assert line.startswith("Memory: ")
    got_available = int(line.split("Memory: ")[1].split("K/")[0])
    got_total = int(line.split("K/")[1].split("K")[0])
    got_reserved = int(line.split("bss, ")[1].split("K reserved")[0])
    assert got_total == total
    assert abs(got_available - available) <= tolerance * available + 64
    assert abs(got_reserved - reserved) <= tolerance * reserved + 64
