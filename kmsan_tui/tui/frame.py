"""The frozen snapshot a screen binds into its widgets after every command (no Textual).

A ``Frame`` owns a private deep copy of the simulation: the session goes on mutating
its own while the next command runs in a worker thread, and the widgets keep reading
the copy on the UI thread. Nothing in the TUI ever calls a mutating method on
``Frame.sim``; the derived values (map index, metrics, free counts) are computed once,
in the worker, so drawing never waits for the model.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from kmsan_tui.model.constants import PAGETYPEINFO_TYPES
from kmsan_tui.model.mapindex import MapIndex
from kmsan_tui.model.metrics import Metrics
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.session import Session


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """Fragmentation after one command: what the chart draws per step."""

    label: str  # the step that ran, or the workload
    fragmentation: tuple[int, ...]  # thousandths per order; -1000: an allocation succeeds
    unusable: tuple[int, ...]  # unusable free index, thousandths per order


@dataclass(frozen=True, slots=True)
class ZoneFree:
    """One zone's ``free_area[order].nr_free`` split by migratetype."""

    nid: int
    name: str
    start_pfn: int
    end_pfn: int
    by_type: tuple[tuple[int, ...], ...]  # [PAGETYPEINFO_TYPES index][order]

    @property
    def key(self) -> tuple[int, str]:
        return self.nid, self.name


@dataclass(frozen=True, slots=True, eq=False)
class Basis:
    """The state before the last command, for change marks and deltas (no simulation)."""

    index: MapIndex
    metrics: Metrics
    free: tuple[ZoneFree, ...]


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """Everything the explorer shows, for one state of the session."""

    serial: int  # increases with every frame: the widgets' cache key
    sim: Simulation  # a private copy: read it, never step it
    index: MapIndex
    metrics: Metrics
    free: tuple[ZoneFree, ...]
    series: tuple[ChartPoint, ...]  # one point per command so far, the start included
    before: Basis | None  # the state before the command (None after loading a layout)
    layout_name: str
    strategy: str
    seed: int
    history_len: int
    can_undo: bool
    note: str  # what produced the frame: "step", "undo", "switch to lazy", ...
    model_seconds: float  # time spent in the model for the command
    build_seconds: float  # time spent copying and indexing for this frame

    @property
    def step_index(self) -> int:
        """Steps run so far (1-based number of the last step that ran; 0 before boot)."""
        return self.sim.current

    @property
    def nsteps(self) -> int:
        return len(self.sim.steps)

    @property
    def step_name(self) -> str:
        return self.sim.steps[self.sim.current - 1] if self.sim.current else "(before boot)"

    @property
    def status(self) -> str:
        """``step 14/31 · mem_init · eager · qemu-8g``"""
        return (f"step {self.step_index}/{self.nsteps} · {self.step_name} · {self.strategy} · "
                f"{self.layout_name}")

    def as_basis(self) -> Basis:
        return Basis(self.index, self.metrics, self.free)


def zone_free(sim: Simulation) -> tuple[ZoneFree, ...]:
    out = []
    for zone in sim.zones:
        by_type = zone.nr_free_by_type()
        out.append(ZoneFree(zone.nid, zone.name, zone.start_pfn, zone.end_pfn,
                            tuple(tuple(by_type[mt]) for mt in PAGETYPEINFO_TYPES)))
    return tuple(out)


def chart_point(label: str, metrics: Metrics) -> ChartPoint:
    return ChartPoint(label, metrics.fragmentation_index, metrics.unusable_free_index)


def build_frame(session: Session, serial: int, *, note: str, before: Basis | None,
                series: tuple[ChartPoint, ...], metrics: Metrics | None = None,
                model_seconds: float = 0.0) -> Frame:
    """Copy the session's simulation and derive what the widgets draw (worker thread).

    ``metrics`` may be passed when the caller already computed them for this state.
    """
    t0 = time.perf_counter()
    # Session.apply() runs each command on a copy and never mutates a Simulation it
    # has handed out again, so the frame can keep the session's object as it is.
    sim = session.sim
    if metrics is None:
        metrics = sim.metrics()
    return Frame(
        serial=serial, sim=sim, index=MapIndex(sim, before.index if before else None),
        metrics=metrics, free=zone_free(sim), series=series, before=before, layout_name=sim.layout.name,
        strategy=session.strategy, seed=session.seed, history_len=len(session.history),
        can_undo=bool(session.history), note=note, model_seconds=model_seconds,
        build_seconds=time.perf_counter() - t0)


def frame_of_sim(sim: Simulation, serial: int, *, strategy: str, seed: int,
                 note: str = "") -> Frame:
    """A frame for a simulation that no session drives (the comparison's other side).

    The simulation must be private to the frame: nothing may step it afterwards.
    """
    t0 = time.perf_counter()
    metrics = sim.metrics()
    return Frame(
        serial=serial, sim=sim, index=MapIndex(sim), metrics=metrics, free=zone_free(sim),
        series=(chart_point(note or strategy, metrics),), before=None,
        layout_name=sim.layout.name, strategy=strategy, seed=seed, history_len=0,
        can_undo=False, note=note, model_seconds=0.0, build_seconds=time.perf_counter() - t0)
