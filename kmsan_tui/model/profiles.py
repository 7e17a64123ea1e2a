"""Kernel profiles: what changes from one kernel release to the next, as data.

A profile is one kernel the model can boot: the order of its init calls (from
``init/main.c: start_kernel()`` and ``mm_init()``/``mm_core_init()`` of that release),
where it prints the ``Memory:`` line, how ``memblock_free_all()`` accounts
``totalram_pages``, which buddy fallback it runs, and the per-version sizes that
move the numbers (stackdepot buckets, the early managed-pages estimate). The boot
steps (``boot/``) and the allocator read these fields; nothing else switches on a
version string.

Sources, per profile:

- ``v6.1``: Linux 6.1 (the kernel of the shared 6.1.192 boot logs).
  ``init/main.c: start_kernel()`` calls ``build_all_zonelists()`` and
  ``page_alloc_init()`` before ``vfs_caches_init_early()``, then ``mm_init()``
  (KMSAN hooks added by "init: kmsan: call KMSAN initialization routines",
  Potapenko, Sept 2022). ``mem_init_print_info()`` follows ``mem_init()``;
  ``kmsan_init_runtime()`` ends ``mm_init()``; there is no ``mm_cache_init()``;
  without ``early_page_ext``, ``page_ext_init()`` runs from
  ``kernel_init_freeable()`` after ``page_alloc_init_late()``. Buddy fallback:
  ``__rmqueue_fallback()``/``steal_suitable_fallback()``.
- ``v6.8``: Linux 6.8 (the kernel of syzbot's public ci-upstream-kmsan-gce boots).
  ``mm/mm_init.c: mm_core_init()`` (since v6.4) starts with ``build_all_zonelists()``
  and ``page_alloc_init_cpuhp()``; ``pgtable_init()`` became ``ptlock_cache_init()``
  + ``pgtable_cache_init()``; ``page_ext_init()`` right after ``vmalloc_init()``
  (no deferred struct pages); ``mm_cache_init()`` at the end; the x86 ``mem_init()``
  still calls ``pci_iommu_alloc()`` (swiotlb after ``kmsan_init_shadow()``); the
  ``Memory:`` line right after ``mem_init()``; 16-byte stackdepot buckets
  (``lib/stackdepot.c``: ``struct list_head`` buckets since v6.8).
- ``mainline``: torvalds/linux at commit 00c010e130e5 (mm/mm_init.c, read for
  this model; it has ``kho_memory_init()``, so v6.16 or later, and still the
  ``memblock_free_pages(page, pfn, order)`` signature, so before the Sept 2025
  totalram fix). ``mm_core_init()``: ``arch_mm_preinit()`` (x86:
  ``pci_iommu_alloc()``), ``hugetlb_bootmem_alloc()``, ``build_all_zonelists()``,
  ``page_alloc_init_cpuhp()``, ``alloc_tag_sec_init()``, ..., ``kho_memory_init()``,
  ``memblock_free_all()``, ``mem_init()``, ..., ``mm_cache_init()``,
  ``execmem_init()``. ``mem_init_print_info()`` is called from
  ``page_alloc_init_late()`` (since v6.10, "mm/mm_init.c: print mem_init info after
  defer_init is done", Baoquan He), after SMP bring-up; the same series set a
  zone's early ``managed_pages`` to its present pages and dropped ``dma_reserve``.

The Sept 2025 patch "mm/memblock: Correct totalram_pages accounting with KMSAN"
(Potapenko) is in none of these three: every profile counts the blocks KMSAN holds
back into ``totalram_pages`` (``totalram_counts_held_back``).
"""

from __future__ import annotations

from dataclasses import dataclass

from kmsan_tui.model.errors import UserError

# setup_arch() on x86_64 (arch/x86/kernel/setup.c), the same order in all three
# releases for the calls that touch memory. kasan_init() is compiled only with
# CONFIG_KASAN: the timeline drops it for other sanitizers.
_SETUP_ARCH = (
    "early_reserve_memory", "e820__memory_setup", "efi_memblock_x86_reserve_range",
    "e820__reserve_setup_data", "efi_init", "e820__memblock_setup",
    "efi_reserve_boot_services", "reserve_real_mode", "init_mem_mapping",
    "acpi_boot_table_init", "initmem_init", "sparse_init", "free_area_init", "kasan_init",
    "acpi_boot_init", "e820__reserve_resources",
)

