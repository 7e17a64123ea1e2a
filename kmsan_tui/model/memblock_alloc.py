"""memblock's iterators and allocators (mm/memblock.c): for_each_free_mem_range(),
memblock_find_in_range_node(), memblock_alloc_range_nid() and the memblock_alloc*()
and memblock_phys_alloc*() entry points built on them."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

from kmsan_tui.model.constants import PAGE_SHIFT, PAGE_SIZE
from kmsan_tui.model.memblock_types import (
    ARCH_LOW_ADDRESS_LIMIT,
    FLAG_DRIVER_MANAGED,
    FLAG_HOTPLUG,
    FLAG_MIRROR,
    FLAG_NOMAP,
    MAX_NUMNODES,
    MEMBLOCK_ALLOC_ACCESSIBLE,
    MEMBLOCK_ALLOC_NOLEAKTRACE,
    MEMBLOCK_LOW_LIMIT,
    NUMA_NO_NODE,
    PHYS_ADDR_MAX,
    REGION_BASE,
    REGION_END,
    SMP_CACHE_BYTES,
    U64,
    MemblockBase,
    MemblockFlags,
    MemblockRegion,
    clamp,
    pa,
    round_down,
    round_up,
)


class MemblockAllocator(MemblockBase):
    """The functions that walk memory minus reserved and allocate from it."""

    # ---------------------------------------------------------------- iterators

    def _should_skip_region(self, m: MemblockRegion, nid: int, flags: int) -> bool:
        """should_skip_region() for memory regions (reserved ones are never skipped).

        ``flags`` is a plain int: this runs once per region per search, and IntFlag
        arithmetic would dominate an allocation's cost.
        """
        if nid != NUMA_NO_NODE and nid != m.nid:
            return True
        mflags = int(m.flags)
        # if we want mirror memory skip non-mirror memory regions
        if flags & FLAG_MIRROR and not mflags & FLAG_MIRROR:
            return True
        if not mflags:  # the common case: nothing below can skip it
            return False
        # skip hotpluggable memory regions if needed (movable_node)
        if self.movable_node_enabled and mflags & FLAG_HOTPLUG and not flags & FLAG_HOTPLUG:
            return True
        # skip nomap / driver-managed memory unless we were asked for it explicitly
        if not flags & FLAG_NOMAP and mflags & FLAG_NOMAP:
            return True
        return bool(not flags & FLAG_DRIVER_MANAGED and mflags & FLAG_DRIVER_MANAGED)

    def _check_nid(self, nid: int) -> int:
        if nid == MAX_NUMNODES:
            self._warn_once("Usage of MAX_NUMNODES is deprecated. Use NUMA_NO_NODE instead")
            return NUMA_NO_NODE
        return nid

    def _free_iter(
        self,
        nid: int,
        flags: int,
        reverse: bool,
        lo: int = 0,
        hi: int = PHYS_ADDR_MAX + 1,
    ) -> Iterator[tuple[int, int, int]]:
        """__next_mem_range(_rev)(memory, reserved): memory minus reserved.

        Yields exactly what the kernel's lockstep walk yields (including the empty
        ranges it reports between touching but unmerged reserved regions), limited
        to memory regions that intersect (lo, hi); the gap to start from in each
        region is found by bisection instead of by walking, which lands on the
        same gap because both arrays are sorted.
        """
        mem = self.memory.entries
        res = self.reserved.entries
        n_res = len(res)
        # Gap k of reserved is [res[k-1].end or 0, res[k].base or PHYS_ADDR_MAX).
        if not reverse:
            for ia in range(bisect_right(mem, lo, key=REGION_END), len(mem)):
                m = mem[ia]
                if m.base >= hi:
                    return
                if self._should_skip_region(m, nid, flags):
                    continue
                k = bisect_right(res, m.base, key=REGION_BASE)  # first gap with r_end > m.base
                while k <= n_res:
                    r_start = res[k - 1].end if k else 0
                    r_end = res[k].base if k < n_res else PHYS_ADDR_MAX
                    if r_start >= m.end:
                        break
                    yield max(m.base, r_start), min(m.end, r_end), m.nid
                    if m.end <= r_end:
                        break
                    k += 1
        else:
            for ia in range(bisect_left(mem, hi, key=REGION_BASE) - 1, -1, -1):
                m = mem[ia]
                if m.end <= lo:
                    return
                if self._should_skip_region(m, nid, flags):
                    continue
                k = bisect_left(res, m.end, key=REGION_END)  # last gap with r_start < m.end
                while k >= 0:
                    r_start = res[k - 1].end if k else 0
                    r_end = res[k].base if k < n_res else PHYS_ADDR_MAX
                    if r_end <= m.base:
                        break
                    yield max(m.base, r_start), min(m.end, r_end), m.nid
                    if m.base >= r_start:
                        break
                    k -= 1

    def free_ranges(
        self,
        nid: int = NUMA_NO_NODE,
        flags: MemblockFlags = MemblockFlags.NONE,
        reverse: bool = False,
    ) -> Iterator[tuple[int, int, int]]:
        """for_each_free_mem_range(_reverse)(): (start, end, nid) of memory \\ reserved."""
        nid = self._check_nid(nid)
        return self._free_iter(nid, int(flags), reverse)

    def mem_ranges(
        self,
        nid: int = NUMA_NO_NODE,
        flags: MemblockFlags = MemblockFlags.HOTPLUG | MemblockFlags.DRIVER_MANAGED,
        reverse: bool = False,
    ) -> Iterator[tuple[int, int, int]]:
        """for_each_mem_range(): (start, end, nid) of memory regions.

        The default flags are the macro's (MEMBLOCK_HOTPLUG | MEMBLOCK_DRIVER_MANAGED),
        so NOMAP regions are skipped as in the kernel.
        """
        nid = self._check_nid(nid)
        iflags = int(flags)
        regs = self.memory.entries
        order = reversed(regs) if reverse else iter(regs)
        return (
            (m.base, m.end, m.nid)
            for m in order
            if not self._should_skip_region(m, nid, iflags)
        )

    def reserved_ranges(self) -> Iterator[tuple[int, int]]:
        """for_each_reserved_mem_range(): (start, end) of reserved regions."""
        return ((r.base, r.end) for r in self.reserved.entries)

    def mem_pfn_ranges(self, nid: int = MAX_NUMNODES) -> Iterator[tuple[int, int, int]]:
        """for_each_mem_pfn_range(): (start_pfn, end_pfn, nid), whole pages only.

        Here MAX_NUMNODES (not NUMA_NO_NODE) selects every node, as in the kernel.
        """
        for r in self.memory.entries:
            start_pfn = (r.base + PAGE_SIZE - 1) >> PAGE_SHIFT
            end_pfn = r.end >> PAGE_SHIFT
            if start_pfn >= end_pfn:
                continue
            if nid == MAX_NUMNODES or nid == r.nid:
                yield start_pfn, end_pfn, r.nid

    # ---------------------------------------------------------------- allocation

    def _choose_memblock_flags(self) -> MemblockFlags:
        """choose_memblock_flags(): prefer mirrored memory once some exists."""
        return MemblockFlags.MIRROR if self.system_has_some_mirror else MemblockFlags.NONE

    def find_in_range_node(
        self, size: int, align: int, start: int, end: int, nid: int, flags: MemblockFlags
    ) -> int:
        """memblock_find_in_range_node(): a free aligned area, 0 on failure.

        ``end`` of MEMBLOCK_ALLOC_ACCESSIBLE (or NOLEAKTRACE) means current_limit;
        ``start`` is raised to PAGE_SIZE so the first page is never handed out.
        """
        if end in (MEMBLOCK_ALLOC_ACCESSIBLE, MEMBLOCK_ALLOC_NOLEAKTRACE):
            end = self.current_limit
        # "avoid allocating the first page"
        start = max(start, PAGE_SIZE)
        end = max(start, end)
        # For size > 0, a free range that only touches [start, end) clamps to a
        # point and can never fit, so only ranges intersecting it are walked.  A
        # zero-sized request walks everything, as the kernel does.
        lo, hi = (start, end) if size else (0, PHYS_ADDR_MAX + 1)
        iflags = int(flags)
        if self.bottom_up:
            # __memblock_find_range_bottom_up()
            for this_start, this_end, _ in self._free_iter(nid, iflags, False, lo, hi):
                if this_end - this_start < size:
                    continue  # clamping only shrinks it: it cannot fit either
                this_start = clamp(this_start, start, end)
                this_end = clamp(this_end, start, end)
                cand = round_up(this_start, align)
                if cand < this_end and this_end - cand >= size:
                    return cand
            return 0
        # __memblock_find_range_top_down()
        for this_start, this_end, _ in self._free_iter(nid, iflags, True, lo, hi):
            if this_end - this_start < size:
                continue  # clamping only shrinks it: the checks below would fail too
            this_start = clamp(this_start, start, end)
            this_end = clamp(this_end, start, end)
            if this_end < size:
                continue
            cand = round_down(this_end - size, align)
            if cand >= this_start:
                return cand
        return 0

    def find_in_range(self, start: int, end: int, size: int, align: int) -> int:
        """memblock_find_in_range(): any node, with the mirror fallback; 0 on failure."""
        flags = self._choose_memblock_flags()
        while True:
            ret = self.find_in_range_node(size, align, start, end, NUMA_NO_NODE, flags)
            if not ret and flags & MemblockFlags.MIRROR:
                self._warn(f"Could not allocate {pa(size)} bytes of mirrored memory")
                flags = MemblockFlags(flags & ~MemblockFlags.MIRROR)
                continue
            return ret

    def alloc_range_nid(
        self,
        size: int,
        align: int,
        start: int,
        end: int,
        nid: int,
        exact_nid: bool,
        *,
        caller: str = "",
    ) -> int | None:
        """memblock_alloc_range_nid(): find, then memblock_reserve(found, size).

        Falls back to any node unless ``exact_nid``, and from mirrored to any
        memory.  align 0 is a caller bug the kernel answers with dump_stack() and
        SMP_CACHE_BYTES.  The reservation is plain memblock_reserve() (nid
        MAX_NUMNODES, no flags) as in both copies read; KHO-era kernels reserve
        with the nid and MEMBLOCK_RSRV_KERN instead.  ``caller`` is unused: this
        function logs nothing itself.
        """
        del caller  # memblock_alloc_range_nid() has no memblock_dbg() line
        flags = self._choose_memblock_flags()
        nid = self._check_nid(nid)
        if not align:
            # "Can't use WARNs this early in boot on powerpc": dump_stack().
            self._warn("memblock_alloc_range_nid: align 0, dump_stack(), using SMP_CACHE_BYTES")
            align = SMP_CACHE_BYTES
        while True:
            found = self.find_in_range_node(size, align, start, end, nid, flags)
            if found and not self.reserve(found, size, caller=self.alloc_reserve_caller):
                return found
            if nid != NUMA_NO_NODE and not exact_nid:
                found = self.find_in_range_node(size, align, start, end, NUMA_NO_NODE, flags)
                if found and not self.reserve(found, size, caller=self.alloc_reserve_caller):
                    return found
            if flags & MemblockFlags.MIRROR:
                flags = MemblockFlags(flags & ~MemblockFlags.MIRROR)
                self._warn(f"Could not allocate {pa(size)} bytes of mirrored memory")
                continue
            return None

    def phys_alloc_range(
        self, size: int, align: int, start: int, end: int, *, caller: str = ""
    ) -> int | None:
        """memblock_phys_alloc_range(): any node, within [start, end)."""
        self._dbg(
            f"memblock_phys_alloc_range: {size & U64} bytes align=0x{align & U64:x} "
            f"from={pa(start)} max_addr={pa(end)}",
            caller,
        )
        return self.alloc_range_nid(size, align, start, end, NUMA_NO_NODE, False)

    def phys_alloc_try_nid(
        self, size: int, align: int, nid: int, *, caller: str = ""
    ) -> int | None:
        """memblock_phys_alloc_try_nid(): prefer ``nid``, up to current_limit.

        The kernel function has no memblock_dbg() line, so ``caller`` is unused.
        """
        del caller
        return self.alloc_range_nid(size, align, 0, MEMBLOCK_ALLOC_ACCESSIBLE, nid, False)

    def phys_alloc(self, size: int, align: int, *, caller: str = "") -> int | None:
        """memblock_phys_alloc(): memblock_phys_alloc_range(size, align, 0, ACCESSIBLE)."""
        return self.phys_alloc_range(size, align, 0, MEMBLOCK_ALLOC_ACCESSIBLE, caller=caller)

    def _alloc_internal(
        self, size: int, align: int, min_addr: int, max_addr: int, nid: int, exact_nid: bool
    ) -> int | None:
        """memblock_alloc_internal(): cap max_addr, then drop min_addr if needed."""
        if max_addr > self.current_limit:
            max_addr = self.current_limit
        found = self.alloc_range_nid(size, align, min_addr, max_addr, nid, exact_nid)
        # "retry allocation without lower limit"
        if not found and min_addr:
            found = self.alloc_range_nid(size, align, 0, max_addr, nid, exact_nid)
        return found

    def _dbg_alloc(
        self, func: str, size: int, align: int, nid: int, min_addr: int, max_addr: int, caller: str
    ) -> None:
        # "%s: %llu bytes align=0x%llx nid=%d from=%pa max_addr=%pa %pS\n"
        self._dbg(
            f"{func}: {size & U64} bytes align=0x{align & U64:x} nid={nid} "
            f"from={pa(min_addr)} max_addr={pa(max_addr)}",
            caller,
        )

    def alloc_try_nid(
        self,
        size: int,
        align: int,
        min_addr: int = MEMBLOCK_LOW_LIMIT,
        max_addr: int = MEMBLOCK_ALLOC_ACCESSIBLE,
        nid: int = NUMA_NO_NODE,
        *,
        caller: str = "",
    ) -> int | None:
        """memblock_alloc_try_nid() (zeroing is not modelled)."""
        self._dbg_alloc("memblock_alloc_try_nid", size, align, nid, min_addr, max_addr, caller)
        return self._alloc_internal(size, align, min_addr, max_addr, nid, False)

    def alloc_try_nid_raw(
        self,
        size: int,
        align: int,
        min_addr: int = MEMBLOCK_LOW_LIMIT,
        max_addr: int = MEMBLOCK_ALLOC_ACCESSIBLE,
        nid: int = NUMA_NO_NODE,
        *,
        caller: str = "",
    ) -> int | None:
        """memblock_alloc_try_nid_raw(): the same search, without zeroing."""
        self._dbg_alloc("memblock_alloc_try_nid_raw", size, align, nid, min_addr, max_addr, caller)
        return self._alloc_internal(size, align, min_addr, max_addr, nid, False)

    def alloc_exact_nid_raw(
        self,
        size: int,
        align: int,
        min_addr: int = MEMBLOCK_LOW_LIMIT,
        max_addr: int = MEMBLOCK_ALLOC_ACCESSIBLE,
        nid: int = NUMA_NO_NODE,
        *,
        caller: str = "",
    ) -> int | None:
        """memblock_alloc_exact_nid_raw(): no fallback to other nodes."""
        self._dbg_alloc(
            "memblock_alloc_exact_nid_raw", size, align, nid, min_addr, max_addr, caller
        )
        return self._alloc_internal(size, align, min_addr, max_addr, nid, True)

    def alloc_exact_nid(
        self,
        size: int,
        align: int,
        min_addr: int = MEMBLOCK_LOW_LIMIT,
        max_addr: int = MEMBLOCK_ALLOC_ACCESSIBLE,
        nid: int = NUMA_NO_NODE,
        *,
        caller: str = "",
    ) -> int | None:
        """alloc_exact_nid_raw() (the kernel only has the _raw one; zeroing is moot)."""
        return self.alloc_exact_nid_raw(size, align, min_addr, max_addr, nid, caller=caller)

    def alloc(self, size: int, align: int, *, caller: str = "") -> int | None:
        """memblock_alloc(): memblock_alloc_try_nid(LOW_LIMIT, ACCESSIBLE, NUMA_NO_NODE)."""
        return self.alloc_try_nid(
            size, align, MEMBLOCK_LOW_LIMIT, MEMBLOCK_ALLOC_ACCESSIBLE, NUMA_NO_NODE, caller=caller
        )

    def alloc_raw(self, size: int, align: int, *, caller: str = "") -> int | None:
        """memblock_alloc_raw()."""
        return self.alloc_try_nid_raw(
            size, align, MEMBLOCK_LOW_LIMIT, MEMBLOCK_ALLOC_ACCESSIBLE, NUMA_NO_NODE, caller=caller
        )

    def alloc_from(self, size: int, align: int, min_addr: int, *, caller: str = "") -> int | None:
        """memblock_alloc_from(): prefer addresses above min_addr."""
        return self.alloc_try_nid(
            size, align, min_addr, MEMBLOCK_ALLOC_ACCESSIBLE, NUMA_NO_NODE, caller=caller
        )

    def alloc_low(self, size: int, align: int, *, caller: str = "") -> int | None:
        """memblock_alloc_low(): below ARCH_LOW_ADDRESS_LIMIT (4 GiB on x86_64)."""
        return self.alloc_try_nid(
            size, align, MEMBLOCK_LOW_LIMIT, ARCH_LOW_ADDRESS_LIMIT, NUMA_NO_NODE, caller=caller
        )

    def alloc_node(self, size: int, align: int, nid: int, *, caller: str = "") -> int | None:
        """memblock_alloc_node(): prefer node ``nid``."""
        return self.alloc_try_nid(
            size, align, MEMBLOCK_LOW_LIMIT, MEMBLOCK_ALLOC_ACCESSIBLE, nid, caller=caller
        )
