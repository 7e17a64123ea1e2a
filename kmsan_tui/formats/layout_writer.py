"""A layout (kmsan_tui/layouts/README.md) from what a boot log or /proc/iomem said:
a commented TOML file that ``kmsan-tui run --layout`` boots, every value annotated
with where it came from, and the notes (missing, assumed) the user sees on stderr.

The layout format belongs to the model; keys it gained after this importer was
written (the command line, CONFIG_NR_CPUS, the percpu split, EFI firmware) are
written only when the running model knows them (``Capabilities``), so the importer
never produces a file the loader refuses.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields

from kmsan_tui.formats import e820 as e820mod
from kmsan_tui.formats.facts import BootFacts, Note
from kmsan_tui.formats.firmware_writer import firmware_lines
from kmsan_tui.formats.image import PHYSICAL_START, SZ_2M, find_image
from kmsan_tui.formats.kversion import choose_profile, parse_release
from kmsan_tui.formats.topology import Topology, topology
from kmsan_tui.model import layout_types
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout_types import KERNELS, default_image

# Eager KMSAN leaves about a third of totalram available (kernel-facts §11): below this
# share the boot was a KMSAN one even if the log was cut before its banner.
KMSAN_AVAILABLE_SHARE = 0.45


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The layout keys the running model reads, beyond the original format."""

    cmdline: bool
    nr_cpus: bool
    percpu_split: bool
    firmware: bool
    node_data_size: bool
    rwdata_offset: bool
    zone_device: bool

    @classmethod
    def of_model(cls) -> Capabilities:
        kernel = {f.name for f in fields(layout_types.KernelConfig)}
        image = {f.name for f in fields(layout_types.KernelImage)}
        layout = {f.name for f in fields(layout_types.Layout)}
        return cls("cmdline" in kernel, "nr_cpus" in kernel, "percpu_static" in image,
                   "firmware" in layout, "node_data_size" in kernel, "rwdata_offset" in image,
                   "zone_device" in kernel)


@dataclass(frozen=True, slots=True)
class Imported:
    """The layout text and what the user must be told about it."""

    text: str
    notes: tuple[Note, ...]
    profile: str
    sanitizer: str
    nodes: int


def toml_string(text: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text)


def comment(text: str) -> str:
    """Text fit for a TOML comment: printable, one line, not too long."""
    clean = "".join(c if c.isprintable() else "?" for c in text)
    return clean if len(clean) <= 100 else clean[:97] + "..."


def machine_name(source: str) -> str:
    stem = re.sub(r"\.(txt|log|toml)$", "", source.rsplit("/", 1)[-1])
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", stem).strip("-.")[:64]
    return name or "imported"


def choose_sanitizer(facts: BootFacts, given: str | None) -> tuple[str, Note]:
    """The sanitizer: the option, the kernel's banner, or the Memory: line's shape."""
    if given:
        return given, Note("found", f"sanitizer {given} (--sanitizer)")
    if facts.sanitizer:
        return facts.sanitizer, Note("found", f"sanitizer {facts.sanitizer} ({facts.sanitizer_evidence})")
    mem = facts.memory
    if mem and mem.totalram_k > 0 and mem.available_k / mem.totalram_k < KMSAN_AVAILABLE_SHARE:
        share = mem.available_k / mem.totalram_k
        return "kmsan", Note("assumed", f"sanitizer kmsan: no banner in the log, but the Memory: line "
                                        f"(line {mem.line}) leaves {share:.0%} of totalram available, "
                                        "as KMSAN's eager metadata does (--sanitizer to change)")
    return "none", Note("assumed", "sanitizer none: no KMSAN or KASAN banner in the log "
                                   "(--sanitizer to change)")


