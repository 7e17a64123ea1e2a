"""The lesson open in the explorer, over the runner's session (no Textual).

The screens never see the model's ``Simulation`` (tests/tui/test_frame.py): what a
lesson needs of it goes through here. A ``Tutor`` keeps the lesson, the learner's
``LessonRun``, the state the lesson opened on (the truth of its predictions is
computed from it), and which frames are the lesson's own doing rather than the
learner's. Goals are judged on the state the explorer shows, the session's (blocks
allocated and freed by hand are session commands too).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from kmsan_tui.model.simulation import Simulation
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.runner import Runner
from kmsan_tui.tutorial import Activity, Feedback, Goal, Lesson, LessonRun, Prediction
from kmsan_tui.tutorial.run import judge
from kmsan_tui.tutorial.start import revealed, start_session


@dataclass(slots=True)
class Tutor:
    """One lesson being done in the explorer."""

    lesson: Lesson
    start: Simulation  # the state it opened on (never stepped again)
    serial: int  # frames up to this one are the lesson's doing, not the learner's
    seen_step: int  # the boot step of the last frame read for activities
    run: LessonRun = field(init=False)

    def __post_init__(self) -> None:
        self.run = LessonRun(self.lesson)

    @classmethod
    def opening(cls, runner: Runner, lesson: Lesson) -> tuple[Tutor, Frame]:
        """Build the lesson's starting session and show it (worker thread)."""
        session = start_session(lesson)
        start = session.sim  # the session copies before it steps: this one stays
        frame = runner.adopt(session)
        return cls(lesson, start, frame.serial, start.current), frame

    @classmethod
    def here(cls, runner: Runner, lesson: Lesson) -> Tutor:
        """The lesson on the state the runner shows (the CLI built it already)."""
        sim = runner.session.sim
        return cls(lesson, sim, runner.frame.serial if runner.frame else 0, sim.current)

    def activities(self, frame: Frame) -> list[Activity]:
        """What the learner did, as a finished command's frame shows it: steps (one per
        boot step run), a step back, a switch, a workload. Nothing for the lesson's own
        frames, a half-done command, a new machine, a note, or an operation by hand
        (its handler reports it)."""
        if frame.serial <= self.serial or frame.note == "running":
            return []
        note = frame.note.partition(": ")[2] if frame.note.startswith("branched") else frame.note
        before, self.seen_step = self.seen_step, frame.step_index
        if note.startswith(("opened", "layout", "saved", "go to", "bookmark", "start", "alloc",
                            "free", "bad free", "undo ")):
            return []
        if note.startswith("switch to"):
            return [Activity.of("switch", strategy=frame.strategy)]
        if note.startswith("workload"):
            # The chart's label of a workload unit: "fragmenter×20000".
            name, _, ops = frame.series[-1].label.rpartition("×") if frame.series else ("", "", "")
            return [Activity.of("workload", workload=name or note.split()[-1],
                                ops=int(ops) if ops.isdigit() else 0)]
        if note == "undo" or frame.step_index < before:
            return [Activity.of("back", step=frame.step_name)]
        return [Activity.of("step", step=frame.steps[index].name)
                for index in range(before, frame.step_index)]

    def record(self, activity: Activity, runner: Runner) -> list[Goal]:
        """The goals an activity reaches, judged on the state the explorer shows."""
        return self.run.record(activity, runner.session.sim)

    def judging(self, prediction: Prediction, given: str,
                runner: Runner) -> Callable[[], Feedback]:
        """A job that judges an answer (run it in a worker: a fact may boot the machine
        three times). The truth is the lesson's own start run to the reveal step, or,
        without one, the state shown now."""
        now = runner.session.sim
        start = self.start

        def judge_it() -> Feedback:
            return judge(prediction, given, revealed(start, prediction) if prediction.reveal
                         else now)

        return judge_it
