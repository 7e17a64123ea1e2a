"""Where the kernel image sits and how much early_reserve_memory() reserves for it.

memblock=debug prints the reserved array before anything else is allocated: the image
is its 2 MiB-aligned region (CONFIG_PHYSICAL_ALIGN) that is neither below 1 MiB nor
the initrd. Without that dump the span is estimated from the ``Memory:`` line's
sections as arch/x86/kernel/vmlinux.lds.S lays them out: text from _text (one page of
head code before _stext) up to a 2 MiB boundary, rodata up to the next, then data,
init and bss, and the used brk.

What the Memory: line does not show is left out rather than guessed: the exception
and ORC unwind tables between _edata and __init_begin (0.14 of the text in the three
ORC builds of ../shared/data/bootlogs, measured against their first MEMBLOCK dump, but
none at all in syzbot's 6.8 KMSAN build, whose Memory: line the span without them
reproduces). The estimate is therefore a lower bound, and the user is told so.
"""

from __future__ import annotations

from dataclasses import dataclass

from kmsan_tui.formats.facts import BootFacts, MemoryLine

SZ_2M = 2 << 20
PHYSICAL_START = 0x1000000  # CONFIG_PHYSICAL_START: where a nokaslr kernel is loaded
# The brk area in use when the image is reserved: 32 KiB in the three 6.1 logs.
BRK_USED = 0x8000


def _align_2m(size: int) -> int:
    return -(-size // SZ_2M) * SZ_2M


def estimated_span(mem: MemoryLine) -> int:
    """The image's reserved span from the Memory: line's section sizes (bytes)."""
    code, rodata = mem.code_k << 10, mem.rodata_k << 10
    data = (mem.rwdata_k + mem.init_k + mem.bss_k) << 10
    span = _align_2m(code + 4096) + _align_2m(rodata) + data + BRK_USED
    return -(-span // 4096) * 4096


@dataclass(frozen=True, slots=True)
class ImagePlace:
    """The image's physical base and reserved span, and how they were found."""

    base: int
    span: int
    how: str
    exact: bool


def find_image(facts: BootFacts) -> ImagePlace | None:
    """The image region of the first MEMBLOCK dump, else an estimate (None without a
    Memory: line)."""
    sections = facts.image_sections
    if "Kernel code" in sections and "Kernel bss" in sections:
        # /proc/iomem: _text up to __bss_stop, then the brk in use.
        base = sections["Kernel code"][0]
        end = -(-(sections["Kernel bss"][1] + 1) // 4096) * 4096
        return ImagePlace(base, end - base + BRK_USED, "/proc/iomem from Kernel code to the end "
                          "of Kernel bss, plus 32K of brk in use (assumed)", False)
    mem = facts.memory
    guess = estimated_span(mem) if mem else None
    candidates = []
    for start, end in facts.first_reserved:
        size = end + 1 - start
        if start < 0x100000 or start % SZ_2M:
            continue
        if facts.ramdisk and start <= facts.ramdisk[1] and end >= facts.ramdisk[0]:
            continue
        if mem and size < mem.code_k << 10:
            continue
        candidates.append((abs(size - guess) if guess else -size, start, size))
    if candidates:
        _, start, size = min(candidates)
        return ImagePlace(start, size, "the image's region in the first MEMBLOCK configuration "
                                       "dump (memblock=debug)", True)
    if mem is None or guess is None:
        return None
    return ImagePlace(PHYSICAL_START, guess,
                      f"estimated from the Memory: line's sections (line {mem.line}), without "
                      "the unwind tables it does not show; boot with memblock=debug for the "
                      "exact span", False)
