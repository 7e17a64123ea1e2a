"""What a layout describes: the firmware map, NUMA nodes, CPUs and the kernel build.

Plain frozen values, read by the machine and the boot steps; the TOML loader that
builds them (and validates every key) is ``kmsan_tui.model.layout``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from kmsan_tui.model.profiles import KERNELS

__all__ = ["DEFAULT_CMDLINE", "E820_TYPES", "FIRMWARE_TYPES", "KERNELS", "SANITIZERS",
           "AcpiTable", "E820Entry", "Firmware", "KernelConfig", "KernelImage", "Layout", "Node",
           "default_image"]

E820_TYPES = ("usable", "reserved", "ACPI data", "ACPI NVS", "unusable", "persistent")
SANITIZERS = ("kmsan", "kasan", "none")
FIRMWARE_TYPES = ("bios", "efi")
# The command line of the shared 6.1 boot logs (its length sizes setup_command_line()).
DEFAULT_CMDLINE = "console=ttyS0 panic=-1 loglevel=8 memblock=debug"


@dataclass(frozen=True, slots=True)
class E820Entry:
    """One BIOS-e820 line: [start, end] inclusive, as the kernel prints it."""

    start: int
    end: int
    type: str

    @property
    def size(self) -> int:
        return self.end + 1 - self.start


@dataclass(frozen=True, slots=True)
class Node:
    """A NUMA node's physical range [start, end) and the CPUs on it."""

    nid: int
    start: int
    end: int
    cpus: int


@dataclass(frozen=True, slots=True)
class KernelImage:
    """Section sizes of the kernel image in bytes, as `Memory:` prints them (>> 10)."""

    code: int
    rwdata: int
    rodata: int
    init: int
    bss: int
    reserved: int  # _text .. _end (+ brk) reserved by early_reserve_memory()
    percpu_pages: int  # "percpu: Embedded N pages/cpu"
    percpu_static: int = 0  # .data..percpu bytes ("s" in the percpu line); 0 = derive
    percpu_reserved: int = 0  # PERCPU_MODULE_RESERVE: 8K with CONFIG_MODULES ("r")
    rwdata_offset: int = 0  # _sdata - _text when known (/proc/iomem "Kernel data"); 0 = derive

    @property
    def data_offset(self) -> int:
        """Where .data starts in the image: given, or after text and rodata.

        arch/x86/kernel/vmlinux.lds.S: text, rodata and data each start 2 MiB aligned
        ("Freeing unused kernel image (text/rodata gap)" in the boot logs); text runs a
        little past the printed code size when head text is counted apart, which only
        /proc/iomem shows (rwdata_offset)."""
        if self.rwdata_offset:
            return self.rwdata_offset
        two_mib = 2 << 20
        text = -(-self.code // two_mib) * two_mib
        ro = -(-self.rodata // two_mib) * two_mib
        return text + ro


@dataclass(frozen=True, slots=True)
class KernelConfig:
    """The kernel build and command line that matter to early memory."""

    version: str = "mainline"
    sanitizer: str = "kmsan"
    strategy: str = "eager"
    lazy_activation: str = "mem_init"
    lazy_storage: str = "struct_page"
    fixed_backing: str = "on-demand"
    kfence: bool = False
    kmemleak: bool = False
    debug_objects: bool = False
    page_owner: bool = False
    pageblock_order: int = 9  # HUGETLB_PAGE_ORDER; MAX_PAGE_ORDER without CONFIG_HUGETLB_PAGE
    image_base: int = 0x1000000
    initrd_addr: int = 0
    initrd_size: int = 0
    cmdline: str = DEFAULT_CMDLINE  # the boot command line (numa=fake=N is honoured)
    nr_cpus: int = 8  # CONFIG_NR_CPUS ("setup_percpu: NR_CPUS:%d")
    node_data_size: int = 0x4000  # roundup(sizeof(pg_data_t), PAGE_SIZE) of this build
    zone_device: bool = False  # CONFIG_ZONE_DEVICE ("  Device   empty" in Zone ranges)
    randomize_memory: bool = False  # CONFIG_RANDOMIZE_MEMORY (KASLR of the direct map)
    images: dict[str, KernelImage] = field(default_factory=dict)

    def image(self, sanitizer: str | None = None) -> KernelImage:
        return self.images.get(sanitizer or self.sanitizer) or default_image(sanitizer or self.sanitizer)


@dataclass(frozen=True, slots=True)
class AcpiTable:
    """One ACPI table the firmware left in memory: its signature, address and length."""

    signature: str
    start: int
    length: int


@dataclass(frozen=True, slots=True)
class Firmware:
    """What the firmware hands the kernel besides e820: EFI tables and ACPI tables.

    BIOS firmware (the default) has no EFI memory map. On EFI firmware the boot stub
    passes the EFI memory map (reserved by efi_memblock_x86_reserve_range()), the
    memory attributes table (efi_memattr_init()), setup_data blobs (reserved and
    split out of e820 by e820__reserve_setup_data()), and the EFI_BOOT_SERVICES_CODE/
    DATA ranges that efi_reserve_boot_services() keeps until efi_free_boot_services().
    Ranges are [start, end] inclusive, as the kernel prints them.
    """

    type: str = "bios"
    version: str = ""  # "EFI v2.70 by EDK II"
    memmap: tuple[int, int] | None = None  # (start, size) of the EFI memory map
    memattr: tuple[int, int] | None = None  # (start, size) of EFI_MEMORY_ATTRIBUTES_TABLE
    setup_data: tuple[tuple[int, int], ...] = ()
    boot_services: tuple[tuple[int, int], ...] = ()
    acpi_tables: tuple[AcpiTable, ...] = ()

    @property
    def efi(self) -> bool:
        return self.type == "efi"


@dataclass(frozen=True, slots=True)
class Layout:
    """A machine: firmware map, nodes and kernel, plus where it was loaded from."""

    name: str
    description: str
    source: str
    e820: tuple[E820Entry, ...]
    nodes: tuple[Node, ...]
    paging_levels: int
    kernel: KernelConfig
    firmware: Firmware = Firmware()

    @property
    def cpus(self) -> int:
        return sum(n.cpus for n in self.nodes)

    @property
    def ram_bytes(self) -> int:
        return sum(e.size for e in self.e820 if e.type == "usable")

    def with_kernel(self, **changes: Any) -> Layout:
        """A copy with kernel settings overridden (CLI options, the strategy switcher)."""
        return replace(self, kernel=replace(self.kernel, **changes))


# Section sizes of the 6.1 builds in ../shared/data (Memory: lines); other layouts reuse them.
_DEFAULT_IMAGES = {
    "none": KernelImage(code=6144 << 10, rwdata=740 << 10, rodata=488 << 10, init=780 << 10,
                        bss=1680 << 10, reserved=0xE08000, percpu_pages=39,
                        percpu_static=129632),
    "kmsan": KernelImage(code=16384 << 10, rwdata=934000, rodata=492 << 10, init=2004 << 10,
                         bss=976 << 10, reserved=0x1A08000, percpu_pages=158,
                         percpu_static=616992),
    # KASAN roughly doubles text with its inline checks (no log for it here: an estimate).
    "kasan": KernelImage(code=12288 << 10, rwdata=1536 << 10, rodata=2048 << 10, init=1024 << 10,
                         bss=2048 << 10, reserved=0x1800000, percpu_pages=60),
}


def default_image(sanitizer: str) -> KernelImage:
    return _DEFAULT_IMAGES[sanitizer]


