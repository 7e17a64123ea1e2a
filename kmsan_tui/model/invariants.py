"""Simulation.check(): the invariants that must hold after every command.

- every page is in exactly one state: buddy blocks never overlap, metadata pages are
  never on a free list and never handed out as data;
- free lists are consistent and fully coalesced (each zone's own check);
- metadata coverage as the strategy promises it;
- the strategy's running totals (its ``MetaLedger``) equal a recount from the KMSAN
  and owner maps, so the metrics built on them are right;
- pages are conserved: the five page classes of ``metrics`` (free, data, KMSAN
  metadata, held back, other reserved) are each non-negative and sum to present.
"""

from __future__ import annotations

from kmsan_tui.model.buddy import Zone
from kmsan_tui.model.constants import MAX_PAGE_ORDER, MigrateType
from kmsan_tui.model.fallback import PCPTYPES
from kmsan_tui.model.freearea import NR_MIGRATETYPES, FreeArea, RunNode, overlap_first
from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import Blind, FixedBacking, MetaBacking, MetaLedger, MetaPattern
from kmsan_tui.model.metrics import CLASSES, compute_metrics
from kmsan_tui.model.strategies.base import KMSAN_PT_OWNER, MetadataStrategy


def check_machine(m: Machine, kmsan: MetadataStrategy) -> list[str]:
    """Every invariant machine ``m`` under strategy ``kmsan`` violates ([] when consistent)."""
    problems: list[str] = []
    for zone in m.zones:
        problems += [f"zone {zone.nid}/{zone.name}: {p}" for p in check_zone(zone)]
        allocated = sum(1 << o for _p, o, _m in zone.allocated_blocks())
        if zone.nr_free_pages + allocated != zone.managed_pages:
            problems.append(f"zone {zone.nid}/{zone.name}: free {zone.nr_free_pages} + allocated "
                            f"{allocated} != managed {zone.managed_pages}")
    # The owner and KMSAN maps: no two entries cover the same page.
    for name, layer in (("owners", m.owners), ("KMSAN map", m.kmsan)):
        problems += [f"{name}: an entry at pfn {start:#x} overlaps one ending at {reach:#x}"
                     for start, reach in layer.overlaps()[:10]]
    # Metadata pages are never free and never data.
    for start, end, value in m.kmsan:
        if not isinstance(value, MetaBacking | FixedBacking | MetaPattern):
            continue
        owner_zone = m.zone_of(start)
        if owner_zone is None:
            continue
        for run in owner_zone.free_runs_between(start, end):
            size = 1 << run.order
            for i in (0, run.count - 1):
                pfn = run.start_pfn + i * run.stride
                if pfn + size <= start or pfn >= end:
                    continue
                if isinstance(value, MetaPattern):
                    role = value.role_of(pfn)[0]
                    role_end = value.role_of(pfn + size - 1)[0]
                    if role is None and role_end is None:
                        continue
                problems.append(f"metadata page {max(pfn, start):#x} is on a free list "
                                f"(order {run.order})")
        # A shadow or origin page backs a data page that has metadata (the fixed
        # strategy checks its own tables: there, shadow may exist without origin).
        if isinstance(value, MetaBacking) and value.data_delta is not None:
            data = start + value.data_delta
            if m.kmsan_active and kmsan.metadata_of(m, data) is None:
                problems.append(f"metadata page {start:#x} backs pfn {data:#x}, which has no "
                                "metadata")
    # Totals: every present page is managed by the buddy allocator or PG_reserved, and a
    # zone never manages more than it has.
    managed = sum(z.managed_pages for z in m.zones)
    present = m.present_pages
    if managed > present:
        problems.append(f"managed pages {managed} exceed present pages {present}")
    if m.kmsan_active:
        problems += check_ledger(m, kmsan)
        if m.handed_over:
            problems += kmsan.check(m)
    problems += check_classes(m, kmsan)
    return problems


