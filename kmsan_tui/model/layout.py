"""Machine layouts: the firmware memory map, NUMA nodes, CPUs and the kernel build.

A layout is a TOML file (format documented in layouts/README.md). Shipped layouts live
in the package (``kmsan_tui/layouts``); ``load_layout`` takes a shipped name or a path.
Every problem is reported as one ``LayoutError`` line naming the file and the key.
The values it builds are in ``kmsan_tui.model.layout_types``; strategy names and
their options come from the strategy registry.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

from kmsan_tui.model.errors import LayoutError
from kmsan_tui.model.layout_types import (
    DEFAULT_CMDLINE,
    E820_TYPES,
    FIRMWARE_TYPES,
    KERNELS,
    SANITIZERS,
    AcpiTable,
    E820Entry,
    Firmware,
    KernelConfig,
    KernelImage,
    Layout,
    Node,
    default_image,
)
from kmsan_tui.model.safeio import InputError, parse_toml, read_text
from kmsan_tui.model.strategies.registry import STRATEGIES, option_choices

__all__ = ["E820_TYPES", "KERNELS", "SANITIZERS", "STRATEGIES", "E820Entry", "Firmware",
           "KernelConfig", "KernelImage", "Layout", "LayoutError", "Node", "default_image",
           "load_layout", "numa_emulation", "numa_fake_nodes", "parse_layout", "parse_size",
           "shipped_layouts"]

# A layout is a small text file: refuse anything bigger before parsing it.
LAYOUT_LIMIT = 4 << 20
# PERCPU_DYNAMIC_RESERVE (include/linux/percpu.h, 64-bit): the first chunk's dynamic area.
PERCPU_DYNAMIC_RESERVE = 28 << 10


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
    kt = r.get(data, "kernel", "", dict, {})
    fake = numa_fake_nodes(r.get(kt, "cmdline", "kernel", str, DEFAULT_CMDLINE),
                           lambda msg: r.fail("kernel.cmdline", msg))
    if not raw_nodes and fake:
        # arch/x86/mm/numa_emulation.c: numa=fake=N splits RAM into N nodes; the CPUs
        # stay on the first (emulated nodes of physical node 0).
        spans = numa_emulation(e820, fake)
        nodes += [Node(i, a, b, total_cpus if i == 0 else 0) for i, (a, b) in enumerate(spans)]
    elif not raw_nodes:
        # arch/x86/mm/numa.c: dummy_numa_init() "Faking a node" over all RAM.
        nodes.append(Node(0, 0, top, total_cpus))
    for i, entry in enumerate(raw_nodes):
        path = f"{prefix}node[{i}]"
        if not isinstance(entry, dict):
            raise r.fail(path, "expected a table")
        start = r.size(entry, "start", path)
        end = r.size(entry, "end", path)
        cpus = r.get(entry, "cpus", path, int, 1)
        if cpus < 0:
            raise r.fail(f"{path}.cpus", f"must not be negative, got {cpus}")
        if end <= start:
            raise r.fail(path, "end must be above start")
        if nodes and start < nodes[-1].end:
            raise r.fail(path, "nodes must be in address order and must not overlap")
        nodes.append(Node(i, start, end, cpus))

    images: dict[str, KernelImage] = {}
    raw_images = r.get(kt, "image", "kernel", dict, {})
    for san, table in raw_images.items():
        path = f"kernel.image.{san}"
        if san not in SANITIZERS:
            raise r.fail(path, f"unknown sanitizer (expected {', '.join(SANITIZERS)})")
        if not isinstance(table, dict):
            raise r.fail(path, "expected a table")
        images[san] = _image(r, table, path, default_image(san))
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
        cmdline=r.get(kt, "cmdline", "kernel", str, DEFAULT_CMDLINE),
        nr_cpus=r.get(kt, "nr_cpus", "kernel", int, max(8, total_cpus)),
        node_data_size=r.size(kt, "node_data_size", "kernel", 0x4000),
        zone_device=r.get(kt, "zone_device", "kernel", bool, False),
        randomize_memory=r.get(kt, "randomize_memory", "kernel", bool, False),
        images=images,
    )
    if not 1 <= kernel.nr_cpus <= 8192 or kernel.nr_cpus < total_cpus:
        raise r.fail("kernel.nr_cpus", f"expected {total_cpus}..8192 (CONFIG_NR_CPUS), "
                                       f"got {kernel.nr_cpus}")
    if not 0x1000 <= kernel.node_data_size <= 1 << 24 or kernel.node_data_size % 0x1000:
        raise r.fail("kernel.node_data_size",
                     f"expected a multiple of 4K up to 16M, got {kernel.node_data_size:#x}")
    if len(kernel.cmdline) > 2047 or any(ord(c) < 0x20 for c in kernel.cmdline):
        raise r.fail("kernel.cmdline", "expected one line of at most 2047 characters "
                                       "(COMMAND_LINE_SIZE)")
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
    if sum(n.cpus for n in nodes) < 1:
        raise r.fail(f"{prefix}node", "no node has a CPU")
    firmware = _firmware(r, r.get(data, "firmware", "", dict, {}), e820)
    return Layout(name, description, source, tuple(e820), tuple(nodes), paging, kernel,
                  firmware)


def _image(r: _Reader, table: dict[str, Any], path: str, base: KernelImage) -> KernelImage:
    """One [kernel.image.<sanitizer>] table; the percpu line's sizes are checked against
    each other as pcpu_embed_first_chunk() derives them."""
    reserved_pc = r.size(table, "percpu_reserved", path, base.percpu_reserved)
    static = r.size(table, "percpu_static", path,
                    base.percpu_static if "percpu_pages" not in table else 0)
    pages = r.get(table, "percpu_pages", path, int, base.percpu_pages)
    if "percpu_static" in table or ("percpu_pages" not in table and static):
        # size_sum = PFN_ALIGN(static + reserved + max(dyn, PERCPU_DYNAMIC_EARLY_SIZE))
        derived = -(-(static + reserved_pc + PERCPU_DYNAMIC_RESERVE) // 4096)
        if "percpu_pages" in table and pages != derived:
            raise r.fail(f"{path}.percpu_pages", f"{pages} does not match percpu_static and "
                                                 f"percpu_reserved ({derived} pages)")
        pages = derived
    if not 1 <= pages <= 1 << 16:
        raise r.fail(f"{path}.percpu_pages", f"expected 1..65536, got {pages}")
    return KernelImage(
        code=r.size(table, "code", path, base.code),
        rwdata=r.size(table, "rwdata", path, base.rwdata),
        rodata=r.size(table, "rodata", path, base.rodata),
        init=r.size(table, "init", path, base.init),
        bss=r.size(table, "bss", path, base.bss),
        reserved=r.size(table, "reserved", path, base.reserved),
        percpu_pages=pages, percpu_static=static, percpu_reserved=reserved_pc,
        rwdata_offset=r.size(table, "rwdata_offset", path, base.rwdata_offset),
    )


def _ranges(r: _Reader, table: dict[str, Any], key: str, ordered: bool = True
            ) -> tuple[tuple[int, int], ...]:
    """A list of {start, end|size} tables: disjoint [start, end] ranges, in address
    order unless ``ordered`` is False (setup_data keeps the boot loader's list order)."""
    out: list[tuple[int, int]] = []
    for i, entry in enumerate(r.get(table, key, "firmware", list, [])):
        path = f"firmware.{key}[{i}]"
        if not isinstance(entry, dict):
            raise r.fail(path, "expected a table")
        start = r.size(entry, "start", path)
        end = r.size(entry, "end", path) if "end" in entry else \
            start + r.size(entry, "size", path) - 1
        if end < start:
            raise r.fail(path, f"end {end:#x} is below start {start:#x}")
        if ordered and out and start <= out[-1][1]:
            raise r.fail(path, f"overlaps or is out of order with firmware.{key}[{i - 1}]")
        for j, (a, b) in enumerate(out):
            if start <= b and a <= end:
                raise r.fail(path, f"overlaps firmware.{key}[{j}]")
        out.append((start, end))
    return tuple(out)


def _blob(r: _Reader, table: dict[str, Any], key: str) -> tuple[int, int] | None:
    """An optional {start, size} table."""
    if key not in table:
        return None
    entry = r.get(table, key, "firmware", dict)
    size = r.size(entry, "size", f"firmware.{key}")
    if size <= 0:
        raise r.fail(f"firmware.{key}.size", "must be positive")
    return r.size(entry, "start", f"firmware.{key}"), size


def _firmware(r: _Reader, table: dict[str, Any], e820: list[E820Entry]) -> Firmware:
    """The [firmware] table: EFI tables and ranges, and the ACPI tables' places."""
    kind = r.choice(table, "type", "firmware", FIRMWARE_TYPES, "bios")
    tables: list[AcpiTable] = []
    for i, entry in enumerate(r.get(table, "acpi_tables", "firmware", list, [])):
        path = f"firmware.acpi_tables[{i}]"
        if not isinstance(entry, dict):
            raise r.fail(path, "expected a table")
        sig = r.get(entry, "signature", path, str)
        if len(sig) != 4 or not sig.isascii() or not sig.isprintable():
            raise r.fail(f"{path}.signature", f"expected 4 printable characters, got {sig!r}")
        length = r.size(entry, "length", path)
        if not 0 < length <= 1 << 24:
            raise r.fail(f"{path}.length", f"expected 1..16M, got {length}")
        tables.append(AcpiTable(sig, r.size(entry, "start", path), length))
    fw = Firmware(kind, r.get(table, "version", "firmware", str, ""),
                  _blob(r, table, "memmap"), _blob(r, table, "memattr"),
                  _ranges(r, table, "setup_data", ordered=False),
                  _ranges(r, table, "boot_services"),
                  tuple(tables))
    if kind == "bios" and (fw.memmap or fw.memattr or fw.boot_services or fw.setup_data):
        raise r.fail("firmware.type", "EFI tables and ranges need type = \"efi\"")
    usable = [(e.start, e.end) for e in e820 if e.type == "usable"]
    for key, ranges in (("setup_data", fw.setup_data), ("boot_services", fw.boot_services)):
        for i, (start, end) in enumerate(ranges):
            if not any(a <= start and end <= b for a, b in usable):
                raise r.fail(f"firmware.{key}[{i}]", f"[{start:#x}-{end:#x}] is not inside "
                                                     "one usable e820 range")
    return fw


def numa_fake_nodes(cmdline: str, fail: Any) -> int:
    """N from a numa=fake=N parameter (0 without one); other numa=fake forms
    (sizes, N:U) are refused rather than ignored."""
    count = 0
    for word in cmdline.split():
        if not word.startswith("numa=fake="):
            continue
        value = word.removeprefix("numa=fake=")
        if not value.isdigit() or not 1 <= int(value) <= 64:
            raise fail(f"numa=fake={value}: only numa=fake=N (1..64 nodes) is modelled")
        count = int(value)
    return count


# arch/x86/mm/numa_emulation.c: FAKE_NODE_MIN_SIZE (32 MiB) and its mask.
FAKE_NODE_MIN_SIZE = 32 << 20
FAKE_NODE_MIN_HASH_MASK = ~(FAKE_NODE_MIN_SIZE - 1)


def _ram_ranges(e820: list[E820Entry]) -> list[tuple[int, int]]:
    """The usable ranges as e820__memblock_setup() leaves them: page 0 and 640K-1M out,
    partial pages trimmed."""
    out = []
    for e in e820:
        if e.type != "usable":
            continue
        start, end = max(e.start, 0x1000), e.end + 1
        if start < 0x100000 <= end and start >= 0xA0000:
            start = 0x100000
        start, end = -(-start // 4096) * 4096, end // 4096 * 4096
        if end > start:
            out.append((start, end))
    return out


def _hole_size(ram: list[tuple[int, int]], start: int, end: int) -> int:
    """mem_hole_size(): bytes of [start, end) that are not RAM (per range, not per page)."""
    return (end - start) - sum(max(0, min(b, end) - max(a, start)) for a, b in ram)


def numa_emulation(e820: list[E820Entry] | tuple[E820Entry, ...], nr_nodes: int
                   ) -> list[tuple[int, int]]:
    """split_nodes_interleave() for numa=fake=N on one physical node: N spans [start, end)
    holding equal RAM (holes do not count), in FAKE_NODE_MIN_SIZE steps; a node that would
    leave too little for the next one, or ZONE_DMA32 a sliver, takes up to the boundary."""
    ram = _ram_ranges(list(e820))
    addr, limit = 0, max(b for _, b in ram)
    dma32_end = 1 << 32
    size = ((limit - addr) - _hole_size(ram, addr, limit)) // nr_nodes
    big = ((size & ~FAKE_NODE_MIN_HASH_MASK) * nr_nodes) // FAKE_NODE_MIN_SIZE
    size &= FAKE_NODE_MIN_HASH_MASK
    if size < FAKE_NODE_MIN_SIZE:
        return [(0, limit)]
    spans: list[tuple[int, int]] = []
    start = addr
    for nid in range(nr_nodes):
        if start >= limit:
            break
        end = start + size + (FAKE_NODE_MIN_SIZE if nid < big else 0)
        # Grow by FAKE_NODE_MIN_SIZE until the node holds `size` of RAM; each step adds
        # at most its own size of RAM, so jumping by the missing amount never overshoots.
        while (missing := size - (end - start - _hole_size(ram, start, end))) > 0:
            end += -(-missing // FAKE_NODE_MIN_SIZE) * FAKE_NODE_MIN_SIZE
            if end > limit:
                end = limit
                break
        if end < dma32_end and dma32_end - end - _hole_size(ram, end, dma32_end) \
                < FAKE_NODE_MIN_SIZE:
            end = dma32_end
        if limit - end - _hole_size(ram, end, limit) < size or nid == nr_nodes - 1:
            end = limit
        spans.append((start, end))
        start = end
    return spans


def shipped_layouts() -> list[str]:
    """Names of the layouts shipped with the app, sorted by RAM size."""
    folder = resources.files("kmsan_tui") / "layouts"
    names = [p.name.removesuffix(".toml") for p in folder.iterdir() if p.name.endswith(".toml")]
    return sorted(names, key=lambda n: load_layout(n).ram_bytes)


def parse_layout(text: str, source: str, fallback_name: str = "layout") -> Layout:
    """A layout from TOML text; errors name ``source`` and the key (LayoutError)."""
    return _load_text(text, source, fallback_name)


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
        text = read_text(path, "layout", LAYOUT_LIMIT)
    except InputError as exc:
        raise LayoutError(str(exc)) from None
    return _load_text(text, str(path), path.stem)


def _load_text(text: str, source: str, fallback_name: str) -> Layout:
    try:
        data = parse_toml(text, source)
    except InputError as exc:
        raise LayoutError(str(exc)) from None
    return _parse(data, source, fallback_name)
