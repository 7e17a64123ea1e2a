"""Every init call the model knows: its kernel source, what it does to memory, and the
function that does it. Which of them a kernel runs, and in what order, is its
profile's (profiles.py); timeline.py puts the two together."""

from __future__ import annotations

from collections.abc import Callable

from kmsan_tui.model.boot import firmware as fw
from kmsan_tui.model.boot import late
from kmsan_tui.model.boot import mm_init as mm
from kmsan_tui.model.boot import setup_arch as sa
from kmsan_tui.model.boot import start_kernel as sk
from kmsan_tui.model.boot import watermarks as wm
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.strategies.base import MetadataStrategy

StepFn = Callable[[Machine, MetadataStrategy], None]
"""An init call: it acts on the machine, and calls the KMSAN strategy where the
kernel calls into mm/kmsan."""

_MM = "mm/mm_init.c"
_NOTHING = " Nothing is allocated in these configurations."

STEPS: dict[str, tuple[str, str, StepFn]] = {
    # ------------------------------------------------------------ setup_arch()
    "early_reserve_memory": (
        "arch/x86/kernel/setup.c: early_reserve_memory()",
        "Before memblock knows any RAM, the kernel image, the first 64 KiB, the initrd, the "
        "boot loader's setup_data and the BIOS regions below 1 MiB are reserved so nothing "
        "later allocates over them.", sa.early_reserve_memory),
    "e820__memory_setup": (
        "arch/x86/kernel/e820.c: e820__memory_setup()",
        "The firmware's e820 map is read and printed (BIOS-e820 lines): which physical ranges "
        "are usable RAM and which are reserved, ACPI or holes.", fw.e820__memory_setup),
    "efi_memblock_x86_reserve_range": (
        "arch/x86/platform/efi/efi.c: efi_memblock_x86_reserve_range()",
        "On EFI firmware the EFI memory map the boot stub passed is reserved. BIOS firmware "
        "has none: nothing happens.", fw.efi_memblock_x86_reserve_range),
    "e820__reserve_setup_data": (
        "arch/x86/kernel/e820.c: e820__reserve_setup_data()",
        "Each setup_data blob (EFI boot) becomes its own e820 entry, so it is never given "
        "away; the extended map is printed." + _NOTHING, fw.e820__reserve_setup_data),
    "efi_init": (
        "drivers/firmware/efi/efi.c: efi_init() -> efi_memattr_init()",
        "The EFI system table is read and the memory attributes table reserved for the "
        "runtime services (EFI firmware only).", fw.efi_init),
    "e820__memblock_setup": (
        "arch/x86/kernel/e820.c: e820__memblock_setup()",
        "Every usable e820 range is added to memblock.memory; page 0 and 640K-1M are trimmed. "
        "From now on memblock is the only allocator, top-down by default.",
        sa.e820__memblock_setup),
    "efi_reserve_boot_services": (
        "arch/x86/platform/efi/quirks.c: efi_reserve_boot_services()",
        "The EFI boot-services code and data, usable RAM by the firmware's account, stay "
        "reserved (firmware bugs call them after ExitBootServices) until "
        "efi_free_boot_services(): under KMSAN they get metadata like any reservation.",
        fw.efi_reserve_boot_services),
    "reserve_real_mode": (
        "arch/x86/realmode/init.c: reserve_real_mode()",
        "The real-mode trampoline for booting other CPUs is allocated below 1 MiB, and then the "
        "whole first megabyte is reserved.", sa.reserve_real_mode),
    "init_mem_mapping": (
        "arch/x86/mm/init.c: init_mem_mapping()",
        "The direct map of all RAM is built; its page-table pages come from memblock, top-down.",
        sa.init_mem_mapping),
    "acpi_boot_table_init": (
        "drivers/acpi/tables.c: acpi_reserve_initial_tables()",
        "The ACPI tables found by the firmware are reserved so they survive until parsed.",
        fw.acpi_boot_table_init),
    "initmem_init": (
        "arch/x86/mm/numa.c: numa_init(), alloc_node_data()",
        "NUMA nodes (faked without an SRAT, split by numa=fake=N) are attached to memblock "
        "ranges and each node's pg_data_t (NODE_DATA) is allocated on its own node.",
        sa.initmem_init),
    "sparse_init": (
        "mm/sparse.c: sparse_init()",
        "The memmap is allocated: one struct page per page of RAM, per 128 MiB section. "
        "KMSAN's two pointers make struct page 80 bytes instead of 64 (+25 %).",
        sa.sparse_init),
    "free_area_init": (
        f"{_MM}: free_area_init()",
        "Zones (DMA < 16 MiB, DMA32 < 4 GiB, Normal) and nodes get their spans; memmap_init() "
        "marks every pageblock MIGRATE_MOVABLE and the holes reserved. The buddy free lists "
        "exist but are empty.", sa.free_area_init),
    "kasan_init": (
        "arch/x86/mm/kasan_init_64.c: kasan_init()",
        "Generic KASAN maps real shadow memory (1 byte per 8) for all RAM from memblock, right "
        "after paging_init(); everything else in its 16 TB range maps one read-only zero page.",
        sa.kasan_init),
    "acpi_boot_init": (
        "arch/x86/kernel/acpi/boot.c: acpi_boot_init()",
        "The MADT and HPET tables are parsed; the HPET and IOAPIC resources take a few bytes "
        "of memblock.", fw.acpi_boot_init),
    "e820__reserve_resources": (
        "arch/x86/kernel/e820.c: e820__reserve_resources()",
        "One struct resource per e820 entry, from memblock, for /proc/iomem; the largest gap "
        "below 4 GiB is offered to PCI.", fw.e820__reserve_resources),
    # ------------------------------------------------------------ start_kernel()
    "setup_command_line": (
        "init/main.c: setup_command_line()",
        "Two copies of the kernel command line are kept (saved and static), from memblock.",
        sk.setup_command_line),
    "setup_per_cpu_areas": (
        "mm/percpu.c: pcpu_embed_first_chunk()",
        "Each node's CPUs get their per-cpu units in one PMD-aligned memblock allocation; the "
        "unused tail of every unit is given back.", sk.setup_per_cpu_areas),
    "build_all_zonelists": (
        "mm/page_alloc.c: build_all_zonelists()",
        "Each node's zonelist is built: the order in which zones are tried for an allocation. "
        "'Total pages' is what the zones will manage by free_area_init()'s estimate.",
        sk.build_all_zonelists),
    "page_alloc_init": (
        "mm/page_alloc.c: page_alloc_init()",
        "hashdist is turned off on one node and the CPU-hotplug drain callback registered."
        + _NOTHING, sk.page_alloc_init),
    "setup_log_buf": (
        "kernel/printk/printk.c: setup_log_buf()",
        "A bigger printk buffer would come from memblock if log_buf_len= asked for one."
        + _NOTHING, sk.setup_log_buf),
    "vfs_caches_init_early": (
        "fs/dcache.c: dcache_init_early(), fs/inode.c: inode_init_early()",
        "The dentry and inode hash tables, sized from RAM, come from memblock "
        "(alloc_large_system_hash with HASH_EARLY), unless hashdist defers them.",
        sk.vfs_caches_init_early),
    "trap_init": (
        "arch/x86/kernel/traps.c: trap_init() -> setup_cpu_entry_areas()",
        "The cpu_entry_area (per-CPU GDT, TSS, entry stacks) is mapped; its page tables come "
        "from memblock.", sk.trap_init),
    # ------------------------------------------------------------ mm_init()/mm_core_init()
    "page_alloc_init_cpuhp": (
        "mm/page_alloc.c: page_alloc_init_cpuhp()",
        "The CPU-hotplug callbacks that drain a dead CPU's per-cpu lists." + _NOTHING,
        mm.page_alloc_init_cpuhp),
    "hugetlb_bootmem_alloc": (
        "mm/hugetlb.c: hugetlb_bootmem_alloc()",
        "Gigantic huge pages asked for on the command line come from memblock here; none are "
        "asked for." + _NOTHING, mm.hugetlb_bootmem_alloc),
    "alloc_tag_sec_init": (
        "lib/alloc_tag.c: alloc_tag_sec_init()",
        "Memory allocation profiling's per-callsite counters (CONFIG_MEM_ALLOC_PROFILING, off)."
        + _NOTHING, mm.alloc_tag_sec_init),
    "page_ext_init_flatmem": (
        f"{_MM}: page_ext_init_flatmem()", "Only FLATMEM allocates page_ext here; x86_64 is "
        "SPARSEMEM, so this does nothing.", mm.page_ext_init_flatmem),
    "init_mem_debugging_and_hardening": (
        "mm/page_alloc.c: init_mem_debugging_and_hardening()",
        "init_on_alloc/init_on_free and page poisoning are decided." + _NOTHING,
        mm.mem_debugging_and_hardening_init),
    "mem_debugging_and_hardening_init": (
        f"{_MM}: mem_debugging_and_hardening_init()",
        "init_on_alloc/init_on_free and page poisoning are decided." + _NOTHING,
        mm.mem_debugging_and_hardening_init),
    "report_meminit": (
        f"{_MM}: report_meminit()", "The memory auto-initialisation settings are printed."
        + _NOTHING, mm.report_meminit),
    "kfence_alloc_pool": (
        "mm/kfence/core.c: kfence_alloc_pool()",
        "With CONFIG_KFENCE a 2 MiB guarded pool is taken from memblock.", mm.kfence_alloc_pool),
    "kfence_alloc_pool_and_metadata": (
        "mm/kfence/core.c: kfence_alloc_pool_and_metadata()",
        "With CONFIG_KFENCE a 2 MiB guarded pool and its metadata are taken from memblock.",
        mm.kfence_alloc_pool_and_metadata),
    "kmsan_init_shadow": (
        "mm/kmsan/init.c: kmsan_init_shadow()",
        "KMSAN gives metadata to what already exists: every memblock.reserved range, the "
        "kernel's .data and each NODE_DATA get a shadow and an origin copy, two range-sized "
        "memblock allocations each. That doubles everything reserved so far.",
        mm.kmsan_init_shadow),
    "stack_depot_early_init": (
        "lib/stackdepot.c: stack_depot_early_init()",
        "KMSAN selects STACKDEPOT_ALWAYS_INIT: the stack depot hash table (1 bucket per 16 KiB "
        "of RAM, 8-byte buckets up to v6.7, 16 from v6.8) comes from memblock.",
        mm.stack_depot_early_init),
    "kho_memory_init": (
        "kernel/kexec_handover.c: kho_memory_init()",
        "Memory a previous kernel preserved over kexec is reserved before the hand-over; a "
        "cold boot has none." + _NOTHING, mm.kho_memory_init),
    "pci_iommu_alloc": (
        "arch/x86/mm/init_64.c: mem_init() -> pci_iommu_alloc()",
        "With RAM above 4 GiB, 64 MiB of swiotlb bounce buffer is taken below 4 GiB. Up to "
        "v6.14 this runs inside mem_init(), after kmsan_init_shadow, so it gets no metadata; "
        "from v6.15 it runs in arch_mm_preinit(), before it.", mm.pci_iommu_alloc),
    "memblock_free_all": (
        "mm/memblock.c: memblock_free_all()",
        "memblock hands every free range to the buddy allocator in naturally aligned chunks, "
        "ascending, each to its list tail. With eager KMSAN, kmsan_memblock_free_pages() keeps "
        "the 1st and 2nd chunk of each order as shadow and origin for the 3rd.",
        mm.memblock_free_all),
    "mem_init": (
        "arch/x86/mm/init_64.c: mem_init() -> preallocate_vmalloc_pages()",
        "After the hand-over, preallocate_vmalloc_pages() takes one page-table page per "
        "top-level vmalloc entry from the buddy allocator: its first users.", mm.mem_init),
    "mem_init_print_info": (
        f"{_MM}: mem_init_print_info()",
        "The kernel prints the Memory: line: free pages (nr_free_pages), present pages, and "
        "reserved = present - totalram_pages.", mm.mem_init_print_info),
    "kmem_cache_init": (
        "mm/slub.c: kmem_cache_init()",
        "SLUB bootstraps its caches; their first slabs are order-0..3 buddy allocations, "
        "UNMOVABLE, which claim a MOVABLE pageblock by fallback.", mm.kmem_cache_init),
    "page_ext_init_flatmem_late": (
        f"{_MM}: page_ext_init_flatmem_late()",
        "The late FLATMEM page_ext allocation; x86_64 is SPARSEMEM, so nothing happens here.",
        mm.page_ext_init_flatmem_late),
    "kmemleak_init": (
        "mm/kmemleak.c: kmemleak_init()", "kmemleak's caches, when CONFIG_DEBUG_KMEMLEAK is set; "
        "its early pool is static.", mm.kmemleak_init),
    "pgtable_init": (
        "init/main.c: pgtable_init()",
        "The page-table lock cache is created (ptlock_cache_init + pgtable_cache_init): "
        "kmem_cache objects from the slab bootstrapped above.", mm.pgtable_init),
    "ptlock_cache_init": (
        "mm/memory.c: ptlock_cache_init()", "The split page-table lock cache is created (one "
        "ptlock per page-table page when spinlocks are big).", mm.pgtable_init),
    "pgtable_cache_init": (
        "arch: pgtable_cache_init()", "Architecture page-table caches; x86_64 allocates page "
        "tables straight from the page allocator, so none." + _NOTHING, mm.pgtable_cache_init),
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
        "arch/x86/kernel/espfix_64.c: init_espfix_bsp()", "The espfix64 stacks (for returning "
        "to 16-bit stack segments) get their page-table page; it is static." + _NOTHING,
        mm.init_espfix_bsp),
    "pti_init": (
        "arch/x86/mm/pti.c: pti_init()",
        "Kernel page-table isolation (Meltdown) would clone the kernel mappings here; off in "
        "these configurations.", mm.pti_init),
    "kmsan_init_runtime": (
        "mm/kmsan/init.c: kmsan_init_runtime()",
        "kmsan_memblock_discard() pairs up what is left in held_back[]: three blocks of an order "
        "become shadow, origin and data, the rest are split in halves one order down. Then "
        "kmsan_enabled is set.", mm.kmsan_init_runtime),
    "mm_cache_init": (
        f"{_MM}: mm_cache_init()",
        "The caches for mm_struct and friends are created; their first slab comes from the "
        "buddy allocator.", mm.mm_cache_init),
    "execmem_init": (
        "mm/execmem.c: execmem_init()",
        "The address ranges modules and BPF programs are mapped into are described." + _NOTHING,
        mm.execmem_init),
    # ------------------------------------------------------------ after mm init
    "vfs_caches_init": (
        "fs/dcache.c: vfs_caches_init()",
        "The mount hash tables come from the buddy allocator; with hashdist (several nodes) "
        "the dentry and inode hash tables are allocated now, from vmalloc.",
        late.vfs_caches_init),
    "smp_init": (
        "kernel/smp.c: smp_init()",
        "The secondary CPUs are brought up: an idle task for each, and the per-CPU kthreads, "
        "each with a vmalloc'd kernel stack.", late.smp_init),
    "page_alloc_init_late": (
        f"{_MM}: page_alloc_init_late()",
        "Deferred struct pages would be initialised here (none: KMSAN excludes "
        "DEFERRED_STRUCT_PAGE_INIT); memblock's arrays are discarded." + _NOTHING,
        late.page_alloc_init_late),
    "init_per_zone_wmark_min": (
        "mm/page_alloc.c: init_per_zone_wmark_min() (postcore_initcall)",
        "min_free_kbytes is set from the managed memory, and with it every zone's "
        "min/low/high watermarks and lowmem_reserve[]: from now on an allocation skips a "
        "zone that would fall below them." + _NOTHING, wm.init_per_zone_wmark_min),
    "efi_free_boot_services": (
        "arch/x86/platform/efi/quirks.c: efi_free_boot_services()",
        "The EFI boot-services memory reserved since setup_arch() goes to the buddy allocator "
        "page by page (memblock_free_late), except what lies below 1 MiB.",
        fw.efi_free_boot_services),
}
