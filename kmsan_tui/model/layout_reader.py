"""Typed, bounded reading of a layout's TOML tables, and the kernel's limits it checks.

Every value of a layout is checked here before a boot step sees it: its type, its
range (the kernel's own limits below), and that the table has no key the format does
not know (a typo would otherwise be ignored in silence). Each problem is one
``LayoutError`` naming the file and the dotted key. Sizes are parsed with integer
arithmetic only: ``"1e400"``, ``"inf"`` or ``"-1"`` are no sizes, ``"1.5G"`` is exact.
"""

from __future__ import annotations

import re
from fractions import Fraction
from typing import Any

from kmsan_tui.model.errors import LayoutError

# arch/x86/include/asm/sparsemem.h: MAX_PHYSMEM_BITS is 46 with 4-level paging and 52
# with 5-level (pgtable_l5_enabled()); nothing the firmware reports above it is usable.
PHYS_BITS = {4: 46, 5: 52}
# include/linux/numa.h: MAX_NUMNODES = 1 << NODES_SHIFT, 10 at most on x86-64 (MAXSMP).
MAX_NUMNODES = 1 << 10
# arch/x86/Kconfig: NR_CPUS_RANGE_END is 8192 with CONFIG_MAXSMP.
MAX_NR_CPUS = 8192
# arch/x86/include/asm/e820/types.h: E820_MAX_ENTRIES_ZEROPAGE + 3 * MAX_NUMNODES.
E820_MAX_ENTRIES = 128 + 3 * MAX_NUMNODES
# drivers/acpi/tables.c: ACPI_MAX_TABLES, the tables acpi_table_init() keeps.
ACPI_MAX_TABLES = 128
# setup_data is a linked list with no limit in the kernel; a boot loader passes a few.
MAX_SETUP_DATA = 256
# arch/x86/include/asm/page_64_types.h: KERNEL_IMAGE_SIZE (1 GiB with KASLR).
KERNEL_IMAGE_SIZE = 1 << 30
# Sizes beyond 128 bits are no sizes at all; the physical limit is checked apart.
MAX_SIZE = (1 << 128) - 1
# Characters of a layout's name (it becomes part of file names) and description.
MAX_NAME = 64
MAX_TEXT = 500

_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}
_SIZE = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?)(?P<unit>[KMGTP]?)")
_HEX = re.compile(r"0X[0-9A-F]+(?:_[0-9A-F]+)*")


def parse_size(text: str, fail: Any = None) -> int:
    """Parse "16T", "512M", "1.5G", "0x1000" or "4096" into bytes, exactly (integer
    arithmetic: no float ever rounds, overflows or turns into infinity)."""
    s = text.strip().upper().removesuffix("IB").removesuffix("B")
    err = f"not a size: {_short(text)} (use bytes or a unit: 64K, 512M, 4G, 16T)"
    if len(s) <= 40:
        if _HEX.fullmatch(s):
            return int(s, 16)
        match = _SIZE.fullmatch(s)
        if match is not None:
            value = Fraction(match["number"]) * _UNITS[match["unit"]]
            if value.denominator == 1:
                return int(value)
            err = f"not a whole number of bytes: {_short(text)}"
    raise (fail(err) if fail else ValueError(err))


def _short(value: Any) -> str:
    """A value for an error message: its repr, cut to a readable length."""
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        return f"a {value.bit_length()}-bit number"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _type_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {int: "an integer", str: "a string", dict: "a table", list: "an array",
             bool: "true or false"}
    return " or ".join(names.get(k, k.__name__) for k in kinds)


class Reader:
    """Typed access to a TOML table that names the file and the dotted key on error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> LayoutError:
        return LayoutError(f"{self.source}: {key}: {message}" if key
                           else f"{self.source}: {message}")

    @staticmethod
    def where(path: str, key: str) -> str:
        return f"{path}.{key}" if path else key

    def get(self, table: dict[str, Any], key: str, path: str, kind: type | tuple[type, ...],
            default: Any = ...) -> Any:
        where = self.where(path, key)
        if key not in table:
            if default is ...:
                raise self.fail(where, "missing")
            return default
        value = table[key]
        kinds = kind if isinstance(kind, tuple) else (kind,)
        if isinstance(value, bool) and bool not in kinds or not isinstance(value, kinds):
            raise self.fail(where, f"expected {_type_name(kind)}, got {_short(value)}")
        return value

    def integer(self, table: dict[str, Any], key: str, path: str, lo: int, hi: int,
                default: Any = ...) -> int:
        value = self.get(table, key, path, int, default)
        if not lo <= value <= hi:
            raise self.fail(self.where(path, key),
                            f"expected {lo}..{hi}, got {_short(value)}")
        return int(value)

    def size(self, table: dict[str, Any], key: str, path: str, default: Any = ...,
             hi: int = MAX_SIZE) -> int:
        """A size or an address: an int in bytes, or a string with a unit ("4G",
        "512M", "64K", "0x1000"); never negative, at most ``hi``."""
        where = self.where(path, key)
        raw = self.get(table, key, path, (int, str), default)
        if isinstance(raw, str):
            raw = parse_size(raw, lambda msg: self.fail(where, msg))
        if raw < 0:
            raise self.fail(where, f"must not be negative, got {_short(raw)}")
        if raw > hi:
            raise self.fail(where, f"{_short(raw) if raw > MAX_SIZE else hex(raw)} is over "
                                   f"the limit of {hi:#x}")
        return int(raw)

    def choice(self, table: dict[str, Any], key: str, path: str, choices: tuple[str, ...],
               default: str) -> str:
        value = self.get(table, key, path, str, default)
        if value not in choices:
            raise self.fail(self.where(path, key),
                            f"expected one of {', '.join(choices)}, got {_short(value)}")
        return str(value)

    def text(self, table: dict[str, Any], key: str, path: str, default: str,
             limit: int = MAX_TEXT) -> str:
        """A one-line string of at most ``limit`` characters."""
        value = self.get(table, key, path, str, default)
        if len(value) > limit or not value.isprintable():
            raise self.fail(self.where(path, key),
                            f"expected one printable line of at most {limit} characters")
        return str(value)

    def entries(self, table: dict[str, Any], key: str, path: str, limit: int,
                default: Any = ...) -> list[dict[str, Any]]:
        """An array of tables, of at most ``limit`` entries."""
        raw = self.get(table, key, path, list, default)
        where = self.where(path, key)
        if len(raw) > limit:
            raise self.fail(where, f"{len(raw):,} entries is over the limit of {limit:,}")
        for i, entry in enumerate(raw):
            if not isinstance(entry, dict):
                raise self.fail(f"{where}[{i}]", "expected a table")
        return list(raw)

    def keys(self, table: dict[str, Any], path: str, allowed: set[str] | frozenset[str]
             ) -> None:
        """Refuse a key the format does not have (most often a typo)."""
        for key in table:
            if key not in allowed:
                raise self.fail(self.where(path, _short(key).strip("'")),
                                f"unknown key (expected {', '.join(sorted(allowed))})")
