"""Machine layouts: the firmware memory map, NUMA nodes, CPUs and the kernel build.

A layout is a TOML file (format documented in layouts/README.md). Shipped layouts live
in the package (``kmsan_tui/layouts``); ``load_layout`` takes a shipped name or a path.
Every problem is reported as one ``LayoutError`` line naming the file and the key.
The values it builds are in ``kmsan_tui.model.layout_types``; strategy names and
their options come from the strategy registry.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import fields
from importlib import resources
from pathlib import Path
from typing import Any

from kmsan_tui.model.errors import LayoutError
from kmsan_tui.model.layout_reader import (
    ACPI_MAX_TABLES,
    E820_MAX_ENTRIES,
    KERNEL_IMAGE_SIZE,
    MAX_NAME,
    MAX_NR_CPUS,
    MAX_NUMNODES,
    MAX_SETUP_DATA,
    PHYS_BITS,
    Reader,
    parse_size,
)
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


_TOP_KEYS = frozenset({"machine", "kernel", "firmware", "e820", "node"})
_MACHINE_KEYS = frozenset({"name", "description", "cpus", "paging_levels", "e820", "node"})
_E820_KEYS = frozenset({"start", "end", "size", "type"})
_NODE_KEYS = frozenset({"start", "end", "cpus"})
_KERNEL_KEYS = frozenset({f.name for f in fields(KernelConfig)} - {"images"} | {"image"})
_IMAGE_KEYS = frozenset(f.name for f in fields(KernelImage))
_FIRMWARE_KEYS = frozenset({"type", "version", "memmap", "memattr", "setup_data",
                            "boot_services", "acpi_tables"})
_RANGE_KEYS = frozenset({"start", "end", "size"})
# Sections of the image that every kernel has (text, data, rodata, init, bss).
_SECTIONS = ("code", "rwdata", "rodata", "init", "bss")


def _span(r: Reader, entry: dict[str, Any], path: str, limit: int) -> tuple[int, int]:
    """[start, end] inclusive of a {start, end|size} table, below ``limit``."""
    start = r.size(entry, "start", path)
    if "end" in entry and "size" in entry:
        raise r.fail(path, "give end or size, not both")
    if "end" in entry:
        end = r.size(entry, "end", path)
    else:
        size = r.size(entry, "size", path)
        if size == 0:
            raise r.fail(f"{path}.size", "must be positive")
        end = start + size - 1
    if end < start:
        raise r.fail(path, f"end {end:#x} is below start {start:#x}")
    if end >= limit:
        raise r.fail(path, f"[{start:#x}-{end:#x}] is above the physical address limit "
                           f"{limit:#x}")
    return start, end


def _parse(data: dict[str, Any], source: str, fallback_name: str) -> Layout:
    r = Reader(source)
    r.keys(data, "", _TOP_KEYS)
    machine = r.get(data, "machine", "", dict)
    r.keys(machine, "machine", _MACHINE_KEYS)
    name = r.text(machine, "name", "machine", _clean_name(fallback_name), MAX_NAME)
    if "/" in name or "\\" in name or not name.strip():
        raise r.fail("machine.name", "expected a name, not a path")
    description = r.text(machine, "description", "machine", "")
    paging = r.integer(machine, "paging_levels", "machine", 4, 5, 4)
    # MAX_PHYSMEM_BITS: 46 bits with 4-level paging, 52 with 5-level.
    limit = 1 << PHYS_BITS[paging]
    over = (f" ({PHYS_BITS[paging]}-bit physical addresses with {paging}-level paging"
            + (": paging_levels = 5 allows 52 bits)" if paging == 4 else ")"))
    total_cpus = r.integer(machine, "cpus", "machine", 1, MAX_NR_CPUS, 1)

    e820: list[E820Entry] = []
    # The arrays may sit in [machine] (after its keys) or at the top of the file.
    home, prefix = (machine, "machine.") if "e820" in machine else (data, "")
    raw_e820 = r.entries(home, "e820", prefix.rstrip("."), E820_MAX_ENTRIES)
    if not raw_e820:
        raise r.fail(f"{prefix}e820", "the firmware map is empty")
    for i, entry in enumerate(raw_e820):
        path = f"{prefix}e820[{i}]"
        r.keys(entry, path, _E820_KEYS)
        try:
            start, end = _span(r, entry, path, limit)
        except LayoutError as exc:
            raise LayoutError(f"{exc}{over}" if "physical address limit" in str(exc)
                              else str(exc)) from None
        kind = r.choice(entry, "type", path, E820_TYPES, "usable")
        if e820 and start <= e820[-1].end:
            raise r.fail(path, f"overlaps or is out of order with {prefix}e820[{i - 1}]")
        e820.append(E820Entry(start, end, kind))
    if not any(e.type == "usable" for e in e820):
        raise r.fail(f"{prefix}e820", "no usable RAM")
    if not _ram_ranges(e820):
        raise r.fail(f"{prefix}e820", "no whole page of usable RAM above 1 MiB")

    top = max(e.end + 1 for e in e820 if e.type == "usable")
    home, prefix = (machine, "machine.") if "node" in machine else (data, "")
    raw_nodes = r.entries(home, "node", prefix.rstrip("."), MAX_NUMNODES, [])
    nodes: list[Node] = []
    kt = r.get(data, "kernel", "", dict, {})
    r.keys(kt, "kernel", _KERNEL_KEYS)
    cmdline = r.get(kt, "cmdline", "kernel", str, DEFAULT_CMDLINE)
    if len(cmdline) > 2047 or any(ord(c) < 0x20 or c == "\x7f" for c in cmdline):
        raise r.fail("kernel.cmdline", "expected one line of at most 2047 characters "
                                       "(COMMAND_LINE_SIZE)")
    fake = numa_fake_nodes(cmdline, lambda msg: r.fail("kernel.cmdline", msg))
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
        r.keys(entry, path, _NODE_KEYS)
        start = r.size(entry, "start", path)
        end = r.size(entry, "end", path)
        cpus = r.integer(entry, "cpus", path, 0, MAX_NR_CPUS, 1)
        if end <= start:
            raise r.fail(path, "end must be above start")
        if end > limit:
            raise r.fail(path, f"end {end:#x} is above the physical address limit "
                               f"{limit:#x}{over}")
        if nodes and start < nodes[-1].end:
            raise r.fail(path, "nodes must be in address order and must not overlap")
        nodes.append(Node(i, start, end, cpus))
    if raw_nodes:
        uncovered = _uncovered(_ram_ranges(e820), [(n.start, n.end) for n in nodes])
        if uncovered is not None:
            raise r.fail(f"{prefix}node", f"usable RAM at {uncovered:#x} is in no node "
                                          "(the nodes must cover every usable e820 range)")

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
        fixed_backing=r.choice(kt, "fixed_backing", "kernel", option_choices("fixed_backing"),
                               "on-demand"),
        kfence=r.get(kt, "kfence", "kernel", bool, False),
        kmemleak=r.get(kt, "kmemleak", "kernel", bool, False),
        debug_objects=r.get(kt, "debug_objects", "kernel", bool, False),
        page_owner=r.get(kt, "page_owner", "kernel", bool, False),
        pageblock_order=r.integer(kt, "pageblock_order", "kernel", 9, 10, 9),
        image_base=r.size(kt, "image_base", "kernel", 0x1000000, hi=limit - 1),
        initrd_addr=r.size(kt, "initrd_addr", "kernel", 0, hi=limit - 1),
        initrd_size=r.size(kt, "initrd_size", "kernel", 0, hi=limit),
        cmdline=cmdline,
        nr_cpus=r.integer(kt, "nr_cpus", "kernel", 1, MAX_NR_CPUS, max(8, total_cpus)),
        node_data_size=r.size(kt, "node_data_size", "kernel", 0x4000),
        zone_device=r.get(kt, "zone_device", "kernel", bool, False),
        randomize_memory=r.get(kt, "randomize_memory", "kernel", bool, False),
        images=images,
    )
    if kernel.initrd_addr + kernel.initrd_size > limit:
        raise r.fail("kernel.initrd_size", f"the initrd ends above the physical address "
                                           f"limit {limit:#x}{over}")
    node_cpus = sum(n.cpus for n in nodes)
    if kernel.nr_cpus < total_cpus:
        raise r.fail("kernel.nr_cpus", f"expected {total_cpus}..{MAX_NR_CPUS} "
                                       f"(CONFIG_NR_CPUS), got {kernel.nr_cpus}")
    if node_cpus > MAX_NR_CPUS:
        raise r.fail(f"{prefix}node", f"{node_cpus:,} CPUs in all is over NR_CPUS "
                                      f"({MAX_NR_CPUS})")
    if not 0x1000 <= kernel.node_data_size <= 1 << 24 or kernel.node_data_size % 0x1000:
        raise r.fail("kernel.node_data_size",
                     f"expected a multiple of 4K up to 16M, got {kernel.node_data_size:#x}")
    for san, img in images.items():
        # The reserved span must hold every section: text, rodata, data, init, bss.
        need = img.data_offset + img.rwdata + img.init + img.bss
        if img.reserved < need:
            raise r.fail(f"kernel.image.{san}.reserved",
                         f"{img.reserved:#x} is smaller than the sections it must hold ({need:#x})")
    image = kernel.image()
    if not any(e.type == "usable" and e.start <= kernel.image_base
               and kernel.image_base + image.reserved - 1 <= e.end for e in e820):
        raise r.fail("kernel.image_base", f"the kernel image at {kernel.image_base:#x} is not in usable RAM")
    if raw_nodes and node_cpus != total_cpus and "cpus" in machine:
        raise r.fail("machine.cpus", "does not match the sum of node[].cpus")
    if node_cpus < 1:
        raise r.fail(f"{prefix}node", "no node has a CPU")
    firmware = _firmware(r, r.get(data, "firmware", "", dict, {}), e820, limit)
    return Layout(name, description, source, tuple(e820), tuple(nodes), paging, kernel,
                  firmware)


def _clean_name(name: str) -> str:
    """A file's stem as a layout name: printable, no longer than MAX_NAME."""
    clean = "".join(c if c.isprintable() else "?" for c in name)[:MAX_NAME]
    return clean if clean.strip() else "layout"


