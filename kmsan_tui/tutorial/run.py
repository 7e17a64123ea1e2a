"""A lesson in progress: predictions answered, goals reached by what the learner does.

The explorer (or a test) starts a ``LessonRun`` when a lesson opens, reports each
activity with the simulation as it is right after it, and asks for feedback when the
learner answers a prediction. Nothing here draws or changes the simulation.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from kmsan_tui.model.simulation import Simulation
from kmsan_tui.tutorial.facts import FactValue
from kmsan_tui.tutorial.goals import Activity, Goal
from kmsan_tui.tutorial.lesson import Lesson, Prediction

_KEY = re.compile(r"\{key:([a-z0-9_.]+)\}")


def render(text: str, keys: Mapping[str, str]) -> str:
    """Lesson text with each ``{key:binding_id}`` replaced by the key the active keymap
    binds (so a rebound key is named right); an unknown id stays visible as is."""
    return _KEY.sub(lambda m: keys.get(m.group(1), m.group(0)), text)


def placeholders(text: str) -> set[str]:
    """The binding ids a text names."""
    return set(_KEY.findall(text))


@dataclass(frozen=True, slots=True)
class Feedback:
    """What the model says of an answer."""

    prediction: str
    given: str
    truth: str
    correct: bool
    text: str  # one or two sentences: the gap, then the lesson's explanation


def shown(value: FactValue) -> str:
    """A fact's value as the learner reads and answers it: a flag is yes or no, a whole
    number has no decimals."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def judge(prediction: Prediction, given: str, sim: Simulation) -> Feedback:
    """Compare the learner's answer with the model's (computed from ``sim``, which the
    caller has run to the prediction's reveal step)."""
    value = prediction.answer.value(sim)
    truth = shown(value)
    answer = given.strip()
    if prediction.is_choice:
        correct = answer.lower() == truth.lower()
        gap = "Right" if correct else f"The model says {truth}, not {answer or 'nothing'}"
        return Feedback(prediction.id, answer, truth, correct, f"{gap}. {prediction.explain}")
    try:
        number = float(answer.replace(",", "").replace("_", ""))
        if not math.isfinite(number):
            raise ValueError(answer)
    except ValueError:
        return Feedback(prediction.id, answer, truth, False,
                        f"{answer!r} is not a number; the model says {truth}. {prediction.explain}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return Feedback(prediction.id, answer, truth, False,
                        f"The model says {truth}. {prediction.explain}")
    exact = float(value)
    error = abs(number - exact) / abs(exact) if exact else abs(number)
    correct = error <= prediction.tolerance
    if correct:
        gap = f"Right: the model says {truth}"
    else:
        gap = (f"The model says {truth}; you said {answer}, "
               f"{'over' if number > exact else 'under'} by {error:.0%}")
    return Feedback(prediction.id, answer, truth, correct, f"{gap}. {prediction.explain}")


@dataclass(slots=True)
class LessonRun:
    """One lesson being done: only what happens after it started counts.

    The lesson asks first: while a prediction it asks is unanswered, activities reach
    no goal. A prediction without ``after`` is asked when the lesson opens; one with
    ``after = "goal"`` once that goal is reached (a conclusion the learner states at
    the end, or a question asked halfway through).
    """

    lesson: Lesson
    reached: dict[str, int] = field(default_factory=dict)  # goal id -> activity number
    answers: dict[str, Feedback] = field(default_factory=dict)
    activities: int = 0

    def record(self, activity: Activity, sim: Simulation) -> list[Goal]:
        """The goals this activity reaches (each goal is reached once; none while a
        question the lesson asks is unanswered: it asks before it shows)."""
        if self.pending_prediction() is not None and activity.kind != "answer":
            return []
        self.activities += 1
        new = [g for g in self.lesson.goals
               if g.id not in self.reached and g.reached_by(activity, sim)]
        for goal in new:
            self.reached[goal.id] = self.activities
        return new

    def answer(self, prediction: Prediction, given: str, sim: Simulation) -> Feedback:
        """Judge an answer (the first answer to a prediction is the one that counts)."""
        return self.accept(judge(prediction, given, sim))

    def accept(self, feedback: Feedback) -> Feedback:
        """Keep a judged answer (judged elsewhere, e.g. in a worker thread); the first
        answer to a prediction is the one that counts, and the one returned."""
        return self.answers.setdefault(feedback.prediction, feedback)

    def asked(self, prediction: Prediction) -> bool:
        """Whether the lesson asks this prediction now (or has asked it)."""
        return prediction.after is None or prediction.after in self.reached

    def pending_prediction(self) -> Prediction | None:
        """The first prediction to answer now: unanswered, and its ``after`` goal (if
        any) reached."""
        for p in self.lesson.predictions:
            if p.id not in self.answers and self.asked(p):
                return p
        return None

    @property
    def complete(self) -> bool:
        return (all(g.id in self.reached for g in self.lesson.goals)
                and all(p.id in self.answers for p in self.lesson.predictions))

    def next_goal(self) -> Goal | None:
        """The first goal not reached yet."""
        return next((g for g in self.lesson.goals if g.id not in self.reached), None)
