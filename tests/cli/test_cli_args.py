"""Bad arguments get one line on stderr and exit 2, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest

from kmsan_tui.cli import main


@pytest.mark.parametrize(("argv", "message"), [
    (["run", "--layout", "tiny-64m", "--seed", "-1"], "seed must be between 0 and"),
    (["run", "--layout", "tiny-64m", "--seed", "1e3"], "seed must be an integer"),
    (["run", "--layout", "tiny-64m", "--until", ""], "expected the name of a boot step"),
    (["compare", "--layout", "tiny-64m", "--until", "nope"], "unknown step 'nope'"),
    (["--layout", "server-1t", "--strategy", "lazy", "run"], "put it after `run`"),
    (["--session", "s.json", "run"], "put it after `run`"),
    (["--session", "s.json", "--layout", "tiny-64m"], "drop --layout/--strategy"),
    (["screenshot", "--layout", "tiny-64m", "--size", "100000x100000", "x.svg"], "is outside"),
    (["screenshot", "--layout", "tiny-64m", "--size", "wide", "x.svg"], "expected COLSxROWS"),
])
def test_bad_arguments_exit_2_with_one_line(argv: list[str], message: str,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        code = main(argv)
        raise SystemExit(code)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1


def test_a_screenshot_is_never_written_over_a_device(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["screenshot", "--layout", "tiny-64m", "/dev/null"]) == 2
    assert "character device" in capsys.readouterr().err
    assert Path("/dev/null").is_char_device()
