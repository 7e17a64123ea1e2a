"""Kernel messages out of a console capture: whatever wraps them (the printk timestamp,
a syslog or journald header, `dmesg -x` facility, the caller id, a log level, colour
escapes, `\\r`) is taken off, and the message is handed over with its line number.

Captures are untrusted: a line longer than ``MAX_LINE`` is skipped with a warning
instead of being matched, and a NUL byte or other control character makes the line
unusable for the same reason, so no regular expression ever sees megabytes of junk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

MAX_LINE = 2048
HEX = r"0x[0-9a-fA-F]{1,16}"
# ESC [ ... final byte, and the bare "[=3h" that a serial console leaves of it.
_ANSI = re.compile(r"\x1b\[[0-9;=?]{0,16}[A-Za-z]|\x1b[()][0-9A-Za-z]|\x1b|(?<![\w\]])\[=\d{1,3}h")
_SYSLOG = re.compile(r"(?:[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d|\d{4}-\d\d-\d\dT[\d:.+-]{8,32}) "
                     r"\S{1,64} kernel: ")
_LEVEL = re.compile(r"<\d{1,3}>")
_FACILITY = re.compile(r"[a-z]{2,8} *:[a-z]{3,6} *: ")
_STAMP = re.compile(r"\[ {0,12}\d{1,10}\.\d{1,9}\] ?")
_CALLER = re.compile(r"\[ {0,8}[TC]\d{1,7}\] ?")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True, slots=True)
class Message:
    """One kernel message and the line of the file it is on."""

    line: int
    text: str


def messages(text: str, warnings: list[tuple[int, str]]) -> Iterator[Message]:
    """The kernel messages of a capture, in order; problems go to ``warnings``."""
    for number, raw in enumerate(text.splitlines(), 1):
        if len(raw) > MAX_LINE:
            warnings.append((number, f"{len(raw)} characters long: skipped"))
            continue
        line = _ANSI.sub("", raw)
        m = _SYSLOG.match(line)
        if m:
            line = line[m.end():]
        for prefix in (_LEVEL, _FACILITY, _STAMP, _CALLER):
            m = prefix.match(line)
            if m:
                line = line[m.end():]
        if _CONTROL.search(line):
            warnings.append((number, "control characters in the line: skipped"))
            continue
        yield Message(number, line.rstrip())


def addr(text: str) -> int:
    """A hexadecimal address as printed (0x...)."""
    return int(text, 16)