# After mm_init()/mm_core_init(): start_kernel() and kernel_init_freeable() up to the
# first initcalls that free or measure memory.
_LATE = ("vfs_caches_init", "smp_init", "page_alloc_init_late")
_INITCALLS = ("init_per_zone_wmark_min", "efi_free_boot_services")

V61_STEPS = _SETUP_ARCH + (
    # init/main.c (v6.1): start_kernel()
    "setup_command_line", "setup_per_cpu_areas", "build_all_zonelists", "page_alloc_init",
    "setup_log_buf", "vfs_caches_init_early", "trap_init",
    # init/main.c (v6.1): mm_init(); x86 mem_init() = pci_iommu_alloc,
    # memblock_free_all, preallocate_vmalloc_pages
    "page_ext_init_flatmem", "init_mem_debugging_and_hardening", "kfence_alloc_pool",
    "report_meminit", "kmsan_init_shadow", "stack_depot_early_init", "pci_iommu_alloc",
    "memblock_free_all", "mem_init", "mem_init_print_info", "kmem_cache_init",
    "page_ext_init_flatmem_late", "kmemleak_init", "pgtable_init", "debug_objects_mem_init",
    "vmalloc_init", "init_espfix_bsp", "pti_init", "kmsan_init_runtime",
) + _LATE + (
    # init/main.c (v6.1): kernel_init_freeable(): without early_page_ext
    "page_ext_init",
) + _INITCALLS

V68_STEPS = _SETUP_ARCH + (
    # init/main.c (v6.8): start_kernel()
    "setup_command_line", "setup_per_cpu_areas", "setup_log_buf", "vfs_caches_init_early",
    "trap_init",
    # mm/mm_init.c (v6.8): mm_core_init(); x86 mem_init() as in v6.1
    "build_all_zonelists", "page_alloc_init_cpuhp", "page_ext_init_flatmem",
    "mem_debugging_and_hardening_init", "kfence_alloc_pool_and_metadata", "report_meminit",
    "kmsan_init_shadow", "stack_depot_early_init", "pci_iommu_alloc", "memblock_free_all",
    "mem_init", "mem_init_print_info", "kmem_cache_init", "page_ext_init_flatmem_late",
    "kmemleak_init", "ptlock_cache_init", "pgtable_cache_init", "debug_objects_mem_init",
    "vmalloc_init", "page_ext_init", "init_espfix_bsp", "pti_init", "kmsan_init_runtime",
    "mm_cache_init",
) + _LATE + _INITCALLS

MAINLINE_STEPS = _SETUP_ARCH + (
    # init/main.c: start_kernel()
    "setup_command_line", "setup_per_cpu_areas", "setup_log_buf", "vfs_caches_init_early",
    "trap_init",
    # mm/mm_init.c @00c010e130e5: mm_core_init(); arch_mm_preinit() is pci_iommu_alloc()
    "pci_iommu_alloc", "hugetlb_bootmem_alloc", "build_all_zonelists", "page_alloc_init_cpuhp",
    "alloc_tag_sec_init", "page_ext_init_flatmem", "mem_debugging_and_hardening_init",
    "kfence_alloc_pool_and_metadata", "report_meminit", "kmsan_init_shadow",
    "stack_depot_early_init", "kho_memory_init", "memblock_free_all", "mem_init",
    "kmem_cache_init", "page_ext_init_flatmem_late", "kmemleak_init", "ptlock_cache_init",
    "pgtable_cache_init", "debug_objects_mem_init", "vmalloc_init", "page_ext_init",
    "init_espfix_bsp", "pti_init", "kmsan_init_runtime", "mm_cache_init", "execmem_init",
) + _LATE + (
    # mm/mm_init.c: page_alloc_init_late() ends with mem_init_print_info()
    "mem_init_print_info",
) + _INITCALLS


