"""What a boot log or /proc/iomem says about a machine, and what its reader noticed.

A reader (``dmesg.read_dmesg``, ``iomem.read_iomem``) fills one ``BootFacts`` from an
untrusted file; ``layout_writer`` turns it into a layout and ``reality`` compares it
with a simulated boot. Each fact keeps the line it came from, so the notes printed to
the user can say where it was found, and every problem is a ``Note`` rather than a
traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kmsan_tui.formats.e820 import Range


@dataclass(frozen=True, slots=True)
class Note:
    """Something the user should know: a fact "found", "missing", "assumed", or a
    "warning" about a line that was not used."""

    kind: str
    text: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.text}"


@dataclass(frozen=True, slots=True)
class MemoryLine:
    """mem_init_print_info(): "Memory: %luK/%luK available (...)", in KiB."""

    available_k: int
    total_k: int
    code_k: int
    rwdata_k: int
    rodata_k: int
    init_k: int
    bss_k: int
    reserved_k: int
    cma_k: int
    line: int

    @property
    def totalram_k(self) -> int:
        """totalram_pages in KiB: the kernel prints reserved = physpages - totalram - cma."""
        return self.total_k - self.reserved_k - self.cma_k


@dataclass(frozen=True, slots=True)
class Span:
    """A node's or zone's physical range [start, end) and the line that printed it."""

    nid: int
    start: int
    end: int
    line: int


@dataclass(frozen=True, slots=True)
class EfiRegion:
    """One "efi: memNN:" line of efi=debug: the descriptor's type, range and attributes."""

    type: str
    start: int
    end: int  # inclusive
    attrs: str
    line: int


@dataclass(slots=True)
class BootFacts:
    """Everything a reader found. Filled in by one reader, then only read."""

    source: str
    kind: str  # "dmesg" or "iomem"
    release_text: str | None = None
    release_line: int = 0
    cmdline: str | None = None
    cmdline_line: int = 0
    e820: list[Range] = field(default_factory=list)
    e820_origin: str = ""
    setup_data: list[tuple[int, int]] = field(default_factory=list)
    efi: bool = False
    efi_version: str = ""
    efi_memmap: list[EfiRegion] = field(default_factory=list)
    efi_boot_services_freed_k: int | None = None
    boot_services_reserved: list[tuple[int, int]] = field(default_factory=list)  # inclusive
    boot_services_line: int = 0
    memattr_addr: int | None = None
    acpi_tables: list[tuple[str, int, int]] = field(default_factory=list)  # (signature, start, length)
    fake_nodes: list[Span] = field(default_factory=list)
    initmem_nodes: list[Span] = field(default_factory=list)
    node_ranges: list[Span] = field(default_factory=list)  # "Early memory node ranges"
    zone_ranges: dict[str, tuple[int, int] | None] = field(default_factory=dict)
    unavailable: list[tuple[int, str, int]] = field(default_factory=list)
    node_data: dict[int, tuple[int, int]] = field(default_factory=dict)
    cpus: int | None = None
    cpus_line: int = 0
    cpus_how: str = ""  # where the CPU count came from, when not from a line
    nr_cpus_config: int | None = None  # CONFIG_NR_CPUS, from "setup_percpu: NR_CPUS:"
    pcpu_groups: list[list[int]] = field(default_factory=list)
    percpu_pages: int | None = None
    percpu_static: int | None = None
    percpu_reserved: int | None = None
    percpu_line: int = 0
    memory: MemoryLine | None = None
    sanitizer: str | None = None
    sanitizer_evidence: str = ""
    ramdisk: tuple[int, int] | None = None  # inclusive
    ramdisk_line: int = 0
    first_reserved: list[tuple[int, int]] = field(default_factory=list)  # inclusive
    memblock_dumps: int = 0
    kfence: bool = False
    kmemleak: bool = False
    debug_objects: bool = False
    pageblock_order: int | None = None
    pageblock_line: int = 0
    image_sections: dict[str, tuple[int, int]] = field(default_factory=dict)  # iomem: inclusive
    crashkernel: tuple[int, int] | None = None
    notes: list[Note] = field(default_factory=list)

    def note(self, kind: str, text: str) -> None:
        self.notes.append(Note(kind, text))

    def warn(self, line: int, text: str) -> None:
        self.notes.append(Note("warning", f"line {line}: {text}"))

    @property
    def ram_bytes(self) -> int:
        return sum(e.end + 1 - e.start for e in self.e820 if e.type == 1)

    def cmdline_options(self) -> dict[str, str]:
        """The command line's key=value words (the last one wins, as in the kernel)."""
        out: dict[str, str] = {}
        for word in (self.cmdline or "").split():
            key, _, value = word.partition("=")
            out[key] = value
        return out
