"""Session files: format 2 round trips, the golden files, bad files, safe writes."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from kmsan_tui.model import load_layout
from kmsan_tui.model.errors import UserError
from kmsan_tui.session import (
    Back,
    Bookmark,
    DivergenceError,
    GoTo,
    RunAll,
    RunTo,
    Session,
    SessionError,
    Step,
    SwitchStrategy,
    View,
    Workload,
    files,
)
from kmsan_tui.session.fileformat import file_digest
from kmsan_tui.session.store import sweep_temporaries

GOLDEN = Path(__file__).resolve().parent / "golden"


def small_session() -> Session:
    s = Session(load_layout("tiny-64m"), "lazy", seed=4)
    s.run_to("mem_init")
    s.apply(Bookmark("mem_init ran"))
    s.run_all()
    s.run_workload("fragmenter", 400)
    s.apply(GoTo(0x200))
    return s


def saved(tmp_path: Path, name: str = "s.json") -> tuple[Session, Path]:
    s = small_session()
    path = tmp_path / name
    files.save(s, path, View(cursor=0x200, zoom=4, tab="metrics"))
    return s, path


def document(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def rewrite(path: Path, doc: dict[str, Any], sign: bool = True) -> None:
    """Write a changed document back, with a file digest that matches (``sign``) as a
    careful forger would, so the checks behind the digest are reached."""
    if sign:
        doc["digest"] = file_digest(doc)
    path.write_text(json.dumps(doc, ensure_ascii=False, indent=1))


# ---------------------------------------------------------------------- round trips


def test_save_and_load_replay_to_the_same_states(tmp_path: Path) -> None:
    s, path = saved(tmp_path)
    loaded = files.load(path, verify=True)
    assert loaded.log == s.log
    assert loaded.sim.digest() == s.sim.digest()
    assert loaded.view == View(position=len(s.log), cursor=0x200, zoom=4, tab="metrics")
    assert loaded.saved is not None and not loaded.dirty and loaded.divergence is None


def test_a_save_at_an_earlier_position_reopens_there(tmp_path: Path) -> None:
    s = small_session()
    s.seek_now(1)
    files.save(s, tmp_path / "s.json")
    loaded = files.load(tmp_path / "s.json")
    assert loaded.position == 1 and len(loaded.log) == len(s.log)
    assert loaded.sim.step_name == "mem_init"


def test_the_file_lists_every_command_one_per_line(tmp_path: Path) -> None:
    _, path = saved(tmp_path)
    text = path.read_text()
    entries = [line for line in text.splitlines() if line.startswith('  {"kind"')]
    assert [json.loads(e.rstrip(","))["kind"] for e in entries] == [
        "run_to", "bookmark", "run_all", "workload", "goto"]
    doc = document(path)
    assert doc["format"] == 2 and doc["layout"]["name"] == "tiny-64m"
    assert "[machine]" in doc["layout"]["toml"]
    assert doc["options"] == {"fixed_backing": "on-demand", "lazy_activation": "mem_init",
                              "lazy_storage": "struct_page"}


def test_a_save_carries_its_layout_so_a_changed_shipped_layout_does_not_matter(
        tmp_path: Path) -> None:
    _, path = saved(tmp_path)
    doc = document(path)
    doc["layout"]["name"] = "a-machine-nobody-ships"
    doc["layout"]["toml"] = [line.replace('name = "tiny-64m"', 'name = "a-machine-nobody-ships"')
                             for line in doc["layout"]["toml"]]
    from kmsan_tui.session.layoutdoc import lines_text, text_digest
    doc["layout"]["digest"] = text_digest(lines_text(doc["layout"]["toml"]))
    rewrite(path, doc)
    assert files.load(path).layout.name == "a-machine-nobody-ships"


def test_saves_are_0644_and_leave_no_temporary(tmp_path: Path) -> None:
    old = os.umask(0o077)
    try:
        _, path = saved(tmp_path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o644 & ~0o077 or \
        stat.S_IMODE(path.stat().st_mode) == 0o600
    _, path = saved(tmp_path, "b.json")
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.json", "s.json"]


@pytest.mark.parametrize("kind", ["directory", "fifo", "device"])
def test_a_save_never_replaces_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "target"
    if kind == "directory":
        target.mkdir()
    elif kind == "fifo":
        os.mkfifo(target)
    else:
        target = Path("/dev/null")
    with pytest.raises(UserError) as info:
        files.save(small_session(), target)
    assert "not a regular file" in str(info.value) and "\n" not in str(info.value)
    assert not list(tmp_path.glob(".target.*"))


def test_a_failed_save_keeps_the_previous_file(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    s, path = saved(tmp_path)
    original = path.read_bytes()
    s.step() if not s.sim.done else s.run_workload("slab", 10)

    def full(_fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(UserError, match="no space left"):
        files.save(s, path)
    assert path.read_bytes() == original
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


KILLED_SAVE = """
import os, sys, time
from kmsan_tui.model import load_layout
from kmsan_tui.session import Session, files
s = Session(load_layout("tiny-64m"), "eager", 1)
s.run_all()
real = os.fsync
def slow(fd):
    print("writing", flush=True)
    time.sleep(60)
