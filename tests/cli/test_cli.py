from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from kmsan_tui.cli import main


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exit_:  # argparse refuses bad arguments before any work
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_run_prints_the_kernel_log_and_summary(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "run", "--layout", "tiny-64m")
    assert code == 0, err
    assert "BIOS-e820: [mem 0x0000000000000000-0x000000000009fbff] usable" in out
    assert "Memory: " in out and "K available" in out
    assert "Node 0, zone      DMA " in out


@pytest.mark.parametrize("strategy", ["eager", "lazy", "fixed"])
def test_run_check_json_reports_buddyinfo_memory_line_and_digest(
        capsys: pytest.CaptureFixture[str], strategy: str) -> None:
    code, out, err = run(capsys, "run", "--layout", "tiny-64m", "--strategy", strategy,
                         "--check", "--json")
    assert code == 0, err
    doc = json.loads(out)
    assert doc["check"] == []
    assert doc["zones"] and all(len(z["buddyinfo"]) == 11 for z in doc["zones"])
    assert "K available" in doc["memory_line"]
    assert len(doc["digest"]) == 32
    assert doc["strategy"] == strategy


def test_until_stops_after_the_named_step(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "run", "--layout", "tiny-64m", "--until", "sparse_init", "--json")
    assert code == 0
    assert [s["name"] for s in json.loads(out)["steps"]][-1] == "sparse_init"


