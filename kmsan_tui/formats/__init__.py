"""The kernel's own formats, both ways, for a simulated machine.

Out: /proc (buddyinfo, pagetypeinfo, zoneinfo, meminfo), debugfs (extfrag indices,
memblock arrays), the e820 table, the console's memory lines and crash's `kmem -f`,
byte for byte as the kernel (or drgn) prints them, from a frozen ``snapshot`` of the
machine (``render`` names them for `kmsan-tui show`).

In: boot logs (``dmesg``) and /proc/iomem (``iomem``) read into ``facts``, written as a
layout (``layout_writer``) for `kmsan-tui import`; ``reality`` compares a simulated
boot with the real one (`kmsan-tui diff`, ``validation`` for docs/validation.md).

Nothing here draws: no textual, no rich.
"""
