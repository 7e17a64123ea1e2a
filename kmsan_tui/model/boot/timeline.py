"""The boot timeline: setup_arch() and mm init calls, named and ordered as the kernel does.

Each step is a function of the simulation (setup_arch.py, mm_init.py) that makes the
reservations and allocations its kernel namesake makes on x86_64. Sizes and order were
calibrated against the 6.1 boot logs in ../shared/data/bootlogs (memblock=debug): see
tests/golden/test_bootlog_calibration.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kmsan_tui.model.boot import mm_init as mm
from kmsan_tui.model.boot import setup_arch as sa
from kmsan_tui.model.layout_types import KernelConfig
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.strategies.base import MetadataStrategy

StepFn = Callable[[Machine, MetadataStrategy], None]
"""An init call: it acts on the machine, and calls the KMSAN strategy where the
kernel calls into mm/kmsan."""

@dataclass(frozen=True, slots=True)
class BootStep:
    """One init call: its kernel name, where it lives, and what it does to memory."""

    name: str
    source: str  # "file: function()"
    explanation: str
    run: StepFn


_MM = "mm/mm_init.c"

_DEFS: dict[str, tuple[str, str, StepFn]] = {
    "early_reserve_memory": (
        "arch/x86/kernel/setup.c: early_reserve_memory()",
        "Before memblock knows any RAM, the kernel image, the first 64 KiB, the initrd and the "
        "BIOS regions below 1 MiB are reserved so nothing later allocates over them.",
        sa.early_reserve_memory),
    "e820__memory_setup": (
        "arch/x86/kernel/e820.c: e820__memory_setup()",
        "The firmware's e820 map is read and printed (BIOS-e820 lines): which physical ranges "
        "are usable RAM and which are reserved, ACPI or holes.",
        sa.e820__memory_setup),
    "e820__memblock_setup": (
        "arch/x86/kernel/e820.c: e820__memblock_setup()",
        "Every usable e820 range is added to memblock.memory; page 0 and 640K-1M are trimmed. "
        "From now on memblock is the only allocator, top-down by default.",
        sa.e820__memblock_setup),
    "reserve_real_mode": (
        "arch/x86/realmode/init.c: reserve_real_mode()",
        "The real-mode trampoline for booting other CPUs is allocated below 1 MiB, and then the "
        "whole first megabyte is reserved.",
        sa.reserve_real_mode),
    "init_mem_mapping": (
        "arch/x86/mm/init.c: init_mem_mapping()",
        "The direct map of all RAM is built; its page-table pages come from memblock, top-down.",
        sa.init_mem_mapping),
    "acpi_boot_table_init": (
        "drivers/acpi/tables.c: acpi_reserve_initial_tables()",
        "The ACPI tables found by the firmware are reserved so they survive until parsed.",
        sa.acpi_boot_table_init),
    "initmem_init": (
        "arch/x86/mm/numa.c: numa_register_memblks(), alloc_node_data()",
        "NUMA nodes are attached to memblock ranges and each node's pg_data_t (NODE_DATA) is "
        "allocated on its own node.",
        sa.initmem_init),
    "sparse_init": (
        "mm/sparse.c: sparse_init()",
        "The memmap is allocated: one struct page per page of RAM, per 128 MiB section. "
        "KMSAN's two pointers make struct page 80 bytes instead of 64 (+25 %).",
        sa.sparse_init),
    "kasan_init": (
        "arch/x86/mm/kasan_init_64.c: kasan_init()",
        "Generic KASAN maps real shadow memory (1 byte per 8) for all RAM from memblock; "
        "everything else in its 16 TB range maps one read-only zero page.",
        sa.kasan_init),
    "free_area_init": (
        f"{_MM}: free_area_init()",
        "Zones (DMA < 16 MiB, DMA32 < 4 GiB, Normal) and nodes get their spans; memmap_init() "
        "marks every pageblock MIGRATE_MOVABLE. The buddy free lists exist but are empty.",
        sa.free_area_init),
    "setup_command_line": (
        "init/main.c: setup_command_line()",
        "Two copies of the kernel command line are kept (saved and static), from memblock.",
        sa.setup_command_line),
    "setup_per_cpu_areas": (
        "mm/percpu.c: pcpu_embed_first_chunk()",
        "Each CPU's per-cpu area is carved from 2 MiB memblock allocations per node; the unused "
        "tail of every unit is given back.",
        sa.setup_per_cpu_areas),
    "build_all_zonelists": (
        "mm/page_alloc.c: build_all_zonelists()",
        "Each node's zonelist is built: the order in which zones are tried for an allocation.",
        sa.build_all_zonelists),
    "vfs_caches_init_early": (
        "fs/dcache.c: dcache_init_early(), fs/inode.c: inode_init_early()",
        "The dentry and inode hash tables, sized from RAM, come from memblock "
        "(alloc_large_system_hash with HASH_EARLY).",
        sa.vfs_caches_init_early),
    "page_ext_init_flatmem": (
        f"{_MM}: page_ext_init_flatmem()", "Only FLATMEM allocates page_ext here; x86_64 is "
        "SPARSEMEM, so this does nothing.", mm.page_ext_init_flatmem),
    "mem_debugging_and_hardening_init": (
        f"{_MM}: mem_debugging_and_hardening_init()",
        "init_on_alloc/init_on_free and page poisoning are decided; nothing is allocated.",
        mm.mem_debugging_and_hardening_init),
    "kfence_alloc_pool": (
        "mm/kfence/core.c: kfence_alloc_pool_and_metadata()",
        "With CONFIG_KFENCE a 2 MiB guarded pool is taken from memblock.", mm.kfence_alloc_pool),
    "kmsan_init_shadow": (
        "mm/kmsan/init.c: kmsan_init_shadow()",
        "KMSAN gives metadata to what already exists: every memblock.reserved range, the "
        "kernel's .data and each NODE_DATA get a shadow and an origin copy, two range-sized "
        "memblock allocations each. That doubles everything reserved so far.",
        mm.kmsan_init_shadow),
    "stack_depot_early_init": (
        "lib/stackdepot.c: stack_depot_early_init()",
        "KMSAN selects STACKDEPOT_ALWAYS_INIT: the stack depot hash table (1 bucket per 16 KiB "
        "of RAM) comes from memblock.", mm.stack_depot_early_init),
    "pci_iommu_alloc": (
        "arch/x86/kernel/pci-dma.c: pci_iommu_alloc() -> swiotlb_init()",
        "With RAM above 4 GiB, 64 MiB of swiotlb bounce buffer is taken below 4 GiB. In v6.1 "
        "this runs inside mem_init(), after kmsan_init_shadow, so it gets no metadata; in "
        "mainline it runs in arch_mm_preinit(), before it.",
        mm.pci_iommu_alloc),
    "memblock_free_all": (
        "mm/memblock.c: memblock_free_all()",
        "memblock hands every free range to the buddy allocator in naturally aligned chunks, "
        "ascending, each to its list tail. With eager KMSAN, kmsan_memblock_free_pages() keeps "
        "the 1st and 2nd chunk of each order as shadow and origin for the 3rd.",
        mm.memblock_free_all),
    "mem_init": (
        "arch/x86/mm/init_64.c: mem_init()",
        "After the hand-over, preallocate_vmalloc_pages() takes one page-table page per "
        "top-level vmalloc entry from the buddy allocator: its first users.",
        mm.mem_init),
    "mem_init_print_info": (
        "mm/mm_init.c: mem_init_print_info()",
        "The kernel prints the Memory: line: free pages (nr_free_pages), present pages, and reserved = "
        "present - totalram_pages.",
        mm.mem_init_print_info),
    "kmem_cache_init": (
        "mm/slub.c: kmem_cache_init()",
        "SLUB bootstraps its caches; their first slabs are order-0..3 buddy allocations, "
        "UNMOVABLE, which claim a MOVABLE pageblock by fallback.",
        mm.kmem_cache_init),
    "page_ext_init_flatmem_late": (
        f"{_MM}: page_ext_init_flatmem_late()",
        "The late FLATMEM page_ext allocation; x86_64 is SPARSEMEM, so nothing happens here.",
        mm.page_ext_init_flatmem_late),
    "kmemleak_init": (
        "mm/kmemleak.c: kmemleak_init()", "kmemleak's caches, when CONFIG_DEBUG_KMEMLEAK is set; "
        "its early pool is static.", mm.kmemleak_init),
    "pgtable_init": (
        f"{_MM}: pgtable_init()",
        "The page-table lock and page-table caches are created: kmem_cache objects from the "
        "slab bootstrapped above.",
        mm.pgtable_init),
    "ptlock_cache_init": (
        "mm/memory.c: ptlock_cache_init()", "The split page-table lock cache is created (one ptlock per "
        "page-table page when spinlocks are big).",
        mm.pgtable_init),
    "pgtable_cache_init": (
        "arch: pgtable_cache_init()", "Architecture page-table caches; x86_64 allocates page tables straight"
        " from the page allocator, so none.",
        mm.pgtable_cache_init),
    "debug_objects_mem_init": (
        "lib/debugobjects.c: debug_objects_mem_init()", "The debug-objects cache, when "
        "CONFIG_DEBUG_OBJECTS is set; its early pool is static.", mm.debug_objects_mem_init),
    "vmalloc_init": (
        "mm/vmalloc.c: vmalloc_init()", "The vmap_area cache and per-cpu vmap block queues are "
        "set up and early vm areas imported: from here vmalloc works.", mm.vmalloc_init),
    "page_ext_init": (
        "mm/page_ext.c: page_ext_init()",
        "page_ext arrays are allocated per 128 MiB section from the buddy allocator (vzalloc as "
        "fallback), if a client needs them: this is where Michal Hocko wanted KMSAN's pointers.",
        mm.page_ext_init),
    "init_espfix_bsp": (
        "arch/x86/kernel/espfix_64.c: init_espfix_bsp()", "The espfix64 stacks (for returning to 16-bit "
        "stack segments) get their page-table page; it is static, nothing is allocated.",
        mm.init_espfix_bsp),
    "pti_init": (
        "arch/x86/mm/pti.c: pti_init()",
        "Kernel page-table isolation (Meltdown) would clone the kernel mappings here; off in "
        "these configurations.", mm.pti_init),
    "kmsan_init_runtime": (
        "mm/kmsan/init.c: kmsan_init_runtime()",
        "kmsan_memblock_discard() pairs up what is left in held_back[]: three blocks of an order "
        "become shadow, origin and data, the rest are split in halves one order down. Then "
        "kmsan_enabled is set.",
        mm.kmsan_init_runtime),
    "mm_cache_init": (
        f"{_MM}: mm_cache_init()",
        "The caches for mm_struct and friends are created; their first slab comes from the "
        "buddy allocator.", mm.mm_cache_init),
}

_SETUP_ARCH = [
    "early_reserve_memory", "e820__memory_setup", "e820__memblock_setup", "reserve_real_mode",
    "init_mem_mapping", "acpi_boot_table_init", "initmem_init", "sparse_init", "free_area_init",
    "setup_command_line", "setup_per_cpu_areas", "build_all_zonelists", "vfs_caches_init_early",
]

# init/main.c (v6.1): mm_init(); mem_init() holds pci_iommu_alloc and memblock_free_all.
_V61 = [
    "page_ext_init_flatmem", "mem_debugging_and_hardening_init", "kfence_alloc_pool",
    "kmsan_init_shadow", "stack_depot_early_init", "pci_iommu_alloc", "memblock_free_all",
    "mem_init", "mem_init_print_info", "kmem_cache_init", "page_ext_init_flatmem_late",
    "kmemleak_init", "pgtable_init", "debug_objects_mem_init", "vmalloc_init", "page_ext_init",
    "init_espfix_bsp", "pti_init", "kmsan_init_runtime", "mm_cache_init",
]

# mm/mm_init.c (mainline): mm_core_init(); arch_mm_preinit() allocates swiotlb first,
# and the Memory: line moved to page_alloc_init_late(), printed here at the end.
_MAINLINE = [
    "pci_iommu_alloc", "page_ext_init_flatmem", "mem_debugging_and_hardening_init",
    "kfence_alloc_pool", "kmsan_init_shadow", "stack_depot_early_init", "memblock_free_all",
    "mem_init", "kmem_cache_init", "page_ext_init_flatmem_late", "kmemleak_init",
    "ptlock_cache_init", "pgtable_cache_init", "debug_objects_mem_init", "vmalloc_init",
    "page_ext_init", "init_espfix_bsp", "pti_init", "kmsan_init_runtime", "mm_cache_init",
    "mem_init_print_info",
]


def steps_for(config: KernelConfig) -> list[BootStep]:
    """The boot steps for a kernel version and sanitizer, in the kernel's order."""
    names = list(_SETUP_ARCH)
    if config.sanitizer == "kasan":
        names.insert(names.index("sparse_init") + 1, "kasan_init")
    names += _V61 if config.version == "v6.1" else _MAINLINE
    steps = []
    for name in names:
        source, explanation, fn = _DEFS[name]
        if name == "mem_init_print_info" and config.version != "v6.1":
            source = "mm/mm_init.c: mem_init_print_info() (from page_alloc_init_late())"
        steps.append(BootStep(name, source, explanation, fn))
    return steps