@pytest.mark.parametrize(("args", "message"), [
    (["run", "--layout", "no-such-machine"], "no such layout"),
    (["run", "--layout", "tiny-64m", "--until", "start_kernel"], "unknown step 'start_kernel'"),
    (["run", "--layout", "tiny-64m", "--ops", "-5", "--workload", "pagecache"], "--ops"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], args: list[str],
                                          message: str) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_broken_layout_file_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[machine\nram = \"lots\"\n")
    proc = subprocess.run([sys.executable, "-m", "kmsan_tui.cli", "run", "--layout", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_unknown_option_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--strategy", "sometimes"])
    assert info.value.code == 2


def test_same_inputs_give_the_same_digest_across_processes() -> None:
    args = [sys.executable, "-m", "kmsan_tui.cli", "run", "--layout", "tiny-64m", "--strategy",
            "lazy", "--workload", "fragmenter", "--ops", "3000", "--seed", "7", "--json"]
    digests = [json.loads(subprocess.run(args, capture_output=True, text=True, check=True,
                                         timeout=300).stdout)["digest"] for _ in range(2)]
    assert digests[0] == digests[1]


def test_compare_lists_three_strategies(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "compare", "--layout", "tiny-64m")
    assert code == 0
    assert "eager" in out and "lazy" in out and "fixed" in out
    assert out.count("Memory: ") == 3


def test_layouts_and_steps_list(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "layouts")[1].count("GiB") >= 8
    code, out, _ = run(capsys, "steps", "--kernel", "v6.1")
    assert code == 0 and "kmsan_init_shadow" in out and "memblock_free_all" in out


def test_model_imports_neither_textual_nor_rich() -> None:
    code = ("import sys, kmsan_tui.model, kmsan_tui.session, kmsan_tui.cli; "
            "sys.exit(any(m in sys.modules for m in ('textual', 'rich')))")
    assert subprocess.run([sys.executable, "-c", code], timeout=60).returncode == 0


# ---------------------------------------------------------------------- sessions

SAVES = sorted((Path(__file__).resolve().parents[2] / "saves").glob("*.json"))


@pytest.mark.parametrize("path", SAVES, ids=[p.name for p in SAVES])
def test_every_shipped_session_replays_with_verify(capsys: pytest.CaptureFixture[str],
                                                    path: Path) -> None:
    code, out, err = run(capsys, "replay", "--verify", str(path))
    assert code == 0, f"{err.strip()}\n(the model changed: run .venv/bin/python saves/regenerate.py)"
    assert "verified" in out and "Memory: " in out  # the summary of the end of the session


def test_there_are_at_least_three_shipped_stories() -> None:
    assert len(SAVES) >= 3


def _diverging(tmp_path: Path) -> Path:
    from kmsan_tui.session.fileformat import file_digest

    path = tmp_path / "s.json"
    assert main(["run", "--layout", "tiny-64m", "--until", "mem_init", "--quiet",
                 "--save", str(path)]) == 0
    doc = json.loads(path.read_text())
    doc["log"][5]["digest"] = "0" * 32
    doc["digest"] = file_digest(doc)
    path.write_text(json.dumps(doc))
    return path


def test_replay_verify_names_the_first_diverging_command_and_exits_1(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = _diverging(tmp_path)
    capsys.readouterr()
    code, _, err = run(capsys, "replay", "--verify", str(path))
    assert code == 1
    assert "log[5] (step)" in err and len(err.strip().splitlines()) == 1
    code, out, err = run(capsys, "replay", str(path))  # without --verify: a warning
    assert code == 0 and "log[5]" in err


def test_run_save_then_replay_reaches_the_same_digest(capsys: pytest.CaptureFixture[str],
                                                      tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    code, out, _ = run(capsys, "run", "--layout", "tiny-64m", "--workload", "thp", "--ops", "300",
                       "--json", "--save", str(path))
    assert code == 0
    digest = json.loads(out)["digest"]
    code, out, _ = run(capsys, "replay", "--verify", "--json", str(path))
    assert code == 0 and json.loads(out)["digest"] == digest


def test_run_save_checks_its_target_before_the_boot(capsys: pytest.CaptureFixture[str],
                                                    tmp_path: Path) -> None:
    code, out, err = run(capsys, "run", "--layout", "monster-16t", "--save", str(tmp_path))
    assert code == 2 and out == ""  # refused before 16 TiB booted
    assert "is a directory" in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("content", ["{\"format\": 2", "[]", "\xff"])
def test_replay_of_a_bad_file_is_one_line_exit_2_without_traceback(tmp_path: Path,
                                                                   content: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(content.encode("latin-1"))
    proc = subprocess.run([sys.executable, "-m", "kmsan_tui.cli", "replay", "--verify", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(bad) in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_open_reads_the_file_before_taking_the_terminal(capsys: pytest.CaptureFixture[str],
                                                        tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    import kmsan_tui.tui.app as app

    opened = []
    monkeypatch.setattr(app, "run_app", lambda *a, **kw: opened.append(kw["session"]) or 0)
    code, _, err = run(capsys, "open", str(tmp_path / "missing.json"))
    assert code == 2 and "missing.json" in err and not opened
    story = next(p for p in SAVES if p.name == "boot-tour.json")
    code, _, err = run(capsys, "open", str(story), "--at", "memblock_free_all")
    assert code == 0, err
    assert opened[0].sim.step_name == "memblock_free_all"
    code, _, err = run(capsys, "open", str(story), "--at", "no such place")
    assert code == 2 and "no such place" in err
    code, _, err = run(capsys, "--session", str(story))  # the top-level form
    assert code == 0, err
    assert len(opened) == 2 and opened[1].log == opened[0].log  # the same story, opened


def test_run_digests_each_step_only_for_a_save(capsys: pytest.CaptureFixture[str],
                                               tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """A digest is O(extents) and most of a large machine's headless run: it is taken
    after each step only when the session is saved (replay --verify needs them)."""
    from kmsan_tui.model.simulation import Simulation

    calls: list[int] = []
    digest = Simulation.digest
    monkeypatch.setattr(Simulation, "digest", lambda self: calls.append(1) or digest(self))
    code, _, _ = run(capsys, "run", "--layout", "tiny-64m", "--quiet")
    assert code == 0 and calls == []
    code, _, _ = run(capsys, "run", "--layout", "tiny-64m", "--quiet", "--save",
                     str(tmp_path / "s.json"))
    assert code == 0 and len(calls) >= 53
    code, out, _ = run(capsys, "replay", str(tmp_path / "s.json"), "--verify")
    assert code == 0 and "verified" in out
