"""Reading a boot log (dmesg, a serial console capture, journalctl -k): the facts about
memory the kernel prints while it boots, in the formats of the kernel that printed them.

What is read, and from which function's output:

- ``Linux version``, ``Command line:`` / ``Kernel command line:`` (init/main.c,
  arch/x86/kernel/setup.c);
- the e820 tables (e820__print_table(): BIOS-e820, "reserve setup_data" of the
  extended map, "user" after mem=/memmap=, "modified") and the fix-ups printed after
  the last one (``e820: update``/``remove``); the two every boot prints are left to
  the model, which makes them itself;
- EFI: ``efi: EFI v…``, the ``efi: memNN:`` descriptors of efi=debug, the size given
  back by efi_free_boot_services();
- NUMA: ``Faking node``, ``Initmem setup node``, ``Early memory node ranges``,
  ``NODE_DATA``; zones: ``Zone ranges:`` and memmap_init()'s unavailable ranges;
- CPUs: ``smpboot: Allowing``, ``setup_percpu:``, ``pcpu-alloc:`` groups; the percpu
  first chunk (``percpu: Embedded``);
- the ``Memory:`` line, the sanitizer's banner, ``RAMDISK:``, the first
  ``MEMBLOCK configuration:`` dump (memblock=debug) and the debug features that
  allocate early memory (kfence, kmemleak, ODEBUG).

Only the first boot of a capture is read. Nothing here raises on a bad line: it is
skipped with a warning naming it.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from kmsan_tui.formats import e820 as e820mod
from kmsan_tui.formats.facts import BootFacts, EfiRegion, MemoryLine, Span
from kmsan_tui.formats.logscan import HEX, Message, addr, messages

MAX_E820 = 4096  # far above E820_MAX_ENTRIES: more is not a kernel's table
PHYS_LIMIT = 1 << 52  # x86_64 physical addresses are at most 52 bits

_VERSION = re.compile(r"Linux version (\S{1,128})")
_CMDLINE = re.compile(r"(?:Kernel c|C)ommand line: (.{0,2048})")
_TABLE_HEAD = re.compile(r"(BIOS-provided|extended|user-defined|modified) physical RAM map:")
# e820__print_table(who): the names its callers give (x86_init memory_setup, setup_data,
# mem=/memmap=, e820__update_table_print()).
_E820 = re.compile(rf"(BIOS-e820|BIOS-88|BIOS-e801|Xen|reserve setup_data|user|modified): "
                   rf"\[mem ({HEX})-({HEX})\] (.{{1,40}})")
_E820_OLD = re.compile(r" ?BIOS-e820: ([0-9a-f]{16}) - ([0-9a-f]{16}) \((.{1,40})\)")
_E820_OP = re.compile(rf"e820: (update|remove) \[mem ({HEX})-({HEX})\] ?(.{{0,60}})")
_EFI_VERSION = re.compile(r"efi: (EFI v\S{1,16} by .{1,64})")
_EFI_MEM = re.compile(rf"efi: mem\d{{1,4}}: \[([^|\]]{{1,24}})\|?([^\]]{{0,80}})\] "
                      rf"range=\[({HEX})-({HEX})\]")
_EFI_TABLES = re.compile(rf"efi: .{{0,200}}MEMATTR=({HEX})")
_ACPI_RESERVING = re.compile(rf"ACPI: Reserving (\w{{4}}) table memory at \[mem ({HEX})-({HEX})\]")
_EFI_FREED = re.compile(r"efi: Freeing EFI boot services memory: (\d{1,15})K")
_FAKE_NODE = re.compile(rf"Faking node (\d{{1,4}}) at \[mem ({HEX})-({HEX})\]")
_INITMEM = re.compile(rf"Initmem setup node (\d{{1,4}}) \[mem ({HEX})-({HEX})\]")
_NODE_RANGE = re.compile(rf"\s*node\s+(\d{{1,4}}): \[mem ({HEX})-({HEX})\]")
_NODE_DATA = re.compile(rf"NODE_DATA\((\d{{1,4}})\) allocated \[mem ({HEX})-({HEX})\]")
_ZONE = re.compile(rf"\s+(DMA|DMA32|Normal|HighMem|Movable|Device)\s+(?:\[mem ({HEX})-({HEX})\]|(empty))")
_UNAVAILABLE = re.compile(r"On node (\d{1,4}), zone (\w{1,16}): (\d{1,15}) pages in unavailable ranges")
_ALLOWING = re.compile(r"smpboot: Allowing (\d{1,5}) CPUs, (\d{1,5}) hotplug CPUs")
_SETUP_PERCPU = re.compile(r"setup_percpu: NR_CPUS:(\d{1,5}) nr_cpumask_bits:\d{1,5} "
                           r"nr_cpu_ids:(\d{1,5}) nr_node_ids:(\d{1,4})")
_PCPU_ALLOC = re.compile(r"pcpu-alloc: ((?:\[\d{1,4}\](?: +(?:\d{1,5}|-+))*\s*){1,64})")
_PCPU_SUMMARY = re.compile(r"pcpu-alloc: s(\d{1,12}) r(\d{1,12}) d(\d{1,12}) u(\d{1,12})")
_PERCPU = re.compile(r"percpu: (?:Embedded (\d{1,7}) pages/cpu|(\d{1,7}) \d{1,4}K pages/cpu) "
                     r"s(\d{1,12}) r(\d{1,12}) d(\d{1,12})")
_MEMORY = re.compile(r"Memory: (\d{1,15})K/(\d{1,15})K available \(([^()]{1,400})\)")
_MEMORY_PART = re.compile(r"(\d{1,15})K ([a-z][a-z -]{0,20}[a-z])")
_RAMDISK = re.compile(rf"RAMDISK: \[mem ({HEX})-({HEX})\]")
_DUMP_RESERVED = re.compile(rf"\s*reserved\[0x[0-9a-f]{{1,8}}\]\s+\[({HEX})-({HEX})\]")
_MB_RESERVE = re.compile(rf"memblock_reserve: \[({HEX})-({HEX})\] (\S{{1,96}})")
_MB_OTHER = re.compile(r"memblock_\w{1,32}: ")
_PAGEBLOCK = re.compile(r"Page block order: (\d{1,2})")
_SANITIZERS = (("Starting KernelMemorySanitizer", "kmsan"), ("KMSAN is a debugging tool", "kmsan"),
               ("KernelAddressSanitizer initialized", "kasan"))


class _Reader:
    """The state of one pass over a log: the e820 tables seen so far and the facts."""

    def __init__(self, facts: BootFacts) -> None:
        self.f = facts
        self.tables: list[tuple[str, int, list[e820mod.Range]]] = []  # (who, line, entries)
        self.ops: list[tuple[str, int, int, int | None, int | None, int]] = []
        self.in_zone_ranges = False
        self.boots = 0
        # efi_reserve_boot_services(): the run of memblock_reserve lines from one caller
        # right after the first MEMBLOCK dump of an EFI boot (None: not started yet).
        self.bs_caller: str | None = None
        self.bs_closed = False

    # ------------------------------------------------------------------ e820
    def e820_entry(self, msg: Message, who: str, start: int, end: int, kind: str) -> None:
        typ = e820mod.type_of(kind)
        if typ is None:
            self.f.warn(msg.line, f"e820 type {kind.strip()!r} is not one the kernel prints: skipped")
            return
        if end < start:
            self.f.warn(msg.line, f"e820 range ends at {end:#x} before it starts at {start:#x}: skipped")
            return
        if start >= PHYS_LIMIT:
            self.f.warn(msg.line, f"e820 range at {start:#x} is beyond 52-bit physical addresses: skipped")
            return
        if not self.tables or self.tables[-1][0] != who:
            self.tables.append((who, msg.line, []))
            self.ops = []  # fix-ups printed before this table are already in it
        entries = self.tables[-1][2]
        if len(entries) >= MAX_E820:
            self.f.warn(msg.line, f"more than {MAX_E820} e820 entries: the rest is skipped")
            return
        entries.append(e820mod.Range(start, min(end, PHYS_LIMIT - 1), typ, msg.line))

    def e820_op(self, msg: Message, m: re.Match[str]) -> None:
        op, start, end, rest = m[1], addr(m[2]), addr(m[3]), m[4].strip()
        if end < start:
            self.f.warn(msg.line, f"e820 {op} of an empty range: skipped")
            return
        if op == "update":
            old, _, new = rest.partition(" ==> ")
            old_t, new_t = e820mod.type_of(old), e820mod.type_of(new)
            if old_t is None or new_t is None:
                self.f.warn(msg.line, f"e820 update between unknown types {rest!r}: skipped")
                return
            if old_t == new_t:  # setup_data: RAM kept as E820_TYPE_RESERVED_KERN
                if old_t == e820mod.E820_RAM and (start, end) not in self.f.setup_data:
                    self.f.setup_data.append((start, end))
                return
            self.ops.append((op, start, end, old_t, new_t, msg.line))
        else:
            old_t = e820mod.type_of(rest) if rest else None
            if rest and old_t is None:
                self.f.warn(msg.line, f"e820 remove of unknown type {rest!r}: skipped")
                return
            self.ops.append((op, start, end, old_t, None, msg.line))

    def finish_e820(self) -> None:
        if not self.tables:
            return
        who, line, entries = self.tables[-1]
        table = e820mod.sanitize(entries)
        if len(table) != len(e820mod.sanitize(e820mod.merge(entries))) or any(
                b.start <= a.end for a, b in zip(entries, entries[1:], strict=False)):
            overlapping = [b.line for a, b in zip(entries, entries[1:], strict=False) if b.start <= a.end]
            if overlapping:
                self.f.warn(overlapping[0], "e820 entries overlap or are out of order: "
                                            "sanitized as the kernel does (the higher type wins)")
        applied = 0
        for op, start, end, old, new, _ in self.ops:
            if e820mod.is_standard_fixup(op, start, end):
                continue
            applied += 1
            if op == "update" and old is not None and new is not None:
                table = e820mod.update_range(table, start, end, old, new)
            else:
                table = e820mod.remove_range(table, start, end, old)
        self.f.e820 = e820mod.merge(table)
        self.f.e820_origin = f"the {who} table at line {line}" + (
            f" and {applied} e820 fix-up(s) printed after it" if applied else "")

    # ------------------------------------------------------------------ lines
    def take(self, msg: Message) -> bool:
        """Read one message; False once a second boot starts."""
        text = msg.text
        f = self.f
        if m := _VERSION.search(text):
            self.boots += 1
            if self.boots > 1:
                f.note("warning", f"line {msg.line}: a second boot starts here: only the first is read")
                return False
            f.release_text, f.release_line = m[1], msg.line
            return True
        if text.startswith("Zone ranges:"):
            self.in_zone_ranges = True
            return True
        if self.in_zone_ranges:
            if m := _ZONE.fullmatch(text):
                f.zone_ranges[m[1]] = None if m[4] else (addr(m[2]), addr(m[3]) + 1)
                return True
            self.in_zone_ranges = False
        for pattern, handler in _HANDLERS:
            m = pattern.match(text)
            if m:
                handler(self, msg, m)
                return True
        for marker, name in _SANITIZERS:
            if marker in text and f.sanitizer is None:
                f.sanitizer, f.sanitizer_evidence = name, f"line {msg.line}: {marker}"
        if "kmemleak: Kernel memory leak detector initialized" in text:
            f.kmemleak = True
        elif text.startswith("ODEBUG: "):
            f.debug_objects = True
        elif text.startswith("kfence: initialized"):
            f.kfence = True
        return True


def _cmdline(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    if r.f.cmdline is None:
        r.f.cmdline, r.f.cmdline_line = m[1].strip(), msg.line


def _e820(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    r.e820_entry(msg, m[1].strip(), addr(m[2]), addr(m[3]), m[4])


def _e820_old(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    start, end = int(m[1], 16), int(m[2], 16)  # pre-3.x kernels: end exclusive
    r.e820_entry(msg, "BIOS-e820", start, end - 1, m[3])


def _efi_version(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    r.f.efi, r.f.efi_version = True, m[1].strip()


def _efi_mem(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    start, end = addr(m[3]), addr(m[4])
    if end >= start:
        r.f.efi_memmap.append(EfiRegion(m[1].strip(), start, end, m[2].strip(), msg.line))


def _efi_freed(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    r.f.efi_boot_services_freed_k = int(m[1])


def _span(target: str) -> Callable[[_Reader, Message, re.Match[str]], None]:
    def handle(r: _Reader, msg: Message, m: re.Match[str]) -> None:
        start, end = addr(m[2]), addr(m[3])
        if end < start or start >= PHYS_LIMIT:
            r.f.warn(msg.line, "a node range that ends before it starts: skipped")
            return
        getattr(r.f, target).append(Span(int(m[1]), start, end + 1, msg.line))
    return handle


def _node_data(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    r.f.node_data[int(m[1])] = (addr(m[2]), addr(m[3]))


def _unavailable(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    r.f.unavailable.append((int(m[1]), m[2], int(m[3])))


def _allowing(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    if r.f.cpus is None:
        r.f.cpus, r.f.cpus_line = int(m[1]), msg.line


def _setup_percpu(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    r.f.nr_cpus_config = int(m[1])
    r.f.cpus, r.f.cpus_line = int(m[2]), msg.line  # nr_cpu_ids: the possible CPUs


def _pcpu_alloc(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    for token in m[1].split():
        if token.startswith("["):
            r.f.pcpu_groups.append([])
        elif token.isdigit() and r.f.pcpu_groups:
            r.f.pcpu_groups[-1].append(int(token))


def _pcpu_summary(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    # pcpu_dump_alloc_info(): the first chunk's static, reserved and dynamic sizes; the
    # "percpu: Embedded" line says the same in pages, but a UP kernel prints only this.
    if r.f.percpu_pages is None:
        static, reserved, dyn = int(m[1]), int(m[2]), int(m[3])
        r.f.percpu_pages = -(-(static + reserved + dyn) // 4096)
        r.f.percpu_static, r.f.percpu_reserved, r.f.percpu_line = static, reserved, msg.line


def _percpu(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    r.f.percpu_pages = int(m[1] or m[2])
    r.f.percpu_static, r.f.percpu_reserved = int(m[3]), int(m[4])
    r.f.percpu_line = msg.line


def _memory(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    memory = parse_memory_line(msg.text, msg.line)
    if memory is None:
        r.f.warn(msg.line, "a Memory: line without the kernel's sections: skipped")
    elif r.f.memory is None:
        r.f.memory = memory


def parse_memory_line(text: str, line: int = 0) -> MemoryLine | None:
    """A ``Memory:`` line's figures (None if ``text`` is not one)."""
    m = _MEMORY.search(text)
    if not m:
        return None
    parts = {name: int(value) for value, name in _MEMORY_PART.findall(m[3])}
    if any(k not in parts for k in ("kernel code", "rwdata", "rodata", "init", "bss", "reserved")):
        return None
    return MemoryLine(int(m[1]), int(m[2]), parts["kernel code"], parts["rwdata"], parts["rodata"],
                      parts["init"], parts["bss"], parts["reserved"], parts.get("cma-reserved", 0),
                      line)


