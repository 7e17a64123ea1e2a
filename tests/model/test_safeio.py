"""Untrusted input is read safely; a write never destroys what is at the target."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kmsan_tui.model import safeio
from kmsan_tui.model.errors import UserError


def test_a_regular_file_is_read_as_text(tmp_path: Path) -> None:
    f = tmp_path / "a.toml"
    f.write_bytes("\ufeffx = 1\n".encode())
    assert safeio.read_text(f) == "x = 1\n"


@pytest.mark.parametrize("path", ["/dev/zero", "/dev/null", "/"])
def test_anything_but_a_regular_file_is_refused(path: str) -> None:
    with pytest.raises(UserError, match="not a regular file"):
        safeio.read_text(path, "layout")


def test_a_file_over_the_limit_is_refused(tmp_path: Path) -> None:
    f = tmp_path / "big"
    f.write_bytes(b"x" * 2000)
    with pytest.raises(UserError, match="over the"):
        safeio.read_text(f, limit=1000)


def test_a_bad_byte_is_reported_with_its_line_and_column(tmp_path: Path) -> None:
    f = tmp_path / "bad.toml"
    f.write_bytes(b"a = 1\nb = \xff\n")
    with pytest.raises(UserError, match=r"bad.toml: line 2, column 5: not UTF-8"):
        safeio.read_text(f)


def test_deep_nesting_is_refused_before_parsing() -> None:
    with pytest.raises(UserError, match="nested more than"):
        safeio.parse_toml("a = " + "[" * 500 + "]" * 500, "deep.toml")
    with pytest.raises(UserError, match="nested more than"):
        safeio.parse_json("[" * 10000 + "]" * 10000, "deep.json")


def test_json_errors_name_the_line_and_nan_is_not_json() -> None:
    with pytest.raises(UserError, match="s.json: line 2, column 1"):
        safeio.parse_json('{"a": 1,\n}', "s.json")
    with pytest.raises(UserError, match="Infinity is not a JSON number"):
        safeio.parse_json('{"ops": Infinity}', "s.json")


def test_atomic_write_replaces_a_regular_file_with_mode_0644(tmp_path: Path) -> None:
    f = tmp_path / "s.json"
    f.write_text("old")
    old_umask = os.umask(0o022)
    try:
        safeio.atomic_write(f, "new")
    finally:
        os.umask(old_umask)
    assert f.read_text() == "new"
    assert f.stat().st_mode & 0o777 == 0o644
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


@pytest.mark.parametrize("kind", ["directory", "fifo"])
def test_a_write_never_replaces_what_is_not_a_regular_file(tmp_path: Path, kind: str) -> None:
    target = tmp_path / "t"
    if kind == "directory":
        target.mkdir()
    else:
        os.mkfifo(target)
    with pytest.raises(UserError, match="not a regular file"):
        safeio.atomic_write(target, "x")
    assert target.exists() and not target.is_file()
    assert [p.name for p in tmp_path.iterdir()] == ["t"]


def test_a_character_device_is_refused_and_left_alone() -> None:
    with pytest.raises(UserError, match="character device"):
        safeio.check_target("/dev/null", "session")
    assert Path("/dev/null").is_char_device()


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "s.json"
    f.write_text("old")

    def broken_replace(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(safeio.os, "replace", broken_replace)
    with pytest.raises(UserError, match="no space left"):
        safeio.atomic_write(f, "new")
    assert f.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["s.json"]


def test_an_empty_or_overlong_name_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError):
        safeio.check_target("", "session")
    with pytest.raises(UserError, match="too long"):
        safeio.check_target(tmp_path / ("x" * 300), "session")
