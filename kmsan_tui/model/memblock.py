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

import enum
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from dataclasses import dataclass, replace
from operator import attrgetter
from typing import Any

from kmsan_tui.model.constants import PAGE_SHIFT, PAGE_SIZE

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

# include/linux/limits.h: PHYS_ADDR_MAX = (phys_addr_t)~0; phys_addr_t is u64 on x86_64.
PHYS_ADDR_MAX = (1 << 64) - 1
_U64 = PHYS_ADDR_MAX

# include/linux/memblock.h: "Flags for memblock allocation APIs".
MEMBLOCK_ALLOC_ANYWHERE = PHYS_ADDR_MAX
MEMBLOCK_ALLOC_ACCESSIBLE = 0
# MEMBLOCK_ALLOC_NOLEAKTRACE (MEMBLOCK_ALLOC_KASAN in older kernels) also means
# "up to current_limit", it only skips kmemleak, which we do not model.
MEMBLOCK_ALLOC_NOLEAKTRACE = 1
MEMBLOCK_LOW_LIMIT = 0

# include/linux/numa.h.  MAX_NUMNODES is 1 << CONFIG_NODES_SHIFT; 1024 is the x86_64
# MAXSMP value and, as in the kernel, doubles as "no node set" on a region.
NUMA_NO_NODE = -1
MAX_NUMNODES = 1024

# arch/x86/include/asm/cache.h: L1_CACHE_BYTES with X86_L1_CACHE_SHIFT=6.
SMP_CACHE_BYTES = 64
# include/linux/memblock.h: the default ARCH_LOW_ADDRESS_LIMIT, which x86 keeps.
ARCH_LOW_ADDRESS_LIMIT = 0xFFFFFFFF

# mm/memblock.c: INIT_MEMBLOCK_REGIONS; both arrays start with this many slots on x86.
INIT_MEMBLOCK_REGIONS = 128
# sizeof(struct memblock_region) on x86_64 with CONFIG_NUMA: base, size (u64 each),
# flags (enum, 4 bytes), nid (int) -> 24 bytes.  memblock_double_array() sizes its
# new array with it.
SIZEOF_MEMBLOCK_REGION = 24

ENOMEM = 12


class MemblockFlags(enum.IntFlag):
    """include/linux/memblock.h: enum memblock_flags (names without the prefix)."""

    NONE = 0x0  # MEMBLOCK_NONE: no special request
    HOTPLUG = 0x1  # MEMBLOCK_HOTPLUG: hotpluggable region
    MIRROR = 0x2  # MEMBLOCK_MIRROR: mirrored region
    NOMAP = 0x4  # MEMBLOCK_NOMAP: don't add to kernel direct mapping
    DRIVER_MANAGED = 0x8  # MEMBLOCK_DRIVER_MANAGED: always detected via a driver
    RSRV_NOINIT = 0x10  # MEMBLOCK_RSRV_NOINIT: don't initialize struct pages


class MemblockPanic(RuntimeError):
    """The simulated kernel would panic() or BUG() here (a bug in the caller)."""


@dataclass(frozen=True, slots=True)
class MemblockRegion:
    """struct memblock_region: ``[base, base + size)`` with its node and flags.

    ``nid`` is MAX_NUMNODES when nobody set one, which is what memblock_add() and
    memblock_reserve() store (mm/memblock.c: memblock_add_range(..., MAX_NUMNODES, 0)).
    """

    base: int
    size: int
    nid: int = MAX_NUMNODES
    flags: MemblockFlags = MemblockFlags.NONE

    @property
    def end(self) -> int:
        """The exclusive end, region_end() in tools/testing/memblock/tests/common.h."""
        return self.base + self.size


_BASE = attrgetter("base")
_END = attrgetter("end")
_HOTPLUG = int(MemblockFlags.HOTPLUG)
_MIRROR = int(MemblockFlags.MIRROR)
_NOMAP = int(MemblockFlags.NOMAP)
_DRIVER_MANAGED = int(MemblockFlags.DRIVER_MANAGED)