@dataclass(frozen=True, slots=True)
class KernelProfile:
    """One kernel release, as far as early memory is concerned."""

    name: str
    """The ``--kernel`` name: v6.1, v6.8, mainline."""
    release: str
    """Which release (and commit) the profile was read from."""
    steps: tuple[str, ...]
    """The init calls in this kernel's order (kasan_init only with CONFIG_KASAN)."""
    memory_line_from: str
    """The function that calls mem_init_print_info()."""
    totalram_counts_held_back: bool
    """memblock_free_all() adds every page it passes to memblock_free_pages() to
    totalram_pages, blocks KMSAN holds back included (true until the Sept 2025 fix)."""
    fallback: str
    """Buddy fallback: "rmqueue_fallback" (__rmqueue_fallback with
    steal_suitable_fallback, up to v6.14) or "claim_steal" (__rmqueue_claim then
    __rmqueue_steal, v6.15 and later)."""
    stackdepot_bucket: int
    """sizeof() a stackdepot hash bucket: 8 (a pointer, up to v6.7), 16 (a list_head)."""
    early_managed: str
    """zone->managed_pages set by free_area_init_core() before the hand-over, which
    build_all_zonelists() prints as "Total pages": "present_minus_memmap" (present
    minus calc_memmap_size(), minus dma_reserve on ZONE_DMA; up to v6.9) or
    "present" (v6.10 and later)."""
    dma_reserve: bool
    """arch/x86: memblock_find_dma_reserve() exists (removed in v6.10)."""
    nr_kernel_pages: str
    """What alloc_large_system_hash() sizes tables from: "early_managed" (the sum
    above, up to v6.9) or "memblock_free" (calc_nr_kernel_pages(): pages memblock
    still has free at free_area_init(), v6.10 and later)."""
    free_late_through_kmsan: bool
    """memblock_free_late() frees through memblock_free_pages() (KMSAN may hold the
    pages back) rather than straight to __free_pages_core()."""
    max_order_name: str
    """The name of the largest order: MAX_ORDER - 1 (v6.1), MAX_PAGE_ORDER (v6.8+)."""
    names: tuple[tuple[str, str], ...] = ()
    """Per-profile source overrides: (step, "file: function()")."""

    def source_of(self, step: str, default: str) -> str:
        """The kernel source of ``step`` in this release."""
        for name, source in self.names:
            if name == step:
                return source
        return default


PROFILES: dict[str, KernelProfile] = {
    "v6.1": KernelProfile(
        name="v6.1",
        release="Linux 6.1 (v6.1; the shared logs run 6.1.192): init/main.c mm_init()",
        steps=V61_STEPS, memory_line_from="mm_init", totalram_counts_held_back=True,
        fallback="rmqueue_fallback", stackdepot_bucket=8, early_managed="present_minus_memmap",
        dma_reserve=True, nr_kernel_pages="early_managed", free_late_through_kmsan=False,
        max_order_name="MAX_ORDER - 1",
        names=(("mem_init_print_info", "init/main.c: mm_init() -> mem_init_print_info()"),
               ("page_ext_init", "init/main.c: kernel_init_freeable() -> page_ext_init()"),
               ("page_alloc_init", "mm/page_alloc.c: page_alloc_init()"),
               ("build_all_zonelists", "init/main.c: start_kernel() -> build_all_zonelists()"))),
    "v6.8": KernelProfile(
        name="v6.8",
        release="Linux 6.8 (v6.8; syzbot's public KMSAN boots run 6.8-rc1): "
                "mm/mm_init.c mm_core_init()",
        steps=V68_STEPS, memory_line_from="mm_core_init", totalram_counts_held_back=True,
        fallback="rmqueue_fallback", stackdepot_bucket=16,
        early_managed="present_minus_memmap", dma_reserve=True,
        nr_kernel_pages="early_managed", free_late_through_kmsan=False,
        max_order_name="MAX_PAGE_ORDER",
        names=(("mem_init_print_info", "mm/mm_init.c: mm_core_init() -> mem_init_print_info()"),)),
    "mainline": KernelProfile(
        name="mainline",
        release="torvalds/linux @00c010e130e5 (v6.16 or later, before the Sept 2025 "
                "totalram fix): mm/mm_init.c mm_core_init()",
        steps=MAINLINE_STEPS, memory_line_from="page_alloc_init_late",
        totalram_counts_held_back=True, fallback="claim_steal", stackdepot_bucket=16,
        early_managed="present", dma_reserve=False, nr_kernel_pages="memblock_free",
        free_late_through_kmsan=True, max_order_name="MAX_PAGE_ORDER",
        names=(("mem_init_print_info",
                "mm/mm_init.c: page_alloc_init_late() -> mem_init_print_info()"),
               ("pci_iommu_alloc",
                "arch/x86/mm/init_64.c: arch_mm_preinit() -> pci_iommu_alloc()"))),
}

KERNELS = tuple(PROFILES)


def profile_for(name: str) -> KernelProfile:
    """The profile of a ``--kernel`` name; a UserError naming the choices otherwise."""
    profile = PROFILES.get(name)
    if profile is None:
        raise UserError(f"unknown kernel {name!r} (expected {', '.join(KERNELS)})")
    return profile
