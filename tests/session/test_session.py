from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmsan_tui.model import load_layout
from kmsan_tui.session import Session, SessionError


def session(strategy: str = "eager") -> Session:
    return Session(load_layout("tiny-64m"), strategy, seed=5)


def test_undo_restores_the_previous_state_exactly() -> None:
    s = session()
    s.run_to("memblock_free_all")
    before = s.sim.digest()
    s.step()
    assert s.sim.digest() != before
    assert s.undo()
    assert s.sim.digest() == before
    assert s.sim.steps[s.sim.current - 1] == "memblock_free_all"


def test_undo_at_the_start_does_nothing() -> None:
    s = session()
    assert s.undo() is False
    assert s.sim.current == 0


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


def test_run_to_a_step_already_run_is_refused() -> None:
    s = session()
    s.run_to("mem_init")
    with pytest.raises(Exception, match="already run"):
        s.run_to("sparse_init")


def test_save_and_load_replay_to_the_same_digest(tmp_path: Path) -> None:
    s = session("lazy")
    s.run_all()
    s.run_workload("fragmenter", 1500)
    path = tmp_path / "saves" / "demo.json"
    s.save(path)
    loaded = Session.load(path)
    assert loaded.sim.digest() == s.sim.digest()
    assert loaded.history == s.history
    assert not list(path.parent.glob(".demo.json.*"))  # no temp file left behind


def test_a_failed_save_keeps_the_previous_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    s = session()
    path = tmp_path / "keep.json"
    s.save(path)
    original = path.read_text()
    s.step()

    def boom(*_args: object, **_kw: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("kmsan_tui.session.session.json.dump", boom)
    with pytest.raises(OSError):
        s.save(path)
    assert path.read_text() == original
    assert not list(tmp_path.glob(".keep.json.*"))


@pytest.mark.parametrize(("content", "message"), [
    ("{not json", "line 1"),
    ("[]", "expected a JSON object"),
    ('{"format": 1}', "layout: missing"),
    ('{"format": 9, "layout": "tiny-64m"}', "format: unsupported"),
    ('{"format": 1, "layout": "tiny-64m", "strategy": "eager", "seed": 0, '
     '"commands": [{"kind": "run_to", "step": "nope"}]}', "commands[0]: unknown step"),
    ('{"format": 1, "layout": "tiny-64m", "strategy": "eager", "seed": 0, '
     '"commands": [{"kind": "dance"}]}', "commands[0]: not a command"),
    ('{"format": 1, "layout": "tiny-64m", "strategy": "eager", "seed": 0, '
     '"commands": [{"kind": "step"}], "digest": "00"}', "digest: replay reached"),
])
def test_bad_saves_name_the_file_and_key(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SessionError) as info:
        Session.load(path)
    assert str(path) in str(info.value) and message in str(info.value)
    assert "\n" not in str(info.value)


def test_save_file_lists_the_commands(tmp_path: Path) -> None:
    s = session()
    s.step()
    s.run_to("mem_init")
    s.save(tmp_path / "a.json")
    data = json.loads((tmp_path / "a.json").read_text())
    assert [c["kind"] for c in data["commands"]] == ["step", "run_to"]
    assert data["layout"] == "tiny-64m"
