"""The frozen snapshot a screen binds into its widgets after every command (no Textual).

A ``Frame`` is plain data computed once, in the worker that ran the command: the
boot's steps and how far it got, the zones and their free counts, the map index, the
metrics, the kernel log, the KMSAN metadata rows, the kernel settings the screens
show. Widgets draw from those fields and never see the model (memray's live TUI
pushes a frozen ``Snapshot`` into a reactive the same way).

What is too large to copy into every frame (the page under the cursor, the blocks on
one free list, the /proc text) is answered on demand by ``Frame.lookup``, a
``PageLookup``: an adapter over the session's simulation of that state, which
Session.apply() never mutates again (every command runs on a copy).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

import numpy as np

from kmsan_tui.model.constants import PAGETYPEINFO_TYPES, MigrateType
from kmsan_tui.model.mapindex import Cells, MapIndex
from kmsan_tui.model.metadata import MetaValue
from kmsan_tui.model.metrics import Metrics
from kmsan_tui.model.pages import PageView
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.model.strategies.base import VirtualLayout
from kmsan_tui.model.vmstat import buddyinfo, pagetypeinfo
from kmsan_tui.session import Bookmark, GoTo, Session
from kmsan_tui.tui.eventlog import EventLog

METADATA_ROWS = 2000
"""KMSAN extents a frame carries for the Shadow regions table (it counts the rest)."""

MetaExtent = tuple[int, int, MetaValue]
"""``(start_pfn, end_pfn, value)`` of one extent of the KMSAN metadata map."""


class PageLookup(Protocol):
    """Read-only questions about one frozen state, answered on demand (UI thread)."""

    def page(self, pfn: int) -> PageView:
        """``struct page`` of ``pfn``, any pfn (holes included)."""
        ...

    def free_list(self, zone: int, order: int, migratetype: MigrateType,
                  limit: int) -> tuple[int, ...]:
        """Head pfns on ``free_area[order].free_list[migratetype]`` of zone number
        ``zone`` (an index into ``Frame.free``), head first, at most ``limit``."""
        ...

    def procfs(self) -> str:
        """/proc/buddyinfo, a blank line, /proc/pagetypeinfo ("" before the zones exist)."""
        ...


class SimulationLookup:
    """A ``PageLookup`` over a simulation that nothing steps any more."""

    __slots__ = ("_sim",)

    def __init__(self, sim: Simulation) -> None:
        self._sim = sim

    def page(self, pfn: int) -> PageView:
        return self._sim.page(pfn)

    def free_list(self, zone: int, order: int, migratetype: MigrateType,
                  limit: int) -> tuple[int, ...]:
        return tuple(self._sim.zones[zone].free_list(order, migratetype, limit=limit))

    def procfs(self) -> str:
        zones = self._sim.zones
        if not zones:
            return ""
        return buddyinfo(zones) + "\n" + pagetypeinfo(zones, zones[0].pageblock_order)


@dataclass(frozen=True, slots=True)
class StepInfo:
    """One boot step as the timeline lists it."""

    name: str  # the kernel function
    source: str  # "file: function()"
    explanation: str  # what it does to memory


HEAT_COLUMNS = 720
"""Columns of the heat view's row of one state: physical memory in that many cells
(720 has many divisors: most widths show it merged by whole groups, nearly full)."""
HEAT_SAMPLES = 4
"""Pages sampled per heat cell (an overview: a row costs what 2,880 pages cost)."""


@dataclass(frozen=True, slots=True)
class HeatRow:
    """Physical memory after one command, in ``HEAT_COLUMNS`` cells of
    ``pages_per_column`` pages from pfn 0: each cell's dominant state among
    ``HEAT_SAMPLES`` evenly spaced pages (``MapIndex`` codes) with what its glyph
    needs, and whether those pages are in more than one state."""

    pages_per_column: int
    span: int  # pages the row covers (the map's span then)
    codes: bytes  # int8 per column
    aux: bytes  # int16 per column
    mixed: bytes  # bool per column

    @property
    def has_memory(self) -> bool:
        """Whether memblock knew any RAM (else every cell is past the end)."""
        return bool((np.frombuffer(self.codes, dtype=np.int8) >= 0).any())

    def cells(self) -> Cells:
        return Cells(np.frombuffer(self.codes, dtype=np.int8),
                     np.frombuffer(self.aux, dtype=np.int16),
                     np.frombuffer(self.mixed, dtype=np.bool_))


def heat_row(index: MapIndex, columns: int = HEAT_COLUMNS) -> HeatRow:
    """The heat view's row of one state: O(columns) queries of its map index."""
    ppc = max(1, -(-index.span // columns))
    if not index.has_memory:
        blank = np.full(columns, -1, dtype=np.int8)
        return HeatRow(ppc, index.span, blank.tobytes(),
                       np.zeros(columns, dtype=np.int16).tobytes(),
                       np.zeros(columns, dtype=np.bool_).tobytes())
    cells = index.cells_at(np.arange(columns, dtype=np.int64) * ppc, ppc, exact=False,
                           samples=HEAT_SAMPLES)
    return HeatRow(ppc, index.span, cells.codes.astype(np.int8).tobytes(),
                   cells.aux.astype(np.int16).tobytes(), cells.mixed.astype(np.bool_).tobytes())


@dataclass(frozen=True, slots=True)
class ChartPoint:
    """One command's mark on the charts: fragmentation, free blocks, and a coarse row of
    physical memory (the heat view's)."""

    label: str  # the step that ran, or the workload
    fragmentation: tuple[int, ...]  # thousandths per order; -1000: an allocation succeeds
    unusable: tuple[int, ...]  # unusable free index, thousandths per order
    free_blocks: tuple[int, ...] = ()  # free blocks per order, all zones (buddyinfo)
    heat: HeatRow | None = None  # None: no index was at hand (never drawn as a row)


@dataclass(frozen=True, slots=True)
class ZoneFree:
    """One zone: its span, its pages and ``free_area[order].nr_free`` by migratetype."""

    nid: int
    name: str
    start_pfn: int
    end_pfn: int
    present_pages: int
    managed_pages: int
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


@dataclass(frozen=True, slots=True)
class SessionInfo:
    """Where the session is in its log, and where it lives on disk."""

    position: int = 0  # log entries applied
    log_len: int = 0  # log entries recorded
    detour: int = 0  # boot steps past the position (a seek inside a long run)
    file: str = ""  # the file it was opened from or saved to ("" before a save)
    dirty: bool = False  # changed since then
    branch: str = ""  # "branch of a.json at 12", when it is one
    landmark: str = ""  # the bookmark note just before the position
    goto: int | None = None  # the page a go-to just before the position showed
    has_parent: bool = False  # a parent to compare with (in memory or beside the file)
    bookmarks: tuple[tuple[int, str], ...] = ()  # (position after it, note), in log order

    @property
    def replaying(self) -> bool:
        """Inside the recording: the log goes on after the position."""
        return self.position < self.log_len or self.detour > 0

    @property
    def label(self) -> str:
        """`` · s.json* · ▶ replay 12/40`` (nothing for a new session at the end of its log)."""
        parts = []
        if self.file or self.branch:
            parts.append((self.file or "branch") + ("*" if self.dirty else ""))
        if self.replaying:
            extra = f"+{self.detour}" if self.detour else ""
            parts.append(f"▶ replay {self.position}{extra}/{self.log_len}")
        return "".join(f" · {p}" for p in parts)


@dataclass(frozen=True, slots=True, eq=False)
class Frame:
    """Everything the explorer shows, for one state of the session."""

    serial: int  # increases with every frame: the widgets' cache key
    steps: tuple[StepInfo, ...]  # the boot's steps in kernel order
    step_index: int  # steps run so far (1-based number of the last that ran; 0 before boot)
    sanitizer: str  # the kernel's sanitizer: "kmsan", "kasan" or "none"
    index: MapIndex
    metrics: Metrics
    free: tuple[ZoneFree, ...]  # the zones, in pfn order
    log: EventLog  # the kernel log so far
    metadata: tuple[MetaExtent, ...]  # the first METADATA_ROWS extents of the KMSAN map
    metadata_total: int  # extents in the KMSAN map
    virtual_layout: VirtualLayout | None  # the fixed strategy's reserved ranges
    lookup: PageLookup  # pages and free lists, on demand
    series: tuple[ChartPoint, ...]  # one point per command so far, the start included
    before: Basis | None  # the state before the command (None after loading a layout)
    layout_name: str
    strategy: str
    seed: int
    history_len: int
    can_undo: bool
    note: str  # what produced the frame: "step", "undo", "switch to lazy", ...
    model_seconds: float  # time spent in the model for the command
    build_seconds: float  # time spent indexing for this frame
    session: SessionInfo = SessionInfo()

    @property
    def nsteps(self) -> int:
        return len(self.steps)

    @property
    def step_names(self) -> tuple[str, ...]:
        return tuple(step.name for step in self.steps)

    @property
    def step_name(self) -> str:
        return self.steps[self.step_index - 1].name if self.step_index else "(before boot)"

    @property
    def done(self) -> bool:
        """Every boot step has run."""
        return self.step_index >= len(self.steps)

    @property
    def status(self) -> str:
        """``step 14/31 · mem_init · eager · qemu-8g``"""
        return (f"step {self.step_index}/{self.nsteps} · {self.step_name} · {self.strategy} · "
                f"{self.layout_name}{self.session.label}")

    def as_basis(self) -> Basis:
        return Basis(self.index, self.metrics, self.free)


def zone_free(sim: Simulation) -> tuple[ZoneFree, ...]:
    out = []
    for zone in sim.zones:
        by_type = zone.nr_free_by_type()
        out.append(ZoneFree(zone.nid, zone.name, zone.start_pfn, zone.end_pfn,
                            zone.present_pages, zone.managed_pages,
                            tuple(tuple(by_type[mt]) for mt in PAGETYPEINFO_TYPES)))
    return tuple(out)


def chart_point(label: str, metrics: Metrics, index: MapIndex | None = None) -> ChartPoint:
    return ChartPoint(label, metrics.fragmentation_index, metrics.unusable_free_index,
                      metrics.buddyinfo, heat_row(index) if index is not None else None)


def _steps(sim: Simulation, previous: Frame | None) -> tuple[StepInfo, ...]:
    """The step list, the previous frame's tuple when it is the same (the timeline then
    sees the very same object)."""
    steps = tuple(StepInfo(s.name, s.source, s.explanation) for s in sim.step_info)
    if previous is not None and previous.steps == steps:
        return previous.steps
    return steps


def _frame(sim: Simulation, serial: int, *, previous: Frame | None, metrics: Metrics,
           index: MapIndex, free: tuple[ZoneFree, ...], series: tuple[ChartPoint, ...],
           before: Basis | None, strategy: str, seed: int, history_len: int, note: str,
           model_seconds: float, t0: float, session: SessionInfo = SessionInfo()) -> Frame:
    """Read everything the widgets draw out of ``sim`` (worker thread)."""
    kmsan = sim.kmsan
    return Frame(
        serial=serial, steps=_steps(sim, previous), step_index=sim.current,
        sanitizer=sim.config.sanitizer, index=index, metrics=metrics, free=free,
        log=EventLog.of(sim.events, previous.log if previous is not None else None),
        metadata=tuple(islice(kmsan, METADATA_ROWS)), metadata_total=len(kmsan),
        virtual_layout=sim.virtual_layout(),
        lookup=SimulationLookup(sim), series=series, before=before,
        layout_name=sim.layout.name, strategy=strategy, seed=seed, history_len=history_len,
        can_undo=history_len > 0, note=note, model_seconds=model_seconds,
        build_seconds=time.perf_counter() - t0, session=session)


def build_frame(session: Session, serial: int, *, note: str, before: Basis | None,
                series: tuple[ChartPoint, ...], metrics: Metrics | None = None,
                model_seconds: float = 0.0, previous: Frame | None = None,
                index: MapIndex | None = None, t0: float | None = None) -> Frame:
    """Derive what the widgets draw from the session's state (worker thread).

    ``metrics`` and ``index`` may be passed when the caller already computed them for
    this state (``t0``: when it started); ``previous`` (the frame shown until now)
    lends the parts that did not change.
    """
    t0 = time.perf_counter() if t0 is None else t0
    # Session.apply() runs each command on a copy and never mutates a Simulation it
    # has handed out again, so the frame's lookup can keep the session's object.
    sim = session.sim
    if metrics is None:
        metrics = sim.metrics()
    if index is None:
        index = MapIndex(sim, before.index if before else None)
    return _frame(sim, serial, previous=previous, metrics=metrics,
                  index=index, free=zone_free(sim),
                  series=series, before=before, strategy=session.strategy, seed=session.seed,
                  history_len=len(session.history), note=note, model_seconds=model_seconds,
                  t0=t0, session=session_info(session))


def session_info(session: Session) -> SessionInfo:
    """The session's place in its log, for the status line and the seek keys."""
    landmark = ""
    goto = None
    if session.position and not session.detour:
        command = session.log[session.position - 1].command
        if isinstance(command, Bookmark):
            landmark = command.note
        elif isinstance(command, GoTo):
            goto = command.pfn
    branch = ""
    parent = session.parent
    if parent is not None:
        origin = parent.ref.file if parent.ref is not None else "an unsaved session"
        branch = f"branch of {origin} at {parent.branch_point}"
    saved = session.saved
    return SessionInfo(position=session.position, log_len=len(session.log),
                       detour=session.detour, file=saved.path.name if saved else "",
                       dirty=session.dirty, branch=branch, landmark=landmark, goto=goto,
                       has_parent=parent is not None and (parent.log is not None
                                                          or parent.ref is not None),
                       bookmarks=tuple((i + 1, e.command.note) for i, e in enumerate(session.log)
                                       if isinstance(e.command, Bookmark)))


def frame_of_sim(sim: Simulation, serial: int, *, strategy: str, seed: int,
                 note: str = "") -> Frame:
    """A frame for a simulation that no session drives (the comparison's other side).

    The simulation must be private to the frame: nothing may step it afterwards.
    """
    t0 = time.perf_counter()
    metrics = sim.metrics()
    index = MapIndex(sim)
    return _frame(sim, serial, previous=None, metrics=metrics, index=index,
                  free=zone_free(sim), series=(chart_point(note or strategy, metrics, index),),
                  before=None, strategy=strategy, seed=seed, history_len=0, note=note,
                  model_seconds=0.0, t0=t0)
