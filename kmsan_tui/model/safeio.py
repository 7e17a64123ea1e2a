"""Reading untrusted files and writing the user's files without ever destroying one.

Every file the tool reads (layouts, sessions, keymaps, lessons, imported logs) comes
through ``read_text``: only regular files, at most ``limit`` bytes, UTF-8, and one
``UserError`` line naming the file (and the line for a bad byte) for anything else.
``load_toml`` and ``load_json`` add a bound on nesting, so a hostile file cannot
exhaust the parser's stack.

Every file the tool writes (sessions, screenshots, exported layouts) goes through
``check_target`` before the work starts and ``atomic_write`` at the end: a temporary
file in the same directory, fsync, rename over the target, fsync the directory; the
target must be a regular file or not exist (never a device, a directory or a FIFO),
and nothing is left behind if the write fails. Stdlib only: the model, the session
and the tutorial all use it.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import stat
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from kmsan_tui.model.errors import UserError

MiB = 1 << 20
DEFAULT_LIMIT = 16 * MiB
MAX_NESTING = 64
MAX_DIGITS = 100
"""Digits of a number in an input file: far more than any size or count needs, far
fewer than Python's int parser refuses with a ValueError (4,300)."""
FILE_MODE = 0o644


class InputError(UserError):
    """An input file that cannot be read or parsed; the message names file and place."""


def read_bytes(path: str | Path, what: str = "file", limit: int = DEFAULT_LIMIT) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes (else an InputError)."""
    name = str(path)
    if not name or "\0" in name:
        raise InputError(f"{name!r}: not a file name")
    try:
        fd = os.open(name, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0))
    except OSError as exc:
        raise InputError(f"{name}: cannot read {what}: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise InputError(f"{name}: not a regular file (a {_kind(info.st_mode)}): "
                             f"cannot read it as a {what}")
        if info.st_size > limit:
            raise InputError(f"{name}: {what} of {info.st_size} bytes is over the "
                             f"{limit >> 20} MiB limit")
        chunks = []
        total = 0
        while True:
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                break
            total += len(chunk)
            if total > limit:  # the file grew while we read it
                raise InputError(f"{name}: {what} is over the {limit >> 20} MiB limit")
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError as exc:
        raise InputError(f"{name}: cannot read {what}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def decode(data: bytes, name: str) -> str:
    """UTF-8 text (a BOM is dropped); a bad byte is reported with its line and column."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise InputError(f"{name}: line {line}, column {col}: not UTF-8 "
                         f"(byte {data[exc.start]:#04x})") from None
    return text.removeprefix("\ufeff")


def read_text(path: str | Path, what: str = "file", limit: int = DEFAULT_LIMIT) -> str:
    """The UTF-8 text of a regular file of at most ``limit`` bytes."""
    return decode(read_bytes(path, what, limit), str(path))


def check_nesting(text: str, name: str, limit: int = MAX_NESTING) -> None:
    """Refuse text whose brackets nest deeper than ``limit`` (before a recursive parser
    sees it). Brackets inside strings count too: a generous, cheap bound."""
    depth = 0
    line = 1
    for ch in text:
        if ch in "[{":
            depth += 1
            if depth > limit:
                raise InputError(f"{name}: line {line}: nested more than {limit} levels deep")
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "\n":
            line += 1


def parse_toml(text: str, name: str) -> dict[str, Any]:
    """A TOML document, its errors as one line naming the file and line. Floats must be
    finite (TOML allows ``inf`` and ``nan``; no input of ours means them)."""
    check_nesting(text, name)

    def number(value: str) -> float:
        result = float(value)
        if not math.isfinite(result):
            raise InputError(f"{name}: {value}: not a finite number")
        return result

    try:
        return tomllib.loads(text, parse_float=number)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{name}: {exc}") from None
    except RecursionError:
        raise InputError(f"{name}: nested too deeply") from None
    except ValueError:  # Python's int() refuses decimals of over 4,300 digits
        raise InputError(f"{name}: a number too long to read") from None


def load_toml(path: str | Path, what: str = "file", limit: int = DEFAULT_LIMIT) -> dict[str, Any]:
    """Read and parse a TOML file (see read_text and parse_toml)."""
    return parse_toml(read_text(path, what, limit), str(path))


