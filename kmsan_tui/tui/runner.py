"""Session commands as the explorer runs them, off the UI thread (no Textual).

The screen queues one command at a time into a thread worker that calls a
``Runner`` method; each returns the ``Frame`` to show. Long commands (running to a
step, a workload, a strategy switch, a seek, opening a file) iterate the session's
generators (``Session.execute``, ``Session.seek``: the replay engine underneath),
report progress, show intermediate frames, and stop when ``cancel()`` says so.

Inside a recording (a session opened from a file, or after seeking back) ``u`` and
``}``/``{`` move along the log; any other command follows the recording when it is
the next recorded one and branches off it otherwise.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator
from pathlib import Path

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import Layout
from kmsan_tui.model.mapindex import MapIndex
from kmsan_tui.model.metrics import Metrics
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.session import (
    AllocPages,
    Back,
    Command,
    FreePages,
    Outcome,
    RunAll,
    RunTo,
    Session,
    Step,
    SwitchStrategy,
    View,
    Workload,
    describe,
    files,
)
from kmsan_tui.session.fileformat import Entry
from kmsan_tui.session.replay import Config, Engine, Plan, Progress, Setup, State, Unit, finish
from kmsan_tui.tui.frame import Basis, ChartPoint, Frame, build_frame, chart_point, frame_of_sim

# While running several steps, show an intermediate frame at most this often.
FRAME_INTERVAL = 0.15

ProgressFn = Callable[[int, int, str], None]  # (done, total, what)
Cancel = Callable[[], bool]
OnFrame = Callable[[Frame], None]


class Cancelled(UserError):
    """The user stopped a long command; the session is where the last whole step left it."""


def _never() -> bool:
    return False


def memory_fingerprint(sim: Simulation) -> str:
    """What memory looks like, without the log: a step that only prints is no change."""
    return sim.memory_digest()


def other_strategy_frame(setup: Setup, plan: Plan, strategy: str, serial: int) -> Frame:
    """The same boot steps and workloads under another strategy, as a frame: the
    comparison's right side. Built by a replay engine of its own (the worker thread
    shares nothing with the explorer's), and private to the frame."""
    config = plan.config.switched(SwitchStrategy(strategy))
    state = finish(Engine(setup).reach(Plan(config, plan.path, plan.boot)))
    return frame_of_sim(state.sim, serial, strategy=strategy, seed=setup.seed)


def parent_frame(setup: Setup, initial: Config, plan: Plan, log: tuple[Entry, ...],
                 serial: int) -> Frame:
    """A branch's parent at the branch's boot step (the nearest state of the parent's
    log to ``plan``), as a frame whose note names the parent's position."""
    engine = Engine(setup)
    plans = [Plan(initial)]
    for entry in log:
        plans.append(engine.plan_after(plans[-1], entry.command))
    best = min(range(len(plans)), key=lambda p: (abs(plans[p].boot - plan.boot),
                                                 abs(len(plans[p].path) - len(plan.path)), -p))
    state = finish(engine.reach(plans[best]))
    return frame_of_sim(state.sim, serial, strategy=state.plan.config.strategy,
                        seed=setup.seed, note=f"parent at {best}/{len(log)}")


