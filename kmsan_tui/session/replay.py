"""Replaying commands, in one place: loading a save, verifying it, switching strategy,
the comparison's other side, seeking and branching all come through here.

A state is a ``Plan`` — the strategy and the *units* (boot steps and workloads) it is
built from, found by folding the commands without simulating anything — and the
``Simulation`` that plan gives. ``Engine.reach(plan)`` builds that simulation from
the longest prefix it already holds (a checkpoint: the model is O(extents), a copy is
cheap) and runs the rest, one unit at a time. Everything long is a generator that
yields ``Progress`` after each unit and returns the final ``State`` (toolong's
``run_scan`` pattern): the CLI drains it, the explorer's worker iterates it and stops
when the user cancels.
"""

from __future__ import annotations

import copy
from collections import OrderedDict
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from typing import TypeVar

from kmsan_tui.model.constants import MigrateType
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import Layout
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.model.strategies.registry import all_options, strategy_info
from kmsan_tui.model.workloads import WORKLOADS
from kmsan_tui.session.commands import (
    AllocPages,
    Back,
    Bookmark,
    Command,
    FreePages,
    GoTo,
    RunAll,
    RunTo,
    Step,
    SwitchStrategy,
    Unit,
    Workload,
    describe,
)

CHECKPOINTS = 64
"""Simulations an engine keeps besides the ones on screen (least recently used go)."""
MAX_REPLAY_STEPS = 20_000
"""Boot steps a session may make the simulation run, switches and seeks included."""
MAX_REPLAY_OPS = 10_000_000
"""Workload operations a session may make the simulation run, re-simulation included."""
WORKLOAD_CHUNK = 1000
HAND_OWNER = "by hand"
"""The owner the inspector shows for a block allocated with AllocPages (``a``)."""
HANDOVER_STEP = "memblock_free_all"
"""The boot step after which the buddy allocator has memory to hand out by hand."""
_MIGRATETYPES = {mt.label: mt for mt in MigrateType}


@dataclass(frozen=True, slots=True)
class Setup:
    """What a session never changes: the machine, the kernel build, the seed."""

    layout: Layout
    seed: int
    kernel: str
    sanitizer: str


@dataclass(frozen=True, slots=True)
class Config:
    """What a ``SwitchStrategy`` changes: the strategy and every strategy option."""

    strategy: str
    options: tuple[tuple[str, str], ...]  # (key, value) for every registry option, sorted

    @classmethod
    def of(cls, layout: Layout, strategy: str | None = None,
           options: dict[str, str] | None = None) -> Config:
        """The layout's settings, with ``strategy`` and ``options`` given over them."""
        chosen = strategy or layout.kernel.strategy
        strategy_info(chosen)  # a UserError naming the choices
        given = dict(options or {})
        resolved = {}
        for opt in all_options():
            value = given.pop(opt.key, None) or getattr(layout.kernel, opt.key, opt.default)
            if value not in opt.choices:
                raise UserError(f"{opt.key}: expected one of {', '.join(opt.choices)}, "
                                f"got {value!r}")
            resolved[opt.key] = value
        if given:
            raise UserError(f"{sorted(given)[0]}: not a strategy option")
        return cls(chosen, tuple(sorted(resolved.items())))

    def switched(self, command: SwitchStrategy) -> Config:
        """The configuration after ``command``: its strategy, its options over ours."""
        strategy_info(command.strategy)
        options = dict(self.options)
        for key, value in command.options:
            choices = {opt.key: opt.choices for opt in all_options()}.get(key)
            if choices is None:
                raise UserError(f"{key}: not a strategy option")
            if value not in choices:
                raise UserError(f"{key}: expected one of {', '.join(choices)}, got {value!r}")
            options[key] = value
        return Config(command.strategy, tuple(sorted(options.items())))


@dataclass(frozen=True, slots=True)
class Plan:
    """A state as commands: the configuration and the units, in order."""

    config: Config
    path: tuple[Unit, ...] = ()
    boot: int = 0  # boot steps among the units

    def then(self, unit: Unit) -> Plan:
        return Plan(self.config, (*self.path, unit), self.boot + isinstance(unit, Step))

    def popped(self) -> Plan:
        last = self.path[-1]
        return Plan(self.config, self.path[:-1], self.boot - isinstance(last, Step))

    @property
    def ops(self) -> int:
        return sum(u.ops for u in self.path if isinstance(u, Workload))


