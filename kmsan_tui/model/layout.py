"""Machine layouts: the firmware memory map, NUMA nodes, CPUs and the kernel build.

A layout is a TOML file (format documented in layouts/README.md). Shipped layouts live
in the package (``kmsan_tui/layouts``); ``load_layout`` takes a shipped name or a path.
Every problem is reported as one ``LayoutError`` line naming the file and the key.
The values it builds are in ``kmsan_tui.model.layout_types``; strategy names and
their options come from the strategy registry.
"""

from __future__ import annotations

import tomllib
from importlib import resources
from pathlib import Path
from typing import Any

from kmsan_tui.model.errors import LayoutError
from kmsan_tui.model.layout_types import (
    E820_TYPES,
    KERNELS,
    SANITIZERS,
    E820Entry,
    KernelConfig,
    KernelImage,
    Layout,
    Node,
    default_image,
)
from kmsan_tui.model.strategies.registry import STRATEGIES, option_choices

__all__ = ["E820_TYPES", "KERNELS", "SANITIZERS", "STRATEGIES", "E820Entry", "KernelConfig",
           "KernelImage", "Layout", "LayoutError", "Node", "default_image", "load_layout",
           "parse_size", "shipped_layouts"]


class _Reader:
    """Typed access to a TOML table that names the file and dotted key on error."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, key: str, message: str) -> LayoutError:
        return LayoutError(f"{self.source}: {key}: {message}")

    def get(self, table: dict[str, Any], key: str, path: str, kind: type | tuple[type, ...],
            default: Any = ...) -> Any:
        where = f"{path}.{key}" if path else key
        if key not in table:
            if default is ...:
                raise self.fail(where, "missing")
            return default
        value = table[key]
        if isinstance(value, bool) and kind in (int, (int,)):
            raise self.fail(where, f"expected an integer, got {value!r}")
        if not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            raise self.fail(where, f"expected {names}, got {type(value).__name__} {value!r}")
        return value

    def size(self, table: dict[str, Any], key: str, path: str, default: Any = ...) -> int:
        """An int in bytes, or a string with a unit: "4G", "512M", "64K"."""
        raw = self.get(table, key, path, (int, str), default)
        if isinstance(raw, int):
            if raw < 0:
                raise self.fail(f"{path}.{key}", f"must not be negative, got {raw}")
            return raw
        return parse_size(raw, lambda msg: self.fail(f"{path}.{key}", msg))

    def choice(self, table: dict[str, Any], key: str, path: str, choices: tuple[str, ...],
               default: str) -> str:
        value = self.get(table, key, path, str, default)
        if value not in choices:
            raise self.fail(f"{path}.{key}", f"expected one of {', '.join(choices)}, got {value!r}")
        return str(value)


_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40, "P": 1 << 50}


def parse_size(text: str, fail: Any = None) -> int:
    """Parse "16T", "512M", "0x1000" or "4096" into bytes."""
    s = text.strip().upper().removesuffix("IB").removesuffix("B")
    try:
        if s.startswith("0X"):
            return int(s, 16)
        unit = s[-1] if s and s[-1] in _UNITS else ""
        number = s[: len(s) - len(unit)] if unit else s
        return int(float(number) * _UNITS[unit])
    except (ValueError, IndexError):
        err = f"not a size: {text!r} (use bytes or a unit: 64K, 512M, 4G, 16T)"
        raise (fail(err) if fail else ValueError(err)) from None


def _parse(data: dict[str, Any], source: str, fallback_name: str) -> Layout:
    r = _Reader(source)
    machine = r.get(data, "machine", "", dict)
    name = r.get(machine, "name", "machine", str, fallback_name)
    description = r.get(machine, "description", "machine", str, "")
    paging = r.get(machine, "paging_levels", "machine", int, 4)
    if paging not in (4, 5):
        raise r.fail("machine.paging_levels", f"expected 4 or 5, got {paging}")
    total_cpus = r.get(machine, "cpus", "machine", int, 1)
    if total_cpus < 1:
        raise r.fail("machine.cpus", f"must be at least 1, got {total_cpus}")

    e820: list[E820Entry] = []
    # The arrays may sit in [machine] (after its keys) or at the top of the file.
    home, prefix = (machine, "machine.") if "e820" in machine else (data, "")
    raw_e820 = r.get(home, "e820", prefix.rstrip("."), list)
    if not raw_e820:
        raise r.fail(f"{prefix}e820", "the firmware map is empty")
    for i, entry in enumerate(raw_e820):
        path = f"{prefix}e820[{i}]"
        if not isinstance(entry, dict):
            raise r.fail(path, "expected a table")
        start = r.size(entry, "start", path)
        if "end" in entry:
            end = r.size(entry, "end", path)
        else:
            end = start + r.size(entry, "size", path) - 1
        kind = r.choice(entry, "type", path, E820_TYPES, "usable")
        if end < start:
            raise r.fail(path, f"end {end:#x} is below start {start:#x}")
        if e820 and start <= e820[-1].end:
            raise r.fail(path, f"overlaps or is out of order with {prefix}e820[{i - 1}]")
        e820.append(E820Entry(start, end, kind))
    if not any(e.type == "usable" for e in e820):
        raise r.fail(f"{prefix}e820", "no usable RAM")

    top = max(e.end + 1 for e in e820 if e.type == "usable")
    home, prefix = (machine, "machine.") if "node" in machine else (data, "")
    raw_nodes = r.get(home, "node", prefix.rstrip("."), list, [])
    nodes: list[Node] = []
    if not raw_nodes:
        # arch/x86/mm/numa.c: dummy_numa_init() "Faking a node" over all RAM.
        nodes.append(Node(0, 0, top, total_cpus))
    for i, entry in enumerate(raw_nodes):
        path = f"{prefix}node[{i}]"
        if not isinstance(entry, dict):
            raise r.fail(path, "expected a table")
        start = r.size(entry, "start", path)
        end = r.size(entry, "end", path)
        cpus = r.get(entry, "cpus", path, int, 1)
        if end <= start:
            raise r.fail(path, "end must be above start")
        if nodes and start < nodes[-1].end:
            raise r.fail(path, "nodes must be in address order and must not overlap")
        nodes.append(Node(i, start, end, cpus))

    kt = r.get(data, "kernel", "", dict, {})
    images: dict[str, KernelImage] = {}
    raw_images = r.get(kt, "image", "kernel", dict, {})
    for san, table in raw_images.items():
        path = f"kernel.image.{san}"
        if san not in SANITIZERS:
            raise r.fail(path, f"unknown sanitizer (expected {', '.join(SANITIZERS)})")
        if not isinstance(table, dict):
            raise r.fail(path, "expected a table")
        base = default_image(san)
        images[san] = KernelImage(
            code=r.size(table, "code", path, base.code),
            rwdata=r.size(table, "rwdata", path, base.rwdata),
            rodata=r.size(table, "rodata", path, base.rodata),
            init=r.size(table, "init", path, base.init),
            bss=r.size(table, "bss", path, base.bss),
            reserved=r.size(table, "reserved", path, base.reserved),
            percpu_pages=r.get(table, "percpu_pages", path, int, base.percpu_pages),
        )
    kernel = KernelConfig(
        version=r.choice(kt, "version", "kernel", KERNELS, "mainline"),
        sanitizer=r.choice(kt, "sanitizer", "kernel", SANITIZERS, "kmsan"),
        strategy=r.choice(kt, "strategy", "kernel", STRATEGIES, "eager"),
        lazy_activation=r.choice(kt, "lazy_activation", "kernel",
                                 option_choices("lazy_activation"), "mem_init"),
        lazy_storage=r.choice(kt, "lazy_storage", "kernel", option_choices("lazy_storage"),
                              "struct_page"),
        kfence=r.get(kt, "kfence", "kernel", bool, False),
        kmemleak=r.get(kt, "kmemleak", "kernel", bool, False),
        debug_objects=r.get(kt, "debug_objects", "kernel", bool, False),
        page_owner=r.get(kt, "page_owner", "kernel", bool, False),
        pageblock_order=r.get(kt, "pageblock_order", "kernel", int, 9),
        image_base=r.size(kt, "image_base", "kernel", 0x1000000),
        initrd_addr=r.size(kt, "initrd_addr", "kernel", 0),
        initrd_size=r.size(kt, "initrd_size", "kernel", 0),
        images=images,
    )
    for san, img in images.items():
        # The reserved span must hold every section: text, rodata, data, init, bss.
        need = img.data_offset + img.rwdata + img.init + img.bss
        if img.reserved < need:
            raise r.fail(f"kernel.image.{san}.reserved",
                         f"{img.reserved:#x} is smaller than the sections it must hold ({need:#x})")
    if kernel.pageblock_order not in (9, 10):
        raise r.fail("kernel.pageblock_order", f"expected 9 (hugetlb) or 10, got {kernel.pageblock_order}")
    image = kernel.image()
    if not any(e.type == "usable" and e.start <= kernel.image_base
               and kernel.image_base + image.reserved - 1 <= e.end for e in e820):
        raise r.fail("kernel.image_base", f"the kernel image at {kernel.image_base:#x} is not in usable RAM")
    if raw_nodes and sum(n.cpus for n in nodes) != total_cpus and "cpus" in machine:
        raise r.fail("machine.cpus", "does not match the sum of node[].cpus")
    return Layout(name, description, source, tuple(e820), tuple(nodes), paging, kernel)


def shipped_layouts() -> list[str]:
    """Names of the layouts shipped with the app, sorted by RAM size."""
    folder = resources.files("kmsan_tui") / "layouts"
    names = [p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")]
    return sorted(names, key=lambda n: load_layout(n).ram_bytes)


def load_layout(name_or_path: str | Path) -> Layout:
    """Load a shipped layout by name (``qemu-8g``) or a TOML file by path."""
    text_name = str(name_or_path)
    path = Path(text_name)
    if not text_name.endswith(".toml") and "/" not in text_name:
        shipped = resources.files("kmsan_tui") / "layouts" / f"{text_name}.toml"
        if not shipped.is_file():
            known = ", ".join(
                p.name.removesuffix(".toml")
                for p in sorted((resources.files("kmsan_tui") / "layouts").iterdir(),
                                key=lambda p: p.name)
                if p.name.endswith(".toml"))
            raise LayoutError(f"{text_name}: no such layout (shipped: {known})")
        return _load_text(shipped.read_text(), f"layouts/{text_name}.toml", text_name)
    try:
        text = path.read_text()
    except OSError as exc:
        raise LayoutError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return _load_text(text, str(path), path.stem)


def _load_text(text: str, source: str, fallback_name: str) -> Layout:
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise LayoutError(f"{source}: {exc}") from None
    return _parse(data, source, fallback_name)