def recount_ledger(m: Machine, kmsan: MetadataStrategy) -> MetaLedger:
    """The strategy's running totals, counted again from the KMSAN and owner maps.

    O(extents + blocks): for check(), never for the metrics. A page is "in buddy" when
    it is in an allocated buddy block; metadata and held pages never are on a free list
    (checked above). ``backfill_pages`` is history, not state: it is copied.
    """
    led = MetaLedger(backfill_pages=kmsan.ledger.backfill_pages)
    for start, end, value in m.kmsan:
        n = end - start
        if isinstance(value, MetaPattern):
            led.reserved_meta += pattern_meta_pages(value, start, end)
        elif isinstance(value, MetaBacking | FixedBacking):
            buddy = _allocated(m, start)
            if value.data_delta is None:
                if buddy:
                    led.buddy_held += n
                else:
                    led.reserved_held += n
            elif buddy:
                led.buddy_meta += n
            else:
                led.reserved_meta += n
        elif isinstance(value, Blind):
            led.blind += n
    for start, end, owner in m.owners:
        if owner == KMSAN_PT_OWNER:
            if _allocated(m, start):
                led.buddy_pt += end - start
            else:
                led.reserved_pt += end - start
    return led


def check_ledger(m: Machine, kmsan: MetadataStrategy) -> list[str]:
    """Differences between the strategy's running totals and a recount."""
    have, want = kmsan.ledger, recount_ledger(m, kmsan)
    names = ("reserved_meta", "buddy_meta", "reserved_held", "buddy_held", "reserved_pt",
             "buddy_pt", "blind")
    return [f"KMSAN ledger {name}: running total {getattr(have, name)} but the maps hold "
            f"{getattr(want, name)}" for name in names if getattr(have, name) != getattr(want, name)]


def check_classes(m: Machine, kmsan: MetadataStrategy) -> list[str]:
    """The five page classes are non-negative and sum to the present pages."""
    metrics = compute_metrics(m, kmsan, "")
    classes = metrics.classes()
    problems = [f"page class {name} is negative: {value}" for name, value in classes.items()
                if value < 0]
    total = sum(classes.values())
    if total != metrics.present_pages:
        problems.append(f"page classes sum to {total}, present pages are {metrics.present_pages} "
                        f"({', '.join(f'{k}={v}' for k, v in classes.items())})")
    assert tuple(classes) == CLASSES
    return problems


def pattern_meta_pages(value: MetaPattern, start: int, end: int) -> int:
    """Shadow and origin pages of a (possibly clipped) S, O, D pattern extent."""
    size = 1 << value.order

    def data_before(pfn: int) -> int:  # data pages of the pattern in [base, pfn)
        whole, rest = divmod(pfn - value.base, 3 * size)
        return whole * size + min(max(rest - 2 * size, 0), size)

    return (end - start) - (data_before(end) - data_before(start))


def _allocated(m: Machine, pfn: int) -> bool:
    zone = m.zone_of(pfn)
    return zone is not None and zone.allocated_block(pfn) is not None


# A block or run of blocks for the overlap sweep: (first pfn, count, stride, size, name).
_Item = tuple[int, int, int, int, str]


