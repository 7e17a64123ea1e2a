"""The garbage collector waits for an idle moment to free dropped simulation states."""

from __future__ import annotations

import gc
import weakref

from kmsan_tui.model import load_layout
from kmsan_tui.session import Session
from kmsan_tui.tui.gcpolicy import GcPolicy
from tests.tui.conftest import explorer, make_app, settle


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Node:
    """A cycle, like a free list's sentinel and its blocks."""

    def __init__(self) -> None:
        self.other: Node | None = None


def _cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


def test_dropped_cycles_wait_for_idle_then_are_freed() -> None:
    clock = Clock()
    policy = GcPolicy(clock, idle_seconds=1.0)
    policy.start()
    try:
        ref = _cycle()  # made by a command, then dropped while frozen
        policy.command_done()
        gc.collect()  # what the thresholds would do: the frozen cycle is out of reach
        assert ref() is not None
        clock.now = 0.5
        assert not policy.tick()  # the user may still be pressing keys
        policy.activity()
        clock.now = 1.2
        assert not policy.tick()
        clock.now = 1.6
        assert policy.tick()
        assert ref() is None
        assert not policy.tick()  # nothing frozen since: nothing to do
        assert policy.full_collections == 1
    finally:
        policy.stop()
    assert gc.get_freeze_count() == 0


def test_an_undone_step_is_freed_at_the_next_idle_moment() -> None:
    clock = Clock()
    policy = GcPolicy(clock, idle_seconds=1.0)
    policy.start()
    try:
        session = Session(load_layout("tiny-64m"), "eager")
        session.run_to("mem_init")
        gc.collect()
        session.undo()
        session.engine.forget()  # the dropped state's free lists are cycles
        policy.command_done()
        assert gc.collect() == 0  # frozen: out of the young collections' reach
        clock.now = 2.0
        assert policy.tick()
        assert policy.last_freed > 100
    finally:
        policy.stop()


async def test_the_explorer_hands_the_collector_back_when_it_exits() -> None:
    app = make_app("tiny-64m")
    async with app.run_test() as pilot:
        await settle(pilot)
        await pilot.press("n")
        await settle(pilot)
        assert gc.get_freeze_count() > 0
        assert explorer(app).frame is not None
    assert gc.get_freeze_count() == 0
    assert gc.get_threshold()[0] == 700
