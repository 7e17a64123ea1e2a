"""A session: a machine, a seed and the log of everything the user did to it.

The log is the session: every command, in order, each state-changing one with the
model's digest after it. ``position`` says how much of the log is applied (the
explorer can seek anywhere in it: a log entry, a boot step inside a long "run to", a
bookmark); at the end of the log a new command is appended. A command given in the
past either follows the recording (it is the next entry) or starts a *branch*: the
log is cut there and the old one stays the branch's parent, for the comparison and
for the saved file's ``parent`` (file digest and branch point). A note (``GoTo``,
``Bookmark``) given in the past is inserted instead: it changes no state.

States are built by the replay engine (``replay.py``) from checkpoints, so seeking,
stepping back and switching strategy cost a copy and the units that differ.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable, Generator
from dataclasses import dataclass, replace
from enum import Enum
from pathlib import Path

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import Layout
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.session import seek as seeking
from kmsan_tui.session.commands import (
    MAX_SEED,
    Back,
    Command,
    RunAll,
    RunTo,
    Step,
    SwitchStrategy,
    Unit,
    Workload,
    changes_state,
)
from kmsan_tui.session.fileformat import Entry, Migrated, ParentRef, View
from kmsan_tui.session.replay import Config, Engine, Plan, Progress, Setup, State, Work, finish

ProgressFn = Callable[[Progress], None]


class Outcome(Enum):
    """What a command did to the log."""

    APPENDED = "appended"  # at the end of the log
    FOLLOWED = "followed"  # it was the next recorded command: the position moved on
    BRANCHED = "branched"  # the log was cut at the position: a branch of the old one
    INSERTED = "inserted"  # a note in the past


@dataclass(frozen=True, slots=True)
class Parent:
    """The session a branch was cut from: its file (when it was saved), how many log
    entries they share, and its log when it is in memory."""

    ref: ParentRef | None
    branch_point: int
    log: tuple[Entry, ...] | None = None


@dataclass(frozen=True, slots=True)
class Saved:
    """The file a session was last saved to or opened from."""

    path: Path
    digest: str  # the file digest
    common: int  # leading log entries still identical to the file's


def now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Session:
    """A layout, a seed and a log of commands, and the state they lead to."""

    layout_source: str | None
    """The text the layout was read from (``layoutdoc.read_layout``), if known."""


    def __init__(self, layout: Layout, strategy: str | None = None, seed: int = 0,
                 overrides: dict[str, str] | None = None, *, checkpoints: bool = True,
                 layout_source: str | None = None, digests: bool = True) -> None:
        """``digests=False``: no digest after each command (O(extents) each, most of a
        large machine's headless ``run``); only for a session that will not be saved."""
        if not 0 <= seed <= MAX_SEED:
            raise UserError(f"seed: {seed} is outside 0..2**53-1")
        given = dict(overrides or {})
        kernel = given.pop("kernel", None) or layout.kernel.version
        sanitizer = given.pop("sanitizer", None) or layout.kernel.sanitizer
        engine = Engine(Setup(layout, seed, kernel, sanitizer), in_place=not checkpoints)
        self._begin(engine, Config.of(layout, strategy, given))
        self.layout_source = layout_source
        self.digests = digests

    def _begin(self, engine: Engine, config: Config) -> None:
        self.engine = engine
        self.initial = config
        """The configuration the log starts from."""
        self.log: list[Entry] = []
        self.plans: list[Plan] = [Plan(config)]
        """plans[i]: the state after the first i log entries."""
        self.position = 0
        """Log entries applied."""
        self.detour = 0
        """Boot steps beyond plans[position] (a seek into a long "run to")."""
        self._state = engine.root(config)
        self.parent: Parent | None = None
        self.saved: Saved | None = None
        self.dirty = False
        """The log changed since it was last saved or opened."""
        self.view = View()
        """The view state the file was saved with (the explorer's to restore)."""
        self.created = now()
        self.migrated: Migrated | None = None
        self.divergence: str | None = None
        """The first digest that differed when the session was opened (model changed)."""
        self.layout_source = None
        self.digests = True
        """Record the model's digest after each state-changing command (for saves)."""

    # ------------------------------------------------------------------ reading

    @property
    def sim(self) -> Simulation:
        """The simulation at the position (never stepped again, with checkpoints)."""
        return self._state.sim

    @property
    def state(self) -> State:
        return self._state

    @property
    def history(self) -> tuple[Unit, ...]:
        """The boot steps and workloads the state is built from, in order."""
        return self._state.plan.path

    @property
    def setup(self) -> Setup:
        return self.engine.setup

    @property
    def layout(self) -> Layout:
        return self.engine.setup.layout

    @property
    def seed(self) -> int:
        return self.engine.setup.seed

    @property
    def config(self) -> Config:
        return self._state.plan.config

    @property
    def strategy(self) -> str:
        return self._state.plan.config.strategy

    @property
    def at_head(self) -> bool:
        """At the end of the log: a command is appended."""
        return self.position == len(self.log) and not self.detour

    # ------------------------------------------------------------------ commands

    def execute(self, command: Command) -> Generator[Progress, None, Outcome]:
        """Run a command, yielding after each boot step or workload chunk.

        Closing the generator early (a cancel) keeps the log as it was, except for a
        "run to" that got somewhere: it is recorded as a run to where it got.
        """
        if not changes_state(command):
            return self._note(command)
        if not self.detour and self.position < len(self.log) and \
                self.log[self.position].command == command:
            yield from self.seek(self.position + 1)
            return Outcome.FOLLOWED
        before = self._state
        target = self.engine.plan_after(before.plan, command)  # refuses before any change
        work = self.engine.reach(target, near=before, what=_what(command))
        last: State | None = None
        try:
            while True:
                try:
                    progress = next(work)
                except StopIteration as stop:
                    state: State = stop.value
                    break
                if progress.state is not None:
                    last = progress.state
                yield progress
        except GeneratorExit:
            if isinstance(command, (RunTo, RunAll)) and last is not None and last.plan.boot:
                partial = RunTo(last.sim.step_name)
                if self.engine.plan_after(before.plan, partial) == last.plan:
                    self._commit(partial, last)
            raise
        return self._commit(command, state)

    def apply(self, command: Command, progress: ProgressFn | None = None) -> Outcome:
        """Run a command to its end (see ``execute``)."""
        work = self.execute(command)
        while True:
            try:
                p = next(work)
            except StopIteration as stop:
                return stop.value  # type: ignore[no-any-return]
            if progress is not None:
                progress(p)

    def _commit(self, command: Command, state: State) -> Outcome:
        outcome = Outcome.APPENDED
        if not self.at_head:
            self._branch()
            outcome = Outcome.BRANCHED
        self.log.append(Entry(command, state.sim.digest() if self.digests else None))
        self.plans.append(state.plan)
        self.position = len(self.log)
        self._state = state
        self.dirty = True
        return outcome

    def _note(self, command: Command) -> Outcome:
        """A GoTo or a Bookmark: recorded where the position is, nothing re-simulated."""
        if self.detour:
            self._split_detour()
        at = self.position
        self.log.insert(at, Entry(command))
        self.plans.insert(at + 1, self.plans[at])
        self.position += 1
        self.dirty = True
        if self.saved is not None and at < self.saved.common:
            self.saved = replace(self.saved, common=at)
        return Outcome.APPENDED if at == len(self.log) - 1 else Outcome.INSERTED

    def _split_detour(self) -> None:
        """The position is inside a forward run: record a run to here before it (the
        run after it still ends where it did)."""
        at = self.position
        self.log.insert(at, Entry(RunTo(self.sim.step_name), self.sim.digest()))
        self.plans.insert(at + 1, self._state.plan)
        self.position, self.detour = at + 1, 0
        if self.saved is not None and at < self.saved.common:
            self.saved = replace(self.saved, common=at)

    def _branch(self) -> None:
        """Cut the log at the position; the old log becomes the parent."""
        ref = None
        if self.saved is not None and self.position <= self.saved.common:
            ref = ParentRef(self.saved.path.name, self.saved.digest, self.position)
        self.parent = Parent(ref, self.position, tuple(self.log))
        del self.log[self.position:]
        del self.plans[self.position + 1:]
        if self.detour:
            self.log.append(Entry(RunTo(self.sim.step_name), self.sim.digest()))
            self.plans.append(self._state.plan)
            self.position, self.detour = len(self.log), 0
        self.saved = None
        self.created = now()
        self.dirty = True

    # The commands by name (the CLI, the tests and the benchmarks use these).

    def step(self) -> Outcome:
        return self.apply(Step())

    def run_to(self, step: str) -> Outcome:
        return self.apply(RunTo(step))

    def run_all(self) -> Outcome:
        return self.apply(RunAll())

    def undo(self) -> bool:
        """Step back one boot step or workload; False at the start."""
        if not self.history:
            return False
        self.apply(Back())
        return True

    def run_workload(self, name: str, ops: int, progress: ProgressFn | None = None,
                     seed: int | None = None) -> Outcome:
        return self.apply(Workload(name, ops, seed), progress)

    def switch(self, strategy: str | None = None, **options: str) -> Outcome:
        """Re-simulate the same boot steps and workloads under another strategy."""
        return self.apply(SwitchStrategy(strategy or self.strategy, tuple(sorted(options.items()))))

    # ------------------------------------------------------------------ seeking

    def seek(self, position: int, detour: int = 0) -> Work:
        """Go to the state after ``position`` log entries (and ``detour`` more boot
        steps of the next entry); nothing changes if the generator is closed early."""
        if not 0 <= position <= len(self.log):
            raise UserError(f"no position {position}: the log has {len(self.log)} entries")
        plan = self.plans[position]
        if detour:
            plan = Engine.run_to_plan(plan, plan.boot + detour)
        state = yield from self.engine.reach(plan, near=self._state, what="seeking")
        self.position, self.detour, self._state = position, detour, state
        return state

    def seek_now(self, position: int, detour: int = 0) -> State:
        return finish(self.seek(position, detour))

    @property
    def steps(self) -> tuple[str, ...]:
        """The boot steps of this session's kernel."""
        return self.engine.steps(self.initial)

    def seek_targets(self) -> list[seeking.Target]:
        """Every place of the log to seek to (the seek dialog's list)."""
        return seeking.targets(self.log, self.plans, self.steps)

    def find(self, text: str) -> tuple[int, int]:
        """(position, detour) of a position number, ``step N``, a boot step's name or a
        bookmark's note (the nearest at or after the current position)."""
        return seeking.resolve(text, self.log, self.plans, self.steps, self.position)

    def next_boot_step(self) -> tuple[int, int] | None:
        """Where the recording goes one boot step from here, if that is what it does next."""
        return seeking.next_boot_step(self.plans, self.position, self.detour)

    def boot_state(self, boot: int) -> tuple[int, int] | None:
        """The recording's state right after boot step number ``boot``, if it has one."""
        return seeking.boot_state(self.plans, boot, self.position)

    def fork(self, position: int | None = None, detour: int = 0) -> Session:
        """A new session: this one's log up to ``position`` (default: where it is),
        recording this one as its parent. Both share the checkpoints."""
        new = object.__new__(Session)
        new.__dict__.update(self.__dict__)
        new.log, new.plans = list(self.log), list(self.plans)
        if position is not None:
            new.seek_now(position, detour)
        new._branch()
        return new

    @classmethod
    def empty(cls, engine: Engine, config: Config) -> Session:
        """A session with an empty log on an engine's machine (what a file replays into)."""
        new = object.__new__(cls)
        new._begin(engine, config)
        return new


def _what(command: Command) -> str:
    if isinstance(command, SwitchStrategy):
        return f"re-simulating under {command.strategy}"
    if isinstance(command, Back):
        return "stepping back"
    return ""