class MemblockType:
    """struct memblock_type: one sorted, non-overlapping, merged region array.

    The kernel never lets ``cnt`` drop to 0: an empty array holds one dummy region
    ``[0, 0)`` (mm/memblock.c: memblock_remove_region(), "Special case for empty
    arrays") and ``cnt`` is 1.  Here an empty type has ``regions == ()`` and
    ``cnt == 0``; only dump() prints the dummy, because the kernel prints it.  The
    ported tests map the suite's ``cnt == 1`` with ``regions[0] == {0, 0}`` onto
    ``cnt == 0`` accordingly.

    ``max`` is the array capacity, doubled by memblock_double_array() exactly when
    the kernel would double it, so the doubled array's reservation shows up too.
    """

    __slots__ = ("name", "max", "total_size", "array_addr", "_regions", "_cache")

    def __init__(self, name: str, max_regions: int = INIT_MEMBLOCK_REGIONS) -> None:
        self.name = name
        self.max = max_regions
        # Kept by the same arithmetic as the kernel rather than recomputed, so that
        # memblock_trim_memory()'s stale total (it never updates it) is reproduced.
        self.total_size = 0
        # Physical address of a doubled array; None while the static __initdata
        # array (memblock_memory_init_regions & co.) is in use.
        self.array_addr: int | None = None
        self._regions: list[MemblockRegion] = []
        self._cache: tuple[MemblockRegion, ...] | None = ()

    @property
    def regions(self) -> tuple[MemblockRegion, ...]:
        """The regions, sorted by base (a cached immutable snapshot)."""
        if self._cache is None:
            self._cache = tuple(self._regions)
        return self._cache

    @property
    def cnt(self) -> int:
        """Number of real regions (0 where the kernel's cnt is 1 with a dummy)."""
        return len(self._regions)

    def _changed(self) -> None:
        self._cache = None

    def __deepcopy__(self, memo: dict[int, Any]) -> MemblockType:
        """Regions are frozen: copying the list is a full copy (fast undo checkpoints)."""
        new = MemblockType.__new__(MemblockType)
        new.name, new.max, new.total_size = self.name, self.max, self.total_size
        new.array_addr = self.array_addr
        new._regions = list(self._regions)
        new._cache = self._cache
        memo[id(self)] = new
        return new

    def __repr__(self) -> str:
        return (
            f"MemblockType(name={self.name!r}, cnt={self.cnt}, max={self.max}, "
            f"total_size={self.total_size:#x})"
        )


# --- include/linux/math.h / align.h helpers, with the kernel's u64 arithmetic -------


def _round_up(x: int, y: int) -> int:
    """round_up(): ``((x - 1) | (y - 1)) + 1`` in u64 (y must be a power of two)."""
    return ((((x - 1) & _U64) | ((y - 1) & _U64)) + 1) & _U64


def _round_down(x: int, y: int) -> int:
    """round_down(): ``x & ~(y - 1)`` in u64 (y must be a power of two)."""
    return x & ~((y - 1) & _U64) & _U64


def _clamp(val: int, lo: int, hi: int) -> int:
    return min(max(val, lo), hi)


def _cap_size(base: int, size: int) -> int:
    """memblock_cap_size(): shrink size so that base + size does not overflow."""
    return min(size, PHYS_ADDR_MAX - base)


def _pa(value: int) -> str:
    """vsprintf's %pa for a 64-bit phys_addr_t: 0x and 16 hex digits."""
    return f"0x{value & _U64:016x}"


def _page_align(size: int) -> int:
    return _round_up(size, PAGE_SIZE)