def parse_json(text: str, name: str) -> Any:
    """A JSON document, its errors as one line naming the file and line. NaN and
    Infinity, which Python accepts, are refused: they are not JSON; so are numbers
    that only parse as infinity (``1e999``) and integers of more than MAX_DIGITS digits."""
    check_nesting(text, name)

    def constant(value: str) -> Any:
        raise InputError(f"{name}: {value} is not a JSON number")

    def number(value: str) -> float:
        result = float(value)
        if not math.isfinite(result):
            raise InputError(f"{name}: {value[:20]}: a number out of range")
        return result

    def integer(value: str) -> int:
        if len(value) > MAX_DIGITS:
            raise InputError(f"{name}: an integer of {len(value):,} digits (at most "
                             f"{MAX_DIGITS})")
        return int(value)

    try:
        return json.loads(text, parse_constant=constant, parse_float=number,
                          parse_int=integer)
    except json.JSONDecodeError as exc:
        raise InputError(f"{name}: line {exc.lineno}, column {exc.colno}: {exc.msg}") from None
    except RecursionError:
        raise InputError(f"{name}: nested too deeply") from None


def load_json(path: str | Path, what: str = "file", limit: int = DEFAULT_LIMIT) -> Any:
    """Read and parse a JSON file (see read_text and parse_json)."""
    return parse_json(read_text(path, what, limit), str(path))


# ---------------------------------------------------------------------- writing


def check_target(path: str | Path, what: str = "file") -> Path:
    """Make sure ``path`` can be written before any long work starts.

    The target must be a regular file or not exist yet, its directory must exist (or
    be creatable) and be writable, and the name must be usable. Returns the path.
    """
    target = Path(path)
    name = str(path)
    if not name or name.endswith(os.sep) or "\0" in name:
        raise UserError(f"{name!r}: not a file name for the {what}")
    try:
        info = os.lstat(target)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UserError(f"{name}: cannot write the {what}: {exc.strerror or exc}") from None
    if info is not None:
        mode = info.st_mode
        if stat.S_ISLNK(mode):
            try:
                mode = os.stat(target).st_mode
            except OSError:
                mode = stat.S_IFREG  # a dangling link: the rename replaces the link
        if not stat.S_ISREG(mode):
            raise UserError(f"{name}: is a {_kind(mode)}, not a regular file: "
                            f"refusing to write the {what} over it")
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{name}: cannot create directory {parent}: "
                        f"{exc.strerror or exc}") from None
    if not parent.is_dir():
        raise UserError(f"{name}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"{name}: directory {parent} is not writable")
    try:
        max_name = os.pathconf(parent, "PC_NAME_MAX")
    except (OSError, ValueError):
        max_name = 255
    if len(os.fsencode(target.name)) + 16 > max_name:  # room for the temporary name
        raise UserError(f"{name}: file name too long")
    return target


def atomic_write(path: str | Path, data: str | bytes, what: str = "file") -> Path:
    """Write ``data`` to ``path`` so that a crash leaves the old file or the new one.

    Temporary file beside the target (mode 0644), fsync, rename, fsync the directory.
    Refuses targets that are not regular files; removes the temporary on any failure.
    """
    target = check_target(path, what)
    payload = data.encode() if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(payload)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, FILE_MODE & ~_umask())
        check_target(target, what)  # nothing else appeared at the name meanwhile
        os.replace(tmp, target)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            reason = exc.strerror or str(exc)
            if exc.errno == errno.ENOSPC:
                reason = "no space left on the device"
            raise UserError(f"{path}: cannot write the {what}: {reason}") from None
        raise
    _fsync_dir(target.parent)
    return target


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some file systems cannot fsync a directory; the rename is done
    finally:
        os.close(fd)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _kind(mode: int) -> str:
    for test, kind in ((stat.S_ISDIR, "directory"), (stat.S_ISCHR, "character device"),
                       (stat.S_ISBLK, "block device"), (stat.S_ISFIFO, "FIFO"),
                       (stat.S_ISSOCK, "socket"), (stat.S_ISLNK, "symbolic link")):
        if test(mode):
            return kind
    return "special file"
