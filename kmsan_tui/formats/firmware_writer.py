"""The [firmware] table of an imported layout: what EFI firmware left in memory (its
memory map, the memory attributes table, setup_data blobs, boot-services ranges) and
where the ACPI tables are, from the lines a 6.x kernel prints about them.

- ACPI tables: acpi_reserve_initial_tables()'s "ACPI: Reserving XXXX table memory at".
- setup_data: e820__reserve_setup_data()'s "e820: update [mem ...] usable ==> usable".
- The memory attributes table: "efi: ... MEMATTR=0x..." and its region in the first
  MEMBLOCK dump (memblock=debug); the EFI memory map: the region of that dump that
  nothing else explains (efi_memblock_x86_reserve_range()).
- Boot services: efi_reserve_boot_services()'s memblock_reserve lines (memblock=debug),
  else the "Boot Code"/"Boot Data" descriptors of efi=debug.

What is missing is said, with the size the kernel gave back later when it printed it.
"""

from __future__ import annotations

from kmsan_tui.formats.facts import BootFacts, Note
from kmsan_tui.formats.image import ImagePlace

EFI_DESCRIPTOR_SIZE = 48  # sizeof(efi_memory_desc_t) as OVMF and most firmware pass it


def _merge(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for start, end in sorted(ranges):
        if out and start <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    return out


def _inside_ram(facts: BootFacts, start: int, end: int) -> bool:
    return any(e.type == 1 and e.start <= start and end <= e.end for e in facts.e820)


def boot_services(facts: BootFacts, notes: list[Note]) -> list[tuple[int, int]]:
    """The boot-services ranges efi_reserve_boot_services() reserved, merged."""
    if facts.boot_services_reserved:
        ranges = _merge(facts.boot_services_reserved)
        how = f"the memblock_reserve lines after the first MEMBLOCK dump (line {facts.boot_services_line})"
    else:
        ranges = _merge([(r.start, r.end) for r in facts.efi_memmap
                         if r.type in ("Boot Code", "Boot Data")])
        how = "the Boot Code/Data descriptors of efi=debug"
    if not ranges:
        freed = facts.efi_boot_services_freed_k
        notes.append(Note("missing", "EFI boot-services ranges (boot with memblock=debug or efi=debug): "
                                     "none reserved in the simulated boot"
                                     + (f", {freed}K fewer reserved than the real one" if freed else "")))
        return []
    kept = [(a, b) for a, b in ranges if _inside_ram(facts, a, b)]
    if len(kept) < len(ranges):
        notes.append(Note("warning", f"{len(ranges) - len(kept)} boot-services range(s) outside usable "
                                     "RAM left out"))
    above = sum(b + 1 - a for a, b in kept if a >= 0x100000) >> 10
    freed = facts.efi_boot_services_freed_k
    agree = "" if freed is None else (
        f", as \"Freeing EFI boot services memory: {freed}K\" says" if freed == above
        else f"; the kernel later freed {freed}K")
    notes.append(Note("found", f"EFI boot services: {len(kept)} range(s), {above}K above 1 MiB, "
                               f"from {how}{agree}"))
    return kept


def _first_dump_region(facts: BootFacts, start: int) -> tuple[int, int] | None:
    return next(((a, b) for a, b in facts.first_reserved if a == start), None)


def efi_memmap(facts: BootFacts, image: ImagePlace | None) -> tuple[int, int] | None:
    """(start, size) of the EFI memory map: the first dump's region nothing else
    explains (above 1 MiB, not the image, initrd, setup_data or memattr)."""
    known = list(facts.setup_data)
    if facts.ramdisk:
        known.append(facts.ramdisk)
    if image:
        known.append((image.base, image.base + image.span - 1))
    if facts.memattr_addr is not None:
        region = _first_dump_region(facts, facts.memattr_addr)
        if region:
            known.append(region)
    left = [(a, b) for a, b in facts.first_reserved
            if a >= 0x100000 and not any(a <= k_end and b >= k_start for k_start, k_end in known)]
    sized = [(a, b) for a, b in left if (b + 1 - a) % EFI_DESCRIPTOR_SIZE == 0]
    pick = sized or left
    if len(pick) != 1:
        return None
    a, b = pick[0]
    return a, b + 1 - a


def firmware_lines(facts: BootFacts, image: ImagePlace | None, notes: list[Note]) -> list[str]:
    """The [firmware] table (empty for a BIOS boot that printed no ACPI reservations)."""
    lines: list[str] = []
    if facts.efi:
        lines += ['type = "efi"', f"version = {_string(facts.efi_version)}"]
        memmap = efi_memmap(facts, image)
        if memmap:
            lines.append(f"memmap = {{ start = {memmap[0]:#x}, size = {memmap[1]:#x} }}"
                         "  # the first MEMBLOCK dump's region left")
        else:
            notes.append(Note("missing", "where the EFI memory map is (boot with memblock=debug): "
                                         "not reserved in the simulated boot"))
        region = _first_dump_region(facts, facts.memattr_addr) if facts.memattr_addr else None
        if region:
            lines.append(f"memattr = {{ start = {region[0]:#x}, size = {region[1] + 1 - region[0]:#x} }}"
                         "  # efi: MEMATTR=")
        elif facts.memattr_addr is not None:
            notes.append(Note("missing", "the EFI memory attributes table's size (boot with "
                                         "memblock=debug): not reserved in the simulated boot"))
        if facts.setup_data:
            lines.append("# e820: update [mem ...] usable ==> usable, in the log's order")
            lines.append("setup_data = [")
            lines += [f"  {{ start = {a:#x}, end = {b:#x} }}," for a, b in facts.setup_data
                      if _inside_ram(facts, a, b)]
            lines.append("]")
        ranges = boot_services(facts, notes)
        if ranges:
            lines.append("boot_services = [")
            lines += [f"  {{ start = {a:#x}, end = {b:#x} }}," for a, b in ranges]
            lines.append("]")
    if facts.acpi_tables:
        lines.append("# ACPI: Reserving ... table memory at")
        lines.append("acpi_tables = [")
        for sig, start, length in facts.acpi_tables:
            if sig.isascii() and sig.isprintable():
                lines.append(f"  {{ signature = {_string(sig)}, start = {start:#x}, length = {length:#x} }},")
        lines.append("]")
    return ["", "[firmware]", *lines] if lines else []


def _string(text: str) -> str:
    import json

    return json.dumps(text)