def build_layout(facts: BootFacts, *, kernel: str | None = None, sanitizer: str | None = None,
                 name: str | None = None, caps: Capabilities | None = None) -> Imported:
    """The layout text for ``facts``; a UserError if they cannot make a machine."""
    caps = caps or Capabilities.of_model()
    notes: list[Note] = list(facts.notes)
    ram = [e for e in facts.e820 if LAYOUT(e) == "usable"]
    if not ram:
        raise UserError(f"{facts.source}: no usable RAM in an e820 table (no BIOS-e820 or "
                        "System RAM lines): not an x86 boot log or /proc/iomem")
    if kernel:
        profile = kernel
        notes.append(Note("found", f"kernel profile {kernel} (--kernel)"))
    else:
        choice = choose_profile(parse_release(facts.release_text or ""), KERNELS)
        profile = choice.profile
        notes.append(Note("found" if facts.release_text else "missing", choice.reason))
    san, san_note = choose_sanitizer(facts, sanitizer)
    notes.append(san_note)
    topo = topology(facts)
    notes += topo.notes
    out = _header(facts, profile, san)
    out += _machine(facts, name or machine_name(facts.source), topo)
    out += _kernel(facts, profile, san, caps, notes)
    if caps.firmware:
        out += firmware_lines(facts, find_image(facts), notes)
    return Imported("".join(line + "\n" for line in out), tuple(notes), profile, san,
                    len(topo.nodes))


def LAYOUT(e: e820mod.Range) -> str:  # noqa: N802 - reads as the table's name
    """The layout format's name of an e820 entry's type."""
    return e820mod.LAYOUT_TYPES.get(e.type, "reserved")


def _header(facts: BootFacts, profile: str, san: str) -> list[str]:
    what = "import dmesg" if facts.kind == "dmesg" else "import iomem"
    lines = [f"# Imported by `kmsan-tui {what}` from {comment(facts.source)}."]
    if facts.release_text:
        lines.append(f"# Linux {comment(facts.release_text)} (line {facts.release_line}): "
                     f"profile {profile}, sanitizer {san}.")
    if facts.cmdline:
        lines.append(f"# Command line (line {facts.cmdline_line}): {comment(facts.cmdline)}")
    if facts.memory:
        m = facts.memory
        lines.append(f"# Memory: {m.available_k}K/{m.total_k}K available, {m.reserved_k}K reserved "
                     f"(line {m.line}): what `kmsan-tui run --layout` should reproduce.")
    return lines


def _machine(facts: BootFacts, name: str, topo: Topology) -> list[str]:
    gib = facts.ram_bytes / (1 << 30)
    desc = f"imported from {facts.source.rsplit('/', 1)[-1]}: {gib:.1f} GiB"
    if facts.release_text:
        desc += f", Linux {facts.release_text}"
    lines = ["[machine]", f"name = {toml_string(name)}", f"description = {toml_string(desc)}",
             f"cpus = {topo.cpus}  # {comment(topo.cpus_how)}",
             "paging_levels = 4  # assumed: the input does not say (5 needs la57 and CONFIG_X86_5LEVEL)",
             "", f"# {comment(facts.e820_origin)}", "e820 = ["]
    width = max(10, len(f"{max(e.end for e in facts.e820):x}"))
    for e in facts.e820:
        line = f"  {{ start = 0x{e.start:0{width}x}, end = 0x{e.end:0{width}x}, type = \"{LAYOUT(e)}\" }},"
        if e.line:
            line += f"  # line {e.line}"
        lines.append(line)
    lines.append("]")
    if len(topo.nodes) > 1:
        lines += ["", f"# {comment(topo.nodes_how)}", "node = ["]
        for n in topo.nodes:
            lines.append(f"  {{ start = 0x{n.start:0{width}x}, end = 0x{n.end:0{width}x}, "
                         f"cpus = {n.cpus} }},")
        lines.append("]")
    return lines


