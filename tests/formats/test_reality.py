"""The distance to reality: each real boot log, imported and booted with `kmsan-tui run`,
prints its own `Memory:` line back within 1 % of available memory; and `kmsan-tui diff`
reports the figures with their relative errors.

The lkp 3.14 log is one the importer was never written against (a 2014 uniprocessor
randconfig boot): it is the test that the import generalises rather than recognises.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kmsan_tui.cli import main
from kmsan_tui.formats.dmesg import parse_memory_line, read_dmesg
from kmsan_tui.formats.reality import Row, format_rows, real_zones
from tests.conftest import shared_file
from tests.formats.test_dmesg import LOGS

TOLERANCE = 0.01


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", list(LOGS))
def test_imported_boot_reproduces_the_memory_line(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path, name: str) -> None:
    log = shared_file(LOGS[name])
    real = read_dmesg(log.read_text(), str(log)).memory
    assert real is not None
    layout = tmp_path / f"{name}.toml"
    code, _, err = _run(capsys, "import", "dmesg", str(log), "-o", str(layout))
    assert code == 0, err
    code, out, err = _run(capsys, "run", "--layout", str(layout), "--json")
    assert code == 0, err
    printed = [line for step in json.loads(out)["steps"] for line in step["log"]
               if line.startswith("Memory: ")]
    sim = parse_memory_line(printed[0])
    assert sim is not None
    assert sim.total_k == real.total_k
    assert abs(sim.available_k - real.available_k) <= TOLERANCE * real.available_k, \
        (sim.available_k, real.available_k)


def test_diff_dmesg_prints_the_table(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(capsys, "diff", "dmesg", str(shared_file(LOGS["qemu-4g-plain"])))
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1].split() == ["figure", "simulated", "real", "difference", "error"]
    assert any(line.startswith("Memory: available") and line.endswith("+0.00%") for line in lines)
    assert any(line.startswith("node 0 DMA present") for line in lines)


def test_diff_dmesg_against_a_given_layout_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "diff", "dmesg", str(shared_file(LOGS["qemu-4g-kmsan"])),
                        "--layout", "qemu-4g", "--kernel", "v6.1", "--json")
    assert code == 0
    rows = {r["figure"]: r for r in json.loads(out)["rows"]}
    assert abs(rows["Memory: available"]["relative"]) < TOLERANCE


def test_diff_buddyinfo_compares_every_order(capsys: pytest.CaptureFixture[str]) -> None:
    real = shared_file("procfs/qemu-4g-linux-6.1-kmsan.buddyinfo.txt")
    code, out, err = _run(capsys, "diff", "buddyinfo", str(real), "--layout", "qemu-4g",
                          "--kernel", "v6.1")
    assert code == 0, err
    assert sum(1 for line in out.splitlines() if " order " in line) == 3 * 11
    assert any(line.startswith("node 0 Normal free") for line in out.splitlines())


def test_diff_buddyinfo_refuses_a_file_that_is_not_buddyinfo(capsys: pytest.CaptureFixture[str],
                                                            tmp_path: Path) -> None:
    bad = tmp_path / "buddyinfo"
    bad.write_text("Node 0, zone DMA 1 2 3\nthis is not it\n")
    code, _, err = _run(capsys, "diff", "buddyinfo", str(bad), "--layout", "tiny-64m")
    assert code == 2 and "line 2" in err and len(err.strip().splitlines()) == 1


def test_real_zone_spans_come_from_the_node_ranges_as_the_kernel_computes_them() -> None:
    log = shared_file(LOGS["qemu-4g-kmsan"])
    zones = real_zones(read_dmesg(log.read_text(), str(log)))
    # /proc/zoneinfo of the same boot: spanned 4095/1044480/262144, present 3998/782304/262144
    assert zones == {(0, "DMA"): (4095, 3998), (0, "DMA32"): (1044480, 782304),
                     (0, "Normal"): (262144, 262144)}


@pytest.mark.parametrize(("row", "shown"), [
    (Row("a", 101, 100, "K"), ["a", "101K", "100K", "+1K", "+1.00%"]),
    (Row("b", 5, 0, "pages"), ["b", "5", "0", "+5", "-"]),
    (Row("c", None, 7, "pages"), ["c", "-", "7", "-", "-"]),
])
def test_rows_show_relative_errors(row: Row, shown: list[str]) -> None:
    assert format_rows([row])[1].split() == shown
