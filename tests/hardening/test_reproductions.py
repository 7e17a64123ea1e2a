"""Every reproduction of the hardening issue, run as the user runs it: a subprocess of
``kmsan-tui`` with a 30 s timeout. Each must exit 0 (valid input) or 2 with exactly
one line on stderr, never a traceback; a target that must not be written is left as it
was, and refused before any boot.

``python -m tests.hardening.test_reproductions`` prints the table (exit code and
stderr line of each) without pytest.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT = 30
GOLDEN_V1 = ROOT / "tests" / "session" / "golden" / "v1-lazy-fragmenter-tiny.json"

RAM = 'e820 = [{ start = 0, size = "1G", type = "usable" }]\n'


@dataclass(frozen=True)
class Case:
    """A reproduction: ``argv`` builds its files in a directory and returns the
    arguments; ``expect`` is the exit code; ``says`` is in the stderr line;
    ``after`` checks the directory afterwards (a target left untouched)."""

    name: str
    argv: Callable[[Path], list[str]]
    expect: int = 2
    says: str = ""
    after: Callable[[Path], None] | None = None
    fast: bool = False  # one of each kind runs in `make test`; all under KMSAN_SLOW=1


def _file(name: str, content: str | bytes) -> Callable[[Path], Path]:
    def make(d: Path) -> Path:
        path = d / name
        path.write_bytes(content.encode() if isinstance(content, str) else content)
        return path
    return make


def _run_layout(text: str | bytes, *extra: str) -> Callable[[Path], list[str]]:
    make = _file("layout.toml", text)
    return lambda d: ["run", "--quiet", "--layout", str(make(d)), *extra]


def _nodes(count: int) -> str:
    step = (1 << 40) // count
    rows = ",\n".join(f"  {{ start = {i * step:#x}, end = {(i + 1) * step:#x}, cpus = 1 }}"
                      for i in range(count))
    return (f'[machine]\ncpus = {count}\ne820 = [{{ start = 0, size = "1T" }}]\n'
            f"node = [\n{rows}\n]\n[kernel]\nnr_cpus = 8192\n")


def _e820(count: int) -> str:
    """``count`` e820 entries over the 46-bit space, usable and reserved in turn."""
    step = (1 << 46) // count
    rows = ",\n".join(f'  {{ start = {i * step:#x}, end = {(i + 1) * step - 1:#x}, '
                      f'type = "{"usable" if i % 2 == 0 else "reserved"}" }}'
                      for i in range(count))
    return f"[machine]\ne820 = [\n{rows}\n]\n"


ZERO_IMAGE = ("[machine]\n" + RAM + "[kernel.image.kmsan]\n"
              + "".join(f"{k} = 0\n" for k in ("code", "rwdata", "rodata", "init", "bss",
                                               "reserved"))
              + "percpu_pages = 1\n")


# ---------------------------------------------------------------------- sessions


def _v2_base() -> dict[str, Any]:
    from kmsan_tui.model import load_layout
    from kmsan_tui.session import Session, Workload, files
    from kmsan_tui.session.fileformat import to_document

    s = Session(load_layout("tiny-64m"), "lazy", seed=2)
    s.run_to("free_area_init")
    s.apply(Workload("slab", 100))
    return to_document(files.data_of(s))


def _session_v2(edit: Callable[[dict[str, Any]], None], raw: tuple[str, str] | None = None
                ) -> Callable[[Path], list[str]]:
    """A format-2 save edited by ``edit``, its digest forged so that every check behind
    it is reached; ``raw`` replaces text in the written JSON (for non-JSON numbers)."""
    def make(d: Path) -> list[str]:
        from kmsan_tui.session.fileformat import file_digest

        doc = _v2_base()
        edit(doc)
        doc["digest"] = file_digest(doc)
        text = json.dumps(doc)
        if raw is not None:
            text = text.replace(*raw)
        path = d / "session.json"
        path.write_text(text)
        return ["replay", str(path)]
    return make


def _session_v1(edit: Callable[[dict[str, Any]], None]) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        doc = json.loads(GOLDEN_V1.read_text())
        edit(doc)
        path = d / "v1.json"
        path.write_text(json.dumps(doc))
        return ["replay", str(path)]
    return make


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(doc: dict[str, Any]) -> None:
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return edit


# ---------------------------------------------------------------------- targets


def _untouched_device(d: Path) -> None:
    assert Path("/dev/null").is_char_device()


def _still_a_directory(d: Path) -> None:
    target = d / "target"
    assert target.is_dir() and list(target.iterdir()) == []
    assert [p.name for p in d.iterdir()] == ["target"]


def _mkdir_target(argv: Callable[[Path], list[str]]) -> Callable[[Path], list[str]]:
    def make(d: Path) -> list[str]:
        (d / "target").mkdir()
        return argv(d)
    return make


def _under_a_file(d: Path) -> Path:
    (d / "plain").write_text("x")
    return d / "plain" / "out.json"


def _plain_untouched(d: Path) -> None:
    assert (d / "plain").read_text() == "x"
    assert [p.name for p in d.iterdir()] == ["plain"]


def _keymap(content: str | bytes) -> Callable[[Path], list[str]]:
    make = _file("keymap.toml", content)
    return lambda d: ["--keymap", str(make(d))]


CASES = [
    # Layouts (run --layout F).
    Case("layout: a non-UTF-8 byte", _run_layout(b"[machine]\nname = '\xff'\n"), says="not UTF-8", fast=True),
    Case("layout: nested 500 deep", _run_layout("a = " + "[" * 500 + "]" * 500 + "\n"),
         says="nested more than", fast=True),
    Case("layout: size = 'inf'", _run_layout("[machine]\ne820 = [{ start = 0, size = \"inf\" }]\n"),
         says="not a size", fast=True),
    Case("layout: size = '1e400'",
         _run_layout("[machine]\ne820 = [{ start = 0, size = \"1e400\" }]\n"), says="not a size"),
    Case("layout: a kernel image of all-zero sizes", _run_layout(ZERO_IMAGE),
         says="kernel.image.kmsan.code", fast=True),
    Case("layout: size = '1048576P' (2^70 bytes)",
         _run_layout("[machine]\ne820 = [{ start = 0, size = \"1048576P\" }]\n"),
         says="physical address", fast=True),
    Case("layout: cpus = 1048576", _run_layout("[machine]\ncpus = 1048576\n" + RAM),
         says="machine.cpus"),
    Case("layout: 4096 nodes", _run_layout(_nodes(4096)), says="over the limit of 1,024", fast=True),
    Case("layout: 3201 e820 entries (E820_MAX_ENTRIES is 3200)", _run_layout(_e820(3201)),
         says="over the limit of 3,200"),
    Case("layout: 3200 e820 entries boot", _run_layout(_e820(3200)), expect=0),
    Case("layout: cpus = -5", _run_layout("[machine]\ncpus = -5\n" + RAM), says="machine.cpus"),
    Case("layout: cpus = 0", _run_layout("[machine]\ncpus = 0\n" + RAM), says="machine.cpus"),
    Case("layout: percpu_pages = -1000",
         _run_layout("[machine]\n" + RAM + "[kernel.image.kmsan]\npercpu_pages = -1000\n"),
         says="percpu_pages"),
    Case("layout: 4 PiB with 4-level paging",
         _run_layout("[machine]\ne820 = [{ start = 0, size = \"4P\" }]\n"), says="46-bit"),
    Case("layout: 4 PiB with 5-level paging boots",
         _run_layout("[machine]\npaging_levels = 5\ne820 = [{ start = 0, size = \"4P\" }]\n"),
         expect=0, fast=True),
    Case("layout: a 5000-digit number",
         _run_layout("[machine]\ncpus = " + "9" * 5000 + "\n" + RAM), says="too long"),
    Case("layout: a typo'd key", _run_layout("[machine]\ncpu = 4\n" + RAM), says="unknown key"),
    Case("layout: RAM outside every node",
         _run_layout("[machine]\n" + RAM + "node = [{ start = 0x100000, end = 0x40000000 }]\n"),
         says="in no node"),
    # Sessions (replay F).
    Case("session: non-UTF-8", lambda d: ["replay", str(_file("s.json", b'{"format": \xff}')(d))],
         says="not UTF-8"),
    Case("session: nested 500 deep",
         lambda d: ["replay", str(_file("s.json", "[" * 500 + "]" * 500)(d))], says="nested"),
    Case("session v1: overrides of the wrong type", _session_v1(_set(("overrides",), 5)),
         says="overrides"),
    Case("session v1: an override of the wrong type",
         _session_v1(_set(("overrides",), {"kernel": 5})), says="overrides.kernel"),
    Case("session v1: lazy_activation 'junk'",
         _session_v1(_set(("overrides",), {"lazy_activation": "junk"})), says="lazy_activation"),
    Case("session v1: ops '5'", _session_v1(_set(("commands", -1, "ops"), "5")), says="ops"),
    Case("session v1: ops null", _session_v1(_set(("commands", -1, "ops"), None)), says="ops"),
    Case("session v1: ops 1.5", _session_v1(_set(("commands", -1, "ops"), 1.5)), says="ops"),
    Case("session v1: ops 10^12", _session_v1(_set(("commands", -1, "ops"), 10**12)), says="ops", fast=True),
    Case("session v1: seed 'abc'", _session_v1(_set(("seed",), "abc")), says="seed"),
    Case("session v1: seed -1", _session_v1(_set(("seed",), -1)), says="seed"),
    Case("session v1: a 5,000-character layout name",
         _session_v1(_set(("layout",), "x" * 4995 + ".toml")), says="layout"),
    Case("session v2: ops '5'", _session_v2(_set(("log", -1, "ops"), "5")), says="log[1].ops"),
    Case("session v2: ops null", _session_v2(_set(("log", -1, "ops"), None)), says="log[1].ops"),
    Case("session v2: ops 1.5", _session_v2(_set(("log", -1, "ops"), 1.5)), says="log[1].ops"),
    Case("session v2: ops 10^12", _session_v2(_set(("log", -1, "ops"), 10**12)),
         says="log[1].ops"),
    Case("session v2: ops Infinity",
         _session_v2(lambda doc: None, raw=('"ops": 100', '"ops": Infinity')),
         says="Infinity", fast=True),
    Case("session v2: ops 1e999", _session_v2(lambda doc: None, raw=('"ops": 100', '"ops": 1e999')),
         says="out of range"),
    Case("session v2: seed 'abc'", _session_v2(_set(("seed",), "abc")), says="seed"),
    Case("session v2: seed -1", _session_v2(_set(("seed",), -1)), says="seed"),
    Case("session v2: options of the wrong type", _session_v2(_set(("options",), 5)),
         says="options"),
    Case("session v2: lazy_activation 'junk'",
         _session_v2(_set(("options",), {"lazy_activation": "junk"})), says="lazy_activation", fast=True),
    Case("session v2: a 5,000-character layout name",
         _session_v2(_set(("layout", "name"), "x" * 5000)), says="layout.name"),
    # Command-line arguments.
    Case("cli: run --seed -1", lambda d: ["run", "--layout", "tiny-64m", "--seed", "-1"],
         says="seed"),
    Case("cli: run --layout /dev/zero", lambda d: ["run", "--layout", "/dev/zero"],
         says="not a regular file"),
    Case("cli: run --ops 10^12 (refused before the boot)",
         lambda d: ["run", "--layout", "qemu-8g", "--workload", "thp", "--ops", "1000000000000"],
         says="ops must be between 0 and 10,000,000", fast=True),
    Case("cli: compare --ops 10^12",
         lambda d: ["compare", "--layout", "tiny-64m", "--workload", "thp", "--ops", str(10**12)],
         says="ops must be between"),
    Case("cli: show --ops 10^12",
         lambda d: ["show", "buddyinfo", "--workload", "thp", "--ops", str(10**12)],
         says="ops must be between"),
    Case("cli: screenshot --size 100000x100000",
         lambda d: ["screenshot", "--layout", "tiny-64m", "--size", "100000x100000",
                    str(d / "s.svg")], says="is outside"),
    Case("cli: run --save ''", lambda d: ["run", "--layout", "tiny-64m", "--save", ""],
         says="expected the name of a file", fast=True),
    Case("cli: run --until ''", lambda d: ["run", "--layout", "tiny-64m", "--until", ""],
         says="boot step"),
    Case("cli: an option before the command",
         lambda d: ["--layout", "tiny-64m", "run"], says="put it after"),
    # Never destroying what the user has.
    Case("save: --save to a character device",
         lambda d: ["run", "--layout", "qemu-8g", "--save", "/dev/null"],
         says="character device", after=_untouched_device, fast=True),
    Case("save: --save to a directory",
         _mkdir_target(lambda d: ["run", "--layout", "qemu-8g", "--save", str(d / "target")]),
         says="directory", after=_still_a_directory, fast=True),
    Case("save: --save under a file (unwritable)",
         lambda d: ["run", "--layout", "qemu-8g", "--save", str(_under_a_file(d))],
         says="cannot", after=_plain_untouched),
    Case("screenshot: to a character device",
         lambda d: ["screenshot", "--layout", "qemu-8g", "/dev/null"], says="character device",
         after=_untouched_device),
    Case("screenshot: to a directory",
         _mkdir_target(lambda d: ["screenshot", "--layout", "qemu-8g", str(d / "target")]),
         says="directory", after=_still_a_directory),
    Case("screenshot: under a file (unwritable)",
         lambda d: ["screenshot", "--layout", "qemu-8g", str(_under_a_file(d))], says="cannot",
         after=_plain_untouched, fast=True),
    # Keymaps (--keymap F is read before the explorer starts).
    Case("keymap: a non-UTF-8 byte", _keymap(b'step = "\xff"\n'), says="not UTF-8"),
    Case("keymap: nested 500 deep", _keymap("a = " + "[" * 500 + "]" * 500 + "\n"),
         says="nested"),
    Case("keymap: 'ctrl+'", _keymap('step = "ctrl+"\n'), says="a modifier without a key"),
    Case("keymap: ',,,'", _keymap('step = ",,,"\n'), says="an empty key"),
    Case("keymap: an emoji", _keymap('step = "\U0001f600"\n'), says="not a key", fast=True),
    Case("keymap: 'n\\u0000'", _keymap('step = "n\\u0000"\n'), says="not a key"),
    Case("keymap: two actions on one key", _keymap('step = "e"\n'),
         says="also the key of run_all", fast=True),
]


def run_case(case: Case, directory: Path) -> tuple[int, str, float]:
    """Run one reproduction; (exit code, stderr, seconds)."""
    argv = case.argv(directory)
    env = dict(os.environ, XDG_DATA_HOME=str(directory / ".data"),
               XDG_STATE_HOME=str(directory / ".state"),
               XDG_CONFIG_HOME=str(directory / ".config"))
    start = time.monotonic()
    proc = subprocess.run([sys.executable, "-m", "kmsan_tui.cli", *argv], cwd=ROOT, env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT)
    for hidden in (".data", ".state", ".config"):
        if (directory / hidden).exists() and not any((directory / hidden).rglob("*.log")):
            _remove_tree(directory / hidden)
    return proc.returncode, proc.stderr, time.monotonic() - start


def _remove_tree(path: Path) -> None:
    for child in sorted(path.rglob("*"), reverse=True):
        child.rmdir() if child.is_dir() else child.unlink()
    path.rmdir()


def _params() -> list[Any]:
    slow = [pytest.mark.slow, pytest.mark.skipif(not os.environ.get("KMSAN_SLOW"),
                                                 reason="slow: set KMSAN_SLOW=1")]
    return [pytest.param(c, id=c.name, marks=[] if c.fast else slow) for c in CASES]


@pytest.mark.parametrize("case", _params())
def test_each_reproduction_exits_0_or_2_with_one_line(case: Case, tmp_path: Path) -> None:
    code, err, seconds = run_case(case, tmp_path)
    assert "Traceback" not in err, err
    assert code == case.expect, err
    lines = [line for line in err.splitlines() if line.strip()]
    if code == 2:
        assert len(lines) == 1, err
        assert case.says in lines[0], lines[0]
    assert seconds < TIMEOUT
    if case.after is not None:
        case.after(tmp_path)


def main() -> int:
    import tempfile

    bad = 0
    for case in CASES:
        with tempfile.TemporaryDirectory() as d:
            try:
                code, err, seconds = run_case(case, Path(d))
            except subprocess.TimeoutExpired:
                code, err, seconds = -1, "still running after 30 s", float(TIMEOUT)
        line = (err.strip().splitlines() or [""])[-1]
        ok = code == case.expect and "Traceback" not in err
        bad += not ok
        print(f"{'ok ' if ok else 'BAD'} {code:>2} {seconds:5.1f}s  {case.name}: {line[:150]}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
