"""The commands a session records: one frozen dataclass per kind.

A session is a layout, a seed and an ordered log of these. The state-changing ones
(``Step``, ``RunTo``, ``RunAll``, ``Back``, ``SwitchStrategy``, ``Workload``,
``AllocPages``, ``FreePages``) move the simulation; ``GoTo`` (the map cursor) and
``Bookmark`` (a note) only mark the log, for whoever replays it. ``Step``,
``Workload`` and the two operations by hand are also the *units* a state is built
from: every state is "these units, in this order, under this strategy", and ``Back``
removes the last unit.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from kmsan_tui.model.errors import UserError

MAX_OPS = 10_000_000
"""Operations one workload command may ask for (about two minutes of simulation)."""
MAX_SEED = (1 << 53) - 1
"""Seeds are stored in JSON: keep them to what every JSON reader holds exactly."""
MAX_NOTE = 2000
"""Characters of a bookmark's note."""
MAX_PFN = (1 << 52) - 1
"""Highest page frame a 5-level x86-64 machine can address (52-bit physical)."""


@dataclass(frozen=True, slots=True)
class Step:
    """Run the next boot step (the next init call)."""

    kind: ClassVar[str] = "step"


@dataclass(frozen=True, slots=True)
class RunTo:
    """Run, or step back, until ``step`` is the last boot step that ran."""

    step: str
    kind: ClassVar[str] = "run_to"


@dataclass(frozen=True, slots=True)
class RunAll:
    """Run every boot step that is left."""

    kind: ClassVar[str] = "run_all"


@dataclass(frozen=True, slots=True)
class Back:
    """Undo the last boot step or workload."""

    kind: ClassVar[str] = "back"


@dataclass(frozen=True, slots=True)
class SwitchStrategy:
    """Re-simulate everything so far under another strategy (and strategy options)."""

    strategy: str
    options: tuple[tuple[str, str], ...] = ()
    kind: ClassVar[str] = "switch_strategy"


@dataclass(frozen=True, slots=True)
class Workload:
    """``ops`` operations of a workload; with a ``seed``, from a generator of its own
    (else from the simulation's)."""

    name: str
    ops: int
    seed: int | None = None
    kind: ClassVar[str] = "workload"

    def __post_init__(self) -> None:
        if not 0 <= self.ops <= MAX_OPS:
            raise UserError(f"workload {self.name}: {self.ops:,} operations is outside "
                            f"0..{MAX_OPS:,} (--ops)")
        if self.seed is not None and not 0 <= self.seed <= MAX_SEED:
            raise UserError(f"workload {self.name}: seed {self.seed} is outside 0..2**53-1")


HAND_ORDERS = range(11)
"""Orders alloc_pages() hands out: 0 to MAX_PAGE_ORDER (10)."""
HAND_TYPES = ("Unmovable", "Movable", "Reclaimable")
"""The migratetypes a caller asks for (gfp_migratetype(): the per-cpu list types)."""


@dataclass(frozen=True, slots=True)
class AllocPages:
    """One ``alloc_pages()`` by hand (the explorer's ``a``), KMSAN's hook included; a
    failure is what the kernel logs ("page allocation failure")."""

    order: int
    migratetype: str  # a label of HAND_TYPES
    kind: ClassVar[str] = "alloc_pages"

    def __post_init__(self) -> None:
        if self.order not in HAND_ORDERS:
            raise UserError(f"alloc_pages: order {self.order} is outside 0..10")
        if self.migratetype not in HAND_TYPES:
            raise UserError(f"alloc_pages: migratetype {self.migratetype!r} (expected "
                            f"{', '.join(HAND_TYPES)})")


@dataclass(frozen=True, slots=True)
class FreePages:
    """``__free_pages()`` by hand (``X``) of the allocated block holding ``pfn``; a page
    that is not allocated, or KMSAN's own, is refused with the kernel's bad_page() line."""

    pfn: int
    kind: ClassVar[str] = "free_pages"

    def __post_init__(self) -> None:
        if not 0 <= self.pfn <= MAX_PFN:
            raise UserError(f"free_pages: pfn {self.pfn} is outside 0..2**52-1")


@dataclass(frozen=True, slots=True)
class GoTo:
    """The map cursor went to page frame ``pfn`` (a place worth showing)."""

    pfn: int
    kind: ClassVar[str] = "goto"

    def __post_init__(self) -> None:
        if not 0 <= self.pfn <= MAX_PFN:
            raise UserError(f"go to: pfn {self.pfn} is outside 0..2**52-1")


@dataclass(frozen=True, slots=True)
class Bookmark:
    """A note at this point of the session (a guided tour's stops)."""

    note: str
    kind: ClassVar[str] = "bookmark"

    def __post_init__(self) -> None:
        if len(self.note) > MAX_NOTE:
            raise UserError(f"bookmark: a note of more than {MAX_NOTE} characters")


Command = (Step | RunTo | RunAll | Back | SwitchStrategy | Workload | AllocPages | FreePages
           | GoTo | Bookmark)
"""Anything a session records."""
Unit = Step | Workload | AllocPages | FreePages
"""What a state is built from."""

STATE_CHANGING: tuple[type, ...] = (Step, RunTo, RunAll, Back, SwitchStrategy, Workload,
                                    AllocPages, FreePages)
COMMAND_KINDS: dict[str, type] = {cls.kind: cls for cls in (
    Step, RunTo, RunAll, Back, SwitchStrategy, Workload, AllocPages, FreePages, GoTo,
    Bookmark)}


def changes_state(command: Command) -> bool:
    """Whether the command moves the simulation (and is followed by a digest)."""
    return isinstance(command, STATE_CHANGING)


def describe(command: Command) -> str:
    """One line for lists and messages: ``run to mem_init``, ``workload fragmenter×5000``."""
    match command:
        case Step():
            return "step"
        case RunTo(step=step):
            return f"run to {step}"
        case RunAll():
            return "run to the end"
        case Back():
            return "step back"
        case SwitchStrategy(strategy=strategy, options=options):
            extra = "".join(f" {k}={v}" for k, v in options)
            return f"switch to {strategy}{extra}"
        case Workload(name=name, ops=ops, seed=seed):
            return f"workload {name}×{ops}" + (f" (seed {seed})" if seed is not None else "")
        case AllocPages(order=order, migratetype=mt):
            return f"alloc_pages order {order} {mt}"
        case FreePages(pfn=pfn):
            return f"free_pages pfn {pfn:#x}"
        case GoTo(pfn=pfn):
            return f"go to pfn {pfn:#x}"
        case Bookmark(note=note):
            return f"bookmark: {note}"
    raise AssertionError(command)
