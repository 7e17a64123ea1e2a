"""The simulation: one machine booting one kernel with one KMSAN metadata strategy.

A thin facade (DESIGN.md's public API): it builds the ``Machine`` and the strategy a
layout asks for, runs the boot steps in the kernel's order (SimPy-style ``step()``,
``run_to()``, ``run()``), and answers the read-only questions (``page()``,
``metrics()``, ``check()``, ``digest()``). The kernel state and the operations on it
live in ``machine.Machine``; the init calls in ``boot``; the strategies in
``strategies``.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any

from kmsan_tui.model import boot
from kmsan_tui.model.blockmap import BlockMap
from kmsan_tui.model.buddy import Zone
from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.events import Event
from kmsan_tui.model.invariants import check_machine
from kmsan_tui.model.layout import load_layout
from kmsan_tui.model.layout_types import KERNELS, SANITIZERS, KernelConfig, Layout
from kmsan_tui.model.machine import BootState, Counters, LiveAllocations, Machine
from kmsan_tui.model.memblock import Memblock
from kmsan_tui.model.metadata import MetaValue
from kmsan_tui.model.metrics import Metrics, compute_metrics
from kmsan_tui.model.pages import PageView, page_view
from kmsan_tui.model.profiles import KernelProfile
from kmsan_tui.model.strategies.base import MetadataStrategy, VirtualLayout
from kmsan_tui.model.strategies.registry import all_options, make_strategy, strategy_info
from kmsan_tui.model.workloads import iter_workload


class Simulation:
    """Boot a layout step by step; see DESIGN.md for the public API."""

    def __init__(
        self,
        layout: Layout | str,
        strategy: str | None = None,
        seed: int = 0,
        *,
        sanitizer: str | None = None,
        kernel: str | None = None,
        **options: str | None,
    ) -> None:
        """``options`` are the strategies' settings (registry options: lazy_activation,
        lazy_storage, fixed_backing...); None leaves the layout's value."""
        if isinstance(layout, str):
            layout = load_layout(layout)
        known = {opt.key: opt for opt in all_options()}
        changes: dict[str, str] = {}
        for key, value in (("strategy", strategy), ("sanitizer", sanitizer), ("version", kernel)):
            if value is not None:
                changes[key] = value
        for key, value in options.items():
            opt = known.get(key)
            if opt is None:
                raise UserError(f"unknown strategy option {key!r} "
                                f"(expected {', '.join(known) or 'none'})")
            if value is None:
                continue
            if value not in opt.choices:
                raise UserError(f"{key}: expected one of {', '.join(opt.choices)}, got {value!r}")
            changes[key] = value
        if strategy is not None:
            strategy_info(strategy)  # a UserError naming the choices
        if sanitizer is not None and sanitizer not in SANITIZERS:
            raise UserError(f"unknown sanitizer {sanitizer!r} (expected {', '.join(SANITIZERS)})")
        if kernel is not None and kernel not in KERNELS:
            raise UserError(f"unknown kernel {kernel!r} (expected {', '.join(KERNELS)})")
        self.layout = layout.with_kernel(**changes) if changes else layout
        self.config: KernelConfig = self.layout.kernel
        self.seed = seed
        self.strategy: MetadataStrategy = make_strategy(self.config)
        self.machine = Machine(
            self.layout, seed, hooks=self.strategy,
            struct_page_size=self.strategy.struct_page_size if self.config.sanitizer == "kmsan"
            else 64)
        self._step_defs = boot.steps_for(self.config)
        self.current = 0
        self.step_names_run: list[str] = []

    def __deepcopy__(self, memo: dict[int, Any]) -> Simulation:
        """An independent checkpoint in O(extents) (the machine copies itself)."""
        new = Simulation.__new__(Simulation)
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            if key in ("layout", "config", "_step_defs"):
                new.__dict__[key] = value
            elif key == "step_names_run":
                new.step_names_run = list(value)
            else:
                new.__dict__[key] = copy.deepcopy(value, memo)
        return new

    # ---------------------------------------------------------------- stepping

    @property
    def steps(self) -> list[str]:
        """Boot steps in order, named after the kernel functions."""
        return [s.name for s in self._step_defs]

    @property
    def step_info(self) -> list[boot.BootStep]:
        """The step definitions, with kernel source references and explanations."""
        return list(self._step_defs)

    @property
    def done(self) -> bool:
        return self.current >= len(self._step_defs)

    @property
    def step_name(self) -> str:
        """The last step that ran, or "(before boot)"."""
        return self._step_defs[self.current - 1].name if self.current else "(before boot)"

    def step(self) -> list[Event]:
        """Run the next boot step; return the events it produced."""
        if self.done:
            raise UserError("the boot has finished: no step left to run")
        definition = self._step_defs[self.current]
        m = self.machine
        first = len(m.events)
        m.step_name = definition.name
        definition.run(m, self.strategy)
        self.current += 1
        self.step_names_run.append(definition.name)
        return m.events[first:]

    def index_of(self, name: str) -> int:
        try:
            return self.steps.index(name)
        except ValueError:
            raise UserError(
                f"unknown step {name!r} for kernel {self.config.version} "
                f"(steps: {', '.join(self.steps)})") from None

    def run_to(self, name: str) -> list[Event]:
        """Run every step up to and including ``name``."""
        target = self.index_of(name)
        first = len(self.machine.events)
        while self.current <= target:
            self.step()
        return self.machine.events[first:]

    def run(self) -> list[Event]:
        """Run every remaining step."""
        first = len(self.machine.events)
        while not self.done:
            self.step()
        return self.machine.events[first:]

    # ---------------------------------------------------------------- the machine

    @property
    def memblock(self) -> Memblock:
        return self.machine.memblock

    @property
    def zones(self) -> list[Zone]:
        return self.machine.zones

    @property
    def owners(self) -> BlockMap[str]:
        return self.machine.owners

    @property
    def kmsan(self) -> BlockMap[MetaValue]:
        return self.machine.kmsan

    @property
    def events(self) -> list[Event]:
        return self.machine.events

    @property
    def counters(self) -> Counters:
        return self.machine.counters

    @property
    def live(self) -> LiveAllocations:
        return self.machine.live

    @property
    def boot_state(self) -> BootState:
        return self.machine.boot_state

    @property
    def handed_over(self) -> bool:
        return self.machine.handed_over

    @property
    def sanitizer(self) -> str:
        return self.config.sanitizer

    @property
    def profile(self) -> KernelProfile:
        """The kernel profile booted: its release, step order and per-version rules."""
        return self.machine.profile

    @property
    def kmsan_active(self) -> bool:
        """Whether a KMSAN metadata strategy applies (sanitizer kmsan)."""
        return self.machine.kmsan_active

    @property
    def struct_page_size(self) -> int:
        return self.machine.struct_page_size

    @property
    def max_pfn(self) -> int:
        return self.machine.max_pfn

    @property
    def present_pages(self) -> int:
        return self.machine.present_pages

    def zone_of(self, pfn: int) -> Zone | None:
        return self.machine.zone_of(pfn)

    def alloc_pages(self, order: int, migratetype: MigrateType, owner: str, nid: int = 0,
                    slab: bool = False, track: bool = False, quiet: bool = False) -> int | None:
        """__alloc_pages() with the KMSAN hook (Machine.alloc_pages)."""
        return self.machine.alloc_pages(order, migratetype, owner, nid, slab, track, quiet)

    def free_pages(self, pfn: int, quiet: bool = False) -> bool:
        """__free_pages() of an allocated block; a bad free is reported, not applied."""
        return self.machine.free_pages(pfn, quiet)

    def iter_workload(self, name: str, ops: int, chunk: int = 1000,
                      seed: int | None = None) -> Iterator[int]:
        """Run a workload in chunks, yielding the operations done so far (workloads.py)."""
        return iter_workload(self.machine, name, ops, chunk, seed)

    def run_workload(self, name: str, ops: int, progress: Callable[[int], None] | None = None,
                     seed: int | None = None) -> None:
        """Run ``ops`` operations of workload ``name`` at once."""
        for done in self.iter_workload(name, ops, seed=seed):
            if progress is not None:
                progress(done)

    # ---------------------------------------------------------------- summaries

    def page(self, pfn: int) -> PageView:
        """A read-only view of ``struct page`` for pfn (any pfn: holes included)."""
        return page_view(self.machine, self.strategy, pfn)

    def virtual_layout(self) -> VirtualLayout | None:
        """Where a fixed-address strategy puts shadow and origin (None otherwise)."""
        return self.strategy.virtual_layout(self.machine) if self.kmsan_active else None

    def metrics(self) -> Metrics:
        return compute_metrics(self.machine, self.strategy, self.step_name)

    def check(self) -> list[str]:
        """Invariant violations (empty when the state is consistent)."""
        return check_machine(self.machine, self.strategy)

    def memory_digest(self) -> str:
        """A digest of memory alone (memblock, zones, owners, KMSAN map): equal before and
        after a step that only prints, unlike digest()."""
        return self.machine.memory_hash().hexdigest()

    def digest(self) -> str:
        """A deterministic hex digest of the whole state."""
        h = self.machine.memory_hash()
        h.update(repr(self.machine.counters).encode())
        h.update(repr(self.strategy.state_tuple()).encode())
        h.update(f"{self.current}:{len(self.machine.events)}".encode())
        return h.hexdigest()
