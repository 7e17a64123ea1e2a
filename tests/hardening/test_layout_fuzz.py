"""The layout loader, fuzzed: whatever a layout file holds, loading it gives a Layout or
one ``LayoutError`` line naming the file, and a layout that loads boots to its end in
bounded time without an exception.

Three kinds of input: structured edits of the shipped layouts (a value replaced by a
hostile one, a key removed or added, an array entry repeated), byte edits of their
text, and machines generated from scratch (firmware maps, nodes, kernel options).
Derandomised and bounded in ``make test``; many more under ``KMSAN_SLOW=1``.
"""

from __future__ import annotations

import copy
import os
import signal
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kmsan_tui.model.errors import LayoutError
from kmsan_tui.model.layout import parse_layout, parse_size
from kmsan_tui.model.simulation import Simulation
from tests.hardening.mutate import dumps, edit, get_path, paths

FAST = settings(derandomize=True, max_examples=80, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
FAST_BOOTS = settings(derandomize=True, max_examples=60, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])
SLOW = settings(derandomize=False, max_examples=1000, deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow])
BOOT_SECONDS = 20  # a layout that loads must boot in less (the largest take ~2 s)

_FOLDER = resources.files("kmsan_tui") / "layouts"
SHIPPED = {p.name: p.read_text() for p in _FOLDER.iterdir() if p.name.endswith(".toml")}
PARSED = {name: tomllib.loads(text) for name, text in SHIPPED.items()}


KEYS = st.sampled_from(["size", "start", "end", "cpus", "nr_cpus", "percpu_pages", "code",
                        "reserved", "bss", "image_base", "initrd_addr", "initrd_size",
                        "node_data_size", "pageblock_order", "paging_levels", "cmdline",
                        "percpu_static", "rwdata_offset", "type", "node", "e820", "nope"])


ALL_EDITS = ("set", "set", "scale", "delete", "add", "repeat")
MILD_EDITS = ("scale", "scale", "scale", "delete")


@st.composite
def edited_layouts(draw: st.DrawFn, kinds: tuple[str, ...] = ALL_EDITS) -> str:
    name = draw(st.sampled_from(sorted(PARSED)))
    doc = copy.deepcopy(PARSED[name])
    for _ in range(draw(st.integers(1, 4))):
        where = paths(doc)
        kind = draw(st.sampled_from(kinds))
        if kind == "scale":
            ints = [p for p in where if type(get_path(doc, p)) is int]
            if ints:
                path = draw(st.sampled_from(ints))
                parent = get_path(doc, path[:-1])
                factor = draw(st.sampled_from([0, 2, 3, 1024, 2**20, -1]))
                parent[path[-1]] = parent[path[-1]] * factor // draw(
                    st.sampled_from([1, 1, 2, 4])) + draw(st.sampled_from([0, 1, -1, 4096]))
        else:
            edit(draw, doc, kind, KEYS)
    return dumps(doc)


@st.composite
def byte_edited_layouts(draw: st.DrawFn) -> bytes:
    data = bytearray(SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))].encode())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        chunk = draw(st.binary(max_size=6) | st.sampled_from([b"[", b"]", b"{", b"=", b"\n",
                                                               b"\"", b"9" * 30, b"0x"]))
        data[at:at + draw(st.integers(0, 4))] = chunk
    return bytes(data)


# ---------------------------------------------------------------------- generated machines

MIB, GIB = 1 << 20, 1 << 30


