"""Saved sessions on disk: format 2, and the only place where a session is a dict.

A file is one JSON object, written one key per line, one log entry per line and the
layout one TOML line per string, so that two saves diff line by line::

    {
     "format": 2,
     "app_version": "0.1.0",
     "created": "2025-01-31T09:00:00Z",
     "layout": {"name": "tiny-64m", "digest": "sha256:…", "toml": ["[machine]", …]},
     "kernel": "mainline", "sanitizer": "kmsan", "strategy": "lazy",
     "options": {"lazy_activation": "mem_init", "lazy_storage": "struct_page"},
     "seed": 3,
     "parent": {"file": "a.json", "digest": "sha256:…", "branch_point": 12},  (a branch)
     "migrated": {"from_format": 1, "final_digest": "…", "matched": false},  (from v1)
     "log": [{"kind": "run_to", "step": "mem_init", "digest": "…"}, …],
     "view": {"position": 9, "cursor": 4096, "zoom": 0, "tab": "free-lists"},
     "digest": "sha256:…"
    }

``digest`` covers everything else (a file edited by hand is refused); each
state-changing entry carries the model's digest after it, so a replay can say where
it first diverges. Reading is strict: every key, type and bound is checked and any
problem is one ``SessionError`` naming the file and the key (``log[3].ops``).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kmsan_tui import __version__
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.safeio import MiB, atomic_write, parse_json, read_text
from kmsan_tui.model.strategies.registry import with_defaults
from kmsan_tui.session.commands import (
    COMMAND_KINDS,
    HAND_ORDERS,
    HAND_TYPES,
    MAX_NOTE,
    MAX_OPS,
    MAX_PFN,
    MAX_SEED,
    AllocPages,
    Back,
    Bookmark,
    Command,
    FreePages,
    GoTo,
    RunAll,
    RunTo,
    Step,
    SwitchStrategy,
    Workload,
    changes_state,
)
from kmsan_tui.session.errors import SessionError
from kmsan_tui.session.layoutdoc import lines_text, text_digest, text_lines
from kmsan_tui.session.reader import Reader, string_map

FORMAT = 2
MAX_FILE = 8 * MiB
"""Bytes of a session file (a long session with its layout is well under 1 MiB)."""
MAX_LOG = 10_000
"""Entries of a session's log."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One command of the log, and the model's digest after it (state-changing ones;
    None until computed, for a session migrated from format 1)."""

    command: Command
    digest: str | None = None


@dataclass(frozen=True, slots=True)
class ParentRef:
    """Where a branch comes from: the parent's file, its file digest, and how many log
    entries the branch shares with it."""

    file: str
    digest: str
    branch_point: int


@dataclass(frozen=True, slots=True)
class Migrated:
    """A session read from an older format: its commands were replayed under today's
    model, so the digest it was saved with is only a note."""

    from_format: int
    final_digest: str
    matched: bool | None = None  # None until replayed


@dataclass(frozen=True, slots=True)
class View:
    """The explorer's view state at the time of the save."""

    position: int | None = None  # log entries applied (None: all of them)
    cursor: int | None = None
    zoom: int = 0
    tab: str = ""


@dataclass(frozen=True, slots=True)
class SessionData:
    """A saved session, checked, before it is replayed."""

    layout_text: str
    layout_name: str
    kernel: str
    sanitizer: str
    strategy: str
    options: tuple[tuple[str, str], ...]
    seed: int
    log: tuple[Entry, ...]
    view: View = View()
    created: str = ""
    app_version: str = __version__
    parent: ParentRef | None = None
    migrated: Migrated | None = None
    source: str = ""  # the file it was read from
    file_digest: str = ""


# ---------------------------------------------------------------------- writing


def _command_dict(entry: Entry) -> dict[str, Any]:
    c = entry.command
    out: dict[str, Any] = {"kind": c.kind}
    match c:
        case RunTo(step=step):
            out["step"] = step
        case SwitchStrategy(strategy=strategy, options=options):
            out["strategy"] = strategy
            out["options"] = dict(options)
        case Workload(name=name, ops=ops, seed=seed):
            out |= {"name": name, "ops": ops, "seed": seed}
        case AllocPages(order=order, migratetype=mt):
            out |= {"order": order, "migratetype": mt}
        case FreePages(pfn=pfn) | GoTo(pfn=pfn):
            out["pfn"] = pfn
        case Bookmark(note=note):
            out["note"] = note
    if changes_state(c):
        out["digest"] = entry.digest
    return out


