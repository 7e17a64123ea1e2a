"""Lesson files: the shipped ones are valid against the model; broken ones are one line."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kmsan_tui.model.errors import UserError
from kmsan_tui.tui.keymap import EXPLORER_BINDINGS
from kmsan_tui.tutorial import Activity, LessonRun, find_lesson, load_lesson, shipped_lessons
from kmsan_tui.tutorial.lesson import parse_lesson
from kmsan_tui.tutorial.run import placeholders, render, shown
from kmsan_tui.tutorial.start import start_session, start_simulation

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
            assert shown(truth) in prediction.choices
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
    assert named <= BINDING_IDS, named - BINDING_IDS


def test_keys_in_text_follow_the_active_keymap() -> None:
    assert render("press {key:step}, then {key:undo}", {"step": "space", "undo": "u"}) == \
        "press space, then u"


def test_a_goal_already_true_when_the_lesson_opens_does_not_tick_until_the_learner_acts() -> None:
    lesson = find_lesson("lazy")
    sim = start_simulation(lesson)
    run = LessonRun(lesson)
    run.answer(lesson.predictions[0], "16000", sim)
    sim.run()
    sim.run_workload("fragmenter", 20000)  # the fragmenter goal's condition is now true
    assert sim.metrics().failed_metadata_allocs > 1
    assert run.reached == {}
    assert run.record(Activity.of("tab", tab="metrics"), sim) == []
    assert "fragmenter" not in run.reached  # only a workload the learner runs reaches it
    assert [g.id for g in run.record(Activity.of("workload", workload="fragmenter", ops=100),
                                     sim)] == ["fragmenter"]


def test_lesson_4s_boot_leaves_one_failure_so_the_fragmenter_goal_needs_more() -> None:
    sim = start_simulation(find_lesson("lazy"))
    sim.run()
    metrics = sim.metrics()
    assert metrics.failed_metadata_allocs == 1 and metrics.blind_spot_pages > 0


def test_goals_wait_for_the_question_the_lesson_asks_first() -> None:
    lesson = find_lesson("buddy")
    sim = start_simulation(lesson)
    sim.run_to("memblock_free_all")
    run = LessonRun(lesson)
    alloc = Activity.of("alloc", order=0, pfn=0x1800, migratetype="Unmovable")
    assert run.record(alloc, sim) == []  # unanswered: nothing counts yet
    run.answer(lesson.predictions[0], "8", sim)
    assert [g.id for g in run.record(alloc, sim)] == ["split"]


def test_a_question_asked_after_a_goal_waits_for_that_goal() -> None:
    lesson = find_lesson("tradeoff")
    run = LessonRun(lesson)
    sim = start_simulation(lesson)
    assert run.pending_prediction() is lesson.predictions[0]
    run.answer(lesson.predictions[0], "fixed", sim)
    assert run.pending_prediction() is None  # the conclusion comes after the comparison
    run.record(Activity.of("compare", left="eager", right="lazy"), sim)
    assert run.pending_prediction() is lesson.predictions[1]
    feedback = run.answer(lesson.predictions[1], "No", sim)
    assert feedback.correct and feedback.truth == "no"
    assert run.complete


def test_a_lesson_passes_strategy_options_to_its_machine() -> None:
    session = start_session(find_lesson("lazy"))
    assert dict(session.config.options)["lazy_activation"] == "page_ext_init"
    assert session.sim.step_name == "memblock_free_all" and not session.dirty


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
    from kmsan_tui.model.constants import MigrateType

    pfn = revealed.alloc_pages(0, MigrateType.UNMOVABLE, "tutorial")
    assert pfn is not None
    run.record(Activity.of("alloc", order=0, pfn=pfn, migratetype="Unmovable"), revealed)
    assert revealed.free_pages(pfn)
    run.record(Activity.of("free", order=0, pfn=pfn, migratetype="Unmovable"), revealed)
    assert run.complete


def test_a_flag_is_answered_yes_or_no_and_a_whole_number_without_decimals() -> None:
    assert (shown(True), shown(False), shown(18.0), shown(2449.8), shown(8)) == \
        ("yes", "no", "18", "2449.8", "8")


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
    ("+++\ntitle = 'x'\n[start]\noptions = { lazy_activation = 'later' }\n[[goal]]\nid = 'a'\n"
     "text = 't'\nevent = 'step'\n+++\nbody\n", "start: options: lazy_activation: expected one of"),
    ("+++\ntitle = 'x'\n[start]\noptions = { colour = 'red' }\n[[goal]]\nid = 'a'\n"
     "text = 't'\nevent = 'step'\n+++\nbody\n", "start: options: colour: not a strategy option"),
    ("+++\ntitle = 'x'\n[[prediction]]\nid = 'p'\nquestion = 'q'\nexplain = 'e'\nafter = 'nope'\n"
     "answer = { fact = 'metric', name = 'free_pages' }\n+++\nbody\n",
     "prediction[0]: after: no goal 'nope'"),
    ("+++\ntitle = 'x'\n[[prediction]]\nid = 'p'\nquestion = 'q'\nexplain = 'e'\n"
     "answer = { fact = 'metric_gib', name = 'step' }\n+++\nbody\n",
     "prediction[0]: answer: name: 'step' is not a size"),
    ("+++\ntitle = 'x'\n[start]\nsession = 'a.json'\nstrategy = 'lazy'\n[[goal]]\nid = 'a'\n"
     "text = 't'\nevent = 'step'\n+++\nbody\n", "start: strategy: a lesson starting from a session"),
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
