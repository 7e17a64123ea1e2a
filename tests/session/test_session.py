"""The session: commands, the log, stepping back, switching, seeking and branching."""

from __future__ import annotations

import pytest

from kmsan_tui.model import Simulation, load_layout
from kmsan_tui.model.errors import UserError
from kmsan_tui.session import (
    Back,
    Bookmark,
    GoTo,
    Outcome,
    RunAll,
    RunTo,
    Session,
    Step,
    SwitchStrategy,
    Workload,
)
from kmsan_tui.session.replay import Engine, Plan, replay


def session(strategy: str = "eager", seed: int = 5) -> Session:
    return Session(load_layout("tiny-64m"), strategy, seed=seed)


def fresh_digest(strategy: str, *commands: str, seed: int = 5) -> str:
    sim = Simulation(load_layout("tiny-64m"), strategy, seed)
    for step in commands:
        sim.run_to(step)
    return sim.digest()


def test_every_state_changing_command_is_logged_with_the_digest_after_it() -> None:
    s = session()
    s.run_to("memblock_free_all")
    s.step()
    s.apply(Bookmark("after the hand-over"))
    assert [e.command for e in s.log] == [RunTo("memblock_free_all"), Step(),
                                         Bookmark("after the hand-over")]
    assert s.log[1].digest == s.sim.digest() and s.log[2].digest is None
    assert s.log[0].digest == fresh_digest("eager", "memblock_free_all")


def test_back_restores_the_previous_state_exactly() -> None:
    s = session()
    s.run_to("memblock_free_all")
    before = s.sim.digest()
    s.step()
    assert s.sim.digest() != before
    assert s.undo()
    assert s.sim.digest() == before and s.log[-1].command == Back()
    assert s.sim.steps[s.sim.current - 1] == "memblock_free_all"


def test_back_at_the_start_does_nothing() -> None:
    s = session()
    assert s.undo() is False
    assert s.sim.current == 0 and s.log == []


def test_run_to_a_step_already_run_steps_back_to_it() -> None:
    s = session()
    s.run_to("mem_init")
    s.run_to("sparse_init")
    assert s.sim.step_name == "sparse_init"
    assert s.sim.digest() == fresh_digest("eager", "sparse_init")


def test_an_unknown_step_is_refused_before_anything_changes() -> None:
    s = session()
    s.step()
    with pytest.raises(UserError, match="unknown step 'nope'"):
        s.run_to("nope")
    assert len(s.log) == 1 and s.sim.current == 1


def test_switching_strategy_re_simulates_to_the_same_step() -> None:
    s = session("eager")
    s.run_to("kmem_cache_init")
    s.run_workload("pagecache", 500)
    step = s.sim.current
    s.switch("lazy")
    assert s.sim.strategy.name == "lazy" and s.sim.current == step
    assert s.sim.counters.workload_ops == 500
    fresh = session("lazy")
    fresh.run_to("kmem_cache_init")
    fresh.run_workload("pagecache", 500)
    assert fresh.sim.digest() == s.sim.digest()


def test_back_after_a_switch_stays_with_the_new_strategy() -> None:
    s = session("eager")
    s.run_to("mem_init")
    s.switch("fixed")
    s.undo()
    assert s.strategy == "fixed" and s.sim.step_name == "memblock_free_all"
    assert s.sim.digest() == fresh_digest("fixed", "memblock_free_all")


def test_a_workload_with_its_own_seed_differs_from_one_on_the_simulation_generator() -> None:
    a, b = session(), session()
    for s in (a, b):
        s.run_all()
    a.run_workload("fragmenter", 800)
    b.run_workload("fragmenter", 800, seed=99)
    assert a.sim.digest() != b.sim.digest()
    assert b.history[-1] == Workload("fragmenter", 800, 99)


@pytest.mark.parametrize("ops", [-1, 10_000_001])
def test_workload_operations_are_bounded(ops: int) -> None:
    with pytest.raises(UserError, match="operations"):
        Workload("thp", ops)


def test_seeking_shows_any_logged_state_and_the_end_again() -> None:
    s = session("lazy")
    s.run_to("mem_init")
    s.run_all()
    s.run_workload("fragmenter", 600)
    digests = [e.digest for e in s.log]
    for position in (1, 0, 2, 3):
        s.seek_now(position)
        assert s.position == position
        assert s.sim.digest() == (digests[position - 1] if position else
                                  Session(s.layout, "lazy", 5).sim.digest())


def test_seeking_to_a_boot_step_inside_a_run_lands_between_entries() -> None:
    s = session()
    s.run_all()
    position, detour = s.find("kmsan_init_shadow")
    assert position == 0 and detour == s.steps.index("kmsan_init_shadow") + 1
    s.seek_now(position, detour)
    assert s.sim.digest() == fresh_digest("eager", "kmsan_init_shadow")


