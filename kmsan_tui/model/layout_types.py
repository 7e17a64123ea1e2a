"""What a layout describes: the firmware map, NUMA nodes, CPUs and the kernel build.

Plain frozen values, read by the machine and the boot steps; the TOML loader that
builds them (and validates every key) is ``kmsan_tui.model.layout``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

E820_TYPES = ("usable", "reserved", "ACPI data", "ACPI NVS", "unusable", "persistent")
SANITIZERS = ("kmsan", "kasan", "none")
KERNELS = ("v6.1", "mainline")


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

    @property
    def data_offset(self) -> int:
        # arch/x86/kernel/vmlinux.lds.S: text, rodata and data each start 2 MiB aligned
        # ("Freeing unused kernel image (text/rodata gap)" in the boot logs).
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
    kfence: bool = False
    kmemleak: bool = False
    debug_objects: bool = False
    page_owner: bool = False
    pageblock_order: int = 9  # HUGETLB_PAGE_ORDER; MAX_PAGE_ORDER without CONFIG_HUGETLB_PAGE
    image_base: int = 0x1000000
    initrd_addr: int = 0
    initrd_size: int = 0
    images: dict[str, KernelImage] = field(default_factory=dict)

    def image(self, sanitizer: str | None = None) -> KernelImage:
        return self.images.get(sanitizer or self.sanitizer) or default_image(sanitizer or self.sanitizer)


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
                        bss=1680 << 10, reserved=0xE08000, percpu_pages=39),
    "kmsan": KernelImage(code=16384 << 10, rwdata=934000, rodata=492 << 10, init=2004 << 10,
                         bss=976 << 10, reserved=0x1A08000, percpu_pages=158),
    # KASAN roughly doubles text with its inline checks (no log for it here: an estimate).
    "kasan": KernelImage(code=12288 << 10, rwdata=1536 << 10, rodata=2048 << 10, init=1024 << 10,
                         bss=2048 << 10, reserved=0x1800000, percpu_pages=60),
}


def default_image(sanitizer: str) -> KernelImage:
    return _DEFAULT_IMAGES[sanitizer]


