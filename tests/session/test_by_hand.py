"""Allocations and frees by hand (the explorer's ``a`` and ``X``) are session commands:
logged with a digest, undone by Back, kept through a strategy switch, saved and
replayed to the same state."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmsan_tui.model import load_layout
from kmsan_tui.model.errors import UserError
from kmsan_tui.session import AllocPages, Back, FreePages, Session, SessionError, load, save
from kmsan_tui.session.fileformat import file_digest
from kmsan_tui.session.replay import HAND_OWNER


def booted(strategy: str = "eager") -> Session:
    session = Session(load_layout("tiny-64m"), strategy)
    session.run_to("memblock_free_all")
    return session


def test_an_allocation_by_hand_is_a_logged_unit_that_back_undoes() -> None:
    session = booted()
    free = session.sim.metrics().free_pages
    session.apply(AllocPages(3, "Unmovable"))
    assert session.sim.metrics().free_pages == free - 8
    assert session.log[-1].command == AllocPages(3, "Unmovable") and session.log[-1].digest
    session.apply(Back())
    assert session.sim.metrics().free_pages == free


def test_a_free_by_hand_gives_the_block_back_and_a_bad_one_is_the_kernels_bad_page() -> None:
    session = booted()
    free = session.sim.metrics().free_pages
    session.apply(AllocPages(0, "Movable"))
    pfn = next(s for s, _e, owner in session.sim.owners if owner == HAND_OWNER)
    session.apply(FreePages(pfn))
    assert session.sim.metrics().free_pages == free
    session.apply(FreePages(pfn))  # twice: the kernel's bad_page(), nothing changes
    assert session.sim.metrics().free_pages == free
    assert session.sim.metrics().bad_pages == 1
    assert "BUG: Bad page state" in session.sim.events[-1].text or \
        session.sim.events[-1].kind == "bug"


def test_by_hand_before_the_buddy_allocator_has_memory_is_refused_and_not_logged() -> None:
    session = Session(load_layout("tiny-64m"), "eager")
    session.run_to("sparse_init")
    n = len(session.log)
    with pytest.raises(UserError, match="no memory yet"):
        session.apply(AllocPages(0, "Unmovable"))
    assert len(session.log) == n


@pytest.mark.parametrize(("order", "mt"), [(11, "Movable"), (-1, "Movable"), (0, "CMA")])
def test_allocation_arguments_are_bounded(order: int, mt: str) -> None:
    with pytest.raises(UserError):
        AllocPages(order, mt)


def test_operations_by_hand_survive_a_switch_save_and_verified_replay(tmp_path: Path) -> None:
    session = booted()
    session.apply(AllocPages(2, "Reclaimable"))
    session.apply(AllocPages(0, "Unmovable"))
    session.switch("lazy")
    assert sum(1 for *_r, owner in session.sim.owners if owner == HAND_OWNER) == 2
    path = save(session, tmp_path / "hand.json")
    text = path.read_text()
    assert '"kind": "alloc_pages"' in text and '"migratetype": "Reclaimable"' in text
    again = load(path, verify=True)
    assert again.sim.digest() == session.sim.digest()


def test_a_file_with_a_bad_migratetype_names_the_key(tmp_path: Path) -> None:
    session = booted()
    session.apply(AllocPages(0, "Unmovable"))
    path = save(session, tmp_path / "hand.json")
    doc = json.loads(path.read_text())
    doc["log"][-1]["migratetype"] = "HighAtomic"  # edited, then signed again
    doc["digest"] = file_digest(doc)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(doc))
    with pytest.raises(SessionError, match=r"log\[\d+\]\.migratetype"):
        load(bad)
