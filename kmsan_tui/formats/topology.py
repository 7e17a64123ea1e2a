"""NUMA nodes and CPUs for a layout, from what a boot log printed.

Node spans come, in order of preference, from numa_emulation()'s "Faking node" lines
(numa=fake), from free_area_init_node()'s "Initmem setup node", or from the "Early
memory node ranges" (first to last range of each node). The layout format numbers
nodes by address order and wants them disjoint; a log that interleaves nodes cannot
be written and is reported.

CPUs: nr_cpu_ids (setup_percpu:) or the CPUs smpboot allowed, placed on nodes as the
percpu allocator grouped them (one pcpu-alloc group per node); under numa=fake every
CPU stays on the first emulated node of its physical node, as numa_emulation() maps
them; otherwise they are spread evenly and the user is told.
"""

from __future__ import annotations

from dataclasses import dataclass

from kmsan_tui.formats.facts import BootFacts, Note, Span


@dataclass(frozen=True, slots=True)
class NodeSpec:
    start: int
    end: int
    cpus: int


@dataclass(frozen=True, slots=True)
class Topology:
    nodes: tuple[NodeSpec, ...]
    cpus: int
    cpus_how: str
    nodes_how: str
    notes: tuple[Note, ...]


def _spans(facts: BootFacts) -> tuple[list[Span], str]:
    if facts.fake_nodes:
        return facts.fake_nodes, f"numa=fake: the Faking node lines (line {facts.fake_nodes[0].line})"
    if len({s.nid for s in facts.initmem_nodes}) > 1:
        return facts.initmem_nodes, f"the Initmem setup node lines (line {facts.initmem_nodes[0].line})"
    if len({s.nid for s in facts.node_ranges}) > 1:
        merged: dict[int, Span] = {}
        for s in facts.node_ranges:
            old = merged.get(s.nid)
            merged[s.nid] = s if old is None else Span(s.nid, min(old.start, s.start),
                                                        max(old.end, s.end), old.line)
        return list(merged.values()), "the Early memory node ranges " \
                                      f"(line {facts.node_ranges[0].line})"
    return [], "one node"


def topology(facts: BootFacts) -> Topology:
    notes: list[Note] = []
    if facts.cpus:
        cpus = facts.cpus
        how = facts.cpus_how or f"line {facts.cpus_line}: possible CPUs (nr_cpu_ids)"
    else:
        cpus, how = 1, "assumed: the input does not say"
        where = "the log has no \"smpboot: Allowing\" or \"setup_percpu:\" line" \
            if facts.kind == "dmesg" else "/proc/iomem does not say (--cpus)"
        notes.append(Note("assumed", f"1 CPU: {where}"))
    spans, nodes_how = _spans(facts)
    spans = sorted(spans, key=lambda s: s.start)
    if [s.nid for s in spans] != sorted(s.nid for s in spans):
        notes.append(Note("warning", "node numbers are not in address order: the layout numbers "
                                     "them by address"))
    clean: list[Span] = []
    for s in spans:
        if clean and s.start < clean[-1].end:
            notes.append(Note("warning", f"line {s.line}: node {s.nid} overlaps or interleaves "
                                         f"with node {clean[-1].nid}: merged into it"))
            clean[-1] = Span(clean[-1].nid, clean[-1].start, max(clean[-1].end, s.end), clean[-1].line)
        else:
            clean.append(s)
    if len(clean) <= 1:
        return Topology((NodeSpec(0, 0, cpus),), cpus, how, nodes_how, tuple(notes))
    top = max(e.end + 1 for e in facts.e820 if e.type == 1)
    starts = [0] + [s.start for s in clean[1:]]
    ends = [s.end for s in clean[:-1]] + [max(clean[-1].end, top)]
    per_node = _cpus_per_node(facts, len(clean), cpus, notes)
    nodes = tuple(NodeSpec(a, b, c) for a, b, c in zip(starts, ends, per_node, strict=True))
    return Topology(nodes, cpus, how, nodes_how, tuple(notes))


def _cpus_per_node(facts: BootFacts, nodes: int, cpus: int, notes: list[Note]) -> list[int]:
    groups = [g for g in facts.pcpu_groups if g]
    if len(groups) == nodes and sum(len(g) for g in groups) == cpus:
        return [len(g) for g in groups]
    if facts.fake_nodes:
        notes.append(Note("assumed", f"all {cpus} CPUs on node 0: numa=fake keeps them on the "
                                     "first emulated node (numa_emulation())"))
        return [cpus] + [0] * (nodes - 1)
    base, extra = divmod(cpus, nodes)
    per = [base + (1 if i < extra else 0) for i in range(nodes)]
    notes.append(Note("assumed", f"CPUs spread over the {nodes} nodes as {per}: the log has no "
                                 "pcpu-alloc groups"))
    return per
