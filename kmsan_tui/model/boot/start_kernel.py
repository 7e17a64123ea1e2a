"""start_kernel() between setup_arch() and the mm init calls (init/main.c).

The command line copies, the per-cpu first chunk, the zonelists (here in v6.1; inside
mm_core_init() from v6.4), the early hash tables and the cpu_entry_area page tables:
all from memblock, before the buddy allocator has a page.
"""

from __future__ import annotations

from kmsan_tui.model.constants import PAGE_SHIFT, PAGE_SIZE
from kmsan_tui.model.machine import ZONE_NAMES, Machine
from kmsan_tui.model.strategies.base import MetadataStrategy

SZ_1M = 1 << 20
SZ_2M = 2 << 20
SMP_CACHE_BYTES = 64
# mm/percpu.c: PCPU_MIN_UNIT_SIZE; PERCPU_DYNAMIC_RESERVE (64-bit).
PCPU_MIN_UNIT_SIZE = 32 << 10
PERCPU_DYNAMIC_RESERVE = 28 << 10
# mm/mm_init.c: ADAPT_SCALE_BASE (64 GiB) in pages and ADAPT_SCALE_SHIFT.
ADAPT_SCALE_NPAGES = (64 << 30) >> PAGE_SHIFT
ADAPT_SCALE_SHIFT = 2
# include/linux/mmzone.h: MIGRATE_TYPES (no CMA, with ISOLATE).
MIGRATE_TYPES = 5


