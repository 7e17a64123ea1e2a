"""Fixed addresses, as FreeBSD's and NetBSD's KMSAN do it: no pointers, shadow and origin
at fixed offsets, backed page by page as memory is handed out.

Reference: freebsd/freebsd-src sys/kern/subr_msan.c: kmsan_shadow_map() (one
pmap_san_enter() per page of shadow and of origin for every new kernel mapping),
sys/amd64/amd64/pmap.c: pmap_san_enter() (a page-directory page when the 1 GiB slot
is empty; then one 2 MiB page from vm_page_alloc_noobj_contig() when a 2 MiB
physically contiguous, aligned run is free, else a page-table page and single 4 KiB
pages; panic "no memory to grow shadow map" when a 4 KiB page cannot be had),
sys/amd64/include/msan.h (shadow and origin maps at fixed PML4 slots, one-to-one
with the kernel map); NetBSD/src sys/kern/subr_msan.c and sys/arch/amd64/include/
msan.h (kMSan: the same scheme, kmsan_shadow_map()).

shadow(addr) = addr - base + KMSAN_SHADOW_START (likewise for origin), so struct
page stays 64 bytes and there is no same-order constraint: scattered pages become
contiguous through the mapping. What this model does with it (``fixed_backing``):

- ``on-demand`` (the BSD design): the direct map is not shadowed. The kernel reaches
  its allocations through the shadowed kernel map, which the model lays one-to-one
  over physical memory, so a block handed out by the buddy allocator gets its shadow
  and origin backed 2 MiB of shadow (512 data pages) at a time, from the buddy
  allocator, when the whole 2 MiB cannot be had one 4 KiB page per data page plus a
  page-table page. Backing is never given back (the BSD kernel map only grows).
  Memory used before the buddy allocator (kernel image, memmap, page tables) has no
  metadata. The page-directory-pointer pages for the span come from memblock at boot
  (FreeBSD's create_pagetables()).
- ``boot``: everything backed at kmsan_init_shadow() from memblock (fixed_boot.py):
  physically what eager costs.

The virtual layout (where, and whether it fits with and without RANDOMIZE_MEMORY) is
``fixed_layout.py``.
"""

from __future__ import annotations

from typing import Any, Self

from kmsan_tui.model.constants import PAGE_SHIFT, PAGE_SIZE, MigrateType
from kmsan_tui.model.layout_types import KernelConfig
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import FixedBacking, MetaRole
from kmsan_tui.model.strategies import fixed_boot
from kmsan_tui.model.strategies.base import (
    KMSAN_PT_OWNER,
    StrategyBase,
    VirtualLayout,
    alloc_pages_reserve,
    link_of,
)
from kmsan_tui.model.strategies.fixed_layout import fit_line, layout_for

BACKINGS = ("on-demand", "boot")
OWNER = "pmap_san_enter"
PDE_SHIFT = 9  # a 2 MiB shadow page covers 512 data pages
PDPE_SHIFT = 18  # a page-directory page covers 1 GiB: 512 2 MiB slots
PML4_SHIFT = 27  # a PDP page covers 512 GiB
ROLES = (MetaRole.SHADOW, MetaRole.ORIGIN)


def _no_reserve(_min: int) -> int:
    return 0


