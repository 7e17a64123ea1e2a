"""Reading /proc/iomem: the e820 map as the kernel registered it (e820__reserve_resources()
names each range by its type) and the kernel image's sections nested in System RAM.

The top-level ranges with an e820 name make the firmware map; everything else at the
top (PCI windows, device MMIO, "PCI MMCONFIG") is not memory and is left out. The
kernel had already reserved page 0 (trim_bios_range()): a "Reserved" [0, 0xfff]
right before System RAM at 0x1000 is put back to usable, so the layout holds the
firmware's map and the model makes the fix-up itself, as it does for a boot log.

Read without CAP_SYS_ADMIN, /proc/iomem shows every address as 0: that is refused with
a message saying so.
"""

from __future__ import annotations

import re

from kmsan_tui.formats import e820 as e820mod
from kmsan_tui.formats.facts import BootFacts
from kmsan_tui.formats.logscan import MAX_LINE
from kmsan_tui.model.errors import UserError

_LINE = re.compile(r"( {0,32})([0-9a-fA-F]{1,16})-([0-9a-fA-F]{1,16}) : (.{1,128})")
# kernel/resource.c names from arch/x86/kernel/e820.c e820_type_to_string().
IOMEM_TYPES = {"System RAM": e820mod.E820_RAM, "Reserved": e820mod.E820_RESERVED,
               "ACPI Tables": e820mod.E820_ACPI, "ACPI Non-volatile Storage": e820mod.E820_NVS,
               "Unusable memory": e820mod.E820_UNUSABLE,
               "Persistent Memory (legacy)": e820mod.E820_PRAM,
               "Persistent Memory": e820mod.E820_PMEM,
               "Soft Reserved": e820mod.E820_SOFT_RESERVED}
IMAGE_SECTIONS = ("Kernel code", "Kernel rodata", "Kernel data", "Kernel bss")
MAX_ENTRIES = 65536


def read_iomem(text: str, source: str) -> BootFacts:
    """The facts of a /proc/iomem capture."""
    facts = BootFacts(source, "iomem")
    entries: list[e820mod.Range] = []
    lines = 0
    all_zero = True
    skipped = 0
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        if len(raw) > MAX_LINE:
            facts.warn(number, f"{len(raw)} characters long: skipped")
            continue
        m = _LINE.fullmatch(raw.rstrip())
        if not m:
            facts.warn(number, f"not a /proc/iomem line: {raw.strip()[:60]!r}")
            continue
        lines += 1
        if lines > MAX_ENTRIES:
            raise UserError(f"{source}: line {number}: more than {MAX_ENTRIES} entries: "
                            "not /proc/iomem")
        depth, start, end, name = len(m[1]) // 2, int(m[2], 16), int(m[3], 16), m[4].strip()
        all_zero = all_zero and start == 0 and end == 0
        if end < start:
            facts.warn(number, f"{name!r} ends before it starts: skipped")
            continue
        if depth == 0:
            kind = IOMEM_TYPES.get(name)
            if kind is None:
                skipped += 1
                continue
            if kind == e820mod.E820_SOFT_RESERVED:
                facts.warn(number, "Soft Reserved memory (EFI specific-purpose) is taken as reserved")
                kind = e820mod.E820_RESERVED
            entries.append(e820mod.Range(start, end, kind, number))
        elif name in IMAGE_SECTIONS:
            facts.image_sections[name] = (start, end)
        elif name == "Crash kernel":
            facts.crashkernel = (start, end)
    if lines and all_zero:
        raise UserError(f"{source}: every address is 0: /proc/iomem was read without root "
                        "(CAP_SYS_ADMIN); read it as root")
    if not entries:
        raise UserError(f"{source}: no System RAM or Reserved range at the top level: not /proc/iomem")
    overlapping = [b.line for a, b in zip(entries, entries[1:], strict=False) if b.start <= a.end]
    if overlapping:
        facts.warn(overlapping[0], "ranges overlap or are out of order: sanitized as the kernel "
                                   "does (the higher type wins)")
    table = e820mod.sanitize(entries)
    if len(table) >= 2 and table[0].start == 0 and table[0].end == 0xFFF and \
            table[0].type == e820mod.E820_RESERVED and table[1].start == 0x1000 and \
            table[1].type == e820mod.E820_RAM:
        table[0:2] = [e820mod.Range(0, table[1].end, e820mod.E820_RAM, table[1].line)]
    facts.e820 = e820mod.merge(table)
    facts.e820_origin = "the top-level ranges of /proc/iomem (page 0 given back to RAM)"
    if skipped:
        facts.note("found", f"{skipped} top-level ranges that are not e820 memory (PCI, devices) left out")
    return facts