def check_zone(zone: Zone) -> list[str]:
    """Every invariant of one zone's buddy allocator violated, one message each.

    Free lists are well formed (FreeArea.check), every block is aligned, inside the
    zone and on RAM, no two blocks overlap, free blocks are fully coalesced and on
    their pageblock's type list, free + allocated == managed == handed over, and the
    pageblock map is sorted and coalesced.
    """
    errs = zone.free_area.check()
    items: list[_Item] = []
    free_total = 0
    for mt, row in enumerate(zone.free_area.lists):
        for o, fl in enumerate(row):
            size = 1 << o
            for n in FreeArea.nodes(fl):
                s, c, st = n.start, n.count, n.stride if n.count > 1 else size
                where = f"free block {s:#x} order {o} ({MigrateType(mt).label})"
                free_total += c << o
                items.append((s, c, st, size, where))
                errs += _placement_errors(zone, s, c, st, size, where)
                errs += _free_run_errors(zone, n, mt, where)
    alloc_total = 0
    for p, o, amt in zone.allocation_records():
        size = 1 << o
        where = f"allocated block {p:#x} order {o}"
        alloc_total += size
        items.append((p, 1, size, size, where))
        if o > MAX_PAGE_ORDER or amt >= NR_MIGRATETYPES:
            errs.append(f"{where}: bad record (order {o}, migratetype {amt})")
        errs += _placement_errors(zone, p, 1, size, size, where)
    errs += _overlaps(items)
    handed = zone.handed_over_pages
    if handed != zone.managed_pages:
        errs.append(f"managed_pages {zone.managed_pages} but {handed} pages handed over")
    if free_total + alloc_total != zone.managed_pages:
        errs.append(f"free {free_total} + allocated {alloc_total} != managed {zone.managed_pages}")
    pb = zone.pageblocks
    keys = pb.keys
    if keys[0] != pb.first or any(a >= b for a, b in zip(keys, keys[1:], strict=False)):
        errs.append("pageblock map keys out of order")
    if any(a == b for a, b in zip(pb.types, pb.types[1:], strict=False)):
        errs.append("pageblock map not coalesced")
    if pb.single != (pb.types[0] if len(pb.types) == 1 else -1):
        errs.append("pageblock map shortcut stale")
    return errs


def _placement_errors(zone: Zone, start: int, count: int, stride: int, size: int,
                      where: str) -> list[str]:
    errs = []
    if start & (size - 1):
        errs.append(f"{where}: misaligned")
    if start < zone.start_pfn or start + (count - 1) * stride + size > zone.end_pfn:
        errs.append(f"{where}: outside zone")
    if zone.first_not_present(start, count, stride, size) is not None:
        errs.append(f"{where}: covers a memory hole")
    return errs


def _overlaps(items: list[_Item]) -> list[str]:
    """Pairs of blocks or runs that share a page (a sweep by start pfn)."""
    errs = []
    items.sort(key=lambda it: it[0])
    active: list[_Item] = []
    for it in items:
        active = [a for a in active if a[0] + (a[1] - 1) * a[2] + a[3] > it[0]]
        for a in active:
            if overlap_first(it[0], it[1], it[2], it[3], a[0], a[1], a[2], a[3]) is not None:
                errs.append(f"{it[4]} overlaps {a[4]}")
        active.append(it)
    return errs


def _free_run_errors(zone: Zone, n: RunNode, mt: int, where: str) -> list[str]:
    """A free run's blocks are on their pageblock's type list and have no free buddy
    they should have merged with (mm/page_alloc.c __free_one_page())."""
    errs: list[str] = []
    pb = zone.pageblocks
    pbo = zone.pageblock_order
    size = 1 << n.order
    uniform = pb.uniform(n.start >> pbo, ((n.span_end - 1) >> pbo) + 1)
    if uniform == mt and n.order == MAX_PAGE_ORDER:
        return errs  # one type throughout and nothing to coalesce with
    # Before v6.10 a fallback moved a pageblock's free pages to another list without
    # retyping it (steal_suitable_fallback()): then lists need not follow pageblocks.
    follow = zone.freelists_follow_pageblocks
    for k in range(n.count):
        p = n.start + k * n.stride
        if follow and uniform != mt and pb.uniform(p >> pbo, ((p + size - 1) >> pbo) + 1) != mt:
            errs.append(f"{where}: block {p:#x} is not on its pageblock's type list")
        if n.order < MAX_PAGE_ORDER:
            hit = zone.free_area.lookup(n.order, p ^ size)
            if hit is not None:
                bmt = hit[0].fl.mt
                refused = n.order >= pbo and bmt != mt and (bmt >= PCPTYPES or mt >= PCPTYPES)
                if not refused:
                    errs.append(f"{where}: block {p:#x} not coalesced with its free buddy")
    return errs
