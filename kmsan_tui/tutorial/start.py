"""Where a lesson opens, and the state its predictions are judged on.

A lesson's ``[start]`` names a machine (a layout, a strategy and its options, a
sanitizer, a kernel profile, a seed) run to a step, or a saved session. The explorer
opens a lesson on ``start_session``: a ``Session`` like any other, so stepping back,
saving and branching work as they always do. The truth of a prediction comes from
the lesson's own simulation (``revealed``), not from whatever the learner did since
the lesson opened: the same answer for everyone, every time.
"""

from __future__ import annotations

import copy
from pathlib import Path

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import load_layout
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.session import Session, files
from kmsan_tui.tutorial.lesson import Lesson, Prediction


def _beside(lesson: Lesson, spec: str) -> str:
    """A path in a lesson file is relative to the file (a shipped name stays a name)."""
    if spec.endswith((".toml", ".json")) and not Path(spec).is_absolute():
        return str(Path(lesson.source).parent / spec)
    return spec


def _in_lesson(lesson: Lesson, exc: UserError) -> UserError:
    return UserError(f"{lesson.source}: start: {exc}")


def start_session(lesson: Lesson) -> Session:
    """The session a lesson opens on: its machine run to ``until`` (or to the step
    before ``before``), or its saved session (at ``until``, if given). Any problem is one
    ``UserError`` line naming the lesson file."""
    start = lesson.start
    try:
        if start.session is not None:
            session = files.load(_beside(lesson, start.session))
            if start.until:  # a boot step, a bookmark or a position of the recording
                session.seek_now(*session.find(start.until))
            return session
        overrides = dict(start.options)
        if start.sanitizer:
            overrides["sanitizer"] = start.sanitizer
        if start.kernel:
            overrides["kernel"] = start.kernel
        session = Session(load_layout(_beside(lesson, start.layout)), start.strategy, start.seed,
                          overrides)
        if start.until:
            session.run_to(start.until)
        elif start.before:
            steps = session.steps
            if start.before not in steps:
                raise UserError(f"before: unknown step {start.before!r} for this kernel "
                                f"(steps: {', '.join(steps)})")
            index = steps.index(start.before)
            if index:
                session.run_to(steps[index - 1])
        session.dirty = False  # the lesson's own start: nothing of the learner's to save
        return session
    except UserError as exc:
        raise _in_lesson(lesson, exc) from None


def start_simulation(lesson: Lesson) -> Simulation:
    """The simulation a lesson opens on (a copy: the caller may step it)."""
    return copy.deepcopy(start_session(lesson).sim)


def revealed(start: Simulation, prediction: Prediction) -> Simulation:
    """The state a prediction is judged on: the lesson's start run to ``reveal`` (a
    copy; ``start`` is left as it was). Without ``reveal`` the caller judges on the
    state it shows now."""
    sim = copy.deepcopy(start)
    if prediction.reveal and not (prediction.reveal in sim.steps
                                  and sim.current > sim.steps.index(prediction.reveal)):
        sim.run_to(prediction.reveal)
    return sim