@dataclass(frozen=True, slots=True, eq=False)
class State:
    """A plan and its simulation (never stepped again once a State holds it, unless the
    engine works in place)."""

    plan: Plan
    sim: Simulation


@dataclass(frozen=True, slots=True, eq=False)
class Progress:
    """How far a long command is; ``state`` is a whole unit's state, or None while a
    workload is half done."""

    done: int
    total: int
    what: str
    state: State | None = None


T = TypeVar("T")
Work = Generator[Progress, None, State]
"""A long piece of work: yields progress, returns the state it reached."""


def finish(work: Generator[Progress, None, T]) -> T:
    """Run a generator of progress to its end and return its value."""
    while True:
        try:
            next(work)
        except StopIteration as stop:
            value: T = stop.value
            return value


class Engine:
    """Builds the simulation of any plan of one ``Setup``, keeping checkpoints.

    With ``in_place`` (the headless ``run``), nothing is copied: the simulation is
    stepped where it is and no checkpoint is kept.
    """

    def __init__(self, setup: Setup, *, in_place: bool = False,
                 capacity: int = CHECKPOINTS) -> None:
        self.setup = setup
        self.in_place = in_place
        self.capacity = capacity
        self._cache: OrderedDict[tuple[Config, tuple[Unit, ...]], Simulation] = OrderedDict()
        self._steps: dict[Config, tuple[str, ...]] = {}

    # ------------------------------------------------------------ simulations

    def fresh(self, config: Config) -> Simulation:
        """A new simulation of the setup under ``config``, before the first step."""
        s = self.setup
        return Simulation(s.layout, config.strategy, s.seed, sanitizer=s.sanitizer,
                          kernel=s.kernel, **dict(config.options))

    def steps(self, config: Config) -> tuple[str, ...]:
        """The boot step names under ``config``."""
        names = self._steps.get(config)
        if names is None:
            names = self._steps[config] = tuple(self.fresh(config).steps)
        return names

    def root(self, config: Config) -> State:
        return State(Plan(config), self._remember(Plan(config), self.fresh(config)))

    def _remember(self, plan: Plan, sim: Simulation) -> Simulation:
        if self.in_place:
            return sim
        key = (plan.config, plan.path)
        self._cache[key] = sim
        self._cache.move_to_end(key)
        while len(self._cache) > self.capacity:
            self._cache.popitem(last=False)
        return sim

    def forget(self) -> None:
        """Drop every checkpoint (tests, memory pressure)."""
        self._cache.clear()

    # ------------------------------------------------------------ folding

    def plan_after(self, plan: Plan, command: Command) -> Plan:
        """The plan after ``command`` (no simulation); a UserError if it cannot run."""
        match command:
            case Step():
                if plan.boot >= len(self.steps(plan.config)):
                    raise UserError("the boot has finished: no step left to run")
                return plan.then(command)
            case RunTo(step=name):
                return self.run_to_plan(plan, self._index_of(plan.config, name) + 1)
            case RunAll():
                return self.run_to_plan(plan, len(self.steps(plan.config)))
            case Back():
                if not plan.path:
                    raise UserError("already at the start: nothing to step back to")
                return plan.popped()
            case SwitchStrategy():
                return Plan(plan.config.switched(command), plan.path, plan.boot)
            case Workload(name=name):
                if name not in WORKLOADS:
                    raise UserError(f"unknown workload {name!r} (expected {', '.join(WORKLOADS)})")
                return plan.then(command)
            case AllocPages() | FreePages():
                if plan.boot <= self._index_of(plan.config, HANDOVER_STEP):
                    raise UserError(f"the buddy allocator has no memory yet: step through "
                                    f"{HANDOVER_STEP}() first")
                return plan.then(command)
            case GoTo() | Bookmark():
                return plan
        raise AssertionError(command)

    def _index_of(self, config: Config, name: str) -> int:
        steps = self.steps(config)
        if name not in steps:
            raise UserError(f"unknown step {name!r} for kernel {self.setup.kernel} "
                            f"(steps: {', '.join(steps)})")
        return steps.index(name)

    @staticmethod
    def run_to_plan(plan: Plan, target: int) -> Plan:
        """Step back (a unit at a time) while past ``target`` boot steps, then step:
        workloads run at the target step itself are kept."""
        while plan.boot > target:
            plan = plan.popped()
        while plan.boot < target:
            plan = plan.then(Step())
        return plan

    # ------------------------------------------------------------ reaching a plan

    def reach(self, target: Plan, near: State | None = None, what: str = "") -> Work:
        """Build ``target``'s simulation from the longest prefix at hand: ``near`` (the
        state on screen) or a checkpoint; yields after each unit it runs."""
        path = target.path
        config = target.config
        base: State | None = None
        if near is not None and near.plan.config == config and \
                near.plan.path == path[:len(near.plan.path)]:
            base = near
        if not self.in_place:
            for k in range(len(path), len(base.plan.path) if base else -1, -1):
                sim = self._cache.get((config, path[:k]))
                if sim is not None:
                    prefix = Plan(config, path[:k], sum(isinstance(u, Step) for u in path[:k]))
                    base = State(prefix, self._remember(prefix, sim))
                    break
        if base is None:
            base = self.root(config)
        state = base
        todo = path[len(base.plan.path):]
        for i, unit in enumerate(todo):
            state = yield from self._run_unit(state, unit, i, len(todo), what)
        return state

    def _run_unit(self, state: State, unit: Unit, done: int, total: int, what: str) -> Work:
        sim = state.sim if self.in_place else copy.deepcopy(state.sim)
        if isinstance(unit, Step):
            sim.step()
        elif isinstance(unit, AllocPages):
            sim.alloc_pages(unit.order, _MIGRATETYPES[unit.migratetype], HAND_OWNER)
        elif isinstance(unit, FreePages):
            zone = sim.zone_of(unit.pfn)  # the block that holds the page, as page_folio()
            block = zone.allocated_block(unit.pfn) if zone is not None else None
            sim.free_pages(block[0] if block is not None else unit.pfn)
        else:
            for ops in sim.iter_workload(unit.name, unit.ops, WORKLOAD_CHUNK, seed=unit.seed):
                if ops < unit.ops:
                    yield Progress(ops, unit.ops, f"workload {unit.name}")
        plan = state.plan.then(unit)
        new = State(plan, self._remember(plan, sim))
        if isinstance(unit, Workload) and total == 1:  # a workload alone counts operations
            yield Progress(unit.ops, unit.ops, what or _label(new), new)
        else:
            yield Progress(done + 1, total, what or _label(new), new)
        return new

    def run(self, state: State, command: Command) -> Work:
        """Apply one command to ``state``."""
        target = self.plan_after(state.plan, command)
        if target is state.plan:
            return state
        return (yield from self.reach(target, near=state, what=_verb(command)))


