"""Kernel profiles: each kernel's init calls in its own order, and what else differs.

The expected orders are written out here from the kernel sources (init/main.c
start_kernel()/mm_init() of v6.1; mm/mm_init.c mm_core_init() of v6.8 and of
torvalds/linux @00c010e130e5), so a change to a profile must change this spec too.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from kmsan_tui.model import Simulation, UserError
from kmsan_tui.model.boot import steps_of
from kmsan_tui.model.boot.catalog import STEPS
from kmsan_tui.model.profiles import KERNELS, PROFILES, profile_for

SETUP_ARCH = [
    "early_reserve_memory", "e820__memory_setup", "efi_memblock_x86_reserve_range",
    "e820__reserve_setup_data", "efi_init", "e820__memblock_setup",
    "efi_reserve_boot_services", "reserve_real_mode", "init_mem_mapping",
    "acpi_boot_table_init", "initmem_init", "sparse_init", "free_area_init",
    "acpi_boot_init", "e820__reserve_resources",
]

V61 = SETUP_ARCH + [
    "setup_command_line", "setup_per_cpu_areas", "build_all_zonelists", "page_alloc_init",
    "setup_log_buf", "vfs_caches_init_early", "trap_init",
    "page_ext_init_flatmem", "init_mem_debugging_and_hardening", "kfence_alloc_pool",
    "report_meminit", "kmsan_init_shadow", "stack_depot_early_init", "pci_iommu_alloc",
    "memblock_free_all", "mem_init", "mem_init_print_info", "kmem_cache_init",
    "page_ext_init_flatmem_late", "kmemleak_init", "pgtable_init", "debug_objects_mem_init",
    "vmalloc_init", "init_espfix_bsp", "pti_init", "kmsan_init_runtime",
    "vfs_caches_init", "smp_init", "page_alloc_init_late", "page_ext_init",
    "init_per_zone_wmark_min", "efi_free_boot_services",
]

V68 = SETUP_ARCH + [
    "setup_command_line", "setup_per_cpu_areas", "setup_log_buf", "vfs_caches_init_early",
    "trap_init",
    "build_all_zonelists", "page_alloc_init_cpuhp", "page_ext_init_flatmem",
    "mem_debugging_and_hardening_init", "kfence_alloc_pool_and_metadata", "report_meminit",
    "kmsan_init_shadow", "stack_depot_early_init", "pci_iommu_alloc", "memblock_free_all",
    "mem_init", "mem_init_print_info", "kmem_cache_init", "page_ext_init_flatmem_late",
    "kmemleak_init", "ptlock_cache_init", "pgtable_cache_init", "debug_objects_mem_init",
    "vmalloc_init", "page_ext_init", "init_espfix_bsp", "pti_init", "kmsan_init_runtime",
    "mm_cache_init",
    "vfs_caches_init", "smp_init", "page_alloc_init_late",
    "init_per_zone_wmark_min", "efi_free_boot_services",
]

MAINLINE = SETUP_ARCH + [
    "setup_command_line", "setup_per_cpu_areas", "setup_log_buf", "vfs_caches_init_early",
    "trap_init",
    "pci_iommu_alloc", "hugetlb_bootmem_alloc", "build_all_zonelists",
    "page_alloc_init_cpuhp", "alloc_tag_sec_init", "page_ext_init_flatmem",
    "mem_debugging_and_hardening_init", "kfence_alloc_pool_and_metadata", "report_meminit",
    "kmsan_init_shadow", "stack_depot_early_init", "kho_memory_init", "memblock_free_all",
    "mem_init", "kmem_cache_init", "page_ext_init_flatmem_late", "kmemleak_init",
    "ptlock_cache_init", "pgtable_cache_init", "debug_objects_mem_init", "vmalloc_init",
    "page_ext_init", "init_espfix_bsp", "pti_init", "kmsan_init_runtime", "mm_cache_init",
    "execmem_init",
    "vfs_caches_init", "smp_init", "page_alloc_init_late", "mem_init_print_info",
    "init_per_zone_wmark_min", "efi_free_boot_services",
]


@pytest.mark.parametrize(("kernel", "order"), [("v6.1", V61), ("v6.8", V68),
                                               ("mainline", MAINLINE)])
def test_each_profile_runs_its_kernels_calls_in_its_order(kernel: str, order: list[str]) -> None:
    assert Simulation("qemu-8g", kernel=kernel).steps == order


def test_kasan_init_runs_inside_setup_arch_right_after_paging_init() -> None:
    for kernel in KERNELS:
        steps = Simulation("qemu-8g", kernel=kernel, sanitizer="kasan").steps
        assert steps[steps.index("free_area_init") + 1] == "kasan_init"
        assert "kasan_init" not in Simulation("qemu-8g", kernel=kernel).steps


def test_v61_builds_zonelists_before_the_early_hash_tables_and_later_kernels_after() -> None:
    v61, v68 = Simulation("qemu-8g", kernel="v6.1").steps, Simulation("qemu-8g", kernel="v6.8").steps
    assert v61.index("build_all_zonelists") < v61.index("vfs_caches_init_early")
    assert v68.index("vfs_caches_init_early") < v68.index("build_all_zonelists")


def test_swiotlb_gets_kmsan_metadata_only_from_v6_15_on() -> None:
    for kernel, before in (("v6.1", False), ("v6.8", False), ("mainline", True)):
        steps = Simulation("qemu-8g", kernel=kernel).steps
        assert (steps.index("pci_iommu_alloc") < steps.index("kmsan_init_shadow")) is before


def test_every_step_names_its_source_and_says_what_it_does() -> None:
    for profile in PROFILES.values():
        for step in steps_of(profile, "kasan"):
            assert step.name in STEPS
            assert ":" in step.source and step.source.split(":")[0].endswith((".c", "arch"))
            assert len(step.explanation) > 40


def test_profiles_say_which_release_and_what_differs() -> None:
    v61, v68, main = profile_for("v6.1"), profile_for("v6.8"), profile_for("mainline")
    assert "00c010e130e5" in main.release
    assert (v61.stackdepot_bucket, v68.stackdepot_bucket, main.stackdepot_bucket) == (8, 16, 16)
    assert (v61.fallback, v68.fallback, main.fallback) == (
        "rmqueue_fallback", "rmqueue_fallback", "claim_steal")
    # None of the three has the Sept 2025 "Correct totalram_pages accounting" fix.
    assert v61.totalram_counts_held_back and v68.totalram_counts_held_back
    assert main.totalram_counts_held_back
    assert main.memory_line_from == "page_alloc_init_late"


def test_unknown_kernel_is_a_user_error_naming_the_choices() -> None:
    with pytest.raises(UserError, match="v6.1, v6.8, mainline"):
        profile_for("v5.10")
    with pytest.raises(UserError, match="unknown kernel"):
        Simulation("tiny-64m", kernel="v4.19")


@pytest.mark.parametrize("kernel", ["v6.1", "v6.8", "mainline"])
def test_steps_command_lists_the_profile_in_order_with_sources(kernel: str) -> None:
    out = subprocess.run([sys.executable, "-m", "kmsan_tui.cli", "steps", "--kernel", kernel],
                         capture_output=True, text=True, timeout=120, check=True).stdout
    lines = out.splitlines()
    assert lines[0].startswith(f"{kernel}: ")
    listed = [line.split()[1] for line in lines[2:]]
    assert listed == Simulation("qemu-8g", kernel=kernel).steps
    assert all(":" in line.split(None, 2)[2] for line in lines[2:])
