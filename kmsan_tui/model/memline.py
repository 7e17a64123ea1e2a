"""The kernel's ``Memory:`` line (mm/mm_init.c: mem_init_print_info()).

Printed by the boot step that prints it (which step depends on the kernel) and shown
beside the metrics; ``reserved`` there is present pages minus totalram_pages.
"""

from __future__ import annotations

from kmsan_tui.model.machine import Machine


def memory_line(m: Machine) -> str:
    """mm/mm_init.c: mem_init_print_info()."""
    image = m.image
    physpages = m.present_pages
    free = sum(z.nr_free_pages for z in m.zones)
    reserved = physpages - m.counters.totalram_pages

    def k(pages: int) -> int:
        return pages << 2

    return (f"Memory: {k(free)}K/{k(physpages)}K available ({image.code >> 10}K kernel code, "
            f"{image.rwdata >> 10}K rwdata, {image.rodata >> 10}K rodata, {image.init >> 10}K init, "
            f"{image.bss >> 10}K bss, {k(reserved)}K reserved, 0K cma-reserved)")