def _kernel(facts: BootFacts, profile: str, san: str, caps: Capabilities,
            notes: list[Note]) -> list[str]:
    lines = ["", "[kernel]", f"version = {toml_string(profile)}", f"sanitizer = {toml_string(san)}"]
    if facts.pageblock_order in (9, 10):
        lines.append(f"pageblock_order = {facts.pageblock_order}  # line {facts.pageblock_line}: "
                     "Page block order")
    else:
        lines.append("pageblock_order = 9  # assumed: HUGETLB_PAGE_ORDER (no \"Page block order:\" line)")
        notes.append(Note("assumed", "pageblock_order 9 (CONFIG_HUGETLB_PAGE): the input has no "
                                     "\"Page block order:\" line (/proc/pagetypeinfo)"))
    options = facts.cmdline_options()
    for flag, present, why in (("kfence", facts.kfence and options.get("kfence.sample_interval") != "0",
                                "kfence: initialized"),
                               ("kmemleak", facts.kmemleak, "kmemleak initialized"),
                               ("debug_objects", facts.debug_objects, "ODEBUG messages"),
                               ("page_owner", options.get("page_owner") == "on", "page_owner=on")):
        if present:
            lines.append(f"{flag} = true  # {why}")
    if caps.cmdline and facts.cmdline:
        lines.append(f"cmdline = {toml_string(_cmdline_for_model(facts.cmdline, notes))}")
    if caps.nr_cpus and facts.nr_cpus_config and facts.nr_cpus_config >= (facts.cpus or 1):
        lines.append(f"nr_cpus = {facts.nr_cpus_config}  # setup_percpu: NR_CPUS")
    if caps.zone_device and "Device" in facts.zone_ranges:
        lines.append("zone_device = true  # \"  Device   empty\" in Zone ranges: CONFIG_ZONE_DEVICE")
    sizes = {end + 1 - start for start, end in facts.node_data.values()}
    if caps.node_data_size and len(sizes) == 1:
        size = sizes.pop()
        if size % 0x1000 == 0 and 0x1000 <= size <= 1 << 24:
            lines.append(f"node_data_size = {size:#x}  # NODE_DATA(...) allocated")
    image = default_image(san)
    place = find_image(facts)
    base = place.base if place else PHYSICAL_START
    if facts.ramdisk:
        start, end = facts.ramdisk
        lines.append(f"initrd_addr = {start:#x}  # line {facts.ramdisk_line}: RAMDISK")
        lines.append(f"initrd_size = {end + 1 - start:#x}")
    section = [f"[kernel.image.{san}]"]
    mem = facts.memory
    if mem:
        for key, value in (("code", mem.code_k), ("rwdata", mem.rwdata_k), ("rodata", mem.rodata_k),
                           ("init", mem.init_k), ("bss", mem.bss_k)):
            section.append(f"{key} = \"{value}K\"  # line {mem.line}: Memory:")
    elif facts.image_sections:
        section += _iomem_sections(facts, image, notes)
        code, data = facts.image_sections.get("Kernel code"), facts.image_sections.get("Kernel data")
        if caps.rwdata_offset and code and data and data[0] > code[0]:
            section.append(f"rwdata_offset = {data[0] - code[0]:#x}  # /proc/iomem: Kernel data")
    else:
        notes.append(Note("missing", f"the kernel's section sizes (no Memory: line): the {san} "
                                     "defaults of the 6.1 build are used"))
    span = place.span if place else image.reserved
    if place is None:
        notes.append(Note("assumed", f"the image's reserved span {span:#x} of the 6.1 {san} build"))
    elif not place.exact:
        notes.append(Note("assumed", f"kernel image span {place.span:#x}: {place.how}"))
    base = _fit_image(facts, base, span, notes)
    how = place.how if place else "assumed: CONFIG_PHYSICAL_START"
    lines.append(f"image_base = {base:#x}  # {comment(how)}")
    section.append(f"reserved = {span:#x}  # {'exact' if place and place.exact else 'estimated'}")
    if facts.percpu_pages:
        section.append(f"percpu_pages = {facts.percpu_pages}  # line {facts.percpu_line}: percpu")
        if caps.percpu_split and facts.percpu_static is not None and \
                _percpu_pages(facts.percpu_static, facts.percpu_reserved or 0) == facts.percpu_pages:
            section.append(f"percpu_static = {facts.percpu_static}")
            section.append(f"percpu_reserved = {facts.percpu_reserved or 0}")
    else:
        notes.append(Note("missing", f"percpu first chunk size (no \"percpu: Embedded\" line): "
                                     f"{image.percpu_pages} pages/cpu of the 6.1 {san} build"))
    _cmdline_notes(facts, options, caps, notes)
    return lines + [""] + section