def _label(state: State) -> str:
    unit = state.plan.path[-1] if state.plan.path else None
    if isinstance(unit, Workload):
        return f"{unit.name}×{unit.ops}"
    if isinstance(unit, AllocPages | FreePages):
        return describe(unit)
    return state.sim.step_name


def _verb(command: Command) -> str:
    if isinstance(command, SwitchStrategy):
        return f"re-simulating under {command.strategy}"
    if isinstance(command, RunTo):
        return command.step
    return ""


def replay(engine: Engine, config: Config, commands: Iterable[Command]) -> Iterator[State]:
    """The state after each command, from a fresh simulation under ``config``.

    What a saved session, a verification, the comparison's other side and a strategy
    switch all run. Long commands are run whole; use ``Engine.run`` to see inside them.
    """
    state = engine.root(config)
    for command in commands:
        state = finish(engine.run(state, command))
        yield state


def cost(before: Plan, after: Plan) -> tuple[int, int]:
    """(boot steps, workload operations) the simulation runs to go from ``before`` to
    ``after`` when it starts from ``before`` (what a file's replay is bounded by)."""
    shared = 0
    if after.config == before.config:
        for a, b in zip(before.path, after.path, strict=False):
            if a != b:
                break
            shared += 1
    new = after.path[shared:]
    return sum(isinstance(u, Step) for u in new), sum(u.ops for u in new if isinstance(u, Workload))
