"""mm_core_init() (mm_init() in v6.1): the calls between memblock and a working kernel.

Each kernel profile runs a subset of these in its own order (profiles.py); a call that
allocates nothing in these configurations is still a step, and says why.
"""

from __future__ import annotations

from kmsan_tui.model.boot.start_kernel import (
    SMP_CACHE_BYTES,
    SZ_1M,
    hash_entries,
    hash_line,
    order_of,
)
from kmsan_tui.model.constants import (
    MAX_DMA32_PFN,
    MAX_PAGE_ORDER,
    PAGE_SIZE,
    PAGES_PER_SECTION,
    MigrateType,
    pfn_down,
    pfn_up,
)
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.memline import memory_line
from kmsan_tui.model.strategies.base import MetadataStrategy


def page_ext_init_flatmem(m: Machine, kmsan: MetadataStrategy) -> None:
    m.log("page_ext_init_flatmem: nothing to do with SPARSEMEM", "note")


def mem_debugging_and_hardening_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # init_on_alloc/init_on_free, page poisoning and debug_pagealloc are decided
    # (static keys): nothing is allocated.
    pass


def report_meminit(m: Machine, kmsan: MetadataStrategy) -> None:
    # security/Kconfig.hardening: stack auto-init defaults to INIT_STACK_ALL_ZERO where
    # the compiler has it, but KMSAN builds take INIT_STACK_NONE: zeroed locals would
    # hide the uninitialised values it exists to find.
    stack = "off" if m.config.sanitizer == "kmsan" else "all(zero)"
    m.log(f"mem auto-init: stack:{stack}, heap alloc:off, heap free:off")


def kfence_alloc_pool(m: Machine, kmsan: MetadataStrategy) -> None:
    if not m.config.kfence:
        m.log("kfence: disabled (CONFIG_KFENCE is not set)", "note")
        return
    # mm/kfence/core.c: (CONFIG_KFENCE_NUM_OBJECTS + 1) * 2 pages.
    m.mb_alloc((255 + 1) * 2 * PAGE_SIZE, PAGE_SIZE, "kfence pool", caller="kfence_alloc_pool")


def kfence_alloc_pool_and_metadata(m: Machine, kmsan: MetadataStrategy) -> None:
    kfence_alloc_pool(m, kmsan)
    if m.config.kfence:
        # v6.6+: the kfence_metadata array (one struct kfence_metadata, ~1 KiB, per
        # object) comes from memblock beside the pool.
        m.mb_alloc(256 * 1024, PAGE_SIZE, "kfence metadata", caller="kfence_alloc_pool")


def kmsan_init_shadow(m: Machine, kmsan: MetadataStrategy) -> None:
    if not m.kmsan_active:
        m.log("kmsan_init_shadow: CONFIG_KMSAN is not set", "note")
        return
    kmsan.init_shadow(m)


def stack_depot_early_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # lib/stackdepot.c: with STACKDEPOT_ALWAYS_INIT (selected by KMSAN) the hash table
    # is allocated from memblock: one bucket per 16 KiB of RAM, 4K..1M buckets.
    if m.config.sanitizer != "kmsan" and not m.config.page_owner:
        return
    # alloc_large_system_hash("stackdepot", ..., STACK_HASH_SCALE=14, HASH_EARLY, ...,
    # 1 << STACK_HASH_ORDER_MIN, 1 << STACK_HASH_ORDER_MAX): 4K..1M buckets.
    bucket = m.profile.stackdepot_bucket
    entries, size = hash_entries(m, 14, bucket, 1 << 12, 1 << 20)
    if m.mb_alloc(size, SMP_CACHE_BYTES, "stackdepot hash table",
                  caller="alloc_large_system_hash") is not None:
        m.log(hash_line("stackdepot", entries, size))


def pci_iommu_alloc(m: Machine, kmsan: MetadataStrategy) -> None:
    # kernel/dma/swiotlb.c: swiotlb_init(): forced on when RAM extends above 4 GiB;
    # 64 MiB of bounce buffer below 4 GiB, plus the slot array and the areas.
    if m.max_pfn <= MAX_DMA32_PFN:
        m.log("PCI-DMA: swiotlb not needed: no memory above 4 GiB", "note")
        return
    cpus = m.layout.cpus
    areas = 1 << (cpus - 1).bit_length() if cpus > 1 else 1
    m.log(f"software IO TLB: area num {areas}.")
    m.mb_alloc(64 * SZ_1M, PAGE_SIZE, "swiotlb buffer", max_addr=0xFFFFFFFF,
               caller="swiotlb_init_remap")
    m.mb_alloc((64 * SZ_1M >> 11) * 24, PAGE_SIZE, "swiotlb slots", caller="swiotlb_init_remap")
    m.mb_alloc(areas * 16, SMP_CACHE_BYTES, "swiotlb areas", caller="swiotlb_init_remap")