class FixedStrategy(StrategyBase):
    name = "fixed"
    struct_page_size = 64
    metadata_in = "fixed mapping"

    @classmethod
    def from_config(cls, config: KernelConfig) -> Self:
        return cls(config.fixed_backing)

    def __init__(self, backing: str = "on-demand") -> None:
        super().__init__()
        if backing not in BACKINGS:
            raise ValueError(f"fixed backing {backing!r}: expected one of {BACKINGS}")
        self.backing = backing
        self.backing_pages = 0  # boot mode: pages memblock gave as backing
        # on-demand, per role (0 shadow, 1 origin): 2 MiB slot -> order-9 backing block;
        # 2 MiB slot -> its page-table page and {data pfn: 4 KiB backing page}; 1 GiB
        # slots with a page-directory page.
        self.big: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.small: tuple[dict[int, dict[int, int]], dict[int, dict[int, int]]] = ({}, {})
        self.pt: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.pd: tuple[dict[int, int], dict[int, int]] = ({}, {})
        self.panicked = 0  # pmap_san_enter_alloc_4k() failures
        self.heads: set[int] = set()  # every buddy block the shadow map took

    def mode(self) -> str:
        return f"backing {self.backing}"

    def virtual_layout(self, m: Machine) -> VirtualLayout:
        return layout_for(m, self.backing)

    # ---------------------------------------------------------------- boot

    def init_shadow(self, m: Machine) -> None:
        layout = self.virtual_layout(m)
        m.log(f"kmsan: fixed shadow [{layout.shadow_start:#x}-"
              f"{layout.shadow_start + layout.size_each - 1:#x}], origin "
              f"[{layout.origin_start:#x}-{layout.origin_start + layout.size_each - 1:#x}] "
              f"({layout.size_each >> 30} GiB each, {layout.slot}; {fit_line(layout)})", "meta")
        if self.backing == "boot":
            for node in m.layout.nodes:
                fixed_boot.back_node(m, self, node.nid, node.start, node.end)
            return
        # create_pagetables(): the maps' PDP pages, one per 512 GiB of each.
        pdp = 2 * -(-layout.size_each // (PAGE_SIZE << PML4_SHIFT))
        if m.mb_alloc(pdp * PAGE_SIZE, PAGE_SIZE, KMSAN_PT_OWNER,
                      caller="kmsan_init_shadow") is not None:
            self.ledger.reserved_pt += pdp
        m.log(f"kmsan: shadow and origin backed on demand (pmap_san_enter()); {pdp} PDP "
              "page(s) now, the rest as memory is handed out", "meta")

    # ---------------------------------------------------------------- allocator hooks

    def on_alloc(self, m: Machine, pfn: int, order: int) -> None:
        if self.backing == "boot":
            self.kmsan_alloc_page_check(m, pfn, order)
            return
        size = 1 << order
        last = pfn + size - 1
        big0, big1 = self.big
        g = pfn >> PDE_SHIFT
        if g == last >> PDE_SHIFT and g in big0 and g in big1:
            return  # the common case: this 2 MiB of shadow and origin is mapped
        self._san_enter(m, pfn, size)

    def _san_enter(self, m: Machine, pfn: int, size: int) -> None:
        """kmsan_shadow_map(): pmap_san_enter() for each page of shadow and origin."""
        home = m.zone_of(pfn)
        nid = home.nid if home is not None else 0
        for k, role in enumerate(ROLES):
            for g in range(pfn >> PDE_SHIFT, ((pfn + size - 1) >> PDE_SHIFT) + 1):
                if g in self.big[k]:
                    continue
                lo, hi = max(pfn, g << PDE_SHIFT), min(pfn + size, (g + 1) << PDE_SHIFT)
                if not self._enter_slot(m, k, role, g, lo, hi, nid):
                    m.counters.meta_alloc_failures += 1
                    self.panicked += 1
                    m.log("panic: pmap_san_enter_alloc_4k: no memory to grow shadow map "
                          f"(pfn {pfn:#x}: {size} page(s) left without metadata)", "bug",
                          pfn, size)
                    order = size.bit_length() - 1
                    self.mark_blind(m, pfn, order, "pmap_san_enter: no memory")
                    return

    def _alloc(self, m: Machine, order: int, nid: int) -> int | None:
        # VM_ALLOC_INTERRUPT | VM_ALLOC_WIRED | VM_ALLOC_ZERO, no object: unmovable;
        # an interrupt-class allocation may take the last free page.
        pfn = alloc_pages_reserve(m, order, MigrateType.UNMOVABLE, nid, _no_reserve)
        if pfn is not None:
            self.heads.add(pfn)
        return pfn

    def free_refused(self, m: Machine, pfn: int, order: int) -> str | None:
        """Shadow-map pages are wired and never freed (pmap_san_enter() only grows)."""
        if pfn in self.heads:
            what = "page table" if m.owners.get(pfn) is not None else "shadow/origin page"
            return f"KMSAN {what} of the fixed shadow map ({OWNER}): never freed"
        return None

    def _pt_page(self, m: Machine, nid: int) -> int | None:
        """A page-table page of the shadow map (pmap_san_enter_alloc_4k()), never freed."""
        page = self._alloc(m, 0, nid)
        if page is not None:
            m.owners.assign_block(page, 0, KMSAN_PT_OWNER)
            self.ledger.buddy_pt += 1
        return page

    def _enter_slot(self, m: Machine, k: int, role: MetaRole, g: int, lo: int, hi: int,
                    nid: int) -> bool:
        """pmap_san_enter() over the data pages [lo, hi) of 2 MiB slot g."""
        gi = g >> (PDPE_SHIFT - PDE_SHIFT)
        if gi not in self.pd[k]:
            pd = self._pt_page(m, nid)
            if pd is None:
                return False
            self.pd[k][gi] = pd
        pages = self.small[k].get(g)
        if pages is None:
            block = self._alloc(m, PDE_SHIFT, nid)  # pmap_san_enter_alloc_2m()
            if block is not None:
                self.big[k][g] = block
                m.kmsan.assign_block(block, PDE_SHIFT,
                                     FixedBacking(role, (g << PDE_SHIFT) - block, OWNER))
                self.ledger.buddy_meta += 1 << PDE_SHIFT
                return True
            pt = self._pt_page(m, nid)
            if pt is None:
                return False
            self.pt[k][g] = pt
            pages = self.small[k][g] = {}
        for data in range(lo, hi):
            if data in pages:
                continue
            page = self._alloc(m, 0, nid)  # pmap_san_enter_alloc_4k()
            if page is None:
                return False
            pages[data] = page
            m.kmsan.assign_block(page, 0, FixedBacking(role, data - page, OWNER))
            self.ledger.buddy_meta += 1
        return True

    def on_free(self, m: Machine, pfn: int, order: int) -> None:
        # The shadow stays mapped (the BSD kernel map never shrinks); only a
        # blind-spot record goes with the data.
        self.unmark_blind(m, pfn, order)

    # ---------------------------------------------------------------- lookups

    def metadata_of(self, m: Machine, pfn: int) -> tuple[int, int] | None:
        if self.backing == "boot":
            return link_of(m, pfn)
        found = []
        g = pfn >> PDE_SHIFT
        for k in (0, 1):
            block = self.big[k].get(g)
            if block is not None:
                found.append(block + (pfn - (g << PDE_SHIFT)))
                continue
            page = self.small[k].get(g, {}).get(pfn)
            if page is None:
                return None
            found.append(page)
        return found[0], found[1]

    def describe_metadata(self, m: Machine, pfn: int, shadow: int | None,
                          origin: int | None) -> tuple[int | None, int | None, dict[str, Any]]:
        meta = self.metadata_of(m, pfn)
        layout = self.virtual_layout(m)
        extra: dict[str, Any] = {"metadata_in": self.metadata_in if meta is not None else None}
        if meta is not None:
            shadow, origin = meta
            extra["shadow_vaddr"] = layout.shadow_start + (pfn << PAGE_SHIFT)
            extra["origin_vaddr"] = layout.origin_start + (pfn << PAGE_SHIFT)
        return shadow, origin, extra

    # ---------------------------------------------------------------- reports

    def notes(self, m: Machine) -> tuple[str, ...]:
        layout = self.virtual_layout(m)
        lines = [fit_line(layout), layout.direct_map]
        if self.backing == "on-demand":
            big = sum(len(d) for d in self.big)
            small = sum(len(d) for d in self.small)
            lines.append(f"{big} 2 MiB shadow/origin page(s), {small} slot(s) backed 4 KiB at "
                         f"a time; {self.ledger.reserved_pt + self.ledger.buddy_pt} page-table "
                         "page(s)")
        lines.append("vmalloc and module metadata: upstream's quarters of the vmalloc area "
                     f"({layout.vmalloc_size >> 40} TB each)")
        return tuple(lines)

    def check(self, m: Machine) -> list[str]:
        if self.backing == "boot":
            return []
        problems = []
        # The tables and the KMSAN map agree on what backs what.
        for k in (0, 1):
            entries = [(block, g << PDE_SHIFT, PDE_SHIFT) for g, block in self.big[k].items()]
            entries += [(page, data, 0) for pages in self.small[k].values()
                        for data, page in pages.items()]
            for meta, data, order in entries:
                ext = m.kmsan.get(meta)
                want = FixedBacking(ROLES[k], data - meta, OWNER)
                if ext is None or ext[2] != want or ext[0] != meta or ext[1] != meta + (1 << order):
                    problems.append(f"fixed: {ROLES[k].value} page {meta:#x} of pfn {data:#x} "
                                    "is not in the KMSAN map as such")

        for zone in m.zones:
            for pfn, order, _mt in zone.allocated_blocks():
                ext = m.kmsan.get(pfn)
                if ext is not None:
                    continue  # KMSAN's own block, or a blind spot
                owner = m.owners.get(pfn)
                if owner is not None and owner[2] == KMSAN_PT_OWNER:
                    continue
                for p in (pfn, pfn + (1 << order) - 1):
                    if self.metadata_of(m, p) is None:
                        problems.append(f"fixed: allocated pfn {p:#x} has no shadow mapped")
                        break
        return problems

    def state_tuple(self) -> tuple[Any, ...]:
        return (self.name, self.backing, self.backing_pages, self.panicked,
                tuple(tuple(sorted(d.items())) for d in self.big),
                tuple(tuple(sorted((g, tuple(sorted(p.items()))) for g, p in d.items()))
                      for d in self.small),
                tuple(tuple(sorted(d.items())) for d in self.pt + self.pd),
                self.ledger.as_tuple())