def _percpu_pages(static: int, reserved: int) -> int:
    """The first chunk's pages as the layout loader derives them from the split (static +
    reserved + PERCPU_DYNAMIC_RESERVE, page-rounded): the split is written only when it
    gives back the pages the log printed."""
    from kmsan_tui.model import layout as layout_mod

    dynamic = getattr(layout_mod, "PERCPU_DYNAMIC_RESERVE", 28 << 10)
    return -(-(static + reserved + dynamic) // 4096)


def _cmdline_for_model(cmdline: str, notes: list[Note]) -> str:
    """The command line as the layout may hold it: printable, at most 2047 characters
    (COMMAND_LINE_SIZE), and numa=fake only in the numa=fake=N form the model emulates
    (the nodes are written out anyway, from the log's "Faking node" lines)."""
    words = []
    for word in "".join(c for c in cmdline if c.isprintable()).split():
        value = word.removeprefix("numa=fake=")
        if word.startswith("numa=fake=") and not (value.isdigit() and 1 <= int(value) <= 64):
            notes.append(Note("warning", f"{comment(word)}: the model emulates only numa=fake=N; "
                                         "left out of kernel.cmdline (the nodes are in the layout)"))
            continue
        words.append(word)
    return " ".join(words)[:2047]


def _fit_image(facts: BootFacts, base: int, span: int, notes: list[Note]) -> int:
    """The base if the image fits in usable RAM there, else the first 2 MiB-aligned place
    at or above 16 MiB that does (a KASLR kernel's real place is unknown anyway)."""
    ram = [(e.start, e.end + 1) for e in facts.e820 if LAYOUT(e) == "usable"]

    def fits(at: int) -> bool:
        return any(a <= at and at + span <= b for a, b in ram)

    if fits(base):
        return base
    for a, b in ram:
        at = max(a, PHYSICAL_START)
        at = -(-at // SZ_2M) * SZ_2M
        if at + span <= b:
            notes.append(Note("assumed", f"kernel image at {at:#x}: {base:#x} is not in usable RAM"))
            return at
    raise UserError(f"{facts.source}: no usable range holds a kernel image of {span:#x} bytes")


def _iomem_sections(facts: BootFacts, image: layout_types.KernelImage, notes: list[Note]) -> list[str]:
    out = []
    for key, name in (("code", "Kernel code"), ("rodata", "Kernel rodata"),
                      ("rwdata", "Kernel data"), ("bss", "Kernel bss")):
        if name in facts.image_sections:
            start, end = facts.image_sections[name]
            out.append(f"{key} = {end + 1 - start:#x}  # /proc/iomem: {name}")
    out.append(f"init = {image.init:#x}  # not in /proc/iomem (freed after boot): the 6.1 build's")
    notes.append(Note("assumed", f"init section {image.init >> 10}K of the 6.1 build: "
                                 "/proc/iomem does not list it"))
    return out


def _cmdline_notes(facts: BootFacts, options: dict[str, str], caps: Capabilities,
                   notes: list[Note]) -> None:
    if "crashkernel" in options or facts.crashkernel:
        size = facts.crashkernel[1] + 1 - facts.crashkernel[0] if facts.crashkernel else None
        shown = f"{size >> 20} MiB" if size else f"crashkernel={options.get('crashkernel')}"
        notes.append(Note("missing", f"{shown} for the crash kernel: the layout format has no key "
                                     "for it, the simulated boot reserves nothing there"))
    if "memblock" in options and "debug" in options["memblock"]:
        notes.append(Note("found", "memblock=debug: run with `kmsan-tui run --memblock-debug` "
                                   "to print the same memblock lines"))
    if ("mem" in options or "memmap" in options) and "user table" not in facts.e820_origin:
        if not facts.e820_origin.startswith("the user"):
            notes.append(Note("warning", "mem=/memmap= on the command line but no \"user:\" e820 "
                                         "table in the log: the map is the firmware's"))
    if facts.efi and not caps.firmware:  # a model without the [firmware] table
        freed = facts.efi_boot_services_freed_k
        extra = f" ({freed}K, freed later)" if freed else ""
        notes.append(Note("missing", "EFI firmware: imported through the e820 map the kernel "
                                     "printed after its EFI fix-ups; the layout format has no EFI "
                                     f"keys yet, so the EFI memory map and boot-services memory{extra} "
                                     "are not reserved in the simulated boot"))
