"""The boot timeline: setup_arch() and mm init calls, named and ordered as the kernel does.

Each step is a function of the simulation that makes the memblock reservations and
allocations (or buddy allocations) its kernel namesake makes on x86_64, with sizes
from the kernel's own formulas where it scales them with RAM or CPUs. Sizes and
order were calibrated against the 6.1 boot logs in ../shared/data/bootlogs
(memblock=debug): see tests/golden/test_bootlog_calibration.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from kmsan_tui.model.constants import (
    MAX_DMA32_PFN,
    PAGE_SHIFT,
    PAGE_SIZE,
    PAGES_PER_SECTION,
    MigrateType,
    pfn_down,
    pfn_up,
)
from kmsan_tui.model.layout import KernelConfig
from kmsan_tui.model.memblock import MEMBLOCK_ALLOC_ACCESSIBLE, NUMA_NO_NODE

if TYPE_CHECKING:
    from kmsan_tui.model.simulation import Simulation

SZ_1M = 1 << 20
SZ_2M = 2 << 20
SZ_1G = 1 << 30
SMP_CACHE_BYTES = 64
ISA_END_ADDRESS = 0x100000


@dataclass(frozen=True, slots=True)
class BootStep:
    """One init call: its kernel name, where it lives, and what it does to memory."""

    name: str
    source: str  # "file: function()"
    explanation: str
    run: Callable[[Simulation], None]


@dataclass(slots=True)
class BootState:
    """Addresses early steps hand to later ones (NODE_DATA, .data, percpu)."""

    node_data: dict[int, int] = field(default_factory=dict)
    data_start: int = 0
    data_end: int = 0
    vmalloc_pgtable_pages: list[int] = field(default_factory=list)


def _size(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return f"{n}"


def _order_of(size: int) -> int:
    pages = max(1, -(-size // PAGE_SIZE))
    return (pages - 1).bit_length()


# ------------------------------------------------------------------ setup_arch()


def e820__memory_setup(sim: Simulation) -> None:
    sim.log("BIOS-provided physical RAM map:")
    for e in sim.layout.e820:
        sim.log(f"BIOS-e820: [mem {e.start:#018x}-{e.end:#018x}] {e.type}")


def early_reserve_memory(sim: Simulation) -> None:
    cfg = sim.config
    image = sim.image
    # arch/x86/kernel/setup.c: early_reserve_memory(): the kernel image, the first 64K
    # (BIOS corruption check), the initrd, and the BIOS regions up to 1 MiB.
    sim.mb_reserve(cfg.image_base, image.reserved, "kernel image", "early_reserve_memory")
    sim.mb_reserve(0, 64 << 10, "first 64K (BIOS)", "early_reserve_memory")
    if cfg.initrd_size:
        sim.mb_reserve(cfg.initrd_addr, cfg.initrd_size, "initrd", "early_reserve_initrd")
        sim.log(f"RAMDISK: [mem {cfg.initrd_addr:#x}-{cfg.initrd_addr + cfg.initrd_size - 1:#x}]")
    # arch/x86/kernel/ebda.c: reserve_bios_regions(): from the EBDA (below 640K) to 1 MiB.
    low_top = min((e.end + 1 for e in sim.layout.e820 if e.type == "usable" and e.start == 0),
                  default=0xA0000)
    ebda = min(low_top, 0x9F000) & ~(PAGE_SIZE - 1)
    sim.mb_reserve(ebda, ISA_END_ADDRESS - ebda, "BIOS regions (EBDA)", "reserve_bios_regions")
    data_start = cfg.image_base + image.data_offset
    sim.boot_state.data_start = data_start
    sim.boot_state.data_end = data_start + image.rwdata


def e820__memblock_setup(sim: Simulation) -> None:
    # arch/x86/kernel/e820.c: e820__memblock_setup() adds every usable range; page 0
    # is made reserved first (trim_bios_range) and 640K-1M removed.
    sim.log("e820: update [mem 0x00000000-0x00000fff] usable ==> reserved")
    sim.log("e820: remove [mem 0x000a0000-0x000fffff] usable")
    # "EFI might pass us more E820 entries than that": the arrays may grow from here.
    sim.memblock.allow_resize()
    for e in sim.layout.e820:
        if e.type != "usable":
            continue
        start, end = e.start, e.end + 1
        if start < PAGE_SIZE:
            start = PAGE_SIZE
        if start < ISA_END_ADDRESS < end and start >= 0xA0000:
            start = ISA_END_ADDRESS
        if end > start:
            sim.memblock.add(start, end - start, caller="e820__memblock_setup")
    # Throw away partial pages (the quirk: memory.total_size keeps the untrimmed sum).
    sim.memblock.trim_memory(PAGE_SIZE)
    # arch/x86/kernel/setup.c: until the direct map exists only the first 1 MiB is mapped.
    sim.memblock.set_current_limit(ISA_END_ADDRESS)
    sim._drain_memblock_log()
    max_pfn = pfn_down(sim.memblock.end_of_DRAM())
    sim.log(f"last_pfn = {max_pfn:#x} max_arch_pfn = 0x400000000")
    for line in sim.memblock.dump():
        sim.log(line, "memblock")


def reserve_real_mode(sim: Simulation) -> None:
    # arch/x86/realmode/init.c: reserve_real_mode(): the trampoline below 1 MiB, then
    # the whole first 1 MiB is reserved unconditionally.
    sim.mb_alloc(24576, PAGE_SIZE, "real mode trampoline", max_addr=ISA_END_ADDRESS,
                 api="phys_alloc_range")
    sim.mb_reserve(0, ISA_END_ADDRESS, "first 1M", "reserve_real_mode")


def init_mem_mapping(sim: Simulation) -> None:
    # arch/x86/mm/init.c: init_mem_mapping(): probe for a 2 MiB chunk below the top
    # (memory_map_top_down), give it back, then allocate page-table pages top-down.
    top = sim.memblock.end_of_DRAM()
    probe = sim.mb_alloc(SZ_2M, SZ_2M, "init_mem_mapping", min_addr=ISA_END_ADDRESS,
                         max_addr=top, api="phys_alloc_range")
    if probe is not None:
        sim.mb_phys_free(probe, SZ_2M, "memory_map_top_down")
    # One PUD page per 512 GiB and one PMD page per partly mapped GiB (gbpages map the
    # rest): the 4 GiB log machine needs 3 pages.
    regions = [(r.base, r.end) for r in sim.memblock.memory.regions]
    partial = 0
    for gib in range(0, -(-top // SZ_1G)):
        lo, hi = gib * SZ_1G, (gib + 1) * SZ_1G
        covered = sum(max(0, min(e, hi) - max(s, lo)) for s, e in regions)
        if 0 < covered < SZ_1G:
            partial += 1
    nr = -(-top // (512 * SZ_1G)) + partial
    for _ in range(nr):
        sim.mb_alloc(PAGE_SIZE, PAGE_SIZE, "page tables (direct map)",
                     min_addr=max(0, top - SZ_1G // 2), max_addr=top, api="phys_alloc_range",
                     caller="alloc_low_pages")
    sim.counters.pagetable_pages += nr
    # setup_arch(): all RAM is mapped now: allocations may go anywhere.
    sim.memblock.set_current_limit(top)


def acpi_boot_table_init(sim: Simulation) -> None:
    # drivers/acpi/tables.c: acpi_reserve_initial_tables(): the tables stay reserved.
    for e in sim.layout.e820:
        if e.type == "ACPI data":
            size = min(e.size, 0x1B33 if e.size <= 0x20000 else e.size // 64)
            sim.log(f"ACPI: Reserving tables at [mem {e.start:#x}-{e.start + size - 1:#x}]")
            sim.mb_reserve(e.start, size, "ACPI tables", "acpi_reserve_initial_tables")
    # The 6.1 log's i440FX map puts the tables at the top of low RAM without an
    # "ACPI data" e820 type: the RSDT sits in the reserved range after the last usable one.
    if not any(e.type == "ACPI data" for e in sim.layout.e820):
        for prev, e in zip(sim.layout.e820, sim.layout.e820[1:], strict=False):
            if prev.type == "usable" and e.type == "reserved" and e.start == prev.end + 1 \
                    and 0x100000 < e.start < 1 << 32 and e.size <= 0x40000:
                sim.mb_reserve(e.start, 0x1B33, "ACPI tables", "acpi_reserve_initial_tables")
                break


def initmem_init(sim: Simulation) -> None:
    # arch/x86/mm/numa.c: numa_register_memblks(): nodes onto memblock, then
    # alloc_node_data(): NODE_DATA(nid) on its own node, top-down.
    nodes = sim.layout.nodes
    if len(nodes) == 1:
        sim.log("No NUMA configuration found")
        sim.log(f"Faking a node at [mem {0:#018x}-{sim.memblock.end_of_DRAM() - 1:#018x}]")
    for node in nodes:
        sim.memblock.set_node(node.start, node.end - node.start, sim.memblock.memory, node.nid)
        sim.memblock.set_node(node.start, node.end - node.start, sim.memblock.reserved, node.nid)
    sim._drain_memblock_log()
    for node in nodes:
        nd_size = 0x4000  # roundup(sizeof(pg_data_t), PAGE_SIZE) for NR_CPUS<=8192
        addr = sim.mb_alloc(nd_size, SMP_CACHE_BYTES, f"NODE_DATA({node.nid})",
                            min_addr=node.start, max_addr=node.end, nid=node.nid,
                            api="alloc_try_nid", caller="alloc_node_data")
        if addr is not None:
            sim.boot_state.node_data[node.nid] = addr
            sim.log(f"NODE_DATA({node.nid}) allocated [mem {addr:#x}-{addr + nd_size - 1:#x}]")
    for line in sim.memblock.dump():
        sim.log(line, "memblock")


def _present_sections(sim: Simulation, nid: int) -> int:
    sections: set[int] = set()
    for r in sim.memblock.memory.regions:
        if sim._region_nid(r.base, r.nid) != nid:
            continue
        first, last = pfn_up(r.base), pfn_down(r.end)
        if last > first:
            sections.update(range(first // PAGES_PER_SECTION, (last - 1) // PAGES_PER_SECTION + 1))
    return len(sections)


def sparse_init(sim: Simulation) -> None:
    # mm/sparse.c: sparse_init(): the mem_section roots, per node the usemap and the
    # memmap (vmemmap: struct page * PAGES_PER_SECTION per present section, from one
    # PMD-aligned buffer whose unused tail is freed by sparse_buffer_fini()).
    levels = sim.layout.paging_levels
    # SECTIONS_PER_ROOT = PAGE_SIZE / sizeof(struct mem_section) (32 B with page_ext).
    roots = (1 << ((52 if levels == 5 else 46) - 27)) // (PAGE_SIZE // 32)
    sim.mb_alloc(roots * 8, SMP_CACHE_BYTES, "mem_section roots", caller="sparse_init")
    for node in sim.layout.nodes:
        nr = _present_sections(sim, node.nid)
        if not nr:
            continue
        usemap = -(-nr * 32 // SMP_CACHE_BYTES) * SMP_CACHE_BYTES  # pageblock bits per section
        sim.mb_alloc(PAGE_SIZE, SMP_CACHE_BYTES, "usemap", nid=node.nid,
                     caller="sparse_usemap_alloc")
        sim.mb_alloc(max(usemap, 1280), SMP_CACHE_BYTES, "mem_section usage", nid=node.nid,
                     caller="sparse_init_nid")
        per_section = sim.struct_page_size * PAGES_PER_SECTION
        map_size = -(-per_section // SZ_2M) * SZ_2M  # section_map_size(): PMD aligned
        buf = sim.mb_alloc(map_size * nr, SZ_2M if per_section % SZ_2M == 0 else 2 * SZ_2M,
                           f"memmap (struct page, {sim.struct_page_size} B)", min_addr=16 << 20,
                           nid=node.nid, api="alloc_exact_nid_raw", caller="sparse_buffer_init")
        if buf is None:
            continue
        used = -(-per_section * nr // SZ_2M) * SZ_2M  # vmemmap shares PMDs across sections
        if used < map_size * nr:
            sim.mb_phys_free(buf + used, map_size * nr - used, "sparse_buffer_fini")
        for _ in range(2):  # vmemmap page-table pages (PUD/PMD) from vmemmap_alloc_block
            sim.mb_alloc(PAGE_SIZE, PAGE_SIZE, "page tables (vmemmap)", min_addr=16 << 20,
                         nid=node.nid, api="alloc_try_nid_raw", caller="vmemmap_populate")
        sim.counters.pagetable_pages += 2


def kasan_init(sim: Simulation) -> None:
    # arch/x86/mm/kasan_init_64.c: kasan_init(): real shadow (1 byte per 8) for every
    # memory range, node-local, from memblock; the rest maps the shared zero page.
    for node in sim.layout.nodes:
        total = 0
        for r in sim.memblock.memory.regions:
            if sim._region_nid(r.base, r.nid) == node.nid:
                total += r.size
        shadow = -(-(total >> 3) // PAGE_SIZE) * PAGE_SIZE
        if shadow:
            sim.mb_alloc(shadow, PAGE_SIZE, "KASAN shadow", min_addr=node.start,
                         max_addr=node.end, nid=node.nid, caller="kasan_populate_shadow")
    image_shadow = -(-(sim.image.reserved >> 3) // PAGE_SIZE) * PAGE_SIZE
    sim.mb_alloc(image_shadow, PAGE_SIZE, "KASAN shadow (kernel image)",
                 caller="kasan_populate_shadow")
    sim.log("KernelAddressSanitizer initialized")


def free_area_init(sim: Simulation) -> None:
    # mm/mm_init.c: free_area_init(): zone and node ranges, then memmap_init().
    sim.build_zones()
    sim.log("Zone ranges:")
    top = sim.memblock.end_of_DRAM()
    spans = (("DMA", PAGE_SIZE, 16 << 20), ("DMA32", 16 << 20, MAX_DMA32_PFN << PAGE_SHIFT),
             ("Normal", MAX_DMA32_PFN << PAGE_SHIFT, top))
    for name, lo, hi in spans:
        if hi <= lo:
            sim.log(f"  {name:<8} empty")
        else:
            sim.log(f"  {name:<8} [mem {lo:#018x}-{min(hi, top) - 1:#018x}]")
    sim.log("Movable zone start for each node")
    sim.log("Early memory node ranges")
    for r in sim.memblock.memory.regions:
        sim.log(f"  node {sim._region_nid(r.base, r.nid):3d}: [mem {r.base:#018x}-{r.end - 1:#018x}]")
    for zone in sim.zones:
        holes = zone.spanned_pages - zone.present_pages
        if holes:
            sim.log(f"On node {zone.nid}, zone {zone.name}: {holes} pages in unavailable ranges")
    # The rest of setup_arch(): small memblock allocations the 6.1 log shows here.
    sim.mb_alloc(73, SMP_CACHE_BYTES, "HPET resource", caller="hpet_insert_resource")
    sim.mb_alloc(75, SMP_CACHE_BYTES, "IOAPIC resources", caller="ioapic_setup_resources")
    sim.mb_alloc(64 * (len(sim.layout.e820) + 1), SMP_CACHE_BYTES, "e820 resources",
                 caller="e820__reserve_resources")


def setup_command_line(sim: Simulation) -> None:
    # init/main.c: setup_command_line(): saved_command_line and static_command_line.
    cmdline = "console=ttyS0 panic=-1 loglevel=8 memblock=debug"
    for _ in range(2):
        sim.mb_alloc(len(cmdline) + 1, SMP_CACHE_BYTES, "command line",
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


def setup_per_cpu_areas(sim: Simulation) -> None:
    # arch/x86/kernel/setup_percpu.c -> mm/percpu.c: pcpu_embed_first_chunk(): one
    # 2 MiB (PMD) allocation per group of units on each node; the part of each unit
    # past the static+dynamic size is given back.
    pages = sim.image.percpu_pages
    total_cpus = sim.layout.cpus
    sim.log(f"setup_percpu: NR_CPUS:{max(8, total_cpus)} nr_cpumask_bits:{total_cpus} "
            f"nr_cpu_ids:{total_cpus} nr_node_ids:{len(sim.layout.nodes)}")
    # pcpu_build_alloc_info()'s two temporary pages, given back at the end.
    tmp = [sim.mb_alloc(PAGE_SIZE, PAGE_SIZE, "percpu alloc info", caller="pcpu_alloc_alloc_info"),
           sim.mb_alloc(PAGE_SIZE, SMP_CACHE_BYTES, "percpu groups", caller="pcpu_build_alloc_info")]
    for node in sim.layout.nodes:
        unit, upa = _pcpu_units(node.cpus, pages)
        allocs = -(-node.cpus // upa)
        for a in range(allocs):
            base = sim.mb_alloc(SZ_2M, SZ_2M, "percpu first chunk", min_addr=16 << 20,
                                nid=node.nid, caller="pcpu_fc_alloc")
            if base is None:
                continue
            units = min(upa, node.cpus - a * upa)
            for u in range(upa):
                start = base + u * unit + (pages * PAGE_SIZE if u < units else 0)
                sim.mb_phys_free(start, base + (u + 1) * unit - start, "pcpu_embed_first_chunk")
    sim.log(f"percpu: Embedded {pages} pages/cpu")
    for size in (8, 8, 8, 16, 352, 128, 1024, 1032, 256):
        sim.mb_alloc(size, SMP_CACHE_BYTES, "percpu chunk metadata", caller="pcpu_setup_first_chunk")
    for addr in tmp:
        if addr is not None:
            sim.mb_phys_free(addr, PAGE_SIZE, "pcpu_free_alloc_info")


def build_all_zonelists(sim: Simulation) -> None:
    nodes = " ".join(str(n.nid) for n in sim.layout.nodes)
    for node in sim.layout.nodes:
        sim.log(f"Fallback order for Node {node.nid}: {nodes} ")
    total = sum(z.present_pages for z in sim.zones)
    sim.log(f"Built {len(sim.layout.nodes)} zonelists, mobility grouping on.  Total pages: {total}")
    sim.log("Policy zone: Normal")


def _hash_entries(sim: Simulation, scale: int, bucketsize: int) -> tuple[int, int]:
    """mm/mm_init.c: alloc_large_system_hash() with numentries=0: size from RAM."""
    nr_kernel_pages = sum(z.present_pages for z in sim.zones)
    entries = nr_kernel_pages
    entries = -(-entries // (1 << (20 - PAGE_SHIFT))) * (1 << (20 - PAGE_SHIFT))  # round to MiB
    entries = entries >> (scale - PAGE_SHIFT) if scale > PAGE_SHIFT else entries << (PAGE_SHIFT - scale)
    entries = 1 << (entries - 1).bit_length()  # roundup_pow_of_two
    limit = ((nr_kernel_pages << PAGE_SHIFT) >> 4) // bucketsize
    while entries > limit:
        entries >>= 1
    return entries, entries * bucketsize


def vfs_caches_init_early(sim: Simulation) -> None:
    # fs/dcache.c: dcache_init_early(), fs/inode.c: inode_init_early(): HASH_EARLY
    # tables from memblock, unless hashdist (NUMA) defers them to vmalloc.
    if len(sim.layout.nodes) > 1:
        sim.log("Dentry and inode hash tables deferred to vmalloc (hashdist)")
        return
    for label, scale in (("Dentry cache", 13), ("Inode-cache", 14)):
        entries, size = _hash_entries(sim, scale, 8)
        addr = sim.mb_alloc(size, SMP_CACHE_BYTES, f"{label} hash table",
                            caller="alloc_large_system_hash")
        if addr is not None:
            sim.log(f"{label} hash table entries: {entries} (order: {_order_of(size)}, "
                    f"{size} bytes, linear)")
    for _ in range(3):
        sim.mb_alloc(PAGE_SIZE, PAGE_SIZE, "page tables (fixmap)", caller="spp_getpage")
    sim.counters.pagetable_pages += 3


# ------------------------------------------------------------------ mm_core_init()


def page_ext_init_flatmem(sim: Simulation) -> None:
    sim.log("page_ext_init_flatmem: nothing to do with SPARSEMEM")


def mem_debugging_and_hardening_init(sim: Simulation) -> None:
    sim.log("mem auto-init: stack:off, heap alloc:off, heap free:off")


def kfence_alloc_pool(sim: Simulation) -> None:
    if not sim.config.kfence:
        sim.log("kfence: disabled (CONFIG_KFENCE is not set)")
        return
    # mm/kfence/core.c: (CONFIG_KFENCE_NUM_OBJECTS + 1) * 2 pages.
    sim.mb_alloc((255 + 1) * 2 * PAGE_SIZE, PAGE_SIZE, "kfence pool", caller="kfence_alloc_pool")


def kmsan_init_shadow(sim: Simulation) -> None:
    if not sim.kmsan_active:
        sim.log("kmsan_init_shadow: CONFIG_KMSAN is not set")
        return
    sim.strategy.init_shadow(sim)


def stack_depot_early_init(sim: Simulation) -> None:
    # lib/stackdepot.c: with STACKDEPOT_ALWAYS_INIT (selected by KMSAN) the hash table
    # is allocated from memblock: one bucket per 16 KiB of RAM, 4K..1M buckets.
    if sim.config.sanitizer != "kmsan" and not sim.config.page_owner:
        return
    # alloc_large_system_hash("stackdepot", ..., STACK_HASH_SCALE=14, HASH_EARLY, ...,
    # 1 << STACK_HASH_ORDER_MIN, 1 << STACK_HASH_ORDER_MAX): 4K..1M buckets.
    bucket = 8 if sim.config.version == "v6.1" else 16
    entries, _ = _hash_entries(sim, 14, bucket)
    entries = max(1 << 12, min(1 << 20, entries))
    size = entries * bucket
    if sim.mb_alloc(size, SMP_CACHE_BYTES, "stackdepot hash table",
                    caller="alloc_large_system_hash") is not None:
        sim.log(f"stackdepot hash table entries: {entries} (order: {_order_of(size)}, "
                f"{size} bytes, linear)")


def pci_iommu_alloc(sim: Simulation) -> None:
    # kernel/dma/swiotlb.c: swiotlb_init(): forced on when RAM extends above 4 GiB;
    # 64 MiB of bounce buffer below 4 GiB, plus the slot array and the areas.
    if sim.max_pfn <= MAX_DMA32_PFN:
        sim.log("PCI-DMA: swiotlb not needed: no memory above 4 GiB")
        return
    cpus = sim.layout.cpus
    areas = 1 << (cpus - 1).bit_length() if cpus > 1 else 1
    sim.log(f"software IO TLB: area num {areas}.")
    sim.mb_alloc(64 * SZ_1M, PAGE_SIZE, "swiotlb buffer", max_addr=0xFFFFFFFF,
                 caller="swiotlb_init_remap")
    sim.mb_alloc((64 * SZ_1M >> 11) * 24, PAGE_SIZE, "swiotlb slots", caller="swiotlb_init_remap")
    sim.mb_alloc(areas * 16, SMP_CACHE_BYTES, "swiotlb areas", caller="swiotlb_init_remap")


def memblock_free_all(sim: Simulation) -> None:
    # mm/memblock.c: memblock_free_all() -> free_low_memory_core_early(): every free
    # range, ascending, in naturally aligned chunks (__free_pages_memory), each through
    # memblock_free_pages(), where KMSAN's hook may keep it.
    freed = 0
    for start, end, _nid in list(sim.memblock.free_ranges()):
        first, last = pfn_up(start), pfn_down(end)
        if last <= first:
            continue
        for pfn, order, count in chunk_runs(first, last):
            sim.strategy.memblock_free_pages(sim, pfn, order, count)
        freed += last - first
    sim.counters.memblock_freed_pages = freed
    sim.handed_over = True
    sim.strategy.after_free_all(sim)
    sim.log(f"memblock_free_all: {freed} pages released to the buddy allocator",
            "log", None, freed)


def chunk_runs(first: int, last: int) -> list[tuple[int, int, int]]:
    """mm/memblock.c: __free_pages_memory(): (pfn, order, count) runs of chunks.

    The chunk at pfn has order min(MAX_PAGE_ORDER, ffs(pfn)) shrunk to fit: orders
    grow across the head of the range, stay at MAX_PAGE_ORDER in the middle, shrink at
    the tail. The middle is returned as one run instead of one call per 4 MiB chunk.
    """
    from kmsan_tui.model.constants import MAX_PAGE_ORDER

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


def mem_init(sim: Simulation) -> None:
    # arch/x86/mm/init_64.c: mem_init() -> preallocate_vmalloc_pages(): one page-table
    # page per top-level entry of the vmalloc area, from the buddy allocator.
    levels = sim.layout.paging_levels
    vmalloc_bytes = (32 << 40) if levels == 4 else (12800 << 40)
    entry = (512 << 30) if levels == 4 else (256 << 40)
    for _ in range(vmalloc_bytes // entry):
        pfn = sim.alloc_pages(0, MigrateType.UNMOVABLE, "preallocate_vmalloc_pages")
        if pfn is not None:
            sim.boot_state.vmalloc_pgtable_pages.append(pfn)
    sim.counters.pagetable_pages += vmalloc_bytes // entry
    if sim.kmsan_active:
        sim.strategy.at_step(sim, "mem_init")


def mem_init_print_info(sim: Simulation) -> None:
    from kmsan_tui.model.metrics import memory_line

    sim.log(memory_line(sim))


def kmem_cache_init(sim: Simulation) -> None:
    # mm/slub.c: kmem_cache_init(): the bootstrap caches' first slabs are the buddy
    # allocator's first users (kmem_cache_node, then kmem_cache with one object per
    # cache created, then the kmalloc caches' first slabs as boot code kmallocs).
    sim.log(f"SLUB: HWalign=64, Order=0-3, MinObjects=0, CPUs={sim.layout.cpus}, "
            f"Nodes={len(sim.layout.nodes)}")
    for node in sim.layout.nodes:
        sim.alloc_pages(0, MigrateType.UNMOVABLE, "kmem_cache_node", nid=node.nid, slab=True)
    sim.alloc_pages(3, MigrateType.UNMOVABLE, "kmem_cache", slab=True)
    for order in (0, 0, 1, 1, 2, 3, 3):  # kmalloc-* first slabs
        sim.alloc_pages(order, MigrateType.UNMOVABLE, "kmalloc", slab=True)
    sim.slab_ready = True


def page_ext_init_flatmem_late(sim: Simulation) -> None:
    sim.log("page_ext_init_flatmem_late: nothing to do with SPARSEMEM")


def kmemleak_init(sim: Simulation) -> None:
    if not sim.config.kmemleak:
        sim.log("kmemleak: CONFIG_DEBUG_KMEMLEAK is not set")
        return
    # mm/kmemleak.c: object and scan-area caches; the early pool is static .bss.
    sim.alloc_pages(1, MigrateType.UNMOVABLE, "kmemleak_object cache", slab=True)


def pgtable_init(sim: Simulation) -> None:
    # mm/mm_init.c (v6.1 pgtable_init: ptlock_cache_init + pgtable_cache_init): new
    # kmem_cache objects come from the kmem_cache slab allocated above.
    sim.alloc_pages(0, MigrateType.UNMOVABLE, "page->ptl cache", slab=True)


def debug_objects_mem_init(sim: Simulation) -> None:
    if not sim.config.debug_objects:
        sim.log("debug_objects: CONFIG_DEBUG_OBJECTS is not set")
        return
    sim.alloc_pages(1, MigrateType.UNMOVABLE, "debug_objects_cache", slab=True)


def vmalloc_init(sim: Simulation) -> None:
    # mm/vmalloc.c: vmalloc_init(): vmap_area cache and per-cpu vmap_block queues
    # (kmalloc'd), then the early vmlist areas are imported as vmap areas.
    sim.alloc_pages(0, MigrateType.UNMOVABLE, "vmap_area cache", slab=True)
    per_cpu = -(-sim.layout.cpus * 128 // PAGE_SIZE)
    sim.alloc_pages(_order_of(per_cpu * PAGE_SIZE), MigrateType.UNMOVABLE,
                    "vmap_block_queue", slab=True)
    if sim.kmsan_active:
        sim.strategy.at_step(sim, "vmalloc_init")


def page_ext_init(sim: Simulation) -> None:
    # mm/page_ext.c: page_ext_init(): per present section, alloc_pages_exact_nid()
    # of entry_size * PAGES_PER_SECTION, vzalloc_node() if that fails; only when some
    # client's need() says so (page_owner=on, or KMSAN keeping its pointers there).
    entry = sim.strategy.page_ext_bytes_per_page(sim) if sim.kmsan_active else 0
    if sim.config.page_owner:
        entry += 8 + 24  # shared flags + struct page_owner (approximate)
    if entry == 0:
        sim.log("page_ext: no client needs it, nothing allocated")
    else:
        table = entry * PAGES_PER_SECTION
        order = _order_of(table)
        sections = 0
        vmalloced = 0
        for node in sim.layout.nodes:
            for _ in range(_present_sections(sim, node.nid)):
                pfn = sim.alloc_pages(order, MigrateType.UNMOVABLE, "page_ext", nid=node.nid)
                if pfn is None:
                    vmalloced += 1
                    sim.counters.vmap_areas += 1
                else:
                    sections += 1
                    # alloc_pages_exact() frees the tail beyond the table size.
                    sim.trim_exact(pfn, order, -(-table // PAGE_SIZE))
        sim.log(f"page_ext: allocated {sections * table + vmalloced * table} bytes "
                f"({vmalloced} sections from vmalloc)")
    if sim.kmsan_active:
        sim.strategy.at_step(sim, "page_ext_init")


def init_espfix_bsp(sim: Simulation) -> None:
    sim.log("espfix: static PUD page installed (no allocation)")


def pti_init(sim: Simulation) -> None:
    sim.log("Kernel/User page tables isolation: disabled (CONFIG_PAGE_TABLE_ISOLATION is not set)")


def kmsan_init_runtime(sim: Simulation) -> None:
    if not sim.kmsan_active:
        sim.log("kmsan_init_runtime: CONFIG_KMSAN is not set")
        return
    sim.strategy.init_runtime(sim)
    sim.kmsan_enabled = True
    sim.log("Starting KernelMemorySanitizer")
    sim.log("ATTENTION: KMSAN is a debugging tool! Do not use it on production machines!")


def mm_cache_init(sim: Simulation) -> None:
    sim.alloc_pages(1, MigrateType.UNMOVABLE, "mm_struct cache", slab=True)


# ------------------------------------------------------------------ the timeline

_MM = "mm/mm_init.c"

_DEFS: dict[str, tuple[str, str, Callable[[Simulation], None]]] = {
    "early_reserve_memory": (
        "arch/x86/kernel/setup.c: early_reserve_memory()",
        "Before memblock knows any RAM, the kernel image, the first 64 KiB, the initrd and the "
        "BIOS regions below 1 MiB are reserved so nothing later allocates over them.",
        early_reserve_memory),
    "e820__memory_setup": (
        "arch/x86/kernel/e820.c: e820__memory_setup()",
        "The firmware's e820 map is read and printed (BIOS-e820 lines): which physical ranges "
        "are usable RAM and which are reserved, ACPI or holes.",
        e820__memory_setup),
    "e820__memblock_setup": (
        "arch/x86/kernel/e820.c: e820__memblock_setup()",
        "Every usable e820 range is added to memblock.memory; page 0 and 640K-1M are trimmed. "
        "From now on memblock is the only allocator, top-down by default.",
        e820__memblock_setup),
    "reserve_real_mode": (
        "arch/x86/realmode/init.c: reserve_real_mode()",
        "The real-mode trampoline for booting other CPUs is allocated below 1 MiB, and then the "
        "whole first megabyte is reserved.",
        reserve_real_mode),
    "init_mem_mapping": (
        "arch/x86/mm/init.c: init_mem_mapping()",
        "The direct map of all RAM is built; its page-table pages come from memblock, top-down.",
        init_mem_mapping),
    "acpi_boot_table_init": (
        "drivers/acpi/tables.c: acpi_reserve_initial_tables()",
        "The ACPI tables found by the firmware are reserved so they survive until parsed.",
        acpi_boot_table_init),
    "initmem_init": (
        "arch/x86/mm/numa.c: numa_register_memblks(), alloc_node_data()",
        "NUMA nodes are attached to memblock ranges and each node's pg_data_t (NODE_DATA) is "
        "allocated on its own node.",
        initmem_init),
    "sparse_init": (
        "mm/sparse.c: sparse_init()",
        "The memmap is allocated: one struct page per page of RAM, per 128 MiB section. "
        "KMSAN's two pointers make struct page 80 bytes instead of 64 (+25 %).",
        sparse_init),
    "kasan_init": (
        "arch/x86/mm/kasan_init_64.c: kasan_init()",
        "Generic KASAN maps real shadow memory (1 byte per 8) for all RAM from memblock; "
        "everything else in its 16 TB range maps one read-only zero page.",
        kasan_init),
    "free_area_init": (
        f"{_MM}: free_area_init()",
        "Zones (DMA < 16 MiB, DMA32 < 4 GiB, Normal) and nodes get their spans; memmap_init() "
        "marks every pageblock MIGRATE_MOVABLE. The buddy free lists exist but are empty.",
        free_area_init),
    "setup_command_line": (
        "init/main.c: setup_command_line()",
        "Two copies of the kernel command line are kept (saved and static), from memblock.",
        setup_command_line),
    "setup_per_cpu_areas": (
        "mm/percpu.c: pcpu_embed_first_chunk()",
        "Each CPU's per-cpu area is carved from 2 MiB memblock allocations per node; the unused "
        "tail of every unit is given back.",
        setup_per_cpu_areas),
    "build_all_zonelists": (
        "mm/page_alloc.c: build_all_zonelists()",
        "Each node's zonelist is built: the order in which zones are tried for an allocation.",
        build_all_zonelists),
    "vfs_caches_init_early": (
        "fs/dcache.c: dcache_init_early(), fs/inode.c: inode_init_early()",
        "The dentry and inode hash tables, sized from RAM, come from memblock "
        "(alloc_large_system_hash with HASH_EARLY).",
        vfs_caches_init_early),
    "page_ext_init_flatmem": (
        f"{_MM}: page_ext_init_flatmem()", "Only FLATMEM allocates page_ext here; x86_64 is "
        "SPARSEMEM, so this does nothing.", page_ext_init_flatmem),
    "mem_debugging_and_hardening_init": (
        f"{_MM}: mem_debugging_and_hardening_init()",
        "init_on_alloc/init_on_free and page poisoning are decided; nothing is allocated.",
        mem_debugging_and_hardening_init),
    "kfence_alloc_pool": (
        "mm/kfence/core.c: kfence_alloc_pool_and_metadata()",
        "With CONFIG_KFENCE a 2 MiB guarded pool is taken from memblock.", kfence_alloc_pool),
    "kmsan_init_shadow": (
        "mm/kmsan/init.c: kmsan_init_shadow()",
        "KMSAN gives metadata to what already exists: every memblock.reserved range, the "
        "kernel's .data and each NODE_DATA get a shadow and an origin copy, two range-sized "
        "memblock allocations each. That doubles everything reserved so far.",
        kmsan_init_shadow),
    "stack_depot_early_init": (
        "lib/stackdepot.c: stack_depot_early_init()",
        "KMSAN selects STACKDEPOT_ALWAYS_INIT: the stack depot hash table (1 bucket per 16 KiB "
        "of RAM) comes from memblock.", stack_depot_early_init),
    "pci_iommu_alloc": (
        "arch/x86/kernel/pci-dma.c: pci_iommu_alloc() -> swiotlb_init()",
        "With RAM above 4 GiB, 64 MiB of swiotlb bounce buffer is taken below 4 GiB. In v6.1 "
        "this runs inside mem_init(), after kmsan_init_shadow, so it gets no metadata; in "
        "mainline it runs in arch_mm_preinit(), before it.",
        pci_iommu_alloc),
    "memblock_free_all": (
        "mm/memblock.c: memblock_free_all()",
        "memblock hands every free range to the buddy allocator in naturally aligned chunks, "
        "ascending, each to its list tail. With eager KMSAN, kmsan_memblock_free_pages() keeps "
        "the 1st and 2nd chunk of each order as shadow and origin for the 3rd.",
        memblock_free_all),
    "mem_init": (
        "arch/x86/mm/init_64.c: mem_init()",
        "After the hand-over, preallocate_vmalloc_pages() takes one page-table page per "
        "top-level vmalloc entry from the buddy allocator: its first users.",
        mem_init),
    "mem_init_print_info": (
        "mm/mm_init.c: mem_init_print_info()",
        "The kernel prints the Memory: line: free pages (nr_free_pages), present pages, and reserved = present - totalram_pages.",
        mem_init_print_info),
    "kmem_cache_init": (
        "mm/slub.c: kmem_cache_init()",
        "SLUB bootstraps its caches; their first slabs are order-0..3 buddy allocations, "
        "UNMOVABLE, which claim a MOVABLE pageblock by fallback.",
        kmem_cache_init),
    "page_ext_init_flatmem_late": (
        f"{_MM}: page_ext_init_flatmem_late()", "The late FLATMEM page_ext allocation; x86_64 is SPARSEMEM, so nothing happens here.",
        page_ext_init_flatmem_late),
    "kmemleak_init": (
        "mm/kmemleak.c: kmemleak_init()", "kmemleak's caches, when CONFIG_DEBUG_KMEMLEAK is set; "
        "its early pool is static.", kmemleak_init),
    "pgtable_init": (
        f"{_MM}: pgtable_init()", "The page-table lock and page-table caches are created: kmem_cache objects from the slab bootstrapped above.",
        pgtable_init),
    "ptlock_cache_init": (
        "mm/memory.c: ptlock_cache_init()", "The split page-table lock cache is created (one ptlock per page-table page when spinlocks are big).",
        pgtable_init),
    "pgtable_cache_init": (
        "arch: pgtable_cache_init()", "Architecture page-table caches; x86_64 allocates page tables straight from the page allocator, so none.",
        lambda sim: sim.log("pgtable_cache_init: nothing on x86_64")),
    "debug_objects_mem_init": (
        "lib/debugobjects.c: debug_objects_mem_init()", "The debug-objects cache, when "
        "CONFIG_DEBUG_OBJECTS is set; its early pool is static.", debug_objects_mem_init),
    "vmalloc_init": (
        "mm/vmalloc.c: vmalloc_init()", "The vmap_area cache and per-cpu vmap block queues are "
        "set up and early vm areas imported: from here vmalloc works.", vmalloc_init),
    "page_ext_init": (
        "mm/page_ext.c: page_ext_init()",
        "page_ext arrays are allocated per 128 MiB section from the buddy allocator (vzalloc as "
        "fallback), if a client needs them: this is where Michal Hocko wanted KMSAN's pointers.",
        page_ext_init),
    "init_espfix_bsp": (
        "arch/x86/kernel/espfix_64.c: init_espfix_bsp()", "The espfix64 stacks (for returning to 16-bit stack segments) get their page-table page; it is static, nothing is allocated.",
        init_espfix_bsp),
    "pti_init": ("arch/x86/mm/pti.c: pti_init()", "Kernel page-table isolation (Meltdown) would clone the kernel mappings here; off in these configurations.", pti_init),
    "kmsan_init_runtime": (
        "mm/kmsan/init.c: kmsan_init_runtime()",
        "kmsan_memblock_discard() pairs up what is left in held_back[]: three blocks of an order "
        "become shadow, origin and data, the rest are split in halves one order down. Then "
        "kmsan_enabled is set.",
        kmsan_init_runtime),
    "mm_cache_init": (
        f"{_MM}: mm_cache_init()", "The caches for mm_struct and friends are created; their first slab comes from the buddy allocator.", mm_cache_init),
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


__all__ = ["BootStep", "BootState", "steps_for", "chunk_runs", "NUMA_NO_NODE",
           "MEMBLOCK_ALLOC_ACCESSIBLE"]
