"""Format 1 (kmsan-tui before sessions carried their layout) read as format 2.

A format-1 file holds a layout *name* (or a path), the final strategy, the seed, the
kernel overrides, the boot and workload commands and the digest of the final state.
Migration keeps the commands and replays them under today's model (the session does
that when it opens the data): each command gets today's digest. The saved digest
cannot be trusted across model versions: it is kept as a note (``migrated``) and
compared with where today's replay ends, never used to refuse the file.

The layout is today's shipped layout of that name. A path is read only if it names a
``.toml`` regular file (through safeio: no device, no FIFO, a size cap), relative to
the session file's directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import Layout
from kmsan_tui.model.safeio import read_text
from kmsan_tui.model.strategies.registry import all_options
from kmsan_tui.session.commands import MAX_OPS, MAX_SEED, Command, RunAll, RunTo, Step, Workload
from kmsan_tui.session.fileformat import MAX_LOG, Entry, Migrated, SessionData
from kmsan_tui.session.layoutdoc import MAX_LAYOUT, parse_layout_text, read_layout
from kmsan_tui.session.reader import Reader, string_map

_V1_KEYS = {"format", "layout", "strategy", "seed", "overrides", "commands", "digest"}
_V1_COMMAND_KEYS = {"kind", "step", "workload", "ops", "seed"}


def _layout(r: Reader, name: str, source: str) -> tuple[Layout, str]:
    if "/" not in name and not name.endswith(".toml"):
        try:
            return read_layout(name)
        except UserError as exc:
            raise r.fail("layout", str(exc)) from None
    if not name.endswith(".toml"):
        raise r.fail("layout", f"{name!r}: a layout path must name a .toml file")
    path = Path(source).parent / name
    try:
        text = read_text(path, "layout", MAX_LAYOUT)
        return parse_layout_text(text, str(path), path.stem), text
    except UserError as exc:
        raise r.fail("layout", str(exc)) from None


def _command(r: Reader, raw: Any, where: str) -> Command:
    obj = r.obj(raw, where)
    r.keys(obj, where, _V1_COMMAND_KEYS)
    kind = r.get(obj, "kind", where, str)
    if kind == "step":
        return Step()
    if kind == "run":
        return RunAll()
    if kind == "run_to":
        return RunTo(r.get(obj, "step", where, str))
    if kind == "workload":
        return Workload(r.get(obj, "workload", where, str),
                        r.integer(obj, "ops", where, 0, MAX_OPS),
                        r.integer(obj, "seed", where, 0, MAX_SEED, None, optional=True))
    raise r.fail(f"{where}.kind", f"unknown command {kind!r} (format 1: step, run_to, run, "
                                  f"workload)")


def migrate_v1(doc: Any, source: str) -> SessionData:
    """A format-1 document as format-2 data, its commands without digests yet."""
    r = Reader(source)
    top = r.obj(doc, "")
    r.keys(top, "", _V1_KEYS)
    layout, text = _layout(r, r.get(top, "layout", "", str), source)
    overrides = string_map(r, r.get(top, "overrides", "", dict, {}), "overrides")
    known = {"kernel", "sanitizer"} | {opt.key for opt in all_options()}
    for key in overrides:
        if key not in known:
            raise r.fail(f"overrides.{key}", "unexpected key")
    raw = r.get(top, "commands", "", list)
    if len(raw) > MAX_LOG:
        raise r.fail("commands", f"{len(raw):,} entries is over the {MAX_LOG:,} limit")
    commands = [_command(r, c, f"commands[{i}]") for i, c in enumerate(raw)]
    final = r.get(top, "digest", "", str)
    options = {opt.key: overrides.get(opt.key) or getattr(layout.kernel, opt.key, opt.default)
               for opt in all_options()}
    return SessionData(
        layout_text=text, layout_name=layout.name,
        kernel=overrides.get("kernel") or layout.kernel.version,
        sanitizer=overrides.get("sanitizer") or layout.kernel.sanitizer,
        strategy=r.get(top, "strategy", "", str),
        options=tuple(sorted(options.items())),
        seed=r.integer(top, "seed", "", 0, MAX_SEED),
        log=tuple(Entry(c) for c in commands),
        migrated=Migrated(1, final), source=source)
