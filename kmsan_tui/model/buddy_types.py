"""Values the buddy allocator deals in: free-lists flags, allocation records, free runs,
and the bad_page() report (mm/page_alloc.c)."""

from __future__ import annotations

from dataclasses import dataclass

from kmsan_tui.model.constants import MigrateType

# mm/page_alloc.c fpi_t: how __free_one_page() frees a block (plain ints, as the
# kernel's #defines: an IntFlag's "&" costs a microsecond on the hot path).
FpiFlags = int
FPI_NONE: FpiFlags = 0
FPI_TO_TAIL: FpiFlags = 1 << 1  # put the block at the tail of its free list
# Not a kernel flag: __free_pages_core() of the boot hand-over (MEMINIT_EARLY), whose
# blocks are stored as runs that later blocks of the same pattern extend.
FPI_MEMINIT: FpiFlags = 1 << 8


# The allocation record of a block alloc_pages() handed out: order and migratetype
# in one int, so the zone keeps one dict entry per allocated block.
def alloc_record(order: int, mt: int) -> int:
    """Pack an allocated block's order and migratetype."""
    return order | mt << 4


def record_order(record: int) -> int:
    """The order of an allocation record."""
    return record & 15


def record_mt(record: int) -> int:
    """The migratetype of an allocation record."""
    return record >> 4


class BadPage(Exception):
    """mm/page_alloc.c bad_page(): a free or hand-over the allocator refuses.

    The zone is left unchanged.  ``str(e)`` is the report line.
    """

    def __init__(self, pfn: int, reason: str, comm: str = "swapper/0") -> None:
        """``pfn`` of the offending page, ``reason`` as dump_page() would print it."""
        super().__init__(pfn, reason, comm)
        self.pfn = pfn
        self.reason = reason
        self.comm = comm

    def __str__(self) -> str:
        """bad_page(): "BUG: Bad page state in process %s  pfn:%05lx", then on one line
        what dump_page() ends its lines with: "page dumped because: %s"."""
        head = f"BUG: Bad page state in process {self.comm}  pfn:{self.pfn:05x}"
        return f"{head} (page dumped because: {self.reason})"


@dataclass(frozen=True, slots=True)
class FreeRun:
    """``count`` free blocks of ``order`` at ``start_pfn + i*stride``, in list order."""

    start_pfn: int
    count: int
    stride: int
    order: int
    migratetype: MigrateType

    @property
    def pfns(self) -> range:
        """Head pfns of the blocks."""
        return range(self.start_pfn, self.start_pfn + self.count * self.stride, self.stride)

    @property
    def nr_pages(self) -> int:
        """Pages in the run's blocks."""
        return self.count << self.order

    @property
    def end_pfn(self) -> int:
        """First pfn past the last block."""
        return self.start_pfn + (self.count - 1) * self.stride + (1 << self.order)
