"""Regenerate the shipped sessions (and refresh the golden v2 file's digests).

    .venv/bin/python saves/regenerate.py          # rewrite saves/*.json
    .venv/bin/python saves/regenerate.py --check  # replay each with --verify, write nothing

The stories are written here as commands; the model's digests after each command
are whatever today's model computes, so run this after a model change makes
``make test`` report a divergence (and look at the diff: only digests and the states
the notes describe should move). Every file is written atomically (safeio).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from kmsan_tui.model import Simulation
from kmsan_tui.model.safeio import atomic_write
from kmsan_tui.session import (
    Back,
    Bookmark,
    Command,
    DivergenceError,
    GoTo,
    RunAll,
    RunTo,
    Session,
    Step,
    SwitchStrategy,
    View,
    Workload,
    fileformat,
    files,
)
from kmsan_tui.session.layoutdoc import read_layout

HERE = Path(__file__).resolve().parent
GOLDEN_V2 = HERE.parent / "tests" / "session" / "golden" / "v2-every-command.json"
CREATED = "2025-01-15T12:00:00Z"
"""A fixed creation time: regenerating with an unchanged model changes no byte."""


def new_session(layout: str, strategy: str, seed: int = 0) -> Session:
    loaded, text = read_layout(layout)
    session = Session(loaded, strategy, seed, layout_source=text)
    session.created = CREATED
    return session


def play(session: Session, commands: list[Command | Callable[[Session], Command | None]]) -> None:
    """Apply commands; a callable makes its command from the state reached (a page to
    go to), or skips by returning None."""
    for item in commands:
        command = item(session) if callable(item) else item
        if command is not None:
            session.apply(command)


def step_note(name: str) -> Callable[[Session], Command | None]:
    """Run to an init call and bookmark it with the model's own explanation of it."""
    def make(session: Session) -> Command | None:
        if name not in session.steps:
            return None
        session.apply(RunTo(name))
        info = next(i for i in session.sim.step_info if i.name == name)
        return Bookmark(f"{info.name} ({info.source}): {info.explanation}")
    return make


def first_page(test: Callable[[Simulation, int], bool], stride: int = 1
               ) -> Callable[[Session], Command | None]:
    """Go to the first page frame that ``test`` picks (None: no go-to)."""
    def make(session: Session) -> Command | None:
        sim = session.sim
        return next((GoTo(pfn) for pfn in range(0, sim.max_pfn, stride) if test(sim, pfn)), None)
    return make


def lazy_fragmenter_tiny() -> Session:
    """Lazy metadata failing under fragmentation on tiny-64m."""
    s = new_session("tiny-64m", "lazy", seed=3)
    play(s, [
        Bookmark("tiny-64m under the lazy strategy: KMSAN's shadow and origin are allocated "
                 "with each alloc_pages(), of the same order as the data. Watch what happens "
                 "to them once memory fragments. (space plays, } steps, j seeks)"),
        step_note("kmsan_init_shadow"),
        step_note("memblock_free_all"),
        Bookmark("Nothing was held back for metadata at the hand-over: the buddy allocator "
                 "got every free page (compare with eager: c)."),
        step_note("mem_init"),
        RunAll(),
        Bookmark("The boot is over. Metrics (M): no blind spots yet; every allocation got "
                 "its metadata."),
        Workload("fragmenter", 5000),
        Bookmark("After 5,000 fragmenter operations the same-order shadow and origin blocks "
                 "run out: metadata allocations fail, and the pages they were for are blind "
                 "spots (! on the map, 'blind spots' in Metrics)."),
        first_page(lambda sim, pfn: sim.page(pfn).blind),
        Bookmark("A blind page: no kmsan_shadow, no kmsan_origin in its struct page; KMSAN "
                 "cannot check any access to it."),
    ])
    s.view = View(tab="metrics")
    return s


def numa_eager() -> Session:
    """The parent: eager on a two-node NUMA box."""
    s = new_session("numa-2x32g", "eager")
    play(s, [
        Bookmark("numa-2x32g: two nodes of 32 GiB. This session boots it with eager (upstream) "
                 "metadata; its branch numa-fixed-branch.json boots it with fixed addresses. "
                 "Open the branch and compare (c, then p)."),
        step_note("kmsan_init_shadow"),
        step_note("memblock_free_all"),
        first_page(lambda sim, pfn: sim.page(pfn).kmsan_shadow is not None, stride=0x400),
        Bookmark("A data page with kmsan_shadow and kmsan_origin pointers (s and o follow "
                 "them): struct page is 80 bytes for them."),
        RunAll(),
        Bookmark("eager at the end of the boot: shadow and origin use two thirds of what was "
                 "free at the hand-over, on each node."),
    ])
    s.view = View(tab="metrics")
    return s