def _ramdisk(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    start, end = addr(m[1]), addr(m[2])
    if end >= start:
        r.f.ramdisk, r.f.ramdisk_line = (start, end), msg.line


def _dump_head(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    r.f.memblock_dumps += 1
    if r.bs_caller is not None:
        r.bs_closed = True


def _dump_reserved(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    if r.f.memblock_dumps == 1:
        start, end = addr(m[1]), addr(m[2])
        if end >= start:
            r.f.first_reserved.append((start, end))


def _mb_reserve(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    start, end, caller = addr(m[1]), addr(m[2]), m[3]
    if end < start:
        return
    if caller.startswith("efi_reserve_boot_services"):  # with kallsyms: named
        r.f.boot_services_reserved.append((start, end))
        r.f.boot_services_line = r.f.boot_services_line or msg.line
        return
    if not r.f.efi or r.f.memblock_dumps != 1 or r.bs_closed:
        return
    # Without kallsyms the caller is an address: the reservations efi_reserve_boot_services()
    # makes right after e820__memblock_setup()'s dump, all from one call site.
    if r.bs_caller is None:
        r.bs_caller = caller
    if caller == r.bs_caller:
        r.f.boot_services_reserved.append((start, end))
        r.f.boot_services_line = r.f.boot_services_line or msg.line
    else:
        r.bs_closed = True


def _mb_other(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    if r.bs_caller is not None:
        r.bs_closed = True  # the first allocation after the run ends it


def _efi_tables(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    r.f.memattr_addr = addr(m[1])


def _acpi_reserving(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    start, end = addr(m[2]), addr(m[3])
    if end >= start and len(r.f.acpi_tables) < 256:
        r.f.acpi_tables.append((m[1], start, end + 1 - start))


def _pageblock(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    if r.f.pageblock_order is None:
        r.f.pageblock_order, r.f.pageblock_line = int(m[1]), msg.line


def _table_head(r: _Reader, msg: Message, m: re.Match[str]) -> None:
    pass  # the entries name their table ("BIOS-e820", "reserve setup_data", "user")


_HANDLERS: tuple[tuple[re.Pattern[str], Callable[[_Reader, Message, re.Match[str]], None]], ...] = (
    (_CMDLINE, _cmdline), (_TABLE_HEAD, _table_head), (_E820_OP, lambda r, msg, m: r.e820_op(msg, m)),
    (_E820_OLD, _e820_old), (_EFI_VERSION, _efi_version), (_EFI_MEM, _efi_mem),
    (_EFI_FREED, _efi_freed), (_FAKE_NODE, _span("fake_nodes")), (_INITMEM, _span("initmem_nodes")),
    (_NODE_RANGE, _span("node_ranges")), (_NODE_DATA, _node_data), (_UNAVAILABLE, _unavailable),
    (_ALLOWING, _allowing), (_SETUP_PERCPU, _setup_percpu), (_PCPU_SUMMARY, _pcpu_summary),
    (_PCPU_ALLOC, _pcpu_alloc),
    (_PERCPU, _percpu), (_MEMORY, _memory), (_RAMDISK, _ramdisk),
    (re.compile(r"MEMBLOCK configuration:"), _dump_head), (_DUMP_RESERVED, _dump_reserved),
    (_MB_RESERVE, _mb_reserve), (_MB_OTHER, _mb_other), (_EFI_TABLES, _efi_tables),
    (_ACPI_RESERVING, _acpi_reserving), (_PAGEBLOCK, _pageblock), (_E820, _e820),
)


def read_dmesg(text: str, source: str) -> BootFacts:
    """The facts of the first boot in ``text`` (a log's content; ``source`` names it)."""
    facts = BootFacts(source, "dmesg")
    reader = _Reader(facts)
    warnings: list[tuple[int, str]] = []
    for msg in messages(text, warnings):
        if not reader.take(msg):
            break
    reader.finish_e820()
    if facts.cpus is None and facts.pcpu_groups:
        # A kernel without smpboot (UP) still prints its percpu groups: their CPUs.
        facts.cpus = sum(len(g) for g in facts.pcpu_groups)
        facts.cpus_how = "the pcpu-alloc groups (no smpboot or setup_percpu line)"
    for line, text_ in warnings[:20]:
        facts.warn(line, text_)
    if len(warnings) > 20:
        facts.note("warning", f"{len(warnings) - 20} more unreadable lines")
    return facts
