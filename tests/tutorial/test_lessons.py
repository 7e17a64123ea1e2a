"""Lesson files: the shipped ones are valid against the model; broken ones are one line."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsan_tui.model.errors import UserError
from kmsan_tui.tutorial import Activity, LessonRun, find_lesson, load_lesson, shipped_lessons
from kmsan_tui.tutorial.lesson import parse_lesson, start_simulation
from kmsan_tui.tutorial.run import placeholders, render
from kmsan_tui.tui.keymap import EXPLORER_BINDINGS

LESSONS = shipped_lessons()
BINDING_IDS = {b.id for b in EXPLORER_BINDINGS}


def test_the_six_lessons_come_in_their_order() -> None:
    assert [lesson.slug for lesson in LESSONS] == [
        "buddy", "memblock", "kmsan-shadow", "lazy", "fixed", "tradeoff"]
    assert [lesson.number for lesson in LESSONS] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_every_check_of_a_lesson_refers_to_something_the_model_has(lesson: object) -> None:
    from kmsan_tui.tutorial import Lesson

    assert isinstance(lesson, Lesson)
    sim = start_simulation(lesson)
    for prediction in lesson.predictions:
        revealed = copy.deepcopy(sim)
        if prediction.reveal:
            assert prediction.reveal in revealed.steps
            assert revealed.steps.index(prediction.reveal) >= revealed.current
            revealed.run_to(prediction.reveal)
        truth = prediction.answer.value(revealed)
        if prediction.is_choice:
            assert str(truth) in prediction.choices
    for goal in lesson.goals:
        if goal.when is not None:
            goal.when.fact.value(sim)  # computable on the model
        step = dict(goal.match).get("step")
        if step is not None:
            assert step in sim.steps


@pytest.mark.parametrize("lesson", LESSONS, ids=lambda lesson: lesson.slug)
def test_lesson_text_names_keys_by_binding_id(lesson: object) -> None:
    from kmsan_tui.tutorial import Lesson

    assert isinstance(lesson, Lesson)
    texts = [lesson.body] + [g.text for g in lesson.goals] + [p.question for p in lesson.predictions]
    named = set().union(*(placeholders(t) for t in texts))
    assert named <= BINDING_IDS | {"alloc_page", "free_page"}, named - BINDING_IDS


def test_keys_in_text_follow_the_active_keymap() -> None:
    assert render("press {key:step}, then {key:undo}", {"step": "space", "undo": "u"}) == \
        "press space, then u"


def test_a_goal_already_true_when_the_lesson_opens_does_not_tick_until_the_learner_acts() -> None:
    lesson = find_lesson("kmsan-shadow")
    sim = start_simulation(lesson)
    sim.run_to("memblock_free_all")  # the held-back goal's condition is already true
    run = LessonRun(lesson)
    assert run.reached == {}
    assert run.record(Activity.of("tab", tab="metrics"), sim) == []
    sim.step()
    reached = run.record(Activity.of("step", step="mem_init"), sim)
    assert reached == []  # not the step the goal names
    assert "held-back" not in run.reached


def test_a_wrong_prediction_gets_the_gap_and_the_explanation() -> None:
    lesson = find_lesson("buddy")
    sim = start_simulation(lesson)
    sim.run_to("memblock_free_all")
    feedback = LessonRun(lesson).answer(lesson.predictions[0], "3", sim)
    assert not feedback.correct
    assert feedback.truth == "8"
    assert "The model says 8; you said 3, under by 62%" in feedback.text
    assert "__free_pages_memory()" in feedback.text


def test_a_lesson_is_done_by_what_the_learner_does() -> None:
    lesson = find_lesson("buddy")
    sim = start_simulation(lesson)
    run = LessonRun(lesson)
    revealed = copy.deepcopy(sim)
    revealed.run_to("memblock_free_all")
    assert run.answer(lesson.predictions[0], "8", revealed).correct
    sim.step()
    run.record(Activity.of("step", step=sim.steps[sim.current - 1]), sim)
    assert "hand-over" in run.reached
    from kmsan_tui.model.constants import MigrateType

    pfn = sim.alloc_pages(0, MigrateType.MOVABLE, "tutorial")
    assert pfn is not None
    run.record(Activity.of("alloc", order=0, pfn=pfn), sim)
    sim.free_pages(pfn)
    run.record(Activity.of("free", order=0, pfn=pfn), sim)
    assert run.complete


BROKEN = [
    ("no front matter\n", "line 1: a lesson starts with a +++ line"),
    ("+++\ntitle = 'x'\n", "no closing +++ line"),
    ("+++\ntitle = 'x'\n[[goal]]\nid = 'a'\ntext = 't'\nevent = 'dance'\n+++\nbody\n",
     "goal[0]: event: expected one of"),
    ("+++\ntitle = 'x'\n[[goal]]\nid = 'a'\ntext = 't'\nevent = 'step'\nmatch = { colour = 'red' }\n"
     "+++\nbody\n", "goal[0]: match.colour: a 'step' event has step"),
    ("+++\ntitle = 'x'\n[[prediction]]\nid = 'p'\nquestion = 'q'\nexplain = 'e'\n"
     "answer = { fact = 'metric', name = 'happiness' }\n+++\nbody\n",
     "prediction[0]: answer: name: no metric 'happiness'"),
    ("+++\ntitle = 'x'\n\nbad = = 1\n+++\nbody\n", "(at line 4"),
    ("+++\ntitle = 'x'\n[[goal]]\nid = 'a'\ntext = 't'\nevent = 'step'\n+++\n\n", "has no text"),
]


@pytest.mark.parametrize(("text", "message"), BROKEN)
def test_a_broken_lesson_file_is_one_line_naming_file_and_place(
        tmp_path: Path, text: str, message: str) -> None:
    f = tmp_path / "07-broken.md"
    f.write_text(text)
    with pytest.raises(UserError) as err:
        load_lesson(f)
    line = str(err.value)
    assert line.startswith(str(f)) and message in line and "\n" not in line


@settings(max_examples=150, derandomize=True)
@given(st.text(max_size=400))
def test_any_text_is_a_lesson_or_one_user_error(text: str) -> None:
    try:
        parse_lesson("+++\n" + text + "\n+++\nbody\n", "fuzz.md", 0, "fuzz")
    except UserError as exc:
        assert "\n" not in str(exc).strip()