@st.composite
def machines(draw: st.DrawFn, max_ram: int = 16 * GIB) -> str:
    """A plausible machine: a firmware map from low memory up, maybe nodes cut on 2 MiB
    boundaries, a kernel with any options, maybe an initrd, EFI ranges, numa=fake."""
    lines = ["[machine]", f"paging_levels = {draw(st.sampled_from([4, 5]))}"]
    cpus = draw(st.sampled_from([1, 2, 4, 7, 64]))
    lines.append(f"cpus = {cpus}")
    e820: list[tuple[int, int, str]] = []
    if draw(st.booleans()):
        e820 += [(0, 0x9FBFF, "usable"), (0x9FC00, 0x9FFFF, "reserved"),
                 (0xF0000, 0xFFFFF, "reserved")]
    at, ram = 0x100000, 0
    for _ in range(draw(st.integers(1, 6))):
        at += draw(st.sampled_from([0, 0, 4096, MIB, 256 * MIB, 1 << 32]))
        size = draw(st.sampled_from([4096, MIB, 16 * MIB, 64 * MIB, 256 * MIB, GIB, 4 * GIB])
                    | st.integers(4096, 4 * GIB))
        kind = draw(st.sampled_from(["usable"] * 4 + ["reserved", "ACPI data", "ACPI NVS",
                                                      "unusable", "persistent"]))
        if kind == "usable" and ram + size > max_ram:
            continue
        ram += size if kind == "usable" else 0
        e820.append((at, at + size - 1, kind))
        at += size
    # Room for the kernel image: one usable range of at least 128 MiB (the boot needs
    # it; a map without one is tested above, as a one-line error).
    e820.append((at + GIB, at + GIB + draw(st.sampled_from([128 * MIB, GIB])) - 1, "usable"))
    lines.append("e820 = [" + ", ".join(f'{{ start = {a:#x}, end = {b:#x}, type = "{t}" }}'
                                        for a, b, t in e820) + "]")
    usable = [(a, b) for a, b, t in e820 if t == "usable"]
    big = [(a, b) for a, b in usable if b - a >= 128 * MIB - 1]
    if usable and draw(st.booleans()):
        top = max(b for _, b in usable) + 1
        cuts = sorted({0, top} | {draw(st.integers(0, top)) >> 21 << 21
                                  for _ in range(draw(st.integers(0, 3)))})
        left, nodes = cpus, []
        for j in range(len(cuts) - 1):
            c = left if j == len(cuts) - 2 else draw(st.integers(0, left))
            left -= c
            nodes.append(f"{{ start = {cuts[j]:#x}, end = {cuts[j + 1]:#x}, cpus = {c} }}")
        lines.append("node = [" + ", ".join(nodes) + "]")
    lines.append("[kernel]")
    for key, choices in (("version", ["v6.1", "v6.8", "mainline"]),
                         ("sanitizer", ["kmsan", "kmsan", "kasan", "none"]),
                         ("strategy", ["eager", "lazy", "fixed"]),
                         ("lazy_activation", ["mem_init", "page_ext_init"]),
                         ("lazy_storage", ["struct_page", "page_ext"])):
        lines.append(f'{key} = "{draw(st.sampled_from(choices))}"')
    for flag in ("kfence", "kmemleak", "debug_objects", "page_owner", "zone_device",
                 "randomize_memory"):
        if draw(st.booleans()):
            lines.append(f"{flag} = true")
    lines.append(f"pageblock_order = {draw(st.sampled_from([9, 10]))}")
    a, b = draw(st.sampled_from(big))
    base = (a + (2 << 20) - 1) >> 21 << 21
    lines.append(f"image_base = {draw(st.integers(base, base + 32 * MIB)) >> 21 << 21:#x}")
    if draw(st.booleans()):
        lines.append(f"initrd_addr = {draw(st.integers(0, 1 << 33)) >> 12 << 12:#x}")
        lines.append(f'initrd_size = "{draw(st.sampled_from(["4K", "8M", "128M"]))}"')
    if draw(st.booleans()):
        lines.append(f'cmdline = "numa=fake={draw(st.integers(1, 64))}"')
    if draw(st.booleans()):
        lines.append("[kernel.image.kmsan]")
        for key in ("code", "rwdata", "rodata", "init", "bss"):
            lines.append(f"{key} = {draw(st.sampled_from([4096, 65536, MIB, 16 * MIB]))}")
        lines.append(f"reserved = {draw(st.sampled_from([64 * MIB, 80 * MIB]))}")
        lines.append(f"percpu_pages = {draw(st.sampled_from([1, 40, 158]))}")
    if usable and draw(st.booleans()):
        a, b = draw(st.sampled_from(usable))
        if b - a > 1 << 16:
            start = draw(st.integers(a, b - 4096)) >> 12 << 12
            end = min(b, start + draw(st.sampled_from([4096, MIB, 64 * MIB])) - 1)
            lines += ["[firmware]", 'type = "efi"',
                      f"boot_services = [{{ start = {start:#x}, end = {end:#x} }}]",
                      f"memmap = {{ start = {start:#x}, size = 0x1000 }}"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------- the checks


class Slow(Exception):
    pass


@contextmanager
def time_limit(seconds: int) -> Iterator[None]:
    def expire(*_: object) -> None:
        raise Slow(f"still running after {seconds} s")

    old = signal.signal(signal.SIGALRM, expire)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


def loads_or_one_line(text: str | bytes) -> Any:
    """The layout, or None after checking the error is one line naming the file."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            return None  # safeio.decode's business (tested there)
    try:
        with time_limit(5):
            return parse_layout(text, "fuzz.toml", "fuzz")
    except LayoutError as exc:
        message = str(exc)
        assert "\n" not in message and message.startswith("fuzz.toml"), message
        assert len(message) < 400, message
        return None


def boots(text: str) -> None:
    layout = loads_or_one_line(text)
    if layout is None:
        return
    with time_limit(BOOT_SECONDS):
        sim = Simulation(layout)
        sim.run()
        sim.metrics()
        sim.digest()


@FAST
@given(edited_layouts())
def test_an_edited_shipped_layout_loads_or_is_one_line(text: str) -> None:
    loads_or_one_line(text)


@FAST
@given(byte_edited_layouts())
def test_a_byte_edited_shipped_layout_loads_or_is_one_line(data: bytes) -> None:
    loads_or_one_line(data)


@FAST_BOOTS
@given(machines(max_ram=4 * GIB))
def test_a_generated_machine_loads_and_boots_or_is_one_line(text: str) -> None:
    boots(text)


@FAST_BOOTS
@given(edited_layouts(MILD_EDITS))
def test_an_edited_layout_that_loads_boots(text: str) -> None:
    boots(text)


@pytest.mark.parametrize(("text", "value"), [
    ("1.5G", 3 << 29), ("0.5K", 512), ("2GiB", 2 << 30), ("0x1_000", 4096), (" 64k ", 65536),
])
def test_sizes_are_exact(text: str, value: int) -> None:
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["inf", "1e400", "-1", "nan", "0.3K", "1.0000000001G", "0x",
                                  "", "G", "1" * 50, "1,5G", "+4G", "4 G B"])
def test_what_is_no_size_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="not a"):
        parse_size(text)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("KMSAN_SLOW"), reason="slow: set KMSAN_SLOW=1")
@SLOW
@given(edited_layouts(), byte_edited_layouts())
def test_the_loader_under_many_more_edits(text: str, data: bytes) -> None:
    loads_or_one_line(text)
    loads_or_one_line(data)


@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("KMSAN_SLOW"), reason="slow: set KMSAN_SLOW=1")
@settings(derandomize=False, max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(machines(), edited_layouts(MILD_EDITS))
def test_many_more_generated_machines_boot(text: str, edited: str) -> None:
    boots(text)
    boots(edited)
