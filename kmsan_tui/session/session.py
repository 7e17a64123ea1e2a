"""A session: a simulation plus the commands that brought it where it is.

Every command is recorded, so a session can be saved (the layout, the strategy, the
seed and the commands), loaded and replayed to the same digest, and re-run under
another strategy to the same point. Undo restores a checkpoint copied before each
command (the model is O(extents), so a copy is cheap even for a TiB machine).
"""

from __future__ import annotations

import copy
import json
import os
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import Layout, load_layout
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.model.strategies.registry import STRATEGIES
from kmsan_tui.model.workloads import WORKLOADS

SAVE_FORMAT = 1
MAX_CHECKPOINTS = 64


class SessionError(UserError):
    """A save file that cannot be loaded; the message names the file and the key."""


@dataclass(frozen=True, slots=True)
class Command:
    """One user command: ``step``, ``run_to`` (step name), ``run`` or ``workload``
    (name, ops and, optionally, a seed of its own)."""

    kind: str
    step: str = ""
    workload: str = ""
    ops: int = 0
    seed: int | None = None


@dataclass(slots=True)
class Session:
    """The simulation the UI shows, and how to get back to any earlier point."""

    layout: Layout
    strategy: str = "eager"
    seed: int = 0
    overrides: dict[str, str] = field(default_factory=dict)
    sim: Simulation = field(init=False)
    history: list[Command] = field(default_factory=list)
    _undo: list[tuple[Simulation, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.strategy not in STRATEGIES:
            raise UserError(f"unknown strategy {self.strategy!r}")
        self.sim = self._fresh()

    def _fresh(self) -> Simulation:
        return Simulation(self.layout, self.strategy, self.seed, **self.overrides)

    # -------------------------------------------------------------- commands

    def apply(self, command: Command, progress: Callable[[int], None] | None = None,
              checkpoint: bool = True) -> None:
        """Run one command and record it.

        With a checkpoint (undoable), the command runs on a copy: the previous
        Simulation object goes onto the undo stack untouched and is never mutated
        again, so a reader (the UI's frames) may keep it without copying. Without one
        (the CLI), the simulation is stepped in place.
        """
        if not checkpoint:
            self._run(self.sim, command, progress)
            self.history.append(command)
            return
        work = copy.deepcopy(self.sim)
        self._run(work, command, progress)  # on failure self.sim is unchanged
        self._undo.append((self.sim, len(self.history)))
        if len(self._undo) > MAX_CHECKPOINTS:
            del self._undo[0]
        self.sim = work
        self.history.append(command)

    @staticmethod
    def _run(sim: Simulation, command: Command,
             progress: Callable[[int], None] | None = None) -> None:
        if command.kind == "step":
            sim.step()
        elif command.kind == "run_to":
            sim.run_to(command.step)
        elif command.kind == "run":
            sim.run()
        elif command.kind == "workload":
            if command.workload not in WORKLOADS:
                raise UserError(f"unknown workload {command.workload!r}")
            for done in sim.iter_workload(command.workload, command.ops, seed=command.seed):
                if progress is not None:
                    progress(done)
        else:
            raise UserError(f"unknown command {command.kind!r}")

    def step(self) -> None:
        self.apply(Command("step"))

    def run_to(self, step: str) -> None:
        index = self.sim.index_of(step)
        if index < self.sim.current:
            raise UserError(f"{step} has already run (step {index + 1} of {len(self.sim.steps)})")
        self.apply(Command("run_to", step=step))

    def run_all(self) -> None:
        self.apply(Command("run"))

    def run_workload(self, name: str, ops: int,
                     progress: Callable[[int], None] | None = None,
                     seed: int | None = None) -> None:
        self.apply(Command("workload", workload=name, ops=ops, seed=seed), progress)

    def undo(self) -> bool:
        """Go back one command; False when at the start."""
        if not self.history:
            return False
        if self._undo:
            self.sim, length = self._undo.pop()
            del self.history[length:]
            return True
        # Checkpoints ran out: replay all but the last command.
        self.history.pop()
        self.sim = self.replay(self.history)
        return True

    def replay(self, commands: list[Command]) -> Simulation:
        sim = self._fresh()
        for command in commands:
            self._run(sim, command)
        return sim

    def switch(self, strategy: str | None = None, **overrides: str) -> None:
        """Re-simulate the same commands under another strategy (or kernel settings)."""
        if strategy is not None:
            if strategy not in STRATEGIES:
                raise UserError(f"unknown strategy {strategy!r}")
            self.strategy = strategy
        self.overrides.update(overrides)
        self.sim = self.replay(self.history)
        self._undo.clear()

    def load_layout(self, layout: Layout) -> None:
        self.layout = layout
        self.history.clear()
        self._undo.clear()
        self.sim = self._fresh()

    # -------------------------------------------------------------- save/load

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": SAVE_FORMAT,
            "layout": self.layout.name if self.layout.source.startswith("layouts/")
            else self.layout.source,
            "strategy": self.strategy,
            "seed": self.seed,
            "overrides": dict(self.overrides),
            "commands": [asdict(c) for c in self.history],
            "digest": self.sim.digest(),
        }

    def save(self, path: str | Path) -> None:
        """Write the session atomically (temp file + rename): a crash never loses a save."""
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(self.to_dict(), f, indent=1)
                f.write("\n")
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    @classmethod
    def load(cls, path: str | Path) -> Session:
        """Load and replay a saved session; check it reaches the saved digest."""
        source = str(path)
        try:
            data = json.loads(Path(path).read_text())
        except OSError as exc:
            raise SessionError(f"{source}: cannot read: {exc.strerror or exc}") from None
        except json.JSONDecodeError as exc:
            raise SessionError(f"{source}: line {exc.lineno}: {exc.msg}") from None
        if not isinstance(data, dict):
            raise SessionError(f"{source}: expected a JSON object")

        def field_(key: str, kind: type) -> Any:
            if key not in data:
                raise SessionError(f"{source}: {key}: missing")
            if not isinstance(data[key], kind) or isinstance(data[key], bool) and kind is int:
                raise SessionError(f"{source}: {key}: expected {kind.__name__}")
            return data[key]

        if field_("format", int) != SAVE_FORMAT:
            raise SessionError(f"{source}: format: unsupported version {data['format']}")
        session = cls(load_layout(field_("layout", str)), field_("strategy", str),
                      field_("seed", int), dict(data.get("overrides", {})))
        for i, raw in enumerate(field_("commands", list)):
            if not isinstance(raw, dict) or raw.get("kind") not in ("step", "run_to", "run",
                                                                     "workload"):
                raise SessionError(f"{source}: commands[{i}]: not a command")
            try:
                command = Command(**raw)
            except TypeError:
                raise SessionError(f"{source}: commands[{i}]: unexpected keys") from None
            try:
                session._run(session.sim, command)
            except UserError as exc:
                raise SessionError(f"{source}: commands[{i}]: {exc}") from None
            session.history.append(command)
        want = data.get("digest")
        if want is not None and want != session.sim.digest():
            raise SessionError(f"{source}: digest: replay reached {session.sim.digest()}, "
                               f"the save says {want}")
        return session
