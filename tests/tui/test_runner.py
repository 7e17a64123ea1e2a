"""The runner: commands off the UI thread, a frame after each, a chart point per command."""

from __future__ import annotations

import pytest

from kmsan_tui.model import load_layout
from kmsan_tui.model.constants import PAGETYPEINFO_TYPES
from kmsan_tui.model.errors import UserError
from kmsan_tui.session import Session, Workload
from kmsan_tui.tui.runner import Cancelled, Runner, memory_fingerprint


def runner(strategy: str = "eager", layout: str = "qemu-2g") -> Runner:
    r = Runner(Session(load_layout(layout), strategy))
    r.start()
    return r


def test_a_frame_answers_the_same_after_later_commands() -> None:
    r = runner()
    r.run_to(r.session.sim.index_of("memblock_free_all") - 1)
    frame = r.step()  # memblock_free_all: the later steps allocate from the free lists
    pfns = range(0, frame.index.span, 0x401)
    pages = [frame.lookup.page(pfn) for pfn in pfns]
    heads = frame.lookup.free_list(1, 10, PAGETYPEINFO_TYPES[1], 64)
    procfs = frame.lookup.procfs()
    length = len(frame.log)
    r.run_all()
    r.workload("fragmenter", 2000)
    assert [frame.lookup.page(pfn) for pfn in pfns] == pages
    assert frame.lookup.free_list(1, 10, PAGETYPEINFO_TYPES[1], 64) == heads
    assert frame.lookup.procfs() == procfs
    assert len(frame.log) == length and frame.step_name == "memblock_free_all"
    assert r.frame is not None and r.frame.lookup.procfs() != procfs


def test_series_has_one_point_per_command_and_follows_undo() -> None:
    r = runner()
    r.run_to(5)
    assert len(r.frame.series) == len(r.session.history) + 1 == 7
    r.undo()
    assert len(r.frame.series) == 6
    assert r.frame.series[-1].label == r.session.sim.steps[4]


def test_run_to_goes_back_when_the_step_already_ran() -> None:
    r = runner()
    r.run_to(10)
    frame = r.run_to(3)
    assert frame.step_index == 4


def test_switch_keeps_the_step_and_undo() -> None:
    r = runner()
    r.run_to(r.session.sim.index_of("mem_init"))
    frame = r.switch("lazy")
    assert (frame.strategy, frame.step_name) == ("lazy", "mem_init")
    assert r.undo().step_index == frame.step_index - 1


def test_next_change_skips_steps_that_only_log() -> None:
    r = runner()
    before = memory_fingerprint(r.session.sim)
    frame = r.next_change()
    assert memory_fingerprint(r.session.sim) != before or frame.done


def test_step_after_the_end_is_a_user_error() -> None:
    r = runner()
    r.run_all()
    with pytest.raises(UserError):
        r.step()


def test_a_cancelled_workload_leaves_the_session_as_it_was() -> None:
    r = runner()
    r.run_all()
    length = len(r.session.history)
    with pytest.raises(Cancelled):
        r.workload("fragmenter", 5000, cancel=lambda: True)
    assert len(r.session.history) == length


def test_a_workload_with_another_seed_draws_from_its_own_generator() -> None:
    r = runner()
    r.run_all()
    r.workload("pagecache", 2000, seed=7)
    assert r.session.seed == 0
    assert r.session.history[-1] == Workload("pagecache", 2000, 7)
    other = runner()
    other.run_all()
    other.workload("pagecache", 2000, seed=8)
    assert other.session.sim.digest() != r.session.sim.digest()


def test_inside_a_recorded_run_n_and_u_move_one_boot_step_along_it() -> None:
    r = runner()
    r.run_all()
    r.seek(*r.session.find("mem_init"))
    at = r.frame.step_index
    assert r.step().step_index == at + 1 and r.session.detour
    assert r.undo().step_index == at and r.undo().step_index == at - 1
    assert len(r.session.log) == 1 and r.session.parent is None
