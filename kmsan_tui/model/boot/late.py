"""After mm_init()/mm_core_init(): what start_kernel() and kernel_init_freeable() take
from the buddy allocator before page_alloc_init_late().

In v6.1 and v6.8 the Memory: line is printed before any of this; from v6.10 it is
printed at the end of page_alloc_init_late(), so these allocations are already gone
from ``available`` there. Only calls that take pages in proportion to RAM or CPUs
are modelled: the VFS hash tables that hashdist moves to vmalloc, the mount hash
tables, and the kernel stacks of the idle tasks and per-CPU kthreads that SMP
bring-up creates.
"""

from __future__ import annotations

from kmsan_tui.model.boot.start_kernel import hash_entries, hash_line
from kmsan_tui.model.constants import PAGE_SHIFT, PAGE_SIZE, MigrateType
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.strategies.base import MetadataStrategy

# include/linux/mmzone.h: a PMD maps pageblock-sized (order-9) pages.
PMD_ORDER = 9
# kernel/smpboot.c and friends: kthreads each CPU gets while booting (cpuhp/N,
# migration/N, ksoftirqd/N, kworker/N:0, kworker/N:0H).
PER_CPU_KTHREADS = 5


def thread_size(m: Machine) -> int:
    """THREAD_SIZE on x86_64: 16 KiB, doubled by KASAN_STACK_ORDER under KASAN and
    KMSAN (arch/x86/include/asm/page_64_types.h)."""
    return (16 << 10) * (2 if m.config.sanitizer in ("kasan", "kmsan") else 1)


def _vmalloc(m: Machine, size: int, owner: str, huge: bool) -> None:
    """vmalloc()/vmalloc_huge() backing pages, interleaved over the nodes (the boot task
    runs with MPOL_INTERLEAVE until numa_default_policy()): order-9 pages when the
    area is PMD-mappable, else order 0."""
    order = PMD_ORDER if huge and size >= PAGE_SIZE << PMD_ORDER else 0
    nids = sorted({z.nid for z in m.zones})
    for i in range(-(-size // (PAGE_SIZE << order))):
        m.alloc_pages(order, MigrateType.UNMOVABLE, owner, nid=nids[i % len(nids)], quiet=True)
    m.counters.vmap_areas += 1


def vfs_caches_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # fs/dcache.c: vfs_caches_init() -> dcache_init(), inode_init(): with hashdist
    # (more than one node) the dentry and inode hash tables are allocated now, from
    # vmalloc; mnt_init(): the mount and mountpoint hash tables (scale 19), from the
    # buddy allocator (alloc_pages_exact) or vmalloc with hashdist.
    hashdist = len({z.nid for z in m.zones}) > 1
    if hashdist:
        for label, scale in (("Dentry cache", 13), ("Inode-cache", 14)):
            entries, size = hash_entries(m, scale, 8)
            huge = size >= PAGE_SIZE << PMD_ORDER
            _vmalloc(m, size, f"{label} hash table", huge)
            m.log(hash_line(label, entries, size, "vmalloc hugepage" if huge else "vmalloc"))
    for label in ("Mount-cache", "Mountpoint-cache"):
        entries, size = hash_entries(m, 19, 8)
        if hashdist:
            huge = size >= PAGE_SIZE << PMD_ORDER
            _vmalloc(m, size, f"{label} hash table", huge)
            m.log(hash_line(label, entries, size, "vmalloc hugepage" if huge else "vmalloc"))
            continue
        order = max(0, (size - 1).bit_length() - PAGE_SHIFT)
        pfn = m.alloc_pages(order, MigrateType.UNMOVABLE, f"{label} hash table", quiet=True)
        if pfn is not None:
            m.trim_exact(pfn, order, -(-size // PAGE_SIZE))
            m.log(hash_line(label, entries, size))


def smp_init(m: Machine, kmsan: MetadataStrategy) -> None:
    # kernel/smp.c: smp_init() -> idle_threads_init() forks an idle task for every
    # secondary CPU; bringing each CPU up starts its per-CPU kthreads. Each task has a
    # kernel stack of THREAD_SIZE and a task_struct from its slab. With
    # CONFIG_VMAP_STACK the stack's pages come from vmalloc one by one; the model takes
    # them as one block of THREAD_SIZE's order (as alloc_thread_stack_node() does
    # without it): the same pages, one record per stack instead of one per page.
    cpus = m.layout.cpus
    stacks = (cpus - 1) + PER_CPU_KTHREADS * cpus
    order = (thread_size(m) // PAGE_SIZE - 1).bit_length()
    nids = [n.nid for n in m.layout.nodes for _ in range(n.cpus)]
    for i in range(stacks):
        m.alloc_pages(order, MigrateType.UNMOVABLE, "kernel stack", nid=nids[i % cpus],
                      quiet=True)
    for _ in range(-(-stacks // 4)):  # task_struct slabs: order 3, about 4 objects each
        m.alloc_pages(3, MigrateType.UNMOVABLE, "task_struct", slab=True, quiet=True)
    nodes = len({z.nid for z in m.zones})
    m.log(f"smp: Brought up {nodes} node{'s' if nodes > 1 else ''}, {cpus} CPU"
          f"{'s' if cpus > 1 else ''}")


def page_alloc_init_late(m: Machine, kmsan: MetadataStrategy) -> None:
    # mm/mm_init.c: page_alloc_init_late(): waits for deferred struct page init (none:
    # these kernels initialise every struct page early; KMSAN excludes
    # DEFERRED_STRUCT_PAGE_INIT), then memblock_discard(), set_zone_contiguous(). No
    # page is allocated; from v6.10 it ends by printing the Memory: line.
    pass