def _uncovered(ram: list[tuple[int, int]], nodes: list[tuple[int, int]]) -> int | None:
    """The first address of ``ram`` (sorted [start, end) ranges) that no node covers."""
    i = 0
    for start, end in ram:
        at = start
        while at < end:
            while i < len(nodes) and nodes[i][1] <= at:
                i += 1
            if i == len(nodes) or nodes[i][0] > at:
                return at
            at = nodes[i][1]
    return None


def _image(r: Reader, table: dict[str, Any], path: str, base: KernelImage) -> KernelImage:
    """One [kernel.image.<sanitizer>] table; the percpu line's sizes are checked against
    each other as pcpu_embed_first_chunk() derives them."""
    r.keys(table, path, _IMAGE_KEYS)
    # percpu: at most 65536 pages per CPU (256 MiB) in all.
    reserved_pc = r.size(table, "percpu_reserved", path, base.percpu_reserved, hi=1 << 28)
    static = r.size(table, "percpu_static", path,
                    base.percpu_static if "percpu_pages" not in table else 0, hi=1 << 28)
    pages = r.integer(table, "percpu_pages", path, 1, 1 << 16, base.percpu_pages)
    if "percpu_static" in table or ("percpu_pages" not in table and static):
        # size_sum = PFN_ALIGN(static + reserved + max(dyn, PERCPU_DYNAMIC_EARLY_SIZE))
        derived = -(-(static + reserved_pc + PERCPU_DYNAMIC_RESERVE) // 4096)
        if "percpu_pages" in table and pages != derived:
            raise r.fail(f"{path}.percpu_pages", f"{pages} does not match percpu_static and "
                                                 f"percpu_reserved ({derived} pages)")
        pages = derived
    if not 1 <= pages <= 1 << 16:
        raise r.fail(f"{path}.percpu_pages", f"expected 1..65536, got {pages}")
    sizes = {}
    for key in _SECTIONS:
        sizes[key] = r.size(table, key, path, getattr(base, key), hi=KERNEL_IMAGE_SIZE)
        if sizes[key] < 4096:  # every kernel has each section, a page at least
            raise r.fail(f"{path}.{key}", f"expected at least 4K, got {sizes[key]}")
    reserved = r.size(table, "reserved", path, base.reserved, hi=KERNEL_IMAGE_SIZE)
    offset = r.size(table, "rwdata_offset", path, base.rwdata_offset, hi=KERNEL_IMAGE_SIZE)
    return KernelImage(
        code=sizes["code"], rwdata=sizes["rwdata"], rodata=sizes["rodata"],
        init=sizes["init"], bss=sizes["bss"], reserved=reserved,
        percpu_pages=pages, percpu_static=static, percpu_reserved=reserved_pc,
        rwdata_offset=offset,
    )


def _ranges(r: Reader, table: dict[str, Any], key: str, limit: int, most: int,
            ordered: bool = True) -> tuple[tuple[int, int], ...]:
    """A list of {start, end|size} tables: disjoint [start, end] ranges, in address
    order unless ``ordered`` is False (setup_data keeps the boot loader's list order)."""
    out: list[tuple[int, int]] = []
    for i, entry in enumerate(r.entries(table, key, "firmware", most, [])):
        path = f"firmware.{key}[{i}]"
        r.keys(entry, path, _RANGE_KEYS)
        start, end = _span(r, entry, path, limit)
        if ordered and out and start <= out[-1][1]:
            raise r.fail(path, f"overlaps or is out of order with firmware.{key}[{i - 1}]")
        if not ordered:
            for j, (a, b) in enumerate(out):
                if start <= b and a <= end:
                    raise r.fail(path, f"overlaps firmware.{key}[{j}]")
        out.append((start, end))
    return tuple(out)


def _blob(r: Reader, table: dict[str, Any], key: str, limit: int) -> tuple[int, int] | None:
    """An optional {start, size} table."""
    if key not in table:
        return None
    entry = r.get(table, key, "firmware", dict)
    r.keys(entry, f"firmware.{key}", frozenset({"start", "size"}))
    start, end = _span(r, entry, f"firmware.{key}", limit)
    if "size" not in entry:
        raise r.fail(f"firmware.{key}.size", "missing")
    return start, end + 1 - start


def _firmware(r: Reader, table: dict[str, Any], e820: list[E820Entry], limit: int) -> Firmware:
    """The [firmware] table: EFI tables and ranges, and the ACPI tables' places."""
    r.keys(table, "firmware", _FIRMWARE_KEYS)
    kind = r.choice(table, "type", "firmware", FIRMWARE_TYPES, "bios")
    tables: list[AcpiTable] = []
    for i, entry in enumerate(r.entries(table, "acpi_tables", "firmware", ACPI_MAX_TABLES,
                                        [])):
        path = f"firmware.acpi_tables[{i}]"
        r.keys(entry, path, frozenset({"signature", "start", "length"}))
        sig = r.get(entry, "signature", path, str)
        if len(sig) != 4 or not sig.isascii() or not sig.isprintable():
            raise r.fail(f"{path}.signature", f"expected 4 printable characters, got {sig!r}")
        length = r.size(entry, "length", path)
        if not 0 < length <= 1 << 24:
            raise r.fail(f"{path}.length", f"expected 1..16M, got {length}")
        start = r.size(entry, "start", path, hi=limit - length)
        tables.append(AcpiTable(sig, start, length))
    fw = Firmware(kind, r.text(table, "version", "firmware", "", 200),
                  _blob(r, table, "memmap", limit), _blob(r, table, "memattr", limit),
                  _ranges(r, table, "setup_data", limit, MAX_SETUP_DATA, ordered=False),
                  _ranges(r, table, "boot_services", limit, E820_MAX_ENTRIES),
                  tuple(tables))
    if kind == "bios" and (fw.memmap or fw.memattr or fw.boot_services or fw.setup_data):
        raise r.fail("firmware.type", "EFI tables and ranges need type = \"efi\"")
    usable = [(e.start, e.end) for e in e820 if e.type == "usable"]
    starts = [a for a, _ in usable]
    for key, ranges in (("setup_data", fw.setup_data), ("boot_services", fw.boot_services)):
        for i, (start, end) in enumerate(ranges):
            j = bisect_right(starts, start) - 1  # the usable range starting at or below
            if j < 0 or end > usable[j][1]:
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


def _ram_reach(ram: list[tuple[int, int]], start: int, amount: int) -> int | None:
    """The lowest address A such that [start, A) holds ``amount`` bytes of RAM (None
    when all the RAM above ``start`` holds less)."""
    for a, b in ram:
        a = max(a, start)
        if b <= a:
            continue
        if b - a >= amount:
            return a + amount
        amount -= b - a
    return None


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
        # The kernel grows the node by FAKE_NODE_MIN_SIZE until it holds `size` of RAM
        # (or reaches the limit): the first such step is found directly, from where the
        # RAM after `start` adds up to `size`, so a hole of any width costs nothing.
        if end - start - _hole_size(ram, start, end) < size:
            reach = _ram_reach(ram, start, size)
            steps = -(-(reach - end) // FAKE_NODE_MIN_SIZE) if reach is not None else 0
            end = limit if reach is None else min(limit, end + steps * FAKE_NODE_MIN_SIZE)
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
