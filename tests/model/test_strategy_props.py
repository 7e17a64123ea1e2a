"""Random commands under each strategy: the state stays consistent and the page
classes keep adding up.

Each example boots tiny-64m (small enough that fragmentation makes lazy's metadata
allocations and fixed's shadow map run out) to a random step, then applies random
commands: boot steps, allocations of any order and type, frees of live allocations,
frees of arbitrary pfns and of KMSAN's own blocks (which must be refused and change
nothing), and short workload bursts. After every command ``check()`` must be clean:
free lists, the KMSAN ledger against a recount of the maps, the five page classes
non-negative and summing to the present pages. The slow set runs 10,000 commands
per strategy (``KMSAN_SLOW=1 pytest -m slow``, as tests/session/test_fuzz.py).
"""

from __future__ import annotations

import copy
import os
from functools import cache

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsan_tui.model import Simulation
from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.metadata import FixedBacking, MetaBacking
from kmsan_tui.model.strategies.registry import STRATEGIES
from kmsan_tui.model.workloads import WORKLOADS

LAYOUT = "tiny-64m"
TYPES = (MigrateType.UNMOVABLE, MigrateType.MOVABLE, MigrateType.RECLAIMABLE)

Command = tuple[object, ...]
COMMANDS = st.one_of(
    st.tuples(st.just("step")),
    st.tuples(st.just("alloc"), st.integers(0, 10), st.sampled_from(TYPES)),
    st.tuples(st.just("free"), st.floats(0, 1, exclude_max=True)),
    st.tuples(st.just("free_any"), st.floats(0, 1, exclude_max=True)),
    st.tuples(st.just("free_kmsan"), st.floats(0, 1, exclude_max=True)),
    st.tuples(st.just("workload"), st.sampled_from(sorted(WORKLOADS)), st.integers(1, 400)),
)


@cache
def booted(strategy: str, step: int) -> Simulation:
    """tiny-64m under ``strategy`` after ``step`` boot steps (copied per example)."""
    sim = Simulation(LAYOUT, strategy, seed=step)
    for _ in range(step):
        sim.step()
    return sim


def kmsan_blocks(sim: Simulation) -> list[int]:
    """Heads of the buddy blocks that hold KMSAN metadata."""
    heads = []
    for start, _end, value in sim.kmsan:
        if isinstance(value, MetaBacking | FixedBacking):
            zone = sim.zone_of(start)
            block = zone.allocated_block(start) if zone else None
            if block is not None and block[0] == start:
                heads.append(start)
    return heads


def apply(sim: Simulation, command: Command) -> None:
    """Run one command; a refused free must leave memory exactly as it was."""
    kind = command[0]
    if kind == "step":
        if not sim.done:
            sim.step()
    elif kind == "alloc":
        order, mt = command[1], command[2]
        assert isinstance(order, int) and isinstance(mt, MigrateType)
        sim.alloc_pages(order, mt, "prop", track=True, quiet=True)
    elif kind == "free":
        pick = command[1]
        assert isinstance(pick, float)
        if len(sim.live):
            assert sim.free_pages(sim.live.pfns[int(pick * len(sim.live))], quiet=True)
    elif kind in ("free_any", "free_kmsan"):
        pick = command[1]
        assert isinstance(pick, float)
        if kind == "free_kmsan":
            heads = kmsan_blocks(sim)
            if not heads:
                return
            pfn = heads[int(pick * len(heads))]
        else:
            pfn = int(pick * (sim.max_pfn or 1))
        live = pfn in sim.live.index
        before, bad = sim.memory_digest(), sim.counters.bad_pages
        done = sim.free_pages(pfn, quiet=True)
        if kind == "free_kmsan":
            assert not done, f"KMSAN block {pfn:#x} was freed"
        if not done:
            assert sim.memory_digest() == before and sim.counters.bad_pages == bad + 1
        elif live:
            assert pfn not in sim.live.index
    elif kind == "workload":
        name, ops = command[1], command[2]
        assert isinstance(name, str) and isinstance(ops, int)
        if sim.zones:
            sim.run_workload(name, ops)


def run_commands(strategy: str, start: int, commands: list[Command]) -> None:
    sim = copy.deepcopy(booted(strategy, start))
    assert sim.check() == []
    for i, command in enumerate(commands):
        apply(sim, command)
        problems = sim.check()
        assert problems == [], (i, command, problems[:5])
        m = sim.metrics()
        assert sum(m.classes().values()) == m.present_pages


def _start() -> st.SearchStrategy[int]:
    return st.integers(0, len(Simulation(LAYOUT).steps))


@pytest.mark.parametrize("strategy", STRATEGIES)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=_start(), commands=st.lists(COMMANDS, min_size=1, max_size=25))
def test_random_commands_keep_the_state_consistent(strategy: str, start: int,
                                                   commands: list[Command]) -> None:
    run_commands(strategy, start, commands)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("KMSAN_SLOW"), reason="slow: set KMSAN_SLOW=1")
@pytest.mark.parametrize("strategy", STRATEGIES)
@settings(max_examples=125, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(start=_start(), commands=st.lists(COMMANDS, min_size=80, max_size=80))
def test_ten_thousand_random_commands_keep_the_state_consistent(
        strategy: str, start: int, commands: list[Command]) -> None:
    run_commands(strategy, start, commands)