class Runner:
    """Owns the session the explorer drives; every method returns the frame to show."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.serial = 0
        self.frame: Frame | None = None
        self._points: dict[tuple[Config, tuple[Unit, ...]], ChartPoint] = {}
        self.last_step_seconds = 0.0
        """Model time of the last single step or step back (the next one's estimate)."""

    # ------------------------------------------------------------------ frames

    def _point(self, state: State, metrics: Metrics | None = None,
               index: MapIndex | None = None) -> ChartPoint:
        """The chart point of a state (kept: a state's point never changes); ``index``:
        the state's map index when the caller has one (else one is built)."""
        key = (state.plan.config, state.plan.path)
        point = self._points.get(key)
        if point is None:
            unit = state.plan.path[-1] if state.plan.path else None
            label = (f"{unit.name}×{unit.ops}" if isinstance(unit, Workload)
                     else state.sim.step_name if unit is not None else "start")
            point = self._points[key] = chart_point(
                label, metrics or state.sim.metrics(),
                index if index is not None else MapIndex(state.sim))
        return point

    def _series(self, metrics: Metrics, index: MapIndex) -> tuple[ChartPoint, ...]:
        """One chart point per unit of the current state, the start included."""
        state = self.session.state
        plan = state.plan
        points = [self._point(state, metrics, index)]
        engine = self.session.engine
        for k in range(len(plan.path) - 1, -1, -1):
            prefix = Plan(plan.config, plan.path[:k])
            key = (plan.config, prefix.path)
            if key not in self._points:
                self._point(finish(engine.reach(prefix)))
            points.append(self._points[key])
        points.reverse()
        return tuple(points)

    def _emit(self, note: str, model_seconds: float, before: Basis | None = None,
              keep_before: bool = True) -> Frame:
        metrics = self.session.sim.metrics()
        t0 = time.perf_counter()
        if before is None and keep_before and self.frame is not None:
            before = self.frame.as_basis()
        self.serial += 1
        # The frame's index, built once: the chart point's heat row reads it too.
        index = MapIndex(self.session.sim, before.index if before else None)
        self.frame = build_frame(self.session, self.serial, note=note, before=before,
                                 series=self._series(metrics, index), metrics=metrics,
                                 model_seconds=model_seconds, previous=self.frame,
                                 index=index, t0=t0)
        return self.frame

    def start(self) -> Frame:
        """The first frame (no command ran in this explorer yet)."""
        return self._emit("start", 0.0, keep_before=False)

    def _drive(self, work: Generator[Progress, None, object], *, cancel: Cancel,
               on_frame: OnFrame | None, progress: ProgressFn | None,
               stopped: str | None) -> object:
        """Iterate a session generator: progress, intermediate frames, cancelling.

        On cancel the generator is closed (the session keeps what it says it keeps);
        ``stopped`` is then raised as ``Cancelled``, or None to return quietly."""
        last_emit = time.perf_counter()
        while True:
            if cancel():
                work.close()
                if stopped is not None:
                    raise Cancelled(stopped)
                return None
            try:
                step = next(work)
            except StopIteration as stop:
                return stop.value
            if progress is not None:
                progress(step.done, step.total, step.what)
            if on_frame is not None and step.state is not None and \
                    time.perf_counter() - last_emit > FRAME_INTERVAL:
                on_frame(self._emit("running", 0.0))
                last_emit = time.perf_counter()

    def _command(self, command: Command, note: str, *, cancel: Cancel = _never,
                 on_frame: OnFrame | None = None, progress: ProgressFn | None = None,
                 stopped: str | None = None) -> Frame:
        before = self.frame.as_basis() if self.frame is not None else None
        t0 = time.perf_counter()
        parent = self.session.parent
        outcome = self._drive(self.session.execute(command), cancel=cancel, on_frame=on_frame,
                              progress=progress, stopped=stopped)
        seconds = time.perf_counter() - t0
        if outcome is Outcome.BRANCHED and self.session.parent is not parent:
            note = f"branched at {self.session.parent.branch_point}: " + note  # type: ignore[union-attr]
        return self._emit(note, seconds, before=before)

    # ------------------------------------------------------------------ boot

    def step(self) -> Frame:
        if self.session.sim.done:
            raise UserError("the boot has finished: run a workload (w) or step back (u)")
        t0 = time.perf_counter()
        place = None if self.session.at_head else self.session.next_boot_step()
        # Inside a recording that steps on from here: follow it, one boot step.
        frame = self.seek(*place) if place else self._command(Step(), "step")
        self.last_step_seconds = time.perf_counter() - t0 - frame.build_seconds
        return frame

    def undo(self) -> Frame:
        """Step back: along the recording inside one, else a ``Back`` command."""
        t0 = time.perf_counter()
        session = self.session
        if session.detour:  # inside a run: one boot step back along it
            frame = self.seek(session.position, session.detour - 1)
        elif not session.at_head:
            frame = self.seek_by(-1)
        else:
            if not session.history:
                raise UserError("already at the start: nothing to step back to")
            frame = self._command(Back(), "undo")
        self.last_step_seconds = time.perf_counter() - t0 - frame.build_seconds
        return frame

    def run_to(self, index: int, *, cancel: Cancel = _never, on_frame: OnFrame | None = None,
               progress: ProgressFn | None = None) -> Frame:
        """Run (or step back) until step ``index`` (0-based) is the last that ran; inside
        a recording that stops there, seek to it instead."""
        session = self.session
        steps = session.steps
        if not 0 <= index < len(steps):
            raise UserError(f"no step {index + 1}: the boot has {len(steps)} steps")
        if not session.at_head:
            place = session.boot_state(index + 1)
            if place is not None:
                return self.seek(*place, cancel=cancel, progress=progress)
        return self._command(RunTo(steps[index]), f"run to {steps[index]}", cancel=cancel,
                             on_frame=on_frame, progress=progress)

    def run_all(self, *, cancel: Cancel = _never, on_frame: OnFrame | None = None,
                progress: ProgressFn | None = None) -> Frame:
        return self._command(RunAll(), "run to the end", cancel=cancel, on_frame=on_frame,
                             progress=progress)

    def next_change(self, *, cancel: Cancel = _never) -> Frame:
        """Run to the next init call that changes memory (steps that only log are skipped)."""
        if self.session.sim.done:
            raise UserError("the boot has finished: run a workload (w) or step back (u)")
        before = self.frame.as_basis() if self.frame is not None else None
        start = memory_fingerprint(self.session.sim)
        t0 = time.perf_counter()
        while not self.session.sim.done and not cancel():
            self.session.apply(Step())
            if memory_fingerprint(self.session.sim) != start:
                break
        return self._emit("next init call", time.perf_counter() - t0, before=before)

    # ------------------------------------------------------------------ machine

    def switch(self, strategy: str, *, options: tuple[tuple[str, str], ...] = (),
               cancel: Cancel = _never, progress: ProgressFn | None = None) -> Frame:
        """Re-simulate the same boot steps and workloads under ``strategy`` (and the
        strategy ``options`` given, the others as they are)."""
        what = strategy + "".join(f", {key}={value}" for key, value in options)
        return self._command(SwitchStrategy(strategy, options), f"switch to {what}",
                             cancel=cancel, progress=progress,
                             stopped="stopped: the switch did not finish")

    def workload(self, name: str, ops: int, seed: int | None = None, *,
                 cancel: Cancel = _never, progress: ProgressFn | None = None) -> Frame:
        """Run a workload; a seed other than the session's gives the workload a
        generator of its own (recorded in the command, so saves replay it)."""
        own_seed = seed if seed is not None and seed != self.session.seed else None
        return self._command(Workload(name, ops, own_seed), f"workload {name}", cancel=cancel,
                             progress=progress,
                             stopped=f"stopped: workload {name} was cancelled; nothing ran")

    def by_hand(self, command: AllocPages | FreePages) -> Frame:
        """An allocation or a free by hand (``a``, ``X``): a unit of the session like a
        boot step, so ``u`` takes it back and a save keeps it."""
        return self._command(command, describe(command))

    def note(self, command: Command, text: str) -> Frame:
        """A go-to or a bookmark, recorded in the log (no state changes)."""
        self.session.apply(command)
        return self._emit(text, 0.0)

    # ------------------------------------------------------------------ the log

    def seek(self, position: int, detour: int = 0, *, cancel: Cancel = _never,
             progress: ProgressFn | None = None) -> Frame:
        """Go to a place of the log (a position, and boot steps into the next entry)."""
        before = self.frame.as_basis() if self.frame is not None else None
        t0 = time.perf_counter()
        self._drive(self.session.seek(position, detour), cancel=cancel, on_frame=None,
                    progress=progress, stopped="stopped: the seek did not finish")
        return self._emit(f"seek {position}", time.perf_counter() - t0, before=before)

    def seek_by(self, delta: int) -> Frame:
        """The next (+1) or previous (-1) entry of the log."""
        session = self.session
        if delta < 0:
            if not session.position and not session.detour:
                raise UserError("at the start of the session")
            position = session.position if session.detour else session.position - 1
        else:
            if session.position >= len(session.log):
                raise UserError("at the end of the session: nothing recorded after this")
            position = session.position + 1
        return self.seek(position)

    def seek_text(self, text: str) -> Frame:
        """Seek to a position number, ``step N``, a boot step or a bookmark."""
        return self.seek(*self.session.find(text))

    # ------------------------------------------------------------------ sessions

    def load_layout(self, layout: Layout, text: str | None = None) -> Frame:
        t0 = time.perf_counter()
        old = self.session
        self.session = Session(layout, old.strategy, old.seed, layout_source=text)
        self._points.clear()
        return self._emit(f"layout {layout.name}", time.perf_counter() - t0, keep_before=False)

    def open(self, path: str | Path, *, progress: ProgressFn | None = None,
             cancel: Cancel = _never) -> Frame:
        t0 = time.perf_counter()
        session = self._drive(files.opening(path), cancel=cancel, on_frame=None,
                              progress=progress, stopped="stopped: the session was not opened")
        assert isinstance(session, Session)
        self.session = session
        self._points.clear()
        return self._emit(f"opened {path}", time.perf_counter() - t0, keep_before=False)

    def replace(self, session: Session, note: str) -> Frame:
        """Show another session of the same machine, the view kept (the settings'
        change of kernel profile or sanitizer: a session of its own)."""
        self.session = session
        self._points.clear()
        return self._emit(note, 0.0, keep_before=False)

    def adopt(self, session: Session) -> Frame:
        """Show a session made elsewhere (the CLI's ``open``)."""
        self.session = session
        self._points.clear()
        return self._emit("opened", 0.0, keep_before=False)

    def save(self, path: str | Path, view: View | None = None) -> Frame:
        """Save the session; the frame shows its file."""
        files.save(self.session, path, view)
        return self._emit(f"saved {path}", 0.0)