os.fsync = slow
files.save(s, sys.argv[1])
"""


def test_a_kill_during_a_save_leaves_the_previous_file(tmp_path: Path) -> None:
    _, path = saved(tmp_path)
    original = path.read_bytes()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(path)],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert path.read_bytes() == original
    assert files.load(path).log  # still a good session
    # The killed writer's temporary is swept by the next save of that file.
    left = [p for p in tmp_path.iterdir() if p.name != "s.json"]
    assert left and all(p.name.startswith(".s.json.") for p in left)
    old = time.time() - 3600
    for p in left:
        os.utime(p, (old, old))
    files.save(small_session(), path)
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_a_fresh_temporary_is_not_swept(tmp_path: Path) -> None:
    (tmp_path / ".s.json.abc.tmp").write_text("being written")
    assert sweep_temporaries(tmp_path / "s.json") == 0


def test_two_processes_write_the_same_digests(tmp_path: Path) -> None:
    args = ["run", "--layout", "tiny-64m", "--strategy", "lazy", "--workload", "fragmenter",
            "--ops", "2000", "--seed", "7", "--quiet", "--save"]
    for name in ("a.json", "b.json"):
        subprocess.run([sys.executable, "-m", "kmsan_tui.cli", *args, str(tmp_path / name)],
                       check=True, capture_output=True, timeout=300)
    a, b = document(tmp_path / "a.json"), document(tmp_path / "b.json")
    assert a["log"] == b["log"] and a["layout"] == b["layout"]


# ---------------------------------------------------------------------- golden files


def test_the_golden_format_1_file_is_migrated() -> None:
    session = files.load(GOLDEN / "v1-lazy-fragmenter-tiny.json")
    assert session.layout.name == "tiny-64m" and session.strategy == "lazy"
    assert session.seed == 3
    assert session.migrated is not None and session.migrated.from_format == 1
    assert session.migrated.final_digest == "f17b84928bc1e7954249b8074f812a40"
    assert session.log[-1].command == Workload("fragmenter", 5000)
    assert all(e.digest for e in session.log)  # today's digests
    assert session.saved is None  # a save writes format 2, under a name the user gives


def test_the_golden_format_2_file_keeps_loading() -> None:
    session = files.load(GOLDEN / "v2-every-command.json")
    assert [e.command for e in session.log] == [
        RunTo("mem_init"), Step(), Back(),
        SwitchStrategy("lazy", (("lazy_storage", "page_ext"),)), RunAll(),
        Workload("fragmenter", 700), Workload("thp", 300, 42), GoTo(0x1234),
        Bookmark("every kind of command, ✓ unicode too")]
    assert session.view == View(position=9, cursor=0x1234, zoom=16, tab="metrics")
    assert session.parent is not None and session.parent.ref is not None
    assert session.parent.ref.file == "v2-parent.json" and session.parent.branch_point == 1
    assert len(files.parent_log(session)) == 2


def test_the_golden_format_2_file_matches_todays_model() -> None:
    """Fails after a model change until `saves/regenerate.py` refreshes its digests."""
    files.load(GOLDEN / "v2-every-command.json", verify=True)


# ---------------------------------------------------------------------- bad files


def _mutations() -> list[tuple[str, Any, str]]:
    """(name, change to the document or the text, what the error names)."""
    def doc_change(fn: Any, sign: bool = True) -> Any:
        return ("doc", fn, sign)

    return [
        ("truncated", ("text", lambda t: t[: len(t) // 2]), "line"),
        ("corrupted", ("text", lambda t: t.replace('"run_all"', '"run_al!"')), "digest"),
        ("not UTF-8", ("bytes", lambda b: b.replace(b"mem_init", b"mem\xffinit", 1)), "not UTF-8"),
        ("tampered", doc_change(lambda d: d["log"][3].update(ops=401), sign=False),
         "digest: does not match the content"),
        ("digest removed", doc_change(lambda d: d.pop("digest"), sign=False), "digest: missing"),
        ("unknown version", doc_change(lambda d: d.update(format="two")),
         "format: unknown version"),
        ("newer version", doc_change(lambda d: d.update(format=3)), "format: version 3 is newer"),
        ("no format", doc_change(lambda d: d.pop("format")), "format: missing"),
        ("ops of a wrong type", doc_change(lambda d: d["log"][3].update(ops="many")),
         "log[3].ops: expected an integer, got a string"),
        ("ops as true", doc_change(lambda d: d["log"][3].update(ops=True)),
         "log[3].ops: expected an integer"),
        ("absurd ops", doc_change(lambda d: d["log"][3].update(ops=10**12)),
         "log[3].ops: 1,000,000,000,000 is outside"),
        ("negative seed", doc_change(lambda d: d.update(seed=-1)), "seed: -1 is outside"),
        ("a float", doc_change(lambda d: d["view"].update(cursor=1.5)), "view.cursor"),
        ("unknown command", doc_change(lambda d: d["log"][0].update(kind="dance")),
         "log[0].kind: unknown command 'dance'"),
        ("unexpected key", doc_change(lambda d: d["log"][0].update(extra=1)),
         "log[0].extra: unexpected key"),
        ("missing digest of a command", doc_change(lambda d: d["log"][2].pop("digest")),
         "log[2].digest: missing"),
        ("unknown step", doc_change(lambda d: d["log"][0].update(step="start_kernel")),
         "log[0]: run to start_kernel: unknown step 'start_kernel'"),
        ("unknown strategy", doc_change(lambda d: d.update(strategy="sometimes")),
         "strategy: unknown strategy"),
        ("unknown option", doc_change(lambda d: d["options"].update(colour="blue")),
         "options"),
        ("unknown kernel", doc_change(lambda d: d.update(kernel="v2.4")), "kernel: unknown"),
        ("layout edited", doc_change(lambda d: d["layout"]["toml"].append("# hi")),
         "layout.digest: does not match"),
        ("log not a list", doc_change(lambda d: d.update(log={})), "log: expected a list"),
        ("not an object", ("text", lambda t: "[1, 2]"), "expected an object"),
        ("empty", ("text", lambda t: ""), "line 1"),
        ("NaN", ("text", lambda t: t.replace('"zoom": 4', '"zoom": NaN')), "NaN"),
        ("overflowing number", ("text", lambda t: t.replace('"zoom": 4', '"zoom": 1e999')),
         "a number out of range"),
        ("too deep", ("text", lambda t: "[" * 200 + "]" * 200), "nested"),
        ("parent is a path", doc_change(lambda d: d.update(
            parent={"file": "/etc/passwd", "digest": "x", "branch_point": 0})),
         "parent.file: expected a file name"),
        ("position past the end", doc_change(lambda d: d["view"].update(position=99)),
         "view.position: 99 is outside"),
    ]


@pytest.mark.parametrize(("name", "change", "where"), _mutations(),
                         ids=[m[0] for m in _mutations()])
def test_bad_files_are_one_line_naming_the_file_and_the_place(
        tmp_path: Path, name: str, change: Any, where: str) -> None:
    _, path = saved(tmp_path)
    kind, fn, *rest = change
    if kind == "text":
        path.write_text(fn(path.read_text()))
    elif kind == "bytes":
        path.write_bytes(fn(path.read_bytes()))
    else:
        doc = document(path)
        fn(doc)
        rewrite(path, doc, sign=rest[0])
    with pytest.raises(SessionError) as info:
        files.load(path)
    message = str(info.value)
    assert message.startswith(str(path)) and where in message, message
    assert "\n" not in message


def test_a_layout_that_fails_to_load_names_the_layout_and_its_key(tmp_path: Path) -> None:
    _, path = saved(tmp_path)
    doc = document(path)
    doc["layout"]["toml"] = ["[machine]", 'name = "tiny-64m"', "e820 = []"]
    from kmsan_tui.session.layoutdoc import lines_text, text_digest
    doc["layout"]["digest"] = text_digest(lines_text(doc["layout"]["toml"]))
    rewrite(path, doc)
    with pytest.raises(SessionError, match=r"layout\.toml: machine\.e820: the firmware map is empty"):
        files.load(path)


def test_a_replay_that_would_run_for_hours_is_refused_before_it_starts(tmp_path: Path) -> None:
    _, path = saved(tmp_path)
    doc = document(path)
    doc["log"][3]["ops"] = 9_000_000
    doc["log"] += [{"kind": "switch_strategy", "strategy": s, "options": {}, "digest": "0"}
                   for s in ("eager", "lazy")]
    rewrite(path, doc)
    t0 = time.perf_counter()
    with pytest.raises(SessionError, match=r"log\[5\]: the replay would run more than"):
        files.load(path)
    assert time.perf_counter() - t0 < 5


def test_too_many_entries_are_refused(tmp_path: Path) -> None:
    _, path = saved(tmp_path)
    doc = document(path)
    doc["log"] = [{"kind": "bookmark", "note": "x"}] * 10_001
    rewrite(path, doc)
    with pytest.raises(SessionError, match="log: 10,001 entries is over the 10,000 limit"):
        files.load(path)


def test_a_command_that_diverges_is_named_when_verifying(tmp_path: Path) -> None:
    _, path = saved(tmp_path)
    doc = document(path)
    doc["log"][2]["digest"] = "0" * 32
    rewrite(path, doc)
    with pytest.raises(DivergenceError) as info:
        files.load(path, verify=True)
    assert info.value.index == 2 and "log[2] (run to the end)" in str(info.value)
    loaded = files.load(path)  # without --verify: a note, and today's digests
    assert loaded.divergence is not None and "log[2]" in loaded.divergence


@pytest.mark.parametrize(("content", "where"), [
    ('{"format": 1, "layout": "/etc/shadow", "strategy": "eager", "seed": 0, '
     '"commands": [], "digest": "0"}', "layout: '/etc/shadow': a layout path must name a .toml"),
    ('{"format": 1, "layout": "../../dev/zero.toml", "strategy": "eager", "seed": 0, '
     '"commands": [], "digest": "0"}', "layout:"),
    ('{"format": 1, "layout": "no-such-machine", "strategy": "eager", "seed": 0, '
     '"commands": [], "digest": "0"}', "layout: no-such-machine: no such layout"),
    ('{"format": 1, "layout": "tiny-64m", "strategy": "eager", "seed": 0, '
     '"commands": [{"kind": "dance"}], "digest": "0"}', "commands[0].kind: unknown command"),
    ('{"format": 1, "layout": "tiny-64m", "strategy": "eager", "seed": 0, '
     '"commands": [{"kind": "step"}]}', "digest: missing"),
    ('{"format": 1, "layout": "tiny-64m", "strategy": "eager", "seed": 0, "commands": '
     '[{"kind": "workload", "workload": "thp", "ops": 1000000000000}], "digest": "0"}',
     "commands[0].ops"),
])
def test_bad_format_1_files_are_refused_too(tmp_path: Path, content: str, where: str) -> None:
    path = tmp_path / "old.json"
    path.write_text(content)
    with pytest.raises(SessionError) as info:
        files.load(path)
    assert str(path) in str(info.value) and where in str(info.value), str(info.value)


def test_a_device_is_not_read_as_a_session() -> None:
    with pytest.raises(SessionError, match="not a regular file"):
        files.load("/dev/zero")