def to_document(data: SessionData) -> dict[str, Any]:
    """The JSON object of a session, its file digest included."""
    doc: dict[str, Any] = {
        "format": FORMAT,
        "app_version": data.app_version,
        "created": data.created,
        "layout": {"name": data.layout_name,
                   "digest": text_digest(lines_text(text_lines(data.layout_text))),
                   "toml": text_lines(data.layout_text)},
        "kernel": data.kernel,
        "sanitizer": data.sanitizer,
        "strategy": data.strategy,
        "options": dict(data.options),
        "seed": data.seed,
    }
    if data.parent is not None:
        doc["parent"] = {"file": data.parent.file, "digest": data.parent.digest,
                         "branch_point": data.parent.branch_point}
    if data.migrated is not None:
        doc["migrated"] = {"from_format": data.migrated.from_format,
                           "final_digest": data.migrated.final_digest,
                           "matched": data.migrated.matched}
    doc["log"] = [_command_dict(e) for e in data.log]
    view = data.view
    doc["view"] = {"position": view.position, "cursor": view.cursor, "zoom": view.zoom,
                   "tab": view.tab}
    doc["digest"] = file_digest(doc)
    return doc


def file_digest(doc: dict[str, Any]) -> str:
    """sha256 of the canonical JSON of everything but the ``digest`` key."""
    body = {k: v for k, v in doc.items() if k != "digest"}
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"),
                           allow_nan=False)
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), allow_nan=False)


def dumps(doc: dict[str, Any]) -> str:
    """The document as text: one key per line, one log entry per line."""
    lines = ["{"]
    keys = list(doc)
    for i, key in enumerate(keys):
        end = "," if i < len(keys) - 1 else ""
        value = doc[key]
        if key == "layout":
            toml = value["toml"]
            lines.append(' "layout": {')
            lines.append(f'  "name": {_compact(value["name"])},')
            lines.append(f'  "digest": {_compact(value["digest"])},')
            lines.append('  "toml": [')
            lines += [f"   {_compact(t)}{',' if j < len(toml) - 1 else ''}"
                      for j, t in enumerate(toml)]
            lines.append("  ]")
            lines.append(" }" + end)
        elif key == "log":
            lines.append(' "log": [')
            lines += [f"  {_compact(e)}{',' if j < len(value) - 1 else ''}"
                      for j, e in enumerate(value)]
            lines.append(" ]" + end)
        else:
            lines.append(f" {_compact(key)}: {_compact(value)}{end}")
    lines.append("}")
    return "\n".join(lines) + "\n"


def write(path: str | Path, data: SessionData) -> str:
    """Write a session atomically (safeio); returns its file digest."""
    doc = to_document(data)
    atomic_write(path, dumps(doc), "session")
    return str(doc["digest"])


# ---------------------------------------------------------------------- reading


def _command(r: Reader, raw: Any, where: str) -> Entry:
    obj = r.obj(raw, where)
    kind = r.get(obj, "kind", where, str)
    cls = COMMAND_KINDS.get(kind)
    if cls is None:
        raise r.fail(f"{where}.kind", f"unknown command {kind!r} "
                                      f"(expected {', '.join(COMMAND_KINDS)})")
    fields = {"kind", "digest"} if cls in (Step, RunAll, Back) else {"kind"}
    command: Command
    if cls is RunTo:
        command = RunTo(r.get(obj, "step", where, str))
        fields |= {"step", "digest"}
    elif cls is SwitchStrategy:
        options = string_map(r, r.get(obj, "options", where, dict, {}), f"{where}.options")
        command = SwitchStrategy(r.get(obj, "strategy", where, str),
                                 tuple(sorted(options.items())))
        fields |= {"strategy", "options", "digest"}
    elif cls is Workload:
        command = Workload(r.get(obj, "name", where, str),
                           r.integer(obj, "ops", where, 0, MAX_OPS),
                           r.integer(obj, "seed", where, 0, MAX_SEED, None, optional=True))
        fields |= {"name", "ops", "seed", "digest"}
    elif cls is AllocPages:
        mt = r.get(obj, "migratetype", where, str)
        if mt not in HAND_TYPES:
            raise r.fail(f"{where}.migratetype", f"{mt!r}: expected {', '.join(HAND_TYPES)}")
        command = AllocPages(r.integer(obj, "order", where, 0, max(HAND_ORDERS)), mt)
        fields |= {"order", "migratetype", "digest"}
    elif cls is FreePages:
        command = FreePages(r.integer(obj, "pfn", where, 0, MAX_PFN))
        fields |= {"pfn", "digest"}
    elif cls is GoTo:
        command = GoTo(r.integer(obj, "pfn", where, 0, MAX_PFN))
        fields |= {"pfn"}
    elif cls is Bookmark:
        note = r.get(obj, "note", where, str)
        if len(note) > MAX_NOTE:
            raise r.fail(f"{where}.note", f"longer than {MAX_NOTE:,} characters")
        command = Bookmark(note)
        fields |= {"note"}
    else:
        command = cls()
    r.keys(obj, where, fields)
    digest = None
    if changes_state(command):
        digest = r.get(obj, "digest", where, str)
    return Entry(command, digest)


