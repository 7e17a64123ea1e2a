"""The explorer's settings: kernel profile, sanitizer, strategy and strategy options,
and how applying them re-simulates the session (no Textual).

A change of strategy or strategy options is a ``SwitchStrategy`` command: the
session re-simulates its boot steps and workloads under it and records it, as the
strategy keys do (``Runner.switch``). The kernel profile and the sanitizer are part
of the machine's setup, which a session never changes: changing them starts a new
session of the same layout and seed that replays what this one did, boot step by
boot step name (another profile's boot has other steps: the run goes to the last
step both boots share at or before the current one), then the workloads in order.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout_types import KERNELS, SANITIZERS
from kmsan_tui.model.strategies.registry import STRATEGIES, StrategyOption, all_options
from kmsan_tui.session import Command, RunTo, Session, Step, Workload
from kmsan_tui.session.replay import Progress
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.runner import Cancelled, Runner

ProgressFn = Callable[[int, int, str], None]
Cancel = Callable[[], bool]


@dataclass(frozen=True, slots=True)
class Settings:
    """What the settings screen chooses."""

    kernel: str
    sanitizer: str
    strategy: str
    options: tuple[tuple[str, str], ...]  # (key, value) of every strategy option, sorted

    @classmethod
    def of(cls, session: Session) -> Settings:
        setup, config = session.setup, session.config
        return cls(setup.kernel, setup.sanitizer, config.strategy, config.options)

    def changes(self, other: Settings) -> list[str]:
        """What differs from ``other``, as ``key: old -> new`` lines."""
        out = [f"{name}: {getattr(other, name)} → {getattr(self, name)}"
               for name in ("kernel", "sanitizer", "strategy")
               if getattr(self, name) != getattr(other, name)]
        mine, theirs = dict(self.options), dict(other.options)
        out += [f"{key}: {theirs.get(key)} → {value}" for key, value in mine.items()
                if theirs.get(key) != value]
        return out

    def needs_new_session(self, other: Settings) -> bool:
        """Kernel profile and sanitizer are the machine's setup: a new session."""
        return (self.kernel, self.sanitizer) != (other.kernel, other.sanitizer)


def choices() -> list[tuple[str, tuple[str, ...], str]]:
    """(setting, values, what it is) of every setting, in the screen's order."""
    rows: list[tuple[str, tuple[str, ...], str]] = [
        ("kernel", KERNELS, "kernel profile: the init calls and their order"),
        ("sanitizer", SANITIZERS, "the kernel's sanitizer (none: no metadata at all)"),
        ("strategy", STRATEGIES, "KMSAN metadata strategy"),
    ]
    rows += [(opt.key, opt.choices, opt.help) for opt in options()]
    return rows


def options() -> tuple[StrategyOption, ...]:
    return all_options()


def replay_commands(old_steps: tuple[str, ...], new_steps: tuple[str, ...],
                    path: tuple[Step | Workload, ...]) -> Iterator[Command]:
    """The commands that redo ``path`` (units of a boot of ``old_steps``) on a boot of
    ``new_steps``: a run to the last shared step at or before each point a workload
    ran or the path ends, and each workload."""
    shared = set(new_steps)
    boot = 0
    reached = 0  # boot steps of the new boot already run

    def run_to(count: int) -> Iterator[Command]:
        nonlocal reached
        for name in reversed(old_steps[:count]):
            if name in shared:
                index = new_steps.index(name) + 1
                if index > reached:
                    reached = index
                    yield RunTo(name)
                return

    for unit in path:
        if isinstance(unit, Step):
            boot += 1
        else:
            yield from run_to(boot)
            yield Workload(unit.name, unit.ops, unit.seed)
    yield from run_to(boot)


def resimulate(session: Session, settings: Settings) -> Generator[Progress, None, Session]:
    """A new session of ``session``'s layout and seed under ``settings``, having done
    what ``session`` did (see ``replay_commands``)."""
    overrides = {"kernel": settings.kernel, "sanitizer": settings.sanitizer,
                 **dict(settings.options)}
    new = Session(session.layout, settings.strategy, session.seed, overrides,
                  layout_source=session.layout_source)
    for command in replay_commands(session.steps, new.steps, session.history):
        yield from new.execute(command)
    return new


def apply_settings(runner: Runner, settings: Settings, *, cancel: Cancel,
                   progress: ProgressFn | None = None) -> Frame:
    """Apply ``settings`` to the runner's session (worker thread); the frame to show."""
    current = Settings.of(runner.session)
    if not settings.changes(current):
        raise UserError("the settings are those of the session already")
    if not settings.needs_new_session(current):
        changed = tuple((key, value) for key, value in settings.options
                        if dict(current.options).get(key) != value)
        return runner.switch(settings.strategy, options=changed, cancel=cancel,
                             progress=progress)
    work = resimulate(runner.session, settings)
    while True:
        if cancel():
            work.close()
            raise Cancelled("stopped: the settings were not applied")
        try:
            step = next(work)
        except StopIteration as stop:
            new: Session = stop.value
            break
        if progress is not None:
            progress(step.done, step.total, step.what)
    what = ", ".join(settings.changes(current))
    return runner.replace(new, f"settings: {what}")
