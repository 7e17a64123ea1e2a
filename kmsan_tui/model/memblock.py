"""The boot-time memory allocator, modelled function for function on mm/memblock.c.

Memblock keeps two sorted arrays of physical ranges: ``memory`` (what firmware says
is RAM) and ``reserved`` (what is already taken).  Everything is a Python ``int`` in
bytes, with the byte granularity the kernel keeps (e820 ranges are not page
aligned until memblock_trim_memory() runs).  Each public method is the kernel
function without its ``memblock_`` prefix; a kernel failure (NULL, 0 or -errno for
the allocators) is ``None`` here, and the range operations return the kernel's int
status (0 or ``-ENOMEM``).

The behaviour follows mm/memblock.c from before the kexec-handover (KHO) rework;
two copies were read, a v5.1x one from torvalds/linux and a v6.8-era one from the
rppt/memblock tree, and the comments say which is modelled where they differ.
tools/testing/memblock is the specification: tests/model/test_memblock*.py port
its scenarios (from the current suite).

This module holds the region arrays' operations (add, reserve, remove, isolate,
merge, flags, node ids, limits) and the dump; the iterators and allocators are in
``memblock_alloc.py`` and the types and constants in ``memblock_types.py``.

What is deliberately not modelled (see each spot for details):

* the slab path of memblock_double_array() and memblock_alloc_internal() (we are
  always before slab_is_available());
* kmemleak, accept_memory() and page poisoning / zeroing (no memory contents);
* the ``physmem`` type (CONFIG_HAVE_MEMBLOCK_PHYS_MAP is not set on x86);
* KHO's MEMBLOCK_RSRV_KERN / memblock_reserve_kern() (allocations here reserve
  with memblock_reserve(found, size), i.e. nid MAX_NUMNODES and no flags);
* the ``kernelcore=mirror`` gate newer kernels put in memblock_mark_mirror().
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import replace

from kmsan_tui.model.constants import PAGE_SHIFT, PAGE_SIZE
from kmsan_tui.model.memblock_alloc import MemblockAllocator
from kmsan_tui.model.memblock_types import (
    ARCH_LOW_ADDRESS_LIMIT,
    ENOMEM,
    INIT_MEMBLOCK_REGIONS,
    MAX_NUMNODES,
    MEMBLOCK_ALLOC_ACCESSIBLE,
    MEMBLOCK_ALLOC_ANYWHERE,
    MEMBLOCK_ALLOC_NOLEAKTRACE,
    MEMBLOCK_LOW_LIMIT,
    NUMA_NO_NODE,
    PHYS_ADDR_MAX,
    REGION_BASE,
    REGION_END,
    SIZEOF_MEMBLOCK_REGION,
    SMP_CACHE_BYTES,
    MemblockFlags,
    MemblockPanic,
    MemblockRegion,
    MemblockType,
    cap_size,
    pa,
    page_align,
    round_down,
    round_up,
)

__all__ = [
    "ARCH_LOW_ADDRESS_LIMIT",
    "ENOMEM",
    "INIT_MEMBLOCK_REGIONS",
    "MAX_NUMNODES",
    "MEMBLOCK_ALLOC_ACCESSIBLE",
    "MEMBLOCK_ALLOC_ANYWHERE",
    "MEMBLOCK_ALLOC_NOLEAKTRACE",
    "MEMBLOCK_LOW_LIMIT",
    "NUMA_NO_NODE",
    "PHYS_ADDR_MAX",
    "SIZEOF_MEMBLOCK_REGION",
    "SMP_CACHE_BYTES",
    "Memblock",
    "MemblockFlags",
    "MemblockPanic",
    "MemblockRegion",
    "MemblockType",
]


class Memblock(MemblockAllocator):
    """struct memblock plus the functions of mm/memblock.c that act on it.

    ``debug`` is the ``memblock=debug`` boot option: every memblock_dbg() line is
    appended to ``log`` in the kernel's format.  ``caller`` arguments stand for the
    ``%pS`` of ``_RET_IP_`` and are printed verbatim (omitted when empty).
    ``warnings`` collects what the kernel prints regardless of memblock=debug
    (pr_warn/pr_err and WARN splats, summarised on one line).
    """

    # ------------------------------------------------------ region array internals

    def _merge_regions(self, t: MemblockType, start_rgn: int, end_rgn: int) -> None:
        """memblock_merge_regions(): merge compatible neighbours in [start-1, end].

        The v6.8-era copy scans only around the regions just touched; the v5.x
        copy scans the whole array.  Both give the same result because the array
        is fully merged before every operation.
        """
        regs = t.entries
        i = start_rgn - 1 if start_rgn else 0
        end_rgn = min(end_rgn, len(regs) - 1)
        while i < end_rgn:
            this, nxt = regs[i], regs[i + 1]
            if this.end != nxt.base or this.nid != nxt.nid or this.flags != nxt.flags:
                if this.end > nxt.base:  # BUG_ON(this->base + this->size > next->base)
                    raise MemblockPanic(f"memblock: overlapping {t.name} regions")
                i += 1
                continue
            regs[i] = replace(this, size=this.size + nxt.size)
            del regs[i + 1]
            end_rgn -= 1
        t.changed()

    def _add_range(
        self, t: MemblockType, base: int, size: int, nid: int, flags: MemblockFlags
    ) -> int:
        """memblock_add_range(): add [base, base+size), overlaps leave old regions be.

        Only the parts of the new range not already covered are inserted (with the
        new nid/flags), then neighbours are merged.  If the array would overflow,
        memblock_double_array() grows it first, and the insertion is recomputed
        because doubling ``reserved`` may itself have reserved the new array.
        """
        size = cap_size(base, size)
        end = base + size
        if not size:
            return 0
        regs = t.entries
        if not regs:
            # "special case for empty array": overwrite the dummy region.
            if t.total_size:
                self._warn(f"WARNING: memblock_add_range: {t.name} empty with total_size")
            regs.append(MemblockRegion(base, size, nid, flags))
            t.total_size = size
            t.changed()
            return 0

        while True:
            first = bisect_right(regs, base, key=REGION_END)  # first region ending after base
            pieces: list[MemblockRegion] = []
            cur = base
            i = first
            while i < len(regs) and regs[i].base < end:
                rgn = regs[i]
                if rgn.base > cur:
                    # The kernel WARNs when a region it fills around differs.
                    if nid != rgn.nid or flags != rgn.flags:
                        self._warn(
                            f"WARNING: memblock_add_range: {t.name} [{pa(base)}-"
                            f"{pa(end - 1)}] nid/flags differ from an overlapped region"
                        )
                    pieces.append(MemblockRegion(cur, rgn.base - cur, nid, flags))
                cur = min(rgn.end, end)
                i += 1
            if cur < end:
                pieces.append(MemblockRegion(cur, end - cur, nid, flags))
            if not pieces:
                return 0
            if len(regs) + len(pieces) <= t.max:
                break
            while len(regs) + len(pieces) > t.max:
                if self._double_array(t, base, size) < 0:
                    return -ENOMEM

        # memblock_insert_region() for each piece: interleave them with the
        # overlapped regions regs[first:i] by base, remembering where they land
        # (the kernel's start_rgn/end_rgn for the merge).
        old = regs[first:i]
        segment: list[MemblockRegion] = []
        start_rgn = end_rgn = -1
        a = b = 0
        while a < len(old) or b < len(pieces):
            if b < len(pieces) and (a == len(old) or pieces[b].base < old[a].base):
                if start_rgn < 0:
                    start_rgn = first + len(segment)
                end_rgn = first + len(segment) + 1
                segment.append(pieces[b])
                b += 1
            else:
                segment.append(old[a])
                a += 1
        regs[first:i] = segment
        t.total_size += sum(p.size for p in pieces)
        self._merge_regions(t, start_rgn, end_rgn)
        return 0

    def _isolate_range(self, t: MemblockType, base: int, size: int) -> tuple[int, int] | None:
        """memblock_isolate_range(): split regions at base and base+size.

        Returns (start_rgn, end_rgn), the indices of the regions inside the range
        ((0, 0) when none), or None for -ENOMEM.
        """
        size = cap_size(base, size)
        end = base + size
        if not size:
            return 0, 0
        # "we'll create at most two more regions"
        while t.cnt + 2 > t.max:
            if self._double_array(t, base, size) < 0:
                return None
        regs = t.entries
        start_rgn = end_rgn = 0
        i = bisect_right(regs, base, key=REGION_END)
        while i < len(regs):
            rgn = regs[i]
            if rgn.base >= end:
                break
            if rgn.base < base:
                # Intersects from below: split, continue with the top half.
                regs[i : i + 1] = [
                    replace(rgn, size=base - rgn.base),
                    replace(rgn, base=base, size=rgn.end - base),
                ]
                i += 1
            elif rgn.end > end:
                # Intersects from above: split, redo the (now contained) bottom half.
                regs[i : i + 1] = [
                    replace(rgn, size=end - rgn.base),
                    replace(rgn, base=end, size=rgn.end - end),
                ]
            else:
                if not end_rgn:
                    start_rgn = i
                end_rgn = i + 1
                i += 1
        t.changed()
        return start_rgn, end_rgn

    def _remove_regions(self, t: MemblockType, start: int, stop: int) -> None:
        """memblock_remove_region() for regs[start:stop], highest index first."""
        regs = t.entries
        t.total_size -= sum(r.size for r in regs[start:stop])
        del regs[start:stop]
        if not regs and t.total_size != 0:
            # WARN_ON(type->total_size != 0) in the "empty arrays" special case;
            # the kernel leaves the stale total (see trim_memory()).
            self._warn(f"WARNING: memblock_remove_region: {t.name} empty, total_size != 0")
        t.changed()

    def _remove_range(self, t: MemblockType, base: int, size: int) -> int:
        """memblock_remove_range(): isolate then drop everything inside."""
        rng = self._isolate_range(t, base, size)
        if rng is None:
            return -ENOMEM
        start_rgn, end_rgn = rng
        if end_rgn > start_rgn:
            self._remove_regions(t, start_rgn, end_rgn)
        return 0

    def _double_array(self, t: MemblockType, new_area_start: int, new_area_size: int) -> int:
        """memblock_double_array(): move ``t`` to an array twice as big.

        The new array (PAGE_ALIGN(2 * max * 24) bytes) is found with
        memblock_find_in_range() at PAGE_SIZE alignment, avoiding the area about to
        be reserved, and reserved; a previously doubled array is freed.  The
        static initial array is never freed.  The slab path is not modelled.
        """
        if not self.can_resize:
            # The v5.x copy returned -1 here (and the add failed); the v6.8-era
            # copy panics.  Modelled as the panic: the caller has a bug either way.
            raise MemblockPanic(f"memblock: cannot resize {t.name} array")
        old_size = t.max * SIZEOF_MEMBLOCK_REGION
        new_size = old_size << 1
        old_alloc_size = page_align(old_size)
        new_alloc_size = page_align(new_size)
        # "only exclude range when trying to double reserved.regions"
        if t is not self.reserved:
            new_area_start = new_area_size = 0
        addr = self.find_in_range(
            new_area_start + new_area_size, self.current_limit, new_alloc_size, PAGE_SIZE
        )
        if not addr and new_area_size:
            addr = self.find_in_range(
                0, min(new_area_start, self.current_limit), new_alloc_size, PAGE_SIZE
            )
        if not addr:
            self._warn(
                f"memblock: Failed to double {t.name} array from {t.max} to "
                f"{t.max * 2} entries !"
            )
            return -1
        # No trailing newline in the kernel's format string either.
        self._dbg(
            f"memblock: {t.name} is doubled to {t.max * 2} at "
            f"[{pa(addr)}-{pa(addr + new_size - 1)}]"
        )
        old_addr = t.array_addr
        t.array_addr = addr
        t.max <<= 1
        if old_addr is not None:
            # memblock_free(old_array, ...) -> memblock_phys_free(__pa(old_array), ...)
            self.phys_free(old_addr, old_alloc_size, caller="memblock_free")
        if self.reserve(addr, new_alloc_size, caller="memblock_double_array"):
            raise MemblockPanic("memblock: BUG_ON(memblock_reserve(new array))")
        return 0

    def _search(self, t: MemblockType, addr: int) -> int:
        """memblock_search(): index of the region containing addr, or -1."""
        regs = t.entries
        i = bisect_right(regs, addr, key=REGION_BASE) - 1
        if i >= 0 and addr < regs[i].end:
            return i
        return -1

    # ------------------------------------------------------- adding and removing

    def add(
        self,
        base: int,
        size: int,
        nid: int = MAX_NUMNODES,
        flags: MemblockFlags = MemblockFlags.NONE,
        *,
        caller: str = "",
    ) -> int:
        """memblock_add() (or memblock_add_node() when a nid or flags are given)."""
        if nid != MAX_NUMNODES or flags:
            return self.add_node(base, size, nid, flags, caller=caller)
        self._dbg_range("memblock_add", base, size, caller)
        return self._add_range(self.memory, base, size, MAX_NUMNODES, MemblockFlags.NONE)

    def add_node(
        self,
        base: int,
        size: int,
        nid: int,
        flags: MemblockFlags = MemblockFlags.NONE,
        *,
        caller: str = "",
    ) -> int:
        """memblock_add_node(): add memory already assigned to a node (and flags)."""
        flags = MemblockFlags(flags)
        self._dbg_range(
            "memblock_add_node", base, size, caller, f" nid={nid} flags={int(flags):x}"
        )
        return self._add_range(self.memory, base, size, nid, flags)

    def reserve(self, base: int, size: int, nid: int = MAX_NUMNODES, *, caller: str = "") -> int:
        """memblock_reserve(): mark [base, base+size) as taken.

        ``nid`` is that of the KHO-era __memblock_reserve(); memblock_reserve()
        passes MAX_NUMNODES.
        """
        self._dbg_range("memblock_reserve", base, size, caller)
        return self._add_range(self.reserved, base, size, nid, MemblockFlags.NONE)

    def remove(self, base: int, size: int, *, caller: str = "") -> int:
        """memblock_remove(): take [base, base+size) out of memory."""
        self._dbg_range("memblock_remove", base, size, caller)
        return self._remove_range(self.memory, base, size)

    def phys_free(self, base: int, size: int, *, caller: str = "") -> int:
        """memblock_phys_free(): take [base, base+size) out of reserved."""
        self._dbg_range("memblock_phys_free", base, size, caller)
        return self._remove_range(self.reserved, base, size)

    def free(self, base: int, size: int, *, caller: str = "") -> int:
        """memblock_free(): the virtual-address variant; it calls memblock_phys_free().

        Addresses are physical everywhere in this model, so this is phys_free().
        """
        return self.phys_free(base, size, caller=caller)

    def _setclr_flag(
        self, t: MemblockType, base: int, size: int, set_flag: bool, flag: MemblockFlags
    ) -> int:
        """memblock_setclr_flag(): isolate the range, set/clear flag, re-merge."""
        rng = self._isolate_range(t, base, size)
        if rng is None:
            return -ENOMEM
        start_rgn, end_rgn = rng
        regs = t.entries
        for i in range(start_rgn, end_rgn):
            rgn = regs[i]
            new_flags = rgn.flags | flag if set_flag else rgn.flags & ~flag
            regs[i] = replace(rgn, flags=MemblockFlags(new_flags))
        self._merge_regions(t, start_rgn, end_rgn)
        return 0

    def mark_hotplug(self, base: int, size: int) -> int:
        """memblock_mark_hotplug()."""
        return self._setclr_flag(self.memory, base, size, True, MemblockFlags.HOTPLUG)

    def clear_hotplug(self, base: int, size: int) -> int:
        """memblock_clear_hotplug()."""
        return self._setclr_flag(self.memory, base, size, False, MemblockFlags.HOTPLUG)

    def mark_mirror(self, base: int, size: int) -> int:
        """memblock_mark_mirror(): also makes allocations prefer mirrored memory.

        Newer kernels (the v6.8-era copy) return early unless booted with
        kernelcore=mirror; that gate is not modelled (the v5.x behaviour).
        """
        self.system_has_some_mirror = True
        return self._setclr_flag(self.memory, base, size, True, MemblockFlags.MIRROR)

    def mark_nomap(self, base: int, size: int) -> int:
        """memblock_mark_nomap()."""
        return self._setclr_flag(self.memory, base, size, True, MemblockFlags.NOMAP)

    def clear_nomap(self, base: int, size: int) -> int:
        """memblock_clear_nomap()."""
        return self._setclr_flag(self.memory, base, size, False, MemblockFlags.NOMAP)

    def reserved_mark_noinit(self, base: int, size: int) -> int:
        """memblock_reserved_mark_noinit(): MEMBLOCK_RSRV_NOINIT on reserved regions."""
        return self._setclr_flag(self.reserved, base, size, True, MemblockFlags.RSRV_NOINIT)

    def set_node(self, base: int, size: int, type: MemblockType, nid: int) -> int:
        """memblock_set_node(): isolate [base, base+size) in ``type`` and set its nid."""
        rng = self._isolate_range(type, base, size)
        if rng is None:
            return -ENOMEM
        start_rgn, end_rgn = rng
        regs = type.entries
        for i in range(start_rgn, end_rgn):
            regs[i] = replace(regs[i], nid=nid)
        self._merge_regions(type, start_rgn, end_rgn)
        return 0

    def allow_resize(self) -> None:
        """memblock_allow_resize(): let full arrays double instead of panicking."""
        self.can_resize = True

    # ----------------------------------------------------------------- queries

    def overlaps_region(self, t: MemblockType, base: int, size: int) -> bool:
        """memblock_overlaps_region(): does [base, base+size) intersect ``t``?"""
        size = cap_size(base, size)
        regs = t.entries
        # memblock_addrs_overlap(): base < rbase + rsize && rbase < base + size.
        j = bisect_left(regs, base + size, key=REGION_BASE) - 1
        return j >= 0 and base < regs[j].end

    def is_region_memory(self, base: int, size: int) -> bool:
        """memblock_is_region_memory(): is the range inside one memory region?"""
        idx = self._search(self.memory, base)
        end = base + cap_size(base, size)
        return idx != -1 and self.memory.entries[idx].end >= end

    def is_region_reserved(self, base: int, size: int) -> bool:
        """memblock_is_region_reserved(): does the range intersect reserved?"""
        return self.overlaps_region(self.reserved, base, size)

    def is_memory(self, addr: int) -> bool:
        """memblock_is_memory()."""
        return self._search(self.memory, addr) != -1

    def is_map_memory(self, addr: int) -> bool:
        """memblock_is_map_memory(): memory and not MEMBLOCK_NOMAP."""
        i = self._search(self.memory, addr)
        return i != -1 and not self.memory.entries[i].flags & MemblockFlags.NOMAP

    def is_reserved(self, addr: int) -> bool:
        """memblock_is_reserved()."""
        return self._search(self.reserved, addr) != -1

    def search_pfn_nid(self, pfn: int) -> tuple[int, int, int] | None:
        """memblock_search_pfn_nid(): (nid, start_pfn, end_pfn) of pfn's region."""
        i = self._search(self.memory, pfn << PAGE_SHIFT)
        if i == -1:
            return None
        r = self.memory.entries[i]
        return r.nid, r.base >> PAGE_SHIFT, r.end >> PAGE_SHIFT

    def phys_mem_size(self) -> int:
        """memblock_phys_mem_size(): memory.total_size (stale after trim_memory())."""
        return self.memory.total_size

    def reserved_size(self) -> int:
        """memblock_reserved_size()."""
        return self.reserved.total_size

    def start_of_DRAM(self) -> int:
        """memblock_start_of_DRAM(): regions[0].base (0 with the empty dummy)."""
        regs = self.memory.entries
        return regs[0].base if regs else 0

    def end_of_DRAM(self) -> int:
        """memblock_end_of_DRAM(): end of the last memory region (0 when empty)."""
        regs = self.memory.entries
        return regs[-1].end if regs else 0

    def start_of_dram(self) -> int:
        """Alias of start_of_DRAM()."""
        return self.start_of_DRAM()

    def end_of_dram(self) -> int:
        """Alias of end_of_DRAM()."""
        return self.end_of_DRAM()

    def set_bottom_up(self, enable: bool) -> None:
        """memblock_set_bottom_up(); read it back from the ``bottom_up`` attribute."""
        self.bottom_up = enable

    def set_current_limit(self, limit: int) -> None:
        """memblock_set_current_limit()."""
        self.current_limit = limit

    def get_current_limit(self) -> int:
        """memblock_get_current_limit()."""
        return self.current_limit

    # --------------------------------------------------------- trims and limits

    def trim_memory(self, align: int) -> None:
        """memblock_trim_memory(): shrink memory regions to ``align`` boundaries.

        Kernel quirk kept on purpose: shrunk regions do not update
        memory.total_size (only removed ones do), which is why a real boot log
        dumps "memory size = 0x...ec00" with page-aligned regions.
        """
        t = self.memory
        regs = t.entries
        i = 0
        while i < len(regs):
            r = regs[i]
            start = round_up(r.base, align)
            end = round_down(r.end, align)
            if start == r.base and end == r.end:
                i += 1
            elif start < end:
                regs[i] = replace(r, base=start, size=end - start)
                i += 1
            else:
                self._remove_regions(t, i, i + 1)
        t.changed()

    def _find_max_addr(self, limit: int) -> int:
        """__find_max_addr(): the address where ``limit`` bytes of memory end."""
        for r in self.memory.entries:
            if limit <= r.size:
                return r.base + limit
            limit -= r.size
        return PHYS_ADDR_MAX

    def enforce_memory_limit(self, limit: int) -> None:
        """memblock_enforce_memory_limit(): the ``mem=`` option; truncate both types."""
        if not limit:
            return
        max_addr = self._find_max_addr(limit)
        if max_addr == PHYS_ADDR_MAX:
            return
        self._remove_range(self.memory, max_addr, PHYS_ADDR_MAX)
        self._remove_range(self.reserved, max_addr, PHYS_ADDR_MAX)

    def cap_memory_range(self, base: int, size: int) -> None:
        """memblock_cap_memory_range(): keep only [base, base+size) (and NOMAP) memory."""
        if not size:
            return
        if not self.memory.total_size:
            self._warn("memblock_cap_memory_range: No memory registered yet")
            return
        rng = self._isolate_range(self.memory, base, size)
        if rng is None:
            return
        start_rgn, end_rgn = rng
        regs = self.memory.entries
        # remove all the MAP regions (above the range, then below it)
        for i in range(len(regs) - 1, end_rgn - 1, -1):
            if not regs[i].flags & MemblockFlags.NOMAP:
                self._remove_regions(self.memory, i, i + 1)
        for i in range(start_rgn - 1, -1, -1):
            if not regs[i].flags & MemblockFlags.NOMAP:
                self._remove_regions(self.memory, i, i + 1)
        self._remove_range(self.reserved, 0, base)
        self._remove_range(self.reserved, base + size, PHYS_ADDR_MAX)

    def mem_limit_remove_map(self, limit: int) -> None:
        """memblock_mem_limit_remove_map()."""
        if not limit:
            return
        max_addr = self._find_max_addr(limit)
        if max_addr == PHYS_ADDR_MAX:
            return
        self.cap_memory_range(0, max_addr)

    # ------------------------------------------------------------ dump and state

    def dump(self) -> list[str]:
        """The lines of __memblock_dump_all() (the "MEMBLOCK configuration:" block).

        An empty type prints as the kernel prints it: cnt 0x1 and the dummy region
        [0x0-0xffffffffffffffff] of 0 bytes.
        """
        lines = [
            "MEMBLOCK configuration:",
            f" memory size = {pa(self.memory.total_size)} "
            f"reserved size = {pa(self.reserved.total_size)}",
        ]
        dummy = (MemblockRegion(0, 0, MAX_NUMNODES, MemblockFlags.NONE),)
        for t in (self.memory, self.reserved):
            regs = t.regions or dummy
            lines.append(f" {t.name}.cnt  = 0x{len(regs):x}")
            for idx, r in enumerate(regs):
                nid_buf = f" on node {r.nid}" if r.nid != MAX_NUMNODES else ""
                lines.append(
                    f" {t.name}[0x{idx:x}]\t[{pa(r.base)}-{pa(r.base + r.size - 1)}], "
                    f"{pa(r.size)} bytes{nid_buf} flags: 0x{int(r.flags):x}"
                )
        return lines

    def dump_all(self) -> None:
        """memblock_dump_all(): append dump() to the log under memblock=debug."""
        if self.debug:
            self.log.extend(self.dump())

    def state_tuple(self) -> tuple[object, ...]:
        """A hashable, deterministic summary for digests."""

        def regions(t: MemblockType) -> tuple[tuple[int, int, int, int], ...]:
            return tuple((r.base, r.size, r.nid, int(r.flags)) for r in t.entries)

        return (
            regions(self.memory),
            self.memory.total_size,
            regions(self.reserved),
            self.reserved.total_size,
            self.bottom_up,
            self.current_limit,
        )
