"""Simulation.check(): the invariants that must hold after every command.

- every page is in exactly one state: buddy blocks never overlap, metadata pages are
  never on a free list and never handed out as data;
- free lists are consistent and fully coalesced (each zone's own check);
- metadata coverage as the strategy promises it;
- pages are conserved: present = managed (free + allocated) + PG_reserved.
"""

from __future__ import annotations

from kmsan_tui.model.machine import Machine
from kmsan_tui.model.metadata import FixedBacking, MetaBacking, MetaPattern
from kmsan_tui.model.strategies.base import MetadataStrategy


def check_machine(m: Machine, kmsan: MetadataStrategy) -> list[str]:
    """Every invariant machine ``m`` under strategy ``kmsan`` violates ([] when consistent)."""
    problems: list[str] = []
    for zone in m.zones:
        problems += [f"zone {zone.nid}/{zone.name}: {p}" for p in zone.check()]
        allocated = sum(1 << o for _p, o, _m in zone.allocated_blocks())
        if zone.nr_free_pages + allocated != zone.managed_pages:
            problems.append(f"zone {zone.nid}/{zone.name}: free {zone.nr_free_pages} + allocated "
                            f"{allocated} != managed {zone.managed_pages}")
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
        if isinstance(value, MetaBacking | FixedBacking) and getattr(value, "data_delta", None) \
                is not None:
            data = start + value.data_delta  # type: ignore[operator]
            back = m.kmsan.get(data)
            if back is None:
                problems.append(f"metadata page {start:#x} backs pfn {data:#x}, which has no link")
    # Totals: every present page is managed by the buddy allocator or PG_reserved, and a
    # zone never manages more than it has.
    managed = sum(z.managed_pages for z in m.zones)
    present = m.present_pages
    if managed > present:
        problems.append(f"managed pages {managed} exceed present pages {present}")
    if m.handed_over and m.kmsan_active:
        problems += kmsan.check(m)
    return problems
