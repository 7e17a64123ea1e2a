"""setup_arch() on x86_64: memblock from the firmware map, page tables, nodes, memmap.

Each function makes the memblock reservations and allocations its kernel namesake
makes, with sizes from the kernel's formulas where it scales them with RAM or CPUs;
calibrated against the shared 6.1 boot logs (BIOS and EFI) and the 6.8 GCE boot.
The firmware-facing calls (e820, EFI, ACPI) are in firmware.py.
"""

from __future__ import annotations

from bisect import bisect_right

from kmsan_tui.model.boot.firmware import reserve_setup_data
from kmsan_tui.model.constants import (
    MAX_DMA32_PFN,
    MAX_DMA_PFN,
    PAGE_SHIFT,
    PAGE_SIZE,
    PAGES_PER_SECTION,
    pfn_down,
    pfn_up,
)
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.strategies.base import MetadataStrategy

SZ_1M = 1 << 20
SZ_2M = 2 << 20
SZ_1G = 1 << 30
SMP_CACHE_BYTES = 64
ISA_END_ADDRESS = 0x100000
# arch/x86/mm/init.c: INIT_PGD_PAGE_TABLES with CONFIG_X86_5LEVEL (the shared builds).
INIT_PGD_PAGE_TABLES = 4


def order_of(size: int) -> int:
    """get_order(): the buddy order that holds size bytes."""
    pages = max(1, -(-size // PAGE_SIZE))
    return (pages - 1).bit_length()


def early_reserve_memory(m: Machine, kmsan: MetadataStrategy) -> None:
    cfg = m.config
    image = m.image
    m.log(f"Command line: {cfg.cmdline}")
    # arch/x86/kernel/setup.c: early_reserve_memory(): the kernel image, the first 64K
    # (BIOS corruption check), the initrd, setup_data and the BIOS regions up to 1 MiB.
    m.mb_reserve(cfg.image_base, image.reserved, "kernel image", "early_reserve_memory")
    m.mb_reserve(0, 64 << 10, "first 64K (BIOS)", "early_reserve_memory")
    if cfg.initrd_size:
        m.mb_reserve(cfg.initrd_addr, cfg.initrd_size, "initrd", "early_reserve_initrd")
    reserve_setup_data(m)
    # arch/x86/kernel/ebda.c: reserve_bios_regions(): from the EBDA (below 640K) to 1 MiB.
    low_top = min((e.end + 1 for e in m.layout.e820 if e.type == "usable" and e.start == 0),
                  default=0xA0000)
    ebda = min(low_top, 0x9F000) & ~(PAGE_SIZE - 1)
    m.mb_reserve(ebda, ISA_END_ADDRESS - ebda, "BIOS regions (EBDA)", "reserve_bios_regions")
    data_start = cfg.image_base + image.data_offset
    m.boot_state.data_start = data_start
    m.boot_state.data_end = data_start + image.rwdata


def e820__memblock_setup(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/kernel/setup.c: trim_bios_range() makes page 0 reserved and drops
    # 640K-1M; e820__end_of_ram_pfn() and e820__end_of_low_ram_pfn() print the ends.
    m.log("e820: update [mem 0x00000000-0x00000fff] usable ==> reserved")
    m.log("e820: remove [mem 0x000a0000-0x000fffff] usable")
    usable = [e for e in m.layout.e820 if e.type == "usable"]
    last_pfn = pfn_down(max(e.end + 1 for e in usable))
    m.log(f"last_pfn = {last_pfn:#x} max_arch_pfn = 0x400000000")
    low = [min(e.end + 1, 1 << 32) for e in usable if e.start < 1 << 32]
    if last_pfn > MAX_DMA32_PFN and low:
        m.log(f"last_pfn = {pfn_down(max(low)):#x} max_arch_pfn = 0x400000000")
    # arch/x86/kernel/e820.c: e820__memblock_setup() adds every usable range.
    # "EFI might pass us more E820 entries than that": the arrays may grow from here.
    m.memblock.allow_resize()
    for e in usable:
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
    # alloc_low_pages(): page tables come from the pgt_buf in brk first
    # (INIT_PGT_BUF_SIZE), then from memblock at the top of what is mapped. What the
    # default buffer does not cover is one PUD page per 512 GiB and one PMD page per
    # partly mapped GiB (3 pages on the shared 4 and 8 GiB machines). RANDOMIZE_MEMORY
    # doubles the buffer (INIT_PGD_PAGE_COUNT); the range that holds the buffer itself
    # always takes its page from memblock ("overlapping with brk pgt").
    partial = partly_mapped_gigabytes([(r.base, r.end) for r in m.memblock.memory.regions])
    nr = -(-top // (512 * SZ_1G)) + partial
    if m.config.randomize_memory:
        nr = max(1, nr - 2 * INIT_PGD_PAGE_TABLES)
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


def initmem_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/mm/numa.c: numa_init(): without an SRAT, dummy_numa_init() fakes one
    # node over all RAM; numa=fake=N (numa_emulation.c) then splits it.
    nodes = m.layout.nodes
    fake = len(nodes) > 1 and "numa=fake=" in m.config.cmdline
    if len(nodes) == 1 or fake:
        m.log("No NUMA configuration found")
        m.log(f"Faking a node at [mem {0:#018x}-{m.memblock.end_of_DRAM() - 1:#018x}]")
    if fake:
        for node in nodes:
            m.log(f"Faking node {node.nid} at [mem {node.start:#018x}-{node.end - 1:#018x}] "
                  f"({(node.end - node.start) >> 20}MB)")
    # numa_register_memblks(): nodes onto memblock.
    for node in nodes:
        m.memblock.set_node(node.start, node.end - node.start, m.memblock.memory, node.nid)
        m.memblock.set_node(node.start, node.end - node.start, m.memblock.reserved, node.nid)
    m.drain_memblock_log()
    # alloc_node_data(): roundup(sizeof(pg_data_t), PAGE_SIZE) on the node, top-down.
    nd_size = m.config.node_data_size
    m.boot_state.node_data_size = nd_size
    for node in nodes:
        addr = m.mb_alloc(nd_size, SMP_CACHE_BYTES, f"NODE_DATA({node.nid})",
                          min_addr=node.start, max_addr=node.end, nid=node.nid,
                          api="alloc_try_nid", caller="alloc_node_data")
        if addr is not None:
            m.boot_state.node_data[node.nid] = addr
            m.log(f"NODE_DATA({node.nid}) allocated [mem {addr:#010x}-{addr + nd_size - 1:#010x}]")
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
    # arch/x86/kernel/e820.c: memblock_find_dma_reserve() (up to v6.9), just before
    # paging_init(): pages below 16 MiB that are RAM but not free.
    if m.profile.dma_reserve:
        m.boot_state.dma_reserve = _dma_reserve(m)
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
    if m.config.zone_device:
        m.log(f"  {'Device':<8} empty")  # ZONE_DEVICE holds no RAM at boot
    m.log("Movable zone start for each node")
    m.log("Early memory node ranges")
    for r in m.memblock.memory.regions:
        m.log(f"  node {m.region_nid(r.base, r.nid):3d}: [mem {r.base:#018x}-{r.end - 1:#018x}]")
    for node in m.layout.nodes:
        ranges = [(r.base, r.end) for r in m.memblock.memory.regions
                  if m.region_nid(r.base, r.nid) == node.nid]
        if ranges:
            m.log(f"Initmem setup node {node.nid} [mem {pfn_up(ranges[0][0]) << PAGE_SHIFT:#018x}-"
                  f"{(pfn_down(ranges[-1][1]) << PAGE_SHIFT) - 1:#018x}]")
    for nid, zone, pages in unavailable_ranges(m):
        m.log(f"On node {nid}, zone {zone}: {pages} pages in unavailable ranges")
    _early_managed(m)


def _dma_reserve(m: Machine) -> int:
    """memblock_find_dma_reserve(): RAM pages below MAX_DMA_PFN minus free ones."""
    ram = sum(max(0, min(pfn_down(r.end), MAX_DMA_PFN) - min(pfn_up(r.base), MAX_DMA_PFN))
              for r in m.memblock.memory.regions)
    free = sum(max(0, min(pfn_down(e), MAX_DMA_PFN) - min(pfn_up(s), MAX_DMA_PFN))
               for s, e, _nid in m.memblock.free_ranges())
    return ram - free


def calc_memmap_size(spanned: int, present: int, struct_page_size: int) -> int:
    """mm/mm_init.c: calc_memmap_size(): pages of memmap a zone is charged (up to v6.9);
    with holes over 1/16 of present pages (SPARSEMEM) only present pages count."""
    pages = present if spanned > present + (present >> 4) else spanned
    return -(-pages * struct_page_size // PAGE_SIZE)


def _early_managed(m: Machine) -> None:
    """free_area_init_core(): each zone's managed_pages until memblock_free_all() resets
    them, and nr_kernel_pages for alloc_large_system_hash()."""
    bs = m.boot_state
    managed = []
    for zone in m.zones:
        if m.profile.early_managed == "present":
            managed.append(zone.present_pages)
            continue
        free = zone.present_pages
        memmap = calc_memmap_size(zone.spanned_pages, zone.present_pages, m.struct_page_size)
        if free >= memmap:
            free -= memmap
        if zone.name == "DMA" and free > bs.dma_reserve:
            free -= bs.dma_reserve
        managed.append(free)
    bs.early_managed = managed
    if m.profile.nr_kernel_pages == "memblock_free":
        # calc_nr_kernel_pages() (v6.10+): every whole page memblock still has free.
        bs.nr_kernel_pages = sum(max(0, pfn_down(e) - pfn_up(s))
                                 for s, e, _nid in m.memblock.free_ranges())
    else:
        bs.nr_kernel_pages = sum(managed)
    bs.nr_all_pages = bs.nr_kernel_pages


def unavailable_ranges(m: Machine) -> list[tuple[int, str, int]]:
    """mm/mm_init.c: memmap_init(): (node, zone, pages) for each hole before a memory
    range's piece of a zone, then the tail up to the section end; a hole counts only
    the pages of present sections (init_unavailable_range() skips pageblocks without
    a memmap), and is named after the zone of the piece that follows it."""
    sections = _present_section_spans(m)
    starts = [a for a, _ in sections]

    def valid(lo: int, hi: int) -> int:
        total = 0
        i = max(0, bisect_right(starts, lo) - 1)
        while i < len(sections) and sections[i][0] < hi:
            a, b = sections[i]
            total += max(0, min(b, hi) - max(a, lo))
            i += 1
        return total

    out: list[tuple[int, str, int]] = []
    hole = 0
    zone_name, nid = "DMA", 0
    end_pfn = 0
    for r in m.memblock.memory.regions:
        first, last = pfn_up(r.base), pfn_down(r.end)
        if last <= first:
            continue
        rnid = m.region_nid(r.base, r.nid)
        end_pfn = last
        for zone in m.zones:
            if zone.nid != rnid:
                continue
            lo, hi = max(first, zone.start_pfn), min(last, zone.end_pfn)
            if lo >= hi:
                continue
            if hole < lo:
                pages = valid(hole, lo)
                if pages:
                    out.append((rnid, zone.name, pages))
            hole = hi
            zone_name, nid = zone.name, rnid
    tail = -(-end_pfn // PAGES_PER_SECTION) * PAGES_PER_SECTION
    if hole < tail:
        pages = valid(hole, tail)
        if pages:
            out.append((nid, zone_name, pages))
    return out


def _present_section_spans(m: Machine) -> list[tuple[int, int]]:
    """Pfn spans of the sections memblock.memory touches (memblocks_present()), merged."""
    spans: list[tuple[int, int]] = []
    for r in m.memblock.memory.regions:
        first, last = pfn_up(r.base), pfn_down(r.end)
        if last <= first:
            continue
        a = first // PAGES_PER_SECTION * PAGES_PER_SECTION
        b = -(-last // PAGES_PER_SECTION) * PAGES_PER_SECTION
        if spans and a <= spans[-1][1]:
            spans[-1] = (spans[-1][0], max(b, spans[-1][1]))
        else:
            spans.append((a, b))
    return spans