def test_a_command_after_seeking_back_follows_the_recording_when_it_is_the_next_one() -> None:
    s = session()
    for _ in range(3):
        s.step()
    s.seek_now(1)
    assert s.apply(Step()) is Outcome.FOLLOWED
    assert s.position == 2 and len(s.log) == 3 and s.parent is None


def test_another_command_after_seeking_back_branches() -> None:
    s = session()
    s.run_to("mem_init")
    s.run_all()
    s.seek_now(1)
    assert s.apply(SwitchStrategy("lazy")) is Outcome.BRANCHED
    assert [e.command for e in s.log] == [RunTo("mem_init"), SwitchStrategy("lazy")]
    assert s.parent is not None and s.parent.branch_point == 1
    assert s.parent.log is not None and len(s.parent.log) == 2


def test_branching_inside_a_run_records_a_run_to_the_boot_step_first() -> None:
    s = session()
    s.run_all()
    s.seek_now(*s.find("mem_init"))
    s.apply(Workload("slab", 200))
    assert [e.command for e in s.log] == [RunTo("mem_init"), Workload("slab", 200)]
    assert s.parent is not None and s.parent.branch_point == 0


def test_a_bookmark_in_the_past_is_inserted_without_a_branch() -> None:
    s = session()
    s.run_to("mem_init")
    s.run_all()
    s.seek_now(1)
    assert s.apply(Bookmark("here")) is Outcome.INSERTED
    assert [type(e.command) for e in s.log] == [RunTo, Bookmark, RunAll]
    assert s.parent is None and s.position == 2
    s.seek_now(3)
    assert s.sim.done


def test_a_bookmark_inside_a_run_splits_the_run() -> None:
    s = session()
    s.run_all()
    end = s.sim.digest()
    s.seek_now(*s.find("mem_init"))
    s.apply(Bookmark("mem_init ran"))
    assert [e.command for e in s.log] == [RunTo("mem_init"), Bookmark("mem_init ran"), RunAll()]
    assert s.log[2].digest == end
    assert s.find("mem_init ran") == (2, 0)


def test_fork_leaves_the_session_alone_and_records_its_parent() -> None:
    s = session()
    s.run_to("mem_init")
    s.run_all()
    branch = s.fork(1)
    assert len(s.log) == 2 and s.sim.done
    assert len(branch.log) == 1 and branch.sim.step_name == "mem_init"
    assert branch.parent is not None and branch.parent.branch_point == 1


def test_a_cancelled_run_is_logged_as_far_as_it_got() -> None:
    s = session()
    work = s.execute(RunAll())
    for _ in range(4):
        next(work)
    work.close()
    assert s.log[-1].command == RunTo(s.sim.step_name) and s.sim.current == 4


def test_a_cancelled_workload_leaves_no_trace() -> None:
    s = session()
    s.run_all()
    work = s.execute(Workload("fragmenter", 5000))
    next(work)
    work.close()
    assert len(s.log) == 1 and s.sim.counters.workload_ops == 0


def test_go_to_is_recorded_and_bounded() -> None:
    s = session()
    s.apply(GoTo(0x1234))
    assert s.log[-1].command == GoTo(0x1234) and s.sim.current == 0
    with pytest.raises(UserError):
        GoTo(-1)


def test_replay_gives_the_state_after_each_command() -> None:
    s = session()
    commands = [RunTo("mem_init"), Step(), Back(), SwitchStrategy("lazy")]
    for command in commands:
        s.apply(command)
    engine = Engine(s.setup)
    states = list(replay(engine, s.initial, commands))
    assert [st.sim.digest() for st in states] == [e.digest for e in s.log]


def test_checkpoints_make_going_back_cheap() -> None:
    s = session()
    s.run_all()
    engine = s.engine
    calls = 0
    original = engine.fresh

    def counting(config: object) -> Simulation:
        nonlocal calls
        calls += 1
        return original(config)  # type: ignore[arg-type]

    engine.fresh = counting  # type: ignore[method-assign]
    s.seek_now(0)
    s.seek_now(1)
    s.undo()
    assert calls == 0


def test_plans_fold_without_simulating() -> None:
    engine = Engine(session().setup)
    plan = Plan(session().initial)
    for command in (RunTo("mem_init"), Workload("slab", 10), RunTo("sparse_init")):
        plan = engine.plan_after(plan, command)
    assert plan.boot == engine.steps(plan.config).index("sparse_init") + 1
    assert all(isinstance(u, Step) for u in plan.path)


def test_the_next_boot_step_follows_a_recorded_run() -> None:
    s = session()
    s.run_to("mem_init")
    s.apply(Workload("slab", 50))
    s.seek_now(0, 3)
    assert s.next_boot_step() == (0, 4)
    s.seek_now(*s.find("step " + str(s.steps.index("mem_init"))))
    assert s.next_boot_step() == (1, 0)
    s.seek_now(1)
    assert s.next_boot_step() is None  # a workload comes next: a step would branch