def memblock_free_all(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/memblock.c: memblock_free_all() -> free_low_memory_core_early(): every free
    # range, ascending, in naturally aligned chunks (__free_pages_memory), each through
    # memblock_free_pages(), where KMSAN's hook may keep it.
    freed = 0
    totalram_before = m.counters.totalram_pages
    for start, end, _nid in list(m.memblock.free_ranges()):
        first, last = pfn_up(start), pfn_down(end)
        if last <= first:
            continue
        for pfn, order, count in chunk_runs(first, last):
            kmsan.memblock_free_pages(m, pfn, order, count)
        freed += last - first
    m.counters.memblock_freed_pages = freed
    if m.profile.totalram_counts_held_back:
        # memblock_free_all(): totalram_pages_add(free_low_memory_core_early()): every
        # page passed to memblock_free_pages(), whether KMSAN kept it or not.
        m.counters.totalram_pages = totalram_before + freed
    m.handed_over = True
    kmsan.after_free_all(m)
    in_buddy = sum(z.managed_pages for z in m.zones)
    m.log(f"memblock_free_all: {freed} pages passed to memblock_free_pages(), {in_buddy} "
          "reached the buddy allocator", "note", None, freed)


def chunk_runs(first: int, last: int) -> list[tuple[int, int, int]]:
    """mm/memblock.c: __free_pages_memory(): (pfn, order, count) runs of chunks.

    The chunk at pfn has order min(MAX_PAGE_ORDER, ffs(pfn)) shrunk to fit: orders
    grow across the head of the range, stay at MAX_PAGE_ORDER in the middle, shrink at
    the tail. The middle is returned as one run instead of one call per 4 MiB chunk.
    """
    runs: list[tuple[int, int, int]] = []
    pfn = first
    top = 1 << MAX_PAGE_ORDER
    while pfn < last:
        order = MAX_PAGE_ORDER if pfn == 0 else min(MAX_PAGE_ORDER, (pfn & -pfn).bit_length() - 1)
        while pfn + (1 << order) > last:
            order -= 1
        if order == MAX_PAGE_ORDER:
            count = (last - pfn) // top
            runs.append((pfn, order, count))
            pfn += count * top
        else:
            runs.append((pfn, order, 1))
            pfn += 1 << order
    return runs


def mem_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/mm/init_64.c: mem_init() -> preallocate_vmalloc_pages(): one page-table
    # page per top-level entry of the vmalloc area, from the buddy allocator.
    levels = m.layout.paging_levels
    vmalloc_bytes = (32 << 40) if levels == 4 else (12800 << 40)
    entry = (512 << 30) if levels == 4 else (256 << 40)
    for _ in range(vmalloc_bytes // entry):
        pfn = m.alloc_pages(0, MigrateType.UNMOVABLE, "preallocate_vmalloc_pages")
        if pfn is not None:
            m.boot_state.vmalloc_pgtable_pages.append(pfn)
    m.counters.pagetable_pages += vmalloc_bytes // entry
    if m.kmsan_active:
        kmsan.at_step(m, "mem_init")


def mem_init_print_info(m: Machine, kmsan: MetadataStrategy) -> None:
    m.boot_state.printed_memory_line = memory_line(m)
    m.log(m.boot_state.printed_memory_line)


def kmem_cache_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/slub.c: kmem_cache_init(): the bootstrap caches' first slabs are the buddy
    # allocator's first users (kmem_cache_node, then kmem_cache with one object per
    # cache created, then the kmalloc caches' first slabs as boot code kmallocs).
    m.log(f"SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs={m.layout.cpus}, "
          f"Nodes={len(m.layout.nodes)}")
    for node in m.layout.nodes:
        m.alloc_pages(0, MigrateType.UNMOVABLE, "kmem_cache_node", nid=node.nid, slab=True)
    m.alloc_pages(3, MigrateType.UNMOVABLE, "kmem_cache", slab=True)
    for order in (0, 0, 1, 1, 2, 3, 3):  # kmalloc-* first slabs
        m.alloc_pages(order, MigrateType.UNMOVABLE, "kmalloc", slab=True)
    m.slab_ready = True


def page_ext_init_flatmem_late(m: Machine, kmsan: MetadataStrategy) -> None:
    m.log("page_ext_init_flatmem_late: nothing to do with SPARSEMEM", "note")


def kmemleak_init(m: Machine, kmsan: MetadataStrategy) -> None:
    if not m.config.kmemleak:
        m.log("kmemleak: CONFIG_DEBUG_KMEMLEAK is not set", "note")
        return
    # mm/kmemleak.c: object and scan-area caches; the early pool is static .bss.
    m.alloc_pages(1, MigrateType.UNMOVABLE, "kmemleak_object cache", slab=True)


def pgtable_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/mm_init.c (v6.1 pgtable_init: ptlock_cache_init + pgtable_cache_init): new
    # kmem_cache objects come from the kmem_cache slab allocated above.
    m.alloc_pages(0, MigrateType.UNMOVABLE, "page->ptl cache", slab=True)


def pgtable_cache_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86: pgtable_cache_init() is empty; page tables come from the page allocator.
    m.log("pgtable_cache_init: nothing on x86_64", "note")


def debug_objects_mem_init(m: Machine, kmsan: MetadataStrategy) -> None:
    if not m.config.debug_objects:
        m.log("debug_objects: CONFIG_DEBUG_OBJECTS is not set", "note")
        return
    m.alloc_pages(1, MigrateType.UNMOVABLE, "debug_objects_cache", slab=True)


def vmalloc_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/vmalloc.c: vmalloc_init(): vmap_area cache and per-cpu vmap_block queues
    # (kmalloc'd), then the early vmlist areas are imported as vmap areas.
    m.alloc_pages(0, MigrateType.UNMOVABLE, "vmap_area cache", slab=True)
    per_cpu = -(-m.layout.cpus * 128 // PAGE_SIZE)
    m.alloc_pages(order_of(per_cpu * PAGE_SIZE), MigrateType.UNMOVABLE,
                  "vmap_block_queue", slab=True)
    if m.kmsan_active:
        kmsan.at_step(m, "vmalloc_init")


def page_ext_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/page_ext.c: page_ext_init(): per present section, alloc_pages_exact_nid()
    # of entry_size * PAGES_PER_SECTION, vzalloc_node() if that fails; only when some
    # client's need() says so (page_owner=on, or KMSAN keeping its pointers there).
    entry = kmsan.page_ext_bytes_per_page(m) if m.kmsan_active else 0
    if m.config.page_owner:
        entry += 8 + 24  # shared flags + struct page_owner (approximate)
    if entry == 0:
        m.log("page_ext: no client needs it, nothing allocated", "note")
    else:
        table = entry * PAGES_PER_SECTION
        order = order_of(table)
        sections = 0
        vmalloced = 0
        for node in m.layout.nodes:
            for _ in range(m.present_sections(node.nid)):
                pfn = m.alloc_pages(order, MigrateType.UNMOVABLE, "page_ext", nid=node.nid)
                if pfn is None:
                    vmalloced += 1
                    m.counters.vmap_areas += 1
                else:
                    sections += 1
                    # alloc_pages_exact() frees the tail beyond the table size.
                    m.trim_exact(pfn, order, -(-table // PAGE_SIZE))
        m.log(f"page_ext: allocated {sections * table + vmalloced * table} bytes "
              f"({vmalloced} sections from vmalloc)", "note")
    if m.kmsan_active:
        kmsan.at_step(m, "page_ext_init")


def init_espfix_bsp(m: Machine, kmsan: MetadataStrategy) -> None:
    m.log("espfix: static PUD page installed (no allocation)", "note")


def pti_init(m: Machine, kmsan: MetadataStrategy) -> None:
    m.log("Kernel/User page tables isolation: disabled (CONFIG_PAGE_TABLE_ISOLATION is not set)",
          "note")


def kmsan_init_runtime(m: Machine, kmsan: MetadataStrategy) -> None:
    if not m.kmsan_active:
        m.log("kmsan_init_runtime: CONFIG_KMSAN is not set", "note")
        return
    kmsan.init_runtime(m)
    m.kmsan_enabled = True
    m.log("Starting KernelMemorySanitizer")
    m.log("ATTENTION: KMSAN is a debugging tool! Do not use it on production machines!")


def mm_cache_init(m: Machine, kmsan: MetadataStrategy) -> None:
    m.alloc_pages(1, MigrateType.UNMOVABLE, "mm_struct cache", slab=True)


def page_alloc_init_cpuhp(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/page_alloc.c: page_alloc_init_cpuhp(): the CPU-hotplug callbacks that drain a
    # dead CPU's per-cpu lists. Nothing is allocated.
    pass


def hugetlb_bootmem_alloc(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/hugetlb.c: hugetlb_bootmem_alloc(): gigantic pages asked for on the command
    # line (hugepages= with hugepagesz=1G) come from memblock here; none are asked for.
    pass


def alloc_tag_sec_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # lib/alloc_tag.c: alloc_tag_sec_init(): with CONFIG_MEM_ALLOC_PROFILING the
    # per-callsite counters are set up (their page_ext part comes later); off here.
    pass


def kho_memory_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # kernel/kexec_handover.c: kho_memory_init(): memory preserved by a previous
    # kernel over kexec is reserved before the hand-over; a cold boot has none.
    pass


def execmem_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/execmem.c: execmem_init(): the ranges modules and BPF programs are mapped
    # into are described (kmalloc'd descriptors, no pages).
    pass

