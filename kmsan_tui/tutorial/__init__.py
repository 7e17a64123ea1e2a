"""The guided tutorial: lessons as data files, the checks that tick their goals, and
the learner's progress. No Textual here: the explorer shows a lesson, it does not own it."""

from __future__ import annotations

from kmsan_tui.tutorial.goals import Activity, Goal
from kmsan_tui.tutorial.lesson import Lesson, Prediction, Start, find_lesson, load_lesson, shipped_lessons
from kmsan_tui.tutorial.progress import Progress
from kmsan_tui.tutorial.run import Feedback, LessonRun, judge, render

__all__ = ["Activity", "Feedback", "Goal", "Lesson", "LessonRun", "Prediction", "Progress", "Start",
           "find_lesson", "judge", "load_lesson", "render", "shipped_lessons"]