def _layout(r: Reader, raw: Any) -> tuple[str, str]:
    obj = r.obj(raw, "layout")
    r.keys(obj, "layout", {"name", "digest", "toml"})
    name = r.get(obj, "name", "layout", str)
    want = r.get(obj, "digest", "layout", str)
    lines = r.get(obj, "toml", "layout", list)
    if len(lines) > 10_000 or not all(isinstance(line, str) for line in lines):
        raise r.fail("layout.toml", "expected a list of at most 10,000 strings")
    text = lines_text(lines)
    if text_digest(text) != want:
        raise r.fail("layout.digest", "does not match layout.toml (the layout was changed "
                                      "after the save)")
    return name, text


def parse_document(doc: Any, source: str) -> SessionData:
    """A format-2 document, checked; the format version must already be 2."""
    r = Reader(source)
    top = r.obj(doc, "")
    r.keys(top, "", {"format", "app_version", "created", "layout", "kernel", "sanitizer",
                     "strategy", "options", "seed", "parent", "migrated", "log", "view",
                     "digest"})
    want = r.get(top, "digest", "", str)
    try:
        actual = file_digest(top)
    except ValueError:  # 1e999 parses as inf, which is no JSON number
        raise r.fail("", "a number out of range (not a JSON number)") from None
    if actual != want:
        raise r.fail("digest", "does not match the content: the file was changed after it "
                               "was saved (or is damaged)")
    layout_name, layout_text = _layout(r, r.get(top, "layout", "", dict))
    raw_log = r.get(top, "log", "", list)
    if len(raw_log) > MAX_LOG:
        raise r.fail("log", f"{len(raw_log):,} entries is over the {MAX_LOG:,} limit")
    log = tuple(_command(r, raw, f"log[{i}]") for i, raw in enumerate(raw_log))
    parent = None
    if top.get("parent") is not None:
        p = r.obj(top["parent"], "parent")
        r.keys(p, "parent", {"file", "digest", "branch_point"})
        name = r.get(p, "file", "parent", str)
        if not name or "/" in name or "\\" in name or name in (".", ".."):
            raise r.fail("parent.file", "expected a file name beside this one, not a path")
        parent = ParentRef(name, r.get(p, "digest", "parent", str),
                           r.integer(p, "branch_point", "parent", 0, len(log)))
    migrated = None
    if top.get("migrated") is not None:
        m = r.obj(top["migrated"], "migrated")
        r.keys(m, "migrated", {"from_format", "final_digest", "matched"})
        migrated = Migrated(r.integer(m, "from_format", "migrated", 1, FORMAT - 1),
                            r.get(m, "final_digest", "migrated", str),
                            r.get(m, "matched", "migrated", (bool, type(None)), None))
    v = r.obj(r.get(top, "view", "", dict, {}), "view")
    r.keys(v, "view", {"position", "cursor", "zoom", "tab"})
    view = View(r.integer(v, "position", "view", 0, len(log), None, optional=True),
                r.integer(v, "cursor", "view", 0, 1 << 52, None, optional=True),
                r.integer(v, "zoom", "view", 0, 1 << 52, 0),
                r.get(v, "tab", "view", str, ""))
    return SessionData(
        layout_text=layout_text, layout_name=layout_name,
        kernel=r.get(top, "kernel", "", str), sanitizer=r.get(top, "sanitizer", "", str),
        strategy=r.get(top, "strategy", "", str),
        options=with_defaults(string_map(r, r.get(top, "options", "", dict, {}), "options")),
        seed=r.integer(top, "seed", "", 0, MAX_SEED), log=log, view=view,
        created=r.get(top, "created", "", str, ""),
        app_version=r.get(top, "app_version", "", str, ""),
        parent=parent, migrated=migrated, source=source, file_digest=want)


def read_document(path: str | Path) -> tuple[Any, str]:
    """The parsed JSON of a session file and its name (safeio: regular file, size cap,
    UTF-8, nesting bound, no NaN)."""
    source = str(path)
    try:
        return parse_json(read_text(path, "session", MAX_FILE), source), source
    except SessionError:
        raise
    except UserError as exc:
        raise SessionError(str(exc)) from None


def version_of(doc: Any, source: str) -> int:
    """The ``format`` of a document: 1 or 2, else a SessionError saying why."""
    r = Reader(source)
    top = r.obj(doc, "")
    version = top.get("format")
    if "format" not in top:
        raise r.fail("format", "missing (not a kmsan-tui session?)")
    if isinstance(version, bool) or not isinstance(version, int):
        raise r.fail("format", f"unknown version {version!r}")
    if version > FORMAT:
        raise r.fail("format", f"version {version} is newer than this kmsan-tui "
                               f"({__version__}) reads (up to {FORMAT}): upgrade kmsan-tui")
    if version < 1:
        raise r.fail("format", f"unknown version {version}")
    return version
