"""The guided tutorial: lessons, each with a goal the explorer checks (no Textual).

A lesson explains one thing the kernel does, names the source, and sets a goal the
user reaches with the explorer's own keys (run to a step, follow a pointer, switch
strategy...). The panel shows whether the goal is met from what the explorer shows:
a ``TutorialState`` built from the current frame, the inspected page, the active tab
and what the user has done. Nothing here changes the session.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kmsan_tui.model.pages import PageState


@dataclass(frozen=True, slots=True)
class TutorialState:
    """What the goals look at."""

    steps: tuple[str, ...]  # the boot's steps, in order
    step_index: int  # steps run so far (0: before the first)
    strategy: str
    sanitizer: str
    page_state: PageState  # the state of the page under the cursor
    tab: str  # the id of the bottom panel shown
    done: frozenset[str]  # what the user has done: "follow", "compare", ...

    def ran(self, step: str) -> bool:
        """Whether ``step`` has run (False if this boot has no such step)."""
        return step in self.steps and self.step_index > self.steps.index(step)


@dataclass(frozen=True, slots=True)
class Lesson:
    title: str
    body: str  # Rich markup
    goal: str  # what to do, one line
    reached: Callable[[TutorialState], bool]


def _kmsan(state: TutorialState) -> bool:
    return state.sanitizer == "kmsan"


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "memblock learns where the RAM is",
        "Before the page allocator exists, the kernel tracks memory with [b]memblock[/]: "
        "two arrays of ranges, [i]memory[/] and [i]reserved[/] (mm/memblock.c). "
        "e820__memblock_setup() copies the firmware's e820 map into memblock.memory; "
        "the map then shows that RAM as [b]·[/], memory memblock has not handed over.",
        "Press [b]n[/] until e820__memblock_setup has run.",
        lambda s: s.ran("e820__memblock_setup"),
    ),
    Lesson(
        "Early reservations",
        "Every early allocation is a memblock_reserve(): the kernel image ([b]K[/]), "
        "page tables ([b]P[/]), the struct page array ([b]M[/], sparse_init() in "
        "mm/sparse.c), NODE_DATA, per-cpu areas. They come top-down from the end of "
        "RAM. The inspector names who reserved the page under the cursor.",
        "Run to sparse_init, then put the cursor on a reserved page (arrows, or a click).",
        lambda s: s.ran("sparse_init") and s.page_state is PageState.RESERVED,
    ),
    Lesson(
        "KMSAN's metadata for memblock memory",
        "KMSAN keeps two bytes of metadata per byte of data: a [b]shadow[/] (which bits "
        "are uninitialised) and an [b]origin[/] (where they came from). "
        "kmsan_init_shadow() (mm/kmsan/init.c) allocates both from memblock for every "
        "reserved range, so the kernel's early data is covered: the [b]S[/] and [b]O[/] "
        "cells.",
        "Run to kmsan_init_shadow (with the kmsan sanitizer).",
        lambda s: _kmsan(s) and s.ran("kmsan_init_shadow"),
    ),
    Lesson(
        "The hand-over: two blocks of three held back",
        "memblock_free_all() gives the free memory to the buddy allocator in naturally "
        "aligned chunks, most of order 10. Under KMSAN (eager, as upstream) "
        "kmsan_memblock_free_pages() holds back two of every three chunks of each order "
        "as the shadow and origin of the third (mm/kmsan/init.c): the [b]S O A[/] "
        "pattern, where [b]A[/] is a free order-10 block. Only a third of RAM reaches "
        "the free lists ([b]f[/]: Free lists).",
        "Under eager ([b]1[/]), run to memblock_free_all and open the free lists ([b]f[/]).",
        lambda s: _kmsan(s) and s.strategy == "eager" and s.ran("memblock_free_all")
        and s.tab == "free-lists",
    ),
    Lesson(
        "struct page points at its metadata",
        "Upstream KMSAN stores two pointers in struct page: [b]kmsan_shadow[/] and "
        "[b]kmsan_origin[/] (include/linux/mm_types.h). The inspector shows them for "
        "the page under the cursor; [b]s[/] and [b]o[/] follow them, [b]d[/] goes from "
        "metadata back to its data page, [b]b[/] returns.",
        "Follow a shadow or origin pointer ([b]s[/] or [b]o[/]) to a metadata page.",
        lambda s: "follow" in s.done and s.page_state in (PageState.SHADOW, PageState.ORIGIN),
    ),
    Lesson(
        "Lazy: metadata later",
        "What if nothing were held back at boot? The [b]lazy[/] strategy (tried on "
        "LKML in 2023 and dropped) frees every block, and each alloc_pages() of order k "
        "then takes two more order-k blocks for shadow and origin. More memory is free "
        "at first, but pages handed out before it starts must be back-filled, and when "
        "fragmentation leaves no block of the order the data page gets no metadata: a "
        "blind spot ([b]![/]).",
        "Switch to lazy ([b]2[/]) after mem_init, and watch the free lists' deltas.",
        lambda s: s.strategy == "lazy" and s.ran("mem_init"),
    ),
    Lesson(
        "Fixed addresses, like KASAN",
        "KASAN needs no pointers: its shadow of an address is at a fixed offset in a "
        "reserved virtual range. The [b]fixed[/] strategy does the same for KMSAN's "
        "shadow and origin: struct page shrinks by 16 bytes, but two ranges the size of "
        "RAM must fit in the kernel's virtual address space.",
        "Switch to fixed ([b]3[/]) and open Shadow regions ([b]x[/]) for the layout.",
        lambda s: s.strategy == "fixed" and s.tab == "regions",
    ),
    Lesson(
        "Side by side",
        "The comparison shows the same machine at the same step under two strategies, "
        "with the cells and metrics that differ marked: what each design costs in "
        "memory, struct page size, blind spots and fragmentation.",
        "Open the comparison ([b]c[/]).",
        lambda s: "compare" in s.done,
    ),
)
