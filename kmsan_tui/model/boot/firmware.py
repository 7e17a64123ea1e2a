"""What the firmware hands over, on x86_64: the e820 map, EFI tables and ACPI tables.

BIOS firmware gives an e820 map and ACPI tables in reserved RAM. EFI firmware (OVMF,
say) also leaves its memory map, a memory attributes table, setup_data blobs and
EFI_BOOT_SERVICES_CODE/DATA ranges in usable RAM: the kernel reserves them early
(efi_memblock_x86_reserve_range(), efi_memattr_init(), efi_reserve_boot_services())
and gives the boot-services memory back only in efi_free_boot_services(), long after
the Memory: line, so it is in ``reserved`` there and, under KMSAN, gets metadata from
kmsan_init_shadow() like any other reserved range. Calibrated on the shared q35/OVMF
6.1 boot log (tests/golden/test_profiles_calibration.py).
"""

from __future__ import annotations

from kmsan_tui.model.constants import PAGE_SIZE, pfn_down, pfn_up
from kmsan_tui.model.layout_types import E820Entry
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.strategies.base import MetadataStrategy

SZ_1M = 1 << 20
ISA_END_ADDRESS = 0x100000
SMP_CACHE_BYTES = 64


def e820_name(kind: str) -> str:
    """arch/x86/kernel/e820.c: e820_print_type(): the name a type is printed with."""
    return "persistent (type 7)" if kind == "persistent" else kind


def e820__memory_setup(m: Machine, kmsan: MetadataStrategy) -> None:
    m.log("BIOS-provided physical RAM map:")
    for e in m.layout.e820:
        m.log(f"BIOS-e820: [mem {e.start:#018x}-{e.end:#018x}] {e820_name(e.type)}")