class Memblock:
    """struct memblock plus the functions of mm/memblock.c that act on it.

    ``debug`` is the ``memblock=debug`` boot option: every memblock_dbg() line is
    appended to ``log`` in the kernel's format.  ``caller`` arguments stand for the
    ``%pS`` of ``_RET_IP_`` and are printed verbatim (omitted when empty).
    ``warnings`` collects what the kernel prints regardless of memblock=debug
    (pr_warn/pr_err and WARN splats, summarised on one line).
    """

    def __init__(self, *, debug: bool = False) -> None:
        self.memory = MemblockType("memory")
        self.reserved = MemblockType("reserved")
        self.bottom_up = False
        self.current_limit = MEMBLOCK_ALLOC_ANYWHERE
        self.debug = debug
        self.log: list[str] = []
        self.warnings: list[str] = []
        # mm/memblock.c: memblock_can_resize, set by memblock_allow_resize() (x86
        # calls it first thing in e820__memblock_setup()).
        self.can_resize = False
        # mm/memblock.c: system_has_some_mirror, set by memblock_mark_mirror().
        self.system_has_some_mirror = False
        # include/linux/memory_hotplug.h: movable_node_is_enabled() (the
        # "movable_node" boot option); hotpluggable memory is then skipped.
        self.movable_node_enabled = False
        # The %pS that memblock_reserve() prints when called from
        # memblock_alloc_range_nid(); a real log shows an address here.
        self.alloc_reserve_caller = "memblock_alloc_range_nid"
        self._warned_once: set[str] = set()

    # ------------------------------------------------------------------ logging

    def _dbg(self, text: str, caller: str = "") -> None:
        """memblock_dbg(): pr_info only when memblock=debug."""
        if self.debug:
            self.log.append(f"{text} {caller}" if caller else text)

    def _warn(self, text: str) -> None:
        self.warnings.append(text)

    def _warn_once(self, text: str) -> None:
        """WARN_ONCE(): reported once per call site, here once per message."""
        if text not in self._warned_once:
            self._warned_once.add(text)
            self.warnings.append(text)

    def _dbg_range(self, func: str, base: int, size: int, caller: str, extra: str = "") -> None:
        # "%s: [%pa-%pa] %pS\n" with end = base + size - 1 (u64, so size 0 wraps).
        self._dbg(f"{func}: [{_pa(base)}-{_pa(base + size - 1)}]{extra}", caller)

    # ------------------------------------------------------ region array internals

    def _merge_regions(self, t: MemblockType, start_rgn: int, end_rgn: int) -> None:
        """memblock_merge_regions(): merge compatible neighbours in [start-1, end].

        The v6.8-era copy scans only around the regions just touched; the v5.x
        copy scans the whole array.  Both give the same result because the array
        is fully merged before every operation.
        """
        regs = t._regions
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
        t._changed()

    def _add_range(
        self, t: MemblockType, base: int, size: int, nid: int, flags: MemblockFlags
    ) -> int:
        """memblock_add_range(): add [base, base+size), overlaps leave old regions be.

        Only the parts of the new range not already covered are inserted (with the
        new nid/flags), then neighbours are merged.  If the array would overflow,
        memblock_double_array() grows it first, and the insertion is recomputed
        because doubling ``reserved`` may itself have reserved the new array.
        """
        size = _cap_size(base, size)
        end = base + size
        if not size:
            return 0
        regs = t._regions
        if not regs:
            # "special case for empty array": overwrite the dummy region.
            if t.total_size:
                self._warn(f"WARNING: memblock_add_range: {t.name} empty with total_size")
            regs.append(MemblockRegion(base, size, nid, flags))
            t.total_size = size
            t._changed()
            return 0

        while True:
            first = bisect_right(regs, base, key=_END)  # first region ending after base
            pieces: list[MemblockRegion] = []
            cur = base
            i = first
            while i < len(regs) and regs[i].base < end:
                rgn = regs[i]
                if rgn.base > cur:
                    # The kernel WARNs when a region it fills around differs.
                    if nid != rgn.nid or flags != rgn.flags:
                        self._warn(
                            f"WARNING: memblock_add_range: {t.name} [{_pa(base)}-"
                            f"{_pa(end - 1)}] nid/flags differ from an overlapped region"
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
        size = _cap_size(base, size)
        end = base + size
        if not size:
            return 0, 0
        # "we'll create at most two more regions"
        while t.cnt + 2 > t.max:
            if self._double_array(t, base, size) < 0:
                return None
        regs = t._regions
        start_rgn = end_rgn = 0
        i = bisect_right(regs, base, key=_END)
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
        t._changed()
        return start_rgn, end_rgn

    def _remove_regions(self, t: MemblockType, start: int, stop: int) -> None:
        """memblock_remove_region() for regs[start:stop], highest index first."""
        regs = t._regions
        t.total_size -= sum(r.size for r in regs[start:stop])
        del regs[start:stop]
        if not regs and t.total_size != 0:
            # WARN_ON(type->total_size != 0) in the "empty arrays" special case;
            # the kernel leaves the stale total (see trim_memory()).
            self._warn(f"WARNING: memblock_remove_region: {t.name} empty, total_size != 0")
        t._changed()

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
        old_alloc_size = _page_align(old_size)
        new_alloc_size = _page_align(new_size)
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
            f"[{_pa(addr)}-{_pa(addr + new_size - 1)}]"
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
        regs = t._regions
        i = bisect_right(regs, addr, key=_BASE) - 1
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
        regs = t._regions
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
        regs = type._regions
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
        size = _cap_size(base, size)
        regs = t._regions
        # memblock_addrs_overlap(): base < rbase + rsize && rbase < base + size.
        j = bisect_left(regs, base + size, key=_BASE) - 1
        return j >= 0 and base < regs[j].end

    def is_region_memory(self, base: int, size: int) -> bool:
        """memblock_is_region_memory(): is the range inside one memory region?"""
        idx = self._search(self.memory, base)
        end = base + _cap_size(base, size)
        return idx != -1 and self.memory._regions[idx].end >= end

    def is_region_reserved(self, base: int, size: int) -> bool:
        """memblock_is_region_reserved(): does the range intersect reserved?"""
        return self.overlaps_region(self.reserved, base, size)

    def is_memory(self, addr: int) -> bool:
        """memblock_is_memory()."""
        return self._search(self.memory, addr) != -1

    def is_map_memory(self, addr: int) -> bool:
        """memblock_is_map_memory(): memory and not MEMBLOCK_NOMAP."""
        i = self._search(self.memory, addr)
        return i != -1 and not self.memory._regions[i].flags & MemblockFlags.NOMAP

    def is_reserved(self, addr: int) -> bool:
        """memblock_is_reserved()."""
        return self._search(self.reserved, addr) != -1

    def search_pfn_nid(self, pfn: int) -> tuple[int, int, int] | None:
        """memblock_search_pfn_nid(): (nid, start_pfn, end_pfn) of pfn's region."""
        i = self._search(self.memory, pfn << PAGE_SHIFT)
        if i == -1:
            return None
        r = self.memory._regions[i]
        return r.nid, r.base >> PAGE_SHIFT, r.end >> PAGE_SHIFT

    def phys_mem_size(self) -> int:
        """memblock_phys_mem_size(): memory.total_size (stale after trim_memory())."""
        return self.memory.total_size

    def reserved_size(self) -> int:
        """memblock_reserved_size()."""
        return self.reserved.total_size

    def start_of_DRAM(self) -> int:
        """memblock_start_of_DRAM(): regions[0].base (0 with the empty dummy)."""
        regs = self.memory._regions
        return regs[0].base if regs else 0

    def end_of_DRAM(self) -> int:
        """memblock_end_of_DRAM(): end of the last memory region (0 when empty)."""
        regs = self.memory._regions
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
        regs = t._regions
        i = 0
        while i < len(regs):
            r = regs[i]
            start = _round_up(r.base, align)
            end = _round_down(r.end, align)
            if start == r.base and end == r.end:
                i += 1
            elif start < end:
                regs[i] = replace(r, base=start, size=end - start)
                i += 1
            else:
                self._remove_regions(t, i, i + 1)
        t._changed()

    def _find_max_addr(self, limit: int) -> int:
        """__find_max_addr(): the address where ``limit`` bytes of memory end."""
        for r in self.memory._regions:
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
        regs = self.memory._regions
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
        if flags & _MIRROR and not mflags & _MIRROR:
            return True
        if not mflags:  # the common case: nothing below can skip it
            return False
        # skip hotpluggable memory regions if needed (movable_node)
        if self.movable_node_enabled and mflags & _HOTPLUG and not flags & _HOTPLUG:
            return True
        # skip nomap / driver-managed memory unless we were asked for it explicitly
        if not flags & _NOMAP and mflags & _NOMAP:
            return True
        return bool(not flags & _DRIVER_MANAGED and mflags & _DRIVER_MANAGED)

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
        mem = self.memory._regions
        res = self.reserved._regions
        n_res = len(res)
        # Gap k of reserved is [res[k-1].end or 0, res[k].base or PHYS_ADDR_MAX).
        if not reverse:
            for ia in range(bisect_right(mem, lo, key=_END), len(mem)):
                m = mem[ia]
                if m.base >= hi:
                    return
                if self._should_skip_region(m, nid, flags):
                    continue
                k = bisect_right(res, m.base, key=_BASE)  # first gap with r_end > m.base
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
            for ia in range(bisect_left(mem, hi, key=_BASE) - 1, -1, -1):
                m = mem[ia]
                if m.end <= lo:
                    return
                if self._should_skip_region(m, nid, flags):
                    continue
                k = bisect_left(res, m.end, key=_END)  # last gap with r_start < m.end
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
        regs = self.memory._regions
        order = reversed(regs) if reverse else iter(regs)
        return (
            (m.base, m.end, m.nid)
            for m in order
            if not self._should_skip_region(m, nid, iflags)
        )

    def reserved_ranges(self) -> Iterator[tuple[int, int]]:
        """for_each_reserved_mem_range(): (start, end) of reserved regions."""
        return ((r.base, r.end) for r in self.reserved._regions)

    def mem_pfn_ranges(self, nid: int = MAX_NUMNODES) -> Iterator[tuple[int, int, int]]:
        """for_each_mem_pfn_range(): (start_pfn, end_pfn, nid), whole pages only.

        Here MAX_NUMNODES (not NUMA_NO_NODE) selects every node, as in the kernel.
        """
        for r in self.memory._regions:
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
                this_start = _clamp(this_start, start, end)
                this_end = _clamp(this_end, start, end)
                cand = _round_up(this_start, align)
                if cand < this_end and this_end - cand >= size:
                    return cand
            return 0
        # __memblock_find_range_top_down()
        for this_start, this_end, _ in self._free_iter(nid, iflags, True, lo, hi):
            if this_end - this_start < size:
                continue  # clamping only shrinks it: the checks below would fail too
            this_start = _clamp(this_start, start, end)
            this_end = _clamp(this_end, start, end)
            if this_end < size:
                continue
            cand = _round_down(this_end - size, align)
            if cand >= this_start:
                return cand
        return 0

    def find_in_range(self, start: int, end: int, size: int, align: int) -> int:
        """memblock_find_in_range(): any node, with the mirror fallback; 0 on failure."""
        flags = self._choose_memblock_flags()
        while True:
            ret = self.find_in_range_node(size, align, start, end, NUMA_NO_NODE, flags)
            if not ret and flags & MemblockFlags.MIRROR:
                self._warn(f"Could not allocate {_pa(size)} bytes of mirrored memory")
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
                self._warn(f"Could not allocate {_pa(size)} bytes of mirrored memory")
                continue
            return None

    def phys_alloc_range(
        self, size: int, align: int, start: int, end: int, *, caller: str = ""
    ) -> int | None:
        """memblock_phys_alloc_range(): any node, within [start, end)."""
        self._dbg(
            f"memblock_phys_alloc_range: {size & _U64} bytes align=0x{align & _U64:x} "
            f"from={_pa(start)} max_addr={_pa(end)}",
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
            f"{func}: {size & _U64} bytes align=0x{align & _U64:x} nid={nid} "
            f"from={_pa(min_addr)} max_addr={_pa(max_addr)}",
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

    # ------------------------------------------------------------ dump and state

    def dump(self) -> list[str]:
        """The lines of __memblock_dump_all() (the "MEMBLOCK configuration:" block).

        An empty type prints as the kernel prints it: cnt 0x1 and the dummy region
        [0x0-0xffffffffffffffff] of 0 bytes.
        """
        lines = [
            "MEMBLOCK configuration:",
            f" memory size = {_pa(self.memory.total_size)} "
            f"reserved size = {_pa(self.reserved.total_size)}",
        ]
        dummy = (MemblockRegion(0, 0, MAX_NUMNODES, MemblockFlags.NONE),)
        for t in (self.memory, self.reserved):
            regs = t.regions or dummy
            lines.append(f" {t.name}.cnt  = 0x{len(regs):x}")
            for idx, r in enumerate(regs):
                nid_buf = f" on node {r.nid}" if r.nid != MAX_NUMNODES else ""
                lines.append(
                    f" {t.name}[0x{idx:x}]\t[{_pa(r.base)}-{_pa(r.base + r.size - 1)}], "
                    f"{_pa(r.size)} bytes{nid_buf} flags: 0x{int(r.flags):x}"
                )
        return lines

    def dump_all(self) -> None:
        """memblock_dump_all(): append dump() to the log under memblock=debug."""
        if self.debug:
            self.log.extend(self.dump())

    def state_tuple(self) -> tuple[object, ...]:
        """A hashable, deterministic summary for digests."""

        def regions(t: MemblockType) -> tuple[tuple[int, int, int, int], ...]:
            return tuple((r.base, r.size, r.nid, int(r.flags)) for r in t._regions)

        return (
            regions(self.memory),
            self.memory.total_size,
            regions(self.reserved),
            self.reserved.total_size,
            self.bottom_up,
            self.current_limit,
        )
