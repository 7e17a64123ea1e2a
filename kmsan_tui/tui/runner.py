"""Session commands as the explorer runs them, off the UI thread (no Textual).

The screen queues one command at a time into a thread worker that calls a
``Runner`` method; each returns the ``Frame`` to show, and long commands (running to
a step, a workload, a strategy switch) report progress and stop when ``cancel()``
says so. Running to a step is a series of single steps, so "step back" after it
goes back one boot step, the chart gets a point per step, and the screen can show
the machine booting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import Layout
from kmsan_tui.model.metrics import Metrics
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.session import Command, Session
from kmsan_tui.tui.frame import Basis, ChartPoint, Frame, build_frame, chart_point, frame_of_sim

# While running several steps, show an intermediate frame at most this often.
FRAME_INTERVAL = 0.15

Progress = Callable[[int, int, str], None]  # (done, total, what)
Cancel = Callable[[], bool]
OnFrame = Callable[[Frame], None]


class Cancelled(UserError):
    """The user stopped a long command; the session is where the last whole step left it."""


def _never() -> bool:
    return False


def memory_fingerprint(sim: Simulation) -> str:
    """What memory looks like, without the log: a step that only prints is no change."""
    return sim.memory_digest()


def command_label(sim: Simulation, command: Command) -> str:
    if command.kind == "workload":
        return f"{command.workload}×{command.ops}"
    return sim.steps[sim.current - 1] if sim.current else "start"


def replay_with(session: Session, strategy: str | None = None, seed: int | None = None,
                cancel: Cancel = _never,
                progress: Progress | None = None) -> tuple[Session, list[ChartPoint]]:
    """The session's commands re-run under another strategy or seed, with a chart point
    after each. Session.switch() does the same re-simulation; going through apply()
    keeps undo checkpoints, so "step back" still works after a switch."""
    new = Session(session.layout, strategy or session.strategy,
                  session.seed if seed is None else seed, dict(session.overrides))
    points = [chart_point("start", new.sim.metrics())]
    total = len(session.history)
    for i, command in enumerate(session.history):
        if cancel():
            raise Cancelled("stopped: the switch did not finish")
        new.apply(command)
        points.append(chart_point(command_label(new.sim, command), new.sim.metrics()))
        if progress is not None:
            progress(i + 1, total, "re-simulating")
    return new, points


def other_strategy(session: Session, strategy: str) -> Simulation:
    """The same commands under another strategy: the right side of the comparison."""
    return Session(session.layout, strategy, session.seed,
                   dict(session.overrides)).replay(list(session.history))


def other_strategy_frame(session: Session, strategy: str, serial: int) -> Frame:
    """The comparison's right side as a frame (worker thread): the simulation stays
    private to it, so the comparison screen never holds one."""
    return frame_of_sim(other_strategy(session, strategy), serial, strategy=strategy,
                        seed=session.seed)


class Runner:
    """Owns the session the explorer drives; every method returns the frame to show."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.serial = 0
        self.frame: Frame | None = None
        self._series: list[ChartPoint] = []
        self.last_step_seconds = 0.0
        """Model time of the last single step or step back (the next one's estimate)."""

    # ------------------------------------------------------------------ frames

    def _record(self) -> Metrics:
        """Append the chart point of the current state (one per command in history)."""
        session = self.session
        metrics = session.sim.metrics()
        length = len(session.history)
        label = command_label(session.sim, session.history[-1]) if session.history else "start"
        self._series = self._series[:length] + [chart_point(label, metrics)]
        return metrics

    def _emit(self, note: str, model_seconds: float, metrics: Metrics | None = None,
              before: Basis | None = None, keep_before: bool = True) -> Frame:
        if metrics is None:
            metrics = self._record()
        if before is None and keep_before and self.frame is not None:
            before = self.frame.as_basis()
        self.serial += 1
        self.frame = build_frame(self.session, self.serial, note=note, before=before,
                                 series=tuple(self._series), metrics=metrics,
                                 model_seconds=model_seconds, previous=self.frame)
        return self.frame

    def start(self) -> Frame:
        """The first frame (no command ran in this explorer yet)."""
        if not self._series:
            _new, points = replay_with(self.session) if self.session.history else (
                self.session, [chart_point("start", self.session.sim.metrics())])
            self._series = points
        return self._emit("start", 0.0, keep_before=False)

    # ------------------------------------------------------------------ boot

    def step(self) -> Frame:
        if self.session.sim.done:
            raise UserError("the boot has finished: run a workload (w) or step back (u)")
        t0 = time.perf_counter()
        self.session.step()
        self.last_step_seconds = time.perf_counter() - t0
        return self._emit("step", self.last_step_seconds)

    def undo(self) -> Frame:
        t0 = time.perf_counter()
        if not self.session.undo():
            raise UserError("already at the start: nothing to step back to")
        self.last_step_seconds = time.perf_counter() - t0
        return self._emit("undo", self.last_step_seconds)

    def run_to(self, index: int, *, cancel: Cancel = _never, on_frame: OnFrame | None = None,
               progress: Progress | None = None) -> Frame:
        """Run (or step back) until step ``index`` (0-based) is the last that ran."""
        sim = self.session.sim
        if not 0 <= index < len(sim.steps):
            raise UserError(f"no step {index + 1}: the boot has {len(sim.steps)} steps")
        target = index + 1
        model = 0.0
        before = self.frame.as_basis() if self.frame is not None else None
        last_emit = time.perf_counter()
        total = abs(target - self.session.sim.current)
        done = 0
        while self.session.sim.current != target:
            if cancel():
                break
            t0 = time.perf_counter()
            if self.session.sim.current < target:
                self.session.step()
            elif not self.session.undo():
                break
            self.last_step_seconds = time.perf_counter() - t0
            model += self.last_step_seconds
            metrics = self._record()
            done += 1
            if progress is not None:
                progress(done, total, self.session.sim.steps[target - 1])
            if on_frame is not None and time.perf_counter() - last_emit > FRAME_INTERVAL \
                    and self.session.sim.current != target:
                on_frame(self._emit("running", model, metrics))
                last_emit = time.perf_counter()
        return self._emit(f"run to {self.session.sim.steps[target - 1]}", model, before=before)

    def run_all(self, **kwargs: object) -> Frame:
        return self.run_to(len(self.session.sim.steps) - 1, **kwargs)  # type: ignore[arg-type]

    def next_change(self, *, cancel: Cancel = _never) -> Frame:
        """Run to the next init call that changes memory (steps that only log are skipped)."""
        sim = self.session.sim
        if sim.done:
            raise UserError("the boot has finished: run a workload (w) or step back (u)")
        before = self.frame.as_basis() if self.frame is not None else None
        start = memory_fingerprint(sim)
        t0 = time.perf_counter()
        while not self.session.sim.done and not cancel():
            self.session.step()
            self._record()
            if memory_fingerprint(self.session.sim) != start:
                break
        return self._emit("next init call", time.perf_counter() - t0, before=before)

    # ------------------------------------------------------------------ machine

    def switch(self, strategy: str, *, cancel: Cancel = _never,
               progress: Progress | None = None) -> Frame:
        """Re-simulate the same commands under ``strategy``: same step, same page."""
        t0 = time.perf_counter()
        new, points = replay_with(self.session, strategy=strategy, cancel=cancel,
                                  progress=progress)
        self.session, self._series = new, points
        return self._emit(f"switch to {strategy}", time.perf_counter() - t0)

    def workload(self, name: str, ops: int, seed: int | None = None, *,
                 cancel: Cancel = _never, progress: Progress | None = None) -> Frame:
        """Run a workload; a seed other than the session's gives the workload a
        generator of its own (recorded in the command, so saves replay it)."""
        t0 = time.perf_counter()
        own_seed = seed if seed is not None and seed != self.session.seed else None

        def tick(done: int) -> None:
            if cancel():
                raise Cancelled(f"stopped: workload {name} was cancelled; nothing ran")
            if progress is not None:
                progress(done, ops, name)

        self.session.run_workload(name, ops, progress=tick, seed=own_seed)
        return self._emit(f"workload {name}", time.perf_counter() - t0)

    def load_layout(self, layout: Layout) -> Frame:
        t0 = time.perf_counter()
        self.session.load_layout(layout)
        self._series = []
        return self._emit(f"layout {layout.name}", time.perf_counter() - t0, keep_before=False)

    def open(self, path: str | Path) -> Frame:
        t0 = time.perf_counter()
        session = Session.load(path)
        self.session = session
        _new, self._series = replay_with(session)
        return self._emit(f"opened {path}", time.perf_counter() - t0, keep_before=False)

    def save(self, path: str | Path) -> Path:
        self.session.save(path)
        return Path(path)