def efi_memblock_x86_reserve_range(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/platform/efi/efi.c: efi_memblock_x86_reserve_range(): the EFI memory
    # map the boot stub passed in boot_params stays reserved.
    fw = m.layout.firmware
    if not fw.efi or fw.memmap is None:
        m.log("efi: not booted from EFI firmware: no EFI memory map", "note")
        return
    start, size = fw.memmap
    m.mb_reserve(start, size, "EFI memory map", "efi_memblock_x86_reserve_range")


def extended_e820(m: Machine) -> list[E820Entry]:
    """e820__reserve_setup_data(): every setup_data blob in usable RAM becomes its own
    entry (E820_TYPE_RESERVED_KERN, printed as usable), splitting the one it sat in."""
    out: list[E820Entry] = []
    blobs = sorted(m.layout.firmware.setup_data)
    for e in m.layout.e820:
        pos = e.start
        for start, end in blobs:
            if e.type != "usable" or end < e.start or start > e.end:
                continue
            if start > pos:
                out.append(E820Entry(pos, start - 1, e.type))
            out.append(E820Entry(start, end, e.type))
            pos = end + 1
        if pos <= e.end:
            out.append(E820Entry(pos, e.end, e.type))
    return out


def e820__reserve_setup_data(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/kernel/e820.c: e820__reserve_setup_data(): each blob, in the boot
    # loader's list order, is updated in e820_table and e820_table_kexec (two lines).
    fw = m.layout.firmware
    if not fw.setup_data:
        return
    for start, end in fw.setup_data:
        for _ in range(2):
            m.log(f"e820: update [mem {start:#010x}-{end:#010x}] usable ==> usable")
    m.log("extended physical RAM map:")
    for e in extended_e820(m):
        m.log(f"reserve setup_data: [mem {e.start:#018x}-{e.end:#018x}] {e820_name(e.type)}")


def efi_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # drivers/firmware/efi/efi.c: efi_init() -> efi_memattr_init(): the memory
    # attributes table is reserved (efi_mem_reserve) for the runtime services.
    fw = m.layout.firmware
    if not fw.efi:
        return
    if fw.version:
        m.log(f"efi: {fw.version}")
    if fw.memattr is not None:
        start, size = fw.memattr
        m.mb_reserve(start, size, "EFI memory attributes", "efi_memattr_init")


def efi_reserve_boot_services(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/platform/efi/quirks.c: efi_reserve_boot_services(): each
    # EFI_BOOT_SERVICES_CODE/DATA range nobody reserved yet is reserved, and freed
    # again by efi_free_boot_services() if it holds no part of the kernel image and is
    # all RAM (can_free_region()); ranges someone else reserved are left alone.
    fw = m.layout.firmware
    if not fw.efi:
        m.log("efi: no EFI boot services memory (BIOS firmware)", "note")
        return
    image = (m.config.image_base, m.config.image_base + m.image.reserved)
    for start, end in fw.boot_services:
        size = end + 1 - start
        if m.memblock.is_region_reserved(start, size):
            continue
        m.mb_reserve(start, size, "EFI boot services", "efi_reserve_boot_services")
        if not (end + 1 > image[0] and start <= image[1]) and _all_usable(m, start, end):
            m.boot_state.efi_boot_services.append((start, end))


def _all_usable(m: Machine, start: int, end: int) -> bool:
    """e820__mapped_all(start, end, E820_TYPE_RAM)."""
    return any(e.type == "usable" and e.start <= start and end <= e.end for e in m.layout.e820)


def efi_free_boot_services(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/platform/efi/quirks.c: efi_free_boot_services() (an initcall, after
    # page_alloc_init_late()): what efi_reserve_boot_services() reserved goes to the
    # buddy allocator through memblock_free_late(), except anything below 1 MiB
    # (the BIOS might clobber it; the crash kernel needs it).
    ranges = m.boot_state.efi_boot_services
    if not ranges:
        m.log("efi_free_boot_services: no EFI boot services memory to free", "note")
        return
    freed = 0
    for start, end in ranges:
        size = end + 1 - start
        if start + size < SZ_1M:
            continue
        if start < SZ_1M:
            size -= SZ_1M - start
            start = SZ_1M
        freed += size
        memblock_free_late(m, kmsan, start, size)
    m.boot_state.efi_boot_services = []
    m.log(f"efi: Freeing EFI boot services memory: {freed >> 10}K", "log",
          pfn_down(ranges[0][0]), freed >> 12)


def memblock_free_late(m: Machine, kmsan: MetadataStrategy, base: int, size: int) -> None:
    """mm/memblock.c: memblock_free_late(): whole pages of [base, base + size) to the
    buddy allocator one by one (order 0), each counted into totalram_pages, after
    memblock's reservation is dropped. Up to v6.8 this calls __free_pages_core()
    directly (KMSAN never sees the pages: they have no metadata); mainline frees
    through memblock_free_pages(), where KMSAN holds pages back again."""
    m.memblock.free(base, size, caller="memblock_free_late")
    m.drain_memblock_log()
    first, last = pfn_up(base), pfn_down(base + size)
    if last <= first:
        return
    m.owners.remove(first, last)
    if m.kmsan_active:
        kmsan.forget_metadata(m, first, last)
    if m.kmsan_active and m.profile.free_late_through_kmsan:
        before = m.counters.totalram_pages
        kmsan.memblock_free_pages(m, first, 0, last - first)
        m.counters.totalram_pages = before + last - first
    else:
        m.free_pages_core(first, 0, last - first)
        m.counters.totalram_pages += last - first


def acpi_boot_table_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # drivers/acpi/tables.c: acpi_table_init() -> acpi_reserve_initial_tables(): each
    # table the firmware left is reserved until parsed.
    tables = m.layout.firmware.acpi_tables
    if tables:
        for t in tables:
            last = t.start + t.length - 1
            m.log(f"ACPI: Reserving {t.signature} table memory at [mem {t.start:#x}-{last:#x}]")
            m.mb_reserve(t.start, t.length, "ACPI tables", "acpi_reserve_initial_tables")
        return
    # No table list: the tables sit at the start of "ACPI data", or (SeaBIOS without
    # one) in the reserved range right after low RAM; about 7 KiB on QEMU.
    for e in m.layout.e820:
        if e.type == "ACPI data":
            size = min(e.size, 0x1B33 if e.size <= 0x20000 else e.size // 64)
            m.log(f"ACPI: tables at [mem {e.start:#x}-{e.start + size - 1:#x}] (estimated)",
                  "note")
            m.mb_reserve(e.start, size, "ACPI tables", "acpi_reserve_initial_tables")
    if not any(e.type == "ACPI data" for e in m.layout.e820):
        for prev, e in zip(m.layout.e820, m.layout.e820[1:], strict=False):
            if prev.type == "usable" and e.type == "reserved" and e.start == prev.end + 1 \
                    and 0x100000 < e.start < 1 << 32 and e.size <= 0x40000:
                m.mb_reserve(e.start, 0x1B33, "ACPI tables", "acpi_reserve_initial_tables")
                break


def acpi_boot_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/kernel/acpi/boot.c: acpi_boot_init() parses the MADT and HPET tables;
    # hpet_insert_resource() and ioapic_setup_resources() take their resources (with
    # their names) from memblock: 73 and 75 bytes on QEMU.
    m.mb_alloc(73, SMP_CACHE_BYTES, "HPET resource", caller="hpet_insert_resource")
    m.mb_alloc(75, SMP_CACHE_BYTES, "IOAPIC resources", caller="ioapic_setup_resources")
    m.log(f"smpboot: Allowing {m.layout.cpus} CPUs, 0 hotplug CPUs")


def e820__reserve_resources(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/kernel/e820.c: e820__reserve_resources(): one struct resource (64 B)
    # per entry of the (extended) e820 table, plus one.
    entries = len(extended_e820(m))
    m.mb_alloc(64 * (entries + 1), SMP_CACHE_BYTES, "e820 resources",
               caller="e820__reserve_resources")
    # e820__setup_pci_gap() -> e820_search_gap(): walking the table from its last
    # entry down, the largest gap (at least 4 MiB; a lower one wins a tie) below 4 GiB.
    gap_size, gap_start = 0x400000, -1
    last = 0x100000000
    for e in reversed(extended_e820(m)):
        end = e.end + 1
        if last > end and last - end >= gap_size:
            gap_size, gap_start = last - end, end
        last = min(last, e.start)
    if gap_start >= 0:
        m.log(f"[mem {gap_start:#010x}-{gap_start + gap_size - 1:#010x}] available for "
              "PCI devices")


def reserve_setup_data(m: Machine) -> None:
    """arch/x86/kernel/setup.c: memblock_x86_reserve_range_setup_data()."""
    for start, end in m.layout.firmware.setup_data:
        m.mb_reserve(start, end + 1 - start, "setup_data", "memblock_x86_reserve_range_setup_data")


def page_aligned(size: int) -> int:
    """PAGE_ALIGN()."""
    return -(-size // PAGE_SIZE) * PAGE_SIZE