def numa_fixed_branch(parent: Session) -> Session:
    """The branch: the same machine from the hand-over's eve, under the fixed strategy."""
    # Right after the parent's note on kmsan_init_shadow(): before the hand-over.
    position = next(i for i, e in enumerate(parent.log)
                    if e.command == RunTo("kmsan_init_shadow")) + 2
    s = parent.fork(position)
    s.created = CREATED
    play(s, [
        SwitchStrategy("fixed"),
        Bookmark("The branch: from here on the fixed strategy, shadow and origin at fixed "
                 "offsets from the direct map, backed from memblock now (Shadow regions: x)."),
        step_note("memblock_free_all"),
        RunAll(),
        Bookmark("fixed at the end of the boot: no pointers (struct page stays 64 bytes) but "
                 "a virtual range to reserve. c then p compares with the eager parent at this "
                 "step."),
    ])
    s.view = View(tab="regions")
    return s


def boot_tour() -> Session:
    """A guided tour of the boot, one bookmark per init call that matters."""
    s = new_session("qemu-8g", "eager")
    play(s, [
        Bookmark("A tour of early memory on qemu-8g with KMSAN (eager). Press } (or space) to "
                 "go from stop to stop; each note is what the init call just did."),
        *[step_note(name) for name in (
            "e820__memblock_setup", "sparse_init", "free_area_init", "kmsan_init_shadow",
            "memblock_free_all", "mem_init", "kmem_cache_init", "vmalloc_init",
            "kmsan_init_runtime")],
        RunAll(),
        Bookmark("The end of the boot. Try 2 or 3 to see the same boot under lazy or fixed, "
                 "or w for a workload; any command here starts a branch of this tour."),
    ])
    return s


STORIES: list[tuple[str, Callable[[], Session]]] = [
    ("lazy-fragmenter-tiny.json", lazy_fragmenter_tiny),
    ("boot-tour.json", boot_tour),
]


def write_all() -> list[Path]:
    written = []
    for name, make in STORIES:
        session = make()
        files.save(session, HERE / name, replace_view(session, position=0))
        written.append(HERE / name)
    parent = numa_eager()
    files.save(parent, HERE / "numa-eager.json", replace_view(parent, position=0))
    branch = numa_fixed_branch(parent)
    files.save(branch, HERE / "numa-fixed-branch.json", replace_view(branch, position=0))
    written += [HERE / "numa-eager.json", HERE / "numa-fixed-branch.json"]
    refresh_golden(GOLDEN_V2)
    return written


def replace_view(session: Session, position: int) -> View:
    """The stories open at their start, the way a tour is followed."""
    view = session.view
    session.seek_now(position)
    return View(position, view.cursor, view.zoom, view.tab)


def refresh_golden(path: Path) -> None:
    """Rewrite only the digests of the golden v2 files (their structure must stay as it
    was written, to prove that old files keep loading): the parent's, then its branch's."""
    parent = refresh_digests(path.with_name("v2-parent.json"))
    refresh_digests(path, parent)


def refresh_digests(path: Path, parent_digest: str | None = None) -> str | None:
    """Today's model digests into a format-2 file, nothing else; its new file digest."""
    if not path.exists():
        return None
    doc, source = fileformat.read_document(path)
    if fileformat.version_of(doc, source) != fileformat.FORMAT:
        return None  # an older format now: migrated on load, left as it is
    session = files.load(path)
    for raw, entry in zip(doc["log"], session.log, strict=True):
        if "digest" in raw:
            raw["digest"] = entry.digest
    if parent_digest is not None and doc.get("parent"):
        doc["parent"]["digest"] = parent_digest
    doc["digest"] = fileformat.file_digest(doc)
    atomic_write(path, fileformat.dumps(doc), "session")
    return str(doc["digest"])


def check() -> int:
    """Replay every shipped session with verification; 1 if one diverges."""
    failed = 0
    for path in sorted(HERE.glob("*.json")):
        try:
            files.load(path, verify=True)
            sys.stdout.write(f"ok        {path.name}\n")
        except DivergenceError as exc:
            sys.stdout.write(f"DIVERGES  {exc}\n")
            failed = 1
    return failed


def golden_v2(path: Path) -> None:
    """Write the golden v2 file (once: --init-golden). Every command kind, a parent, a view."""
    parent = new_session("tiny-64m", "eager", seed=11)
    play(parent, [RunTo("mem_init"), RunAll()])
    files.save(parent, path.with_name("v2-parent.json"))
    s = parent.fork(1)
    s.created = CREATED
    play(s, [Step(), Back(), SwitchStrategy("lazy", (("lazy_storage", "page_ext"),)),
             RunAll(), Workload("fragmenter", 700), Workload("thp", 300, seed=42),
             GoTo(0x1234), Bookmark("every kind of command, ✓ unicode too")])
    files.save(s, path, View(cursor=0x1234, zoom=16, tab="metrics"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="verify, write nothing")
    parser.add_argument("--init-golden", action="store_true",
                        help="write tests/session/golden/v2-*.json anew (format changes only)")
    args = parser.parse_args()
    if args.check:
        return check()
    if args.init_golden:
        golden_v2(GOLDEN_V2)
        return 0
    for path in write_all():
        sys.stdout.write(f"{path.relative_to(HERE.parent)}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
