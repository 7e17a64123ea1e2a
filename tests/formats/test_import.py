"""`kmsan-tui import dmesg|iomem`: a layout that loads, notes on stderr, one-line errors."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsan_tui.cli import main
from kmsan_tui.formats.dmesg import read_dmesg
from kmsan_tui.formats.iomem import read_iomem
from kmsan_tui.formats.kversion import choose_profile
from kmsan_tui.formats.layout_writer import build_layout
from kmsan_tui.formats.reality import check_layout
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import load_layout
from tests.conftest import shared_file
from tests.formats.test_dmesg import LOGS

IOMEM = "procfs/jc_vm_iomem.txt"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("name", list(LOGS))
def test_import_dmesg_prints_a_layout_that_loads(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 name: str) -> None:
    code, out, err = run(capsys, "import", "dmesg", str(shared_file(LOGS[name])))
    assert code == 0, err
    assert out.startswith("# Imported by `kmsan-tui import dmesg`")
    path = tmp_path / "machine.toml"
    path.write_text(out)
    layout = load_layout(path)
    assert layout.e820 and layout.kernel.version
    assert err.strip().splitlines()[-1].startswith("imported: ")


def test_import_writes_the_output_file_atomically(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    target = tmp_path / "sub" / "mine.toml"
    code, out, err = run(capsys, "import", "dmesg", str(shared_file(LOGS["qemu-4g-plain"])),
                         "-o", str(target), "--name", "mine")
    assert code == 0, err
    assert out == ""
    assert load_layout(target).name == "mine"
    assert [p.name for p in target.parent.iterdir()] == ["mine.toml"]


def test_notes_say_what_was_assumed(capsys: pytest.CaptureFixture[str]) -> None:
    _, _, err = run(capsys, "import", "dmesg", str(shared_file(LOGS["gce-6.8"])))
    assert "assumed: sanitizer kmsan" in err
    assert "assumed: all 2 CPUs on node 0" in err
    assert "assumed: kernel image span" in err
    assert "pageblock_order 9" in err


@pytest.mark.parametrize(("content", "message"), [
    (b"", "no usable RAM"),
    (b"hello\nworld\n", "no usable RAM"),
    (b"\xff\xfe\x00binary", "not UTF-8"),
])
def test_bad_input_is_one_line_and_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                          content: bytes, message: str) -> None:
    path = tmp_path / "log.txt"
    path.write_bytes(content)
    code, out, err = run(capsys, "import", "dmesg", str(path))
    assert code == 2 and out == ""
    assert message in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("kind", ["a directory", "missing"])
def test_unreadable_input_is_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                      kind: str) -> None:
    path = tmp_path if kind == "a directory" else tmp_path / "nope.txt"
    code, _, err = run(capsys, "import", "dmesg", str(path))
    assert code == 2 and len(err.strip().splitlines()) == 1


def test_output_target_is_checked_before_reading(capsys: pytest.CaptureFixture[str],
                                                 tmp_path: Path) -> None:
    code, _, err = run(capsys, "import", "dmesg", str(tmp_path / "missing.log"), "-o", str(tmp_path))
    assert code == 2 and "directory" in err


def test_import_iomem_gives_the_map_and_the_image(capsys: pytest.CaptureFixture[str],
                                                  tmp_path: Path) -> None:
    code, out, err = run(capsys, "import", "iomem", str(shared_file(IOMEM)), "--cpus", "2",
                         "--kernel", "v6.1", "--sanitizer", "none")
    assert code == 0, err
    path = tmp_path / "vm.toml"
    path.write_text(out)
    layout = load_layout(path)
    assert layout.cpus == 2
    assert layout.kernel.image_base == 0x66E00000
    assert [(e.start, e.end, e.type) for e in layout.e820][:2] == [
        (0, 0x9E7FF, "usable"), (0x9E800, 0x9FFFF, "reserved")]
    assert ("ACPI data" in [e.type for e in layout.e820]) and ("ACPI NVS" in [e.type for e in layout.e820])
    assert "init section" in err


def test_iomem_read_without_root_is_refused() -> None:
    text = "00000000-00000000 : Reserved\n00000000-00000000 : System RAM\n"
    with pytest.raises(UserError, match="without root"):
        read_iomem(text, "iomem")


def test_iomem_skips_devices_and_warns_on_junk() -> None:
    facts = read_iomem("00001000-0009ffff : System RAM\nnot a line\n"
                       "fed00000-fed003ff : HPET 0\n00100000-0fffffff : System RAM\n", "x")
    assert [(e.start, e.end) for e in facts.e820] == [(0x1000, 0x9FFFF), (0x100000, 0xFFFFFFF)]
    assert any("line 2" in str(n) for n in facts.notes)


def test_profile_is_chosen_from_the_profiles_at_run_time() -> None:
    assert choose_profile((6, 1), ("v6.1", "v6.8", "mainline")).profile == "v6.1"
    assert choose_profile((6, 9), ("v6.1", "v6.8", "mainline")).profile == "v6.8"
    assert choose_profile((3, 14), ("v6.1", "v6.8", "mainline")).profile == "v6.1"
    assert choose_profile(None, ("v6.1", "mainline")).profile == "mainline"
    assert choose_profile((6, 8), ("v6.1", "mainline")).profile == "v6.1"
    assert choose_profile((7, 0), ("mainline",)).profile == "mainline"


def test_efi_boot_gets_a_firmware_table_with_its_boot_services() -> None:
    path = shared_file(LOGS["q35-efi"])
    imported = build_layout(read_dmesg(path.read_text(), str(path)))
    layout = check_layout(imported.text, "q35")
    fw = layout.firmware
    assert fw.efi and fw.memmap == (0x7F772040, 0x1AD0) and fw.memattr == (0x7DEA1118, 0x430)
    assert sum(b + 1 - a for a, b in fw.boot_services if a >= 0x100000) == 42520 << 10
    assert len(fw.acpi_tables) == 8


_e820_line = st.tuples(st.integers(0, 1 << 40), st.integers(0, 1 << 30),
                       st.sampled_from(["usable", "reserved", "ACPI data", "ACPI NVS", "unusable"])
                       ).map(lambda t: f"BIOS-e820: [mem {t[0]:#018x}-{t[0] + t[1]:#018x}] {t[2]}")


@settings(max_examples=40, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(_e820_line, min_size=1, max_size=12), st.integers(1, 64),
       st.sampled_from(["kmsan", "none", "kasan"]))
def test_any_e820_table_imports_to_a_layout_that_loads_or_one_clear_error(
        lines: list[str], cpus: int, sanitizer: str) -> None:
    text = "\n".join(lines) + f"\nsmpboot: Allowing {cpus} CPUs, 0 hotplug CPUs\n"
    facts = read_dmesg(text, "fuzz.log")
    try:
        imported = build_layout(facts, sanitizer=sanitizer, kernel="v6.1")
        check_layout(imported.text, "fuzz")
    except UserError as exc:
        assert "\n" not in str(exc)


@settings(max_examples=60, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.one_of(
    st.text(max_size=80),
    st.tuples(st.integers(0, 1 << 48), st.integers(0, 1 << 36),
              st.sampled_from(["System RAM", "Reserved", "ACPI Tables", "Kernel code", "PCI Bus"]),
              st.integers(0, 2)).map(lambda t: f"{'  ' * t[3]}{t[0]:x}-{t[0] + t[1]:x} : {t[2]}"),
), max_size=30))
def test_any_iomem_text_reads_or_fails_with_one_line(lines: list[str]) -> None:
    try:
        facts = read_iomem("\n".join(lines), "fuzz")
    except UserError as exc:
        assert "\n" not in str(exc)
        return
    assert all(e.start <= e.end for e in facts.e820)


def test_no_temporary_file_is_left_when_the_layout_does_not_load(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    log = tmp_path / "tiny.log"
    log.write_text("BIOS-e820: [mem 0x0000000000000000-0x0000000000000fff] usable\n")
    code, _, err = run(capsys, "import", "dmesg", str(log), "-o", str(tmp_path / "out.toml"))
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert sorted(os.listdir(tmp_path)) == ["tiny.log"]
