"""memblock's value types and constants (include/linux/memblock.h), and the state and
logging every memblock function shares. The functions are split by what they do:
region arrays in ``memblock.py``, iteration and allocation in ``memblock_alloc.py``.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from kmsan_tui.model.constants import PAGE_SIZE

# include/linux/limits.h: PHYS_ADDR_MAX = (phys_addr_t)~0; phys_addr_t is u64 on x86_64.
PHYS_ADDR_MAX = (1 << 64) - 1
U64 = PHYS_ADDR_MAX

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


REGION_BASE = attrgetter("base")
REGION_END = attrgetter("end")
FLAG_HOTPLUG = int(MemblockFlags.HOTPLUG)
FLAG_MIRROR = int(MemblockFlags.MIRROR)
FLAG_NOMAP = int(MemblockFlags.NOMAP)
FLAG_DRIVER_MANAGED = int(MemblockFlags.DRIVER_MANAGED)


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

    __slots__ = ("name", "max", "total_size", "array_addr", "entries", "_cache")

    def __init__(self, name: str, max_regions: int = INIT_MEMBLOCK_REGIONS) -> None:
        self.name = name
        self.max = max_regions
        # Kept by the same arithmetic as the kernel rather than recomputed, so that
        # memblock_trim_memory()'s stale total (it never updates it) is reproduced.
        self.total_size = 0
        # Physical address of a doubled array; None while the static __initdata
        # array (memblock_memory_init_regions & co.) is in use.
        self.array_addr: int | None = None
        # The region array itself: memblock's functions edit it in place and then
        # call changed(); everyone else reads the ``regions`` snapshot.
        self.entries: list[MemblockRegion] = []
        self._cache: tuple[MemblockRegion, ...] | None = ()

    @property
    def regions(self) -> tuple[MemblockRegion, ...]:
        """The regions, sorted by base (a cached immutable snapshot)."""
        if self._cache is None:
            self._cache = tuple(self.entries)
        return self._cache

    @property
    def cnt(self) -> int:
        """Number of real regions (0 where the kernel's cnt is 1 with a dummy)."""
        return len(self.entries)

    def changed(self) -> None:
        """The array was edited: drop the cached ``regions`` snapshot."""
        self._cache = None

    def __deepcopy__(self, memo: dict[int, Any]) -> MemblockType:
        """Regions are frozen: copying the list is a full copy (fast undo checkpoints)."""
        new = MemblockType.__new__(MemblockType)
        new.name, new.max, new.total_size = self.name, self.max, self.total_size
        new.array_addr = self.array_addr
        new.entries = list(self.entries)
        new._cache = self._cache
        memo[id(self)] = new
        return new

    def __repr__(self) -> str:
        return (
            f"MemblockType(name={self.name!r}, cnt={self.cnt}, max={self.max}, "
            f"total_size={self.total_size:#x})"
        )


# --- include/linux/math.h / align.h helpers, with the kernel's u64 arithmetic -------


def round_up(x: int, y: int) -> int:
    """round_up(): ``((x - 1) | (y - 1)) + 1`` in u64 (y must be a power of two)."""
    return ((((x - 1) & U64) | ((y - 1) & U64)) + 1) & U64


def round_down(x: int, y: int) -> int:
    """round_down(): ``x & ~(y - 1)`` in u64 (y must be a power of two)."""
    return x & ~((y - 1) & U64) & U64


def clamp(val: int, lo: int, hi: int) -> int:
    return min(max(val, lo), hi)


def cap_size(base: int, size: int) -> int:
    """memblock_cap_size(): shrink size so that base + size does not overflow."""
    return min(size, PHYS_ADDR_MAX - base)


def pa(value: int) -> str:
    """vsprintf's %pa for a 64-bit phys_addr_t: 0x and 16 hex digits."""
    return f"0x{value & U64:016x}"


def page_align(size: int) -> int:
    return round_up(size, PAGE_SIZE)


class MemblockBase(ABC):
    """struct memblock: the two region arrays and the allocation policy, plus the
    memblock=debug log (see :class:`kmsan_tui.model.memblock.Memblock`)."""

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
        self._dbg(f"{func}: [{pa(base)}-{pa(base + size - 1)}]{extra}", caller)

    @abstractmethod
    def reserve(self, base: int, size: int, nid: int = MAX_NUMNODES, *, caller: str = "") -> int:
        """memblock_reserve() (mm/memblock.c); the allocators reserve what they find."""