def order_of(size: int) -> int:
    """get_order(): the buddy order that holds size bytes."""
    pages = max(1, -(-size // PAGE_SIZE))
    return (pages - 1).bit_length()


def setup_command_line(m: Machine, kmsan: MetadataStrategy) -> None:
    # init/main.c: setup_command_line(): saved_command_line and static_command_line,
    # strlen(boot_command_line) + 1 bytes each.
    for _ in range(2):
        m.mb_alloc(len(m.config.cmdline) + 1, SMP_CACHE_BYTES, "command line",
                   caller="setup_command_line")


def pcpu_groups(m: Machine) -> list[list[int]]:
    """CPU ids grouped by node (pcpu_cpu_distance(): CPUs of one node share a group)."""
    groups, cpu = [], 0
    for node in m.layout.nodes:
        if node.cpus:
            groups.append(list(range(cpu, cpu + node.cpus)))
            cpu += node.cpus
    return groups


def pcpu_build_alloc_info(size_sum: int, group_cnt: list[int], possible: int) -> tuple[int, int]:
    """mm/percpu.c: pcpu_build_alloc_info(): (unit size, units per allocation).

    Units are as small as the chunk allows within one 2 MiB atom; the number of units
    per allocation is the largest that wastes at most a third of the possible CPUs
    and does not need more allocations than the one before it."""
    min_unit = max(size_sum, PCPU_MIN_UNIT_SIZE)
    alloc_size = -(-min_unit // SZ_2M) * SZ_2M
    upa = alloc_size // min_unit
    while alloc_size % upa or (alloc_size // upa) % PAGE_SIZE:
        upa -= 1
    best, last_allocs = upa, 1 << 62
    for u in range(upa, 0, -1):
        if alloc_size % u or (alloc_size // u) % PAGE_SIZE:
            continue
        allocs = sum(-(-cnt // u) for cnt in group_cnt)
        wasted = sum(-(-cnt // u) * u - cnt for cnt in group_cnt)
        if wasted > possible // 3:
            continue
        if allocs > last_allocs:
            break
        last_allocs, best = allocs, u
    return alloc_size // best, best


def pcpu_dump_alloc_info(static: int, reserved: int, dyn: int, unit: int, upa: int,
                         groups: list[list[int]], possible: int) -> list[str]:
    """mm/percpu.c: pcpu_dump_alloc_info(): the "pcpu-alloc:" lines, as printed."""
    group_width = len(str(len(groups)))
    cpu_width = len(str(possible))
    empty = "-" * min(cpu_width, 8)
    width = upa * (cpu_width + 1) + group_width + 3
    apl = 1 << (max(60 // width, 1).bit_length() - 1)
    lines = [f"pcpu-alloc: s{static} r{reserved} d{dyn} u{unit} alloc={unit * upa // SZ_2M}*{SZ_2M}"]
    alloc = 0
    for g, cpus in enumerate(groups):
        units = cpus + [-1] * (-(-len(cpus) // upa) * upa - len(cpus))
        for a in range(0, len(units), upa):
            if alloc % apl == 0:
                lines.append("pcpu-alloc: ")
            text = f"[{g:0{group_width}d}] " + "".join(
                f"{c:0{cpu_width}d} " if c >= 0 else f"{empty} " for c in units[a:a + upa])
            lines[-1] += text
            alloc += 1
    return lines


def setup_per_cpu_areas(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/kernel/setup_percpu.c -> mm/percpu.c: pcpu_embed_first_chunk(): one
    # PMD-aligned memblock allocation of nr_units * unit_size per group (node); the
    # part of each unit past the static+reserved+dynamic size, and every unit no CPU
    # uses, is given back.
    image = m.image
    pages = image.percpu_pages
    size_sum = pages * PAGE_SIZE
    reserved = image.percpu_reserved
    static = image.percpu_static or max(0, size_sum - reserved - PERCPU_DYNAMIC_RESERVE)
    dyn = size_sum - static - reserved
    possible = m.layout.cpus
    m.log(f"setup_percpu: NR_CPUS:{m.config.nr_cpus} nr_cpumask_bits:{possible} "
          f"nr_cpu_ids:{possible} nr_node_ids:{len(m.layout.nodes)}")
    groups = pcpu_groups(m)
    unit, upa = pcpu_build_alloc_info(size_sum, [len(g) for g in groups], possible)
    # pcpu_alloc_alloc_info() and the areas[] array: two temporary pages.
    tmp = [m.mb_alloc(PAGE_SIZE, PAGE_SIZE, "percpu alloc info", caller="pcpu_alloc_alloc_info"),
           m.mb_alloc(PAGE_SIZE, SMP_CACHE_BYTES, "percpu areas", caller="pcpu_embed_first_chunk")]
    nid_of = {}
    cpu = 0
    for node in m.layout.nodes:
        for _ in range(node.cpus):
            nid_of[cpu] = node.nid
            cpu += 1
    for cpus in groups:
        nr_units = -(-len(cpus) // upa) * upa
        base = m.mb_alloc(nr_units * unit, SZ_2M, "percpu first chunk", min_addr=16 << 20,
                          nid=nid_of[cpus[0]], caller="pcpu_fc_alloc")
        if base is None:
            continue
        for u in range(nr_units):
            start = base + u * unit + (size_sum if u < len(cpus) else 0)
            m.mb_phys_free(start, base + (u + 1) * unit - start, "pcpu_embed_first_chunk")
    m.log(f"percpu: Embedded {pages} pages/cpu s{static} r{reserved} d{dyn} u{unit}")
    # pcpu_setup_first_chunk(): group offsets and sizes, unit map and offsets, the
    # slot lists and the first chunk's allocation maps.
    nr_groups = len(groups)
    for size in (8 * nr_groups, 8 * nr_groups, 4 * possible, 8 * possible):
        m.mb_alloc(max(size, 8), SMP_CACHE_BYTES, "percpu unit maps",
                   caller="pcpu_setup_first_chunk")
    for line in pcpu_dump_alloc_info(static, reserved, dyn, unit, upa, groups, possible):
        m.log(line)
    for size in (352, 128, 1024, 1032, 256):
        m.mb_alloc(size, SMP_CACHE_BYTES, "percpu chunk metadata", caller="pcpu_setup_first_chunk")
    for addr in tmp:
        if addr is not None:
            m.mb_phys_free(addr, PAGE_SIZE, "pcpu_free_alloc_info")


def build_all_zonelists(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/page_alloc.c: build_all_zonelists() -> build_zonelists() per node (its
    # "Fallback order"), then nr_free_zone_pages(): the managed pages above the high
    # watermark of every zone in the zonelist, from free_area_init_core()'s early
    # estimate (no watermark is set yet).
    orders = m.fallback_order()
    for nid in sorted(orders):
        m.log(f"Fallback order for Node {nid}: " + "".join(f"{n} " for n in orders[nid]))
    early = dict(zip((id(z) for z in m.zones), m.boot_state.early_managed, strict=False))
    total = sum(max(0, early.get(id(z), 0) - z.watermark[2]) for z in m.zonelist(0))
    grouping = "off" if total < (1 << m.config.pageblock_order) * MIGRATE_TYPES else "on"
    m.log(f"Built {len(orders)} zonelists, mobility grouping {grouping}.  Total pages: {total}")
    highest = max((ZONE_NAMES.index(z.name) for z in m.zones), default=0)
    m.log(f"Policy zone: {ZONE_NAMES[highest]}")


def page_alloc_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/page_alloc.c: page_alloc_init() (v6.1; page_alloc_init_cpuhp() from v6.4):
    # hashdist = 0 on one node, and the CPU-hotplug callback that drains a dead CPU's
    # per-cpu lists. Nothing is allocated.
    pass


def setup_log_buf(m: Machine, kmsan: MetadataStrategy) -> None:
    # init/main.c prints the command line, then kernel/printk/printk.c:
    # setup_log_buf(0) allocates a bigger log buffer from memblock only when
    # log_buf_len= asks for one (or many CPUs do): not in these configurations.
    m.log(f"Kernel command line: {m.config.cmdline}")


def hash_entries(m: Machine, scale: int, bucketsize: int, low_limit: int = 0,
                 high_limit: int = 0) -> tuple[int, int]:
    """mm/mm_init.c: alloc_large_system_hash() with numentries=0: (entries, bytes).

    One bucket per 2**scale bytes of nr_kernel_pages (rounded up to a MiB), one more
    scale step per 4x above 64 GiB when no high limit is given, a power of two, at
    most 1/16 of memory."""
    bs = m.boot_state
    nr_kernel = bs.nr_kernel_pages or sum(z.present_pages for z in m.zones)
    nr_all = bs.nr_all_pages or nr_kernel
    entries = -(-nr_kernel // (SZ_1M // PAGE_SIZE)) * (SZ_1M // PAGE_SIZE)
    if not high_limit:
        adapt = ADAPT_SCALE_NPAGES
        while adapt < entries:
            scale += 1
            adapt <<= ADAPT_SCALE_SHIFT
    entries = entries >> (scale - PAGE_SHIFT) if scale > PAGE_SHIFT else \
        entries << (PAGE_SHIFT - scale)
    if entries * bucketsize < PAGE_SIZE:
        entries = PAGE_SIZE // bucketsize
    entries = 1 << max(0, (entries - 1).bit_length())
    limit = high_limit or ((nr_all << PAGE_SHIFT) >> 4) // bucketsize
    limit = min(limit, 0x80000000)
    entries = min(max(entries, low_limit), limit)
    entries = 1 << (entries.bit_length() - 1)  # log2qty = ilog2(numentries)
    return entries, entries * bucketsize


def hash_line(name: str, entries: int, size: int, where: str = "linear") -> str:
    """alloc_large_system_hash()'s pr_info (order: ilog2(size) - PAGE_SHIFT)."""
    return (f"{name} hash table entries: {entries} (order: {size.bit_length() - 1 - PAGE_SHIFT}, "
            f"{size} bytes, {where})")


def vfs_caches_init_early(m: Machine, kmsan: MetadataStrategy) -> None:
    # fs/dcache.c: dcache_init_early(), fs/inode.c: inode_init_early(): HASH_EARLY
    # tables from memblock, unless hashdist (more than one node) defers them to
    # vfs_caches_init() and vmalloc.
    if len({z.nid for z in m.zones}) > 1:
        m.log("dentry and inode hash tables: hashdist, deferred to vfs_caches_init()", "note")
        return
    for label, scale in (("Dentry cache", 13), ("Inode-cache", 14)):
        entries, size = hash_entries(m, scale, 8)
        if m.mb_alloc(size, SMP_CACHE_BYTES, f"{label} hash table",
                      caller="alloc_large_system_hash") is not None:
            m.log(hash_line(label, entries, size))


def trap_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # arch/x86/kernel/traps.c: trap_init() -> setup_cpu_entry_areas(): the
    # cpu_entry_area page tables come from memblock through spp_getpage().
    for _ in range(3):
        m.mb_alloc(PAGE_SIZE, PAGE_SIZE, "page tables (cpu_entry_area)", caller="spp_getpage")
    m.counters.pagetable_pages += 3
