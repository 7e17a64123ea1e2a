"""setup_arch() and the rest of start_kernel() before mm_core_init(), on x86_64.

Each function makes the memblock reservations and allocations its kernel namesake
makes, with sizes from the kernel's formulas where it scales them with RAM or CPUs;
calibrated against the 6.1 boot logs in ../shared/data/bootlogs.
"""

from __future__ import annotations

from kmsan_tui.model.constants import (
    MAX_DMA32_PFN,
    PAGE_SHIFT,
    PAGE_SIZE,
    PAGES_PER_SECTION,
    pfn_down,
)
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.strategies.base import MetadataStrategy

SZ_1M = 1 << 20
SZ_2M = 2 << 20
SZ_1G = 1 << 30
SMP_CACHE_BYTES = 64
ISA_END_ADDRESS = 0x100000


def order_of(size: int) -> int:
    """get_order(): the buddy order that holds size bytes."""
    pages = max(1, -(-size // PAGE_SIZE))
    return (pages - 1).bit_length()


def e820__memory_setup(m: Machine, kmsan: MetadataStrategy) -> None:
    m.log("BIOS-provided physical RAM map:")
    for e in m.layout.e820:
        m.log(f"BIOS-e820: [mem {e.start:#018x}-{e.end:#018x}] {e.type}")


def early_reserve_memory(m: Machine, kmsan: MetadataStrategy) -> None:
    cfg = m.config
    image = m.image
    # arch/x86/kernel/setup.c: early_reserve_memory(): the kernel image, the first 64K
    # (BIOS corruption check), the initrd, and the BIOS regions up to 1 MiB.
    m.mb_reserve(cfg.image_base, image.reserved, "kernel image", "early_reserve_memory")
    m.mb_reserve(0, 64 << 10, "first 64K (BIOS)", "early_reserve_memory")
    if cfg.initrd_size:
        m.mb_reserve(cfg.initrd_addr, cfg.initrd_size, "initrd", "early_reserve_initrd")
    # arch/x86/kernel/ebda.c: reserve_bios_regions(): from the EBDA (below 640K) to 1 MiB.
    low_top = min((e.end + 1 for e in m.layout.e820 if e.type == "usable" and e.start == 0),
                  default=0xA0000)
    ebda = min(low_top, 0x9F000) & ~(PAGE_SIZE - 1)
    m.mb_reserve(ebda, ISA_END_ADDRESS - ebda, "BIOS regions (EBDA)", "reserve_bios_regions")
    data_start = cfg.image_base + image.data_offset
    m.boot_state.data_start = data_start
    m.boot_state.data_end = data_start + image.rwdata


def e820__memblock_setup(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/kernel/e820.c: e820__memblock_setup() adds every usable range; page 0
    # is made reserved first (trim_bios_range) and 640K-1M removed.
    m.log("e820: update [mem 0x00000000-0x00000fff] usable ==> reserved")
    m.log("e820: remove [mem 0x000a0000-0x000fffff] usable")
    # "EFI might pass us more E820 entries than that": the arrays may grow from here.
    m.memblock.allow_resize()
    for e in m.layout.e820:
        if e.type != "usable":
            continue
        start, end = e.start, e.end + 1
        if start < PAGE_SIZE:
            start = PAGE_SIZE
        if start < ISA_END_ADDRESS < end and start >= 0xA0000:
            start = ISA_END_ADDRESS
        if end > start:
            m.memblock.add(start, end - start, caller="e820__memblock_setup")
    # Throw away partial pages (the quirk: memory.total_size keeps the untrimmed sum).
    m.memblock.trim_memory(PAGE_SIZE)
    # arch/x86/kernel/setup.c: until the direct map exists only the first 1 MiB is mapped.
    m.memblock.set_current_limit(ISA_END_ADDRESS)
    m.drain_memblock_log()
    max_pfn = pfn_down(m.memblock.end_of_DRAM())
    m.log(f"last_pfn = {max_pfn:#x} max_arch_pfn = 0x400000000")
    for line in m.memblock.dump():
        m.log(line, "memblock")


def reserve_real_mode(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/realmode/init.c: reserve_real_mode(): the trampoline below 1 MiB, then
    # the whole first 1 MiB is reserved unconditionally.
    m.mb_alloc(24576, PAGE_SIZE, "real mode trampoline", max_addr=ISA_END_ADDRESS,
               api="phys_alloc_range")
    m.mb_reserve(0, ISA_END_ADDRESS, "first 1M", "reserve_real_mode")


def init_mem_mapping(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/mm/init.c: init_mem_mapping(): probe for a 2 MiB chunk below the top
    # (memory_map_top_down), give it back, then allocate page-table pages top-down.
    top = m.memblock.end_of_DRAM()
    probe = m.mb_alloc(SZ_2M, SZ_2M, "init_mem_mapping", min_addr=ISA_END_ADDRESS,
                       max_addr=top, api="phys_alloc_range")
    if probe is not None:
        m.mb_phys_free(probe, SZ_2M, "memory_map_top_down")
    # One PUD page per 512 GiB and one PMD page per partly mapped GiB (gbpages map the
    # rest): the 4 GiB log machine needs 3 pages.
    partial = partly_mapped_gigabytes([(r.base, r.end) for r in m.memblock.memory.regions])
    nr = -(-top // (512 * SZ_1G)) + partial
    for _ in range(nr):
        m.mb_alloc(PAGE_SIZE, PAGE_SIZE, "page tables (direct map)",
                   min_addr=max(0, top - SZ_1G // 2), max_addr=top, api="phys_alloc_range",
                   caller="alloc_low_pages")
    m.counters.pagetable_pages += nr
    cfg = m.config
    if cfg.initrd_size:  # reserve_initrd() reports the initrd kept where the loader put it
        m.log(f"RAMDISK: [mem {cfg.initrd_addr:#x}-{cfg.initrd_addr + cfg.initrd_size - 1:#x}]")
    # setup_arch(): all RAM is mapped now: allocations may go anywhere.
    m.memblock.set_current_limit(top)


def partly_mapped_gigabytes(regions: list[tuple[int, int]]) -> int:
    """GiB-aligned slots that RAM covers in part: each needs a PMD page (the rest are
    mapped by 1 GiB pages or not at all). Arithmetic per region, never per GiB.

    ``regions`` are sorted, disjoint [start, end) byte ranges (memblock.memory).
    """
    spans: list[list[int]] = []  # touching regions (other nid or flags) cover as one
    for start, end in regions:
        if spans and start <= spans[-1][1]:
            spans[-1][1] = max(spans[-1][1], end)
        elif end > start:
            spans.append([start, end])
    touched = full = 0
    reach = 0  # first slot not yet counted as touched
    for start, end in spans:
        lo, hi = max(start // SZ_1G, reach), -(-end // SZ_1G)
        touched += max(0, hi - lo)
        reach = max(reach, hi)
        full += max(0, end // SZ_1G - -(-start // SZ_1G))
    return touched - full


def acpi_boot_table_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # drivers/acpi/tables.c: acpi_reserve_initial_tables(): the tables stay reserved.
    for e in m.layout.e820:
        if e.type == "ACPI data":
            size = min(e.size, 0x1B33 if e.size <= 0x20000 else e.size // 64)
            m.log(f"ACPI: Reserving tables at [mem {e.start:#x}-{e.start + size - 1:#x}]")
            m.mb_reserve(e.start, size, "ACPI tables", "acpi_reserve_initial_tables")
    # The 6.1 log's i440FX map puts the tables at the top of low RAM without an
    # "ACPI data" e820 type: the RSDT sits in the reserved range after the last usable one.
    if not any(e.type == "ACPI data" for e in m.layout.e820):
        for prev, e in zip(m.layout.e820, m.layout.e820[1:], strict=False):
            if prev.type == "usable" and e.type == "reserved" and e.start == prev.end + 1 \
                    and 0x100000 < e.start < 1 << 32 and e.size <= 0x40000:
                m.mb_reserve(e.start, 0x1B33, "ACPI tables", "acpi_reserve_initial_tables")
                break


def initmem_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/mm/numa.c: numa_register_memblks(): nodes onto memblock, then
    # alloc_node_data(): NODE_DATA(nid) on its own node, top-down.
    nodes = m.layout.nodes
    if len(nodes) == 1:
        m.log("No NUMA configuration found")
        m.log(f"Faking a node at [mem {0:#018x}-{m.memblock.end_of_DRAM() - 1:#018x}]")
    for node in nodes:
        m.memblock.set_node(node.start, node.end - node.start, m.memblock.memory, node.nid)
        m.memblock.set_node(node.start, node.end - node.start, m.memblock.reserved, node.nid)
    m.drain_memblock_log()
    for node in nodes:
        nd_size = 0x4000  # roundup(sizeof(pg_data_t), PAGE_SIZE) for NR_CPUS<=8192
        addr = m.mb_alloc(nd_size, SMP_CACHE_BYTES, f"NODE_DATA({node.nid})",
                          min_addr=node.start, max_addr=node.end, nid=node.nid,
                          api="alloc_try_nid", caller="alloc_node_data")
        if addr is not None:
            m.boot_state.node_data[node.nid] = addr
            m.log(f"NODE_DATA({node.nid}) allocated [mem {addr:#x}-{addr + nd_size - 1:#x}]")
    for line in m.memblock.dump():
        m.log(line, "memblock")


def sparse_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/sparse.c: sparse_init(): the mem_section roots, per node the usemap and the
    # memmap (vmemmap: struct page * PAGES_PER_SECTION per present section, from one
    # PMD-aligned buffer whose unused tail is freed by sparse_buffer_fini()).
    levels = m.layout.paging_levels
    # SECTIONS_PER_ROOT = PAGE_SIZE / sizeof(struct mem_section) (32 B with page_ext).
    roots = (1 << ((52 if levels == 5 else 46) - 27)) // (PAGE_SIZE // 32)
    m.mb_alloc(roots * 8, SMP_CACHE_BYTES, "mem_section roots", caller="sparse_init")
    for node in m.layout.nodes:
        nr = m.present_sections(node.nid)
        if not nr:
            continue
        usemap = -(-nr * 32 // SMP_CACHE_BYTES) * SMP_CACHE_BYTES  # pageblock bits per section
        m.mb_alloc(PAGE_SIZE, SMP_CACHE_BYTES, "usemap", nid=node.nid,
                   caller="sparse_usemap_alloc")
        m.mb_alloc(max(usemap, 1280), SMP_CACHE_BYTES, "mem_section usage", nid=node.nid,
                   caller="sparse_init_nid")
        per_section = m.struct_page_size * PAGES_PER_SECTION
        map_size = -(-per_section // SZ_2M) * SZ_2M  # section_map_size(): PMD aligned
        buf = m.mb_alloc(map_size * nr, SZ_2M if per_section % SZ_2M == 0 else 2 * SZ_2M,
                         f"memmap (struct page, {m.struct_page_size} B)", min_addr=16 << 20,
                         nid=node.nid, api="alloc_exact_nid_raw", caller="sparse_buffer_init")
        if buf is None:
            continue
        used = -(-per_section * nr // SZ_2M) * SZ_2M  # vmemmap shares PMDs across sections
        if used < map_size * nr:
            m.mb_phys_free(buf + used, map_size * nr - used, "sparse_buffer_fini")
        for _ in range(2):  # vmemmap page-table pages (PUD/PMD) from vmemmap_alloc_block
            m.mb_alloc(PAGE_SIZE, PAGE_SIZE, "page tables (vmemmap)", min_addr=16 << 20,
                       nid=node.nid, api="alloc_try_nid_raw", caller="vmemmap_populate")
        m.counters.pagetable_pages += 2


def kasan_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/mm/kasan_init_64.c: kasan_init(): real shadow (1 byte per 8) for every
    # memory range, node-local, from memblock; the rest maps the shared zero page.
    for node in m.layout.nodes:
        total = 0
        for r in m.memblock.memory.regions:
            if m.region_nid(r.base, r.nid) == node.nid:
                total += r.size
        shadow = -(-(total >> 3) // PAGE_SIZE) * PAGE_SIZE
        if shadow:
            m.mb_alloc(shadow, PAGE_SIZE, "KASAN shadow", min_addr=node.start,
                       max_addr=node.end, nid=node.nid, caller="kasan_populate_shadow")
    image_shadow = -(-(m.image.reserved >> 3) // PAGE_SIZE) * PAGE_SIZE
    m.mb_alloc(image_shadow, PAGE_SIZE, "KASAN shadow (kernel image)",
               caller="kasan_populate_shadow")
    m.log("KernelAddressSanitizer initialized")


def free_area_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/mm_init.c: free_area_init(): zone and node ranges, then memmap_init().
    m.build_zones()
    m.log("Zone ranges:")
    top = m.memblock.end_of_DRAM()
    spans = (("DMA", PAGE_SIZE, 16 << 20), ("DMA32", 16 << 20, MAX_DMA32_PFN << PAGE_SHIFT),
             ("Normal", MAX_DMA32_PFN << PAGE_SHIFT, top))
    for name, lo, hi in spans:
        if hi <= lo:
            m.log(f"  {name:<8} empty")
        else:
            m.log(f"  {name:<8} [mem {lo:#018x}-{min(hi, top) - 1:#018x}]")
    m.log("Movable zone start for each node")
    m.log("Early memory node ranges")
    for r in m.memblock.memory.regions:
        m.log(f"  node {m.region_nid(r.base, r.nid):3d}: [mem {r.base:#018x}-{r.end - 1:#018x}]")
    for zone in m.zones:
        holes = zone.spanned_pages - zone.present_pages
        if holes:
            m.log(f"On node {zone.nid}, zone {zone.name}: {holes} pages in unavailable ranges")
    # The rest of setup_arch(): small memblock allocations the 6.1 log shows here.
    m.mb_alloc(73, SMP_CACHE_BYTES, "HPET resource", caller="hpet_insert_resource")
    m.mb_alloc(75, SMP_CACHE_BYTES, "IOAPIC resources", caller="ioapic_setup_resources")
    m.mb_alloc(64 * (len(m.layout.e820) + 1), SMP_CACHE_BYTES, "e820 resources",
               caller="e820__reserve_resources")


def setup_command_line(m: Machine, kmsan: MetadataStrategy) -> None:
    # init/main.c: setup_command_line(): saved_command_line and static_command_line.
    cmdline = "console=ttyS0 panic=-1 loglevel=8 memblock=debug"
    for _ in range(2):
        m.mb_alloc(len(cmdline) + 1, SMP_CACHE_BYTES, "command line",
                   caller="setup_command_line")


def _pcpu_units(cpus: int, unit_pages: int) -> tuple[int, int]:
    """mm/percpu.c: pcpu_build_alloc_info(): unit size and units per 2 MiB allocation."""
    size_sum = unit_pages * PAGE_SIZE
    min_unit = max(size_sum, 32 << 10)
    alloc_size = -(-min_unit // SZ_2M) * SZ_2M
    max_upa = alloc_size // min_unit
    while alloc_size % max_upa or (alloc_size // max_upa) % PAGE_SIZE:
        max_upa -= 1
    best, last_allocs = max_upa, 1 << 30
    for upa in range(max_upa, 0, -1):
        if alloc_size % upa or (alloc_size // upa) % PAGE_SIZE:
            continue
        allocs = -(-cpus // upa)
        wasted = allocs * upa - cpus
        if wasted > cpus // 3:
            continue
        if allocs < last_allocs:
            pass
        elif allocs > last_allocs:
            break
        last_allocs, best = allocs, upa
    return alloc_size // best, best


def setup_per_cpu_areas(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/kernel/setup_percpu.c -> mm/percpu.c: pcpu_embed_first_chunk(): one
    # 2 MiB (PMD) allocation per group of units on each node; the part of each unit
    # past the static+dynamic size is given back.
    pages = m.image.percpu_pages
    total_cpus = m.layout.cpus
    m.log(f"setup_percpu: NR_CPUS:{max(8, total_cpus)} nr_cpumask_bits:{total_cpus} "
          f"nr_cpu_ids:{total_cpus} nr_node_ids:{len(m.layout.nodes)}")
    # pcpu_build_alloc_info()'s two temporary pages, given back at the end.
    tmp = [m.mb_alloc(PAGE_SIZE, PAGE_SIZE, "percpu alloc info", caller="pcpu_alloc_alloc_info"),
           m.mb_alloc(PAGE_SIZE, SMP_CACHE_BYTES, "percpu groups", caller="pcpu_build_alloc_info")]
    for node in m.layout.nodes:
        unit, upa = _pcpu_units(node.cpus, pages)
        allocs = -(-node.cpus // upa)
        for a in range(allocs):
            base = m.mb_alloc(SZ_2M, SZ_2M, "percpu first chunk", min_addr=16 << 20,
                              nid=node.nid, caller="pcpu_fc_alloc")
            if base is None:
                continue
            units = min(upa, node.cpus - a * upa)
            for u in range(upa):
                start = base + u * unit + (pages * PAGE_SIZE if u < units else 0)
                m.mb_phys_free(start, base + (u + 1) * unit - start, "pcpu_embed_first_chunk")
    m.log(f"percpu: Embedded {pages} pages/cpu")
    for size in (8, 8, 8, 16, 352, 128, 1024, 1032, 256):
        m.mb_alloc(size, SMP_CACHE_BYTES, "percpu chunk metadata", caller="pcpu_setup_first_chunk")
    for addr in tmp:
        if addr is not None:
            m.mb_phys_free(addr, PAGE_SIZE, "pcpu_free_alloc_info")


def build_all_zonelists(m: Machine, kmsan: MetadataStrategy) -> None:
    nodes = " ".join(str(n.nid) for n in m.layout.nodes)
    for node in m.layout.nodes:
        m.log(f"Fallback order for Node {node.nid}: {nodes} ")
    total = sum(z.present_pages for z in m.zones)
    m.log(f"Built {len(m.layout.nodes)} zonelists, mobility grouping on.  Total pages: {total}")
    m.log("Policy zone: Normal")


def hash_entries(m: Machine, scale: int, bucketsize: int) -> tuple[int, int]:
    """mm/mm_init.c: alloc_large_system_hash() with numentries=0: size from RAM."""
    nr_kernel_pages = sum(z.present_pages for z in m.zones)
    entries = nr_kernel_pages
    entries = -(-entries // (1 << (20 - PAGE_SHIFT))) * (1 << (20 - PAGE_SHIFT))  # round to MiB
    entries = entries >> (scale - PAGE_SHIFT) if scale > PAGE_SHIFT else entries << (PAGE_SHIFT - scale)
    entries = 1 << (entries - 1).bit_length()  # roundup_pow_of_two
    limit = ((nr_kernel_pages << PAGE_SHIFT) >> 4) // bucketsize
    while entries > limit:
        entries >>= 1
    return entries, entries * bucketsize


def vfs_caches_init_early(m: Machine, kmsan: MetadataStrategy) -> None:
    # fs/dcache.c: dcache_init_early(), fs/inode.c: inode_init_early(): HASH_EARLY
    # tables from memblock, unless hashdist (NUMA) defers them to vmalloc.
    if len(m.layout.nodes) > 1:
        m.log("Dentry and inode hash tables deferred to vmalloc (hashdist)")
        return
    for label, scale in (("Dentry cache", 13), ("Inode-cache", 14)):
        entries, size = hash_entries(m, scale, 8)
        addr = m.mb_alloc(size, SMP_CACHE_BYTES, f"{label} hash table",
                          caller="alloc_large_system_hash")
        if addr is not None:
            m.log(f"{label} hash table entries: {entries} (order: {order_of(size)}, "
                  f"{size} bytes, linear)")
    for _ in range(3):
        m.mb_alloc(PAGE_SIZE, PAGE_SIZE, "page tables (fixmap)", caller="spp_getpage")
    m.counters.pagetable_pages += 3

