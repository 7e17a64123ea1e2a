"""Reading a session file of any format into checked ``SessionData``, and the
checks that come before its replay: the machine it names and the work it asks for."""

from __future__ import annotations

from pathlib import Path

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import KERNELS, SANITIZERS, STRATEGIES
from kmsan_tui.session.commands import describe
from kmsan_tui.session.errors import SessionError
from kmsan_tui.session.fileformat import (
    FORMAT,
    SessionData,
    parse_document,
    read_document,
    version_of,
)
from kmsan_tui.session.layoutdoc import parse_layout_text
from kmsan_tui.session.migrate import migrate_v1
from kmsan_tui.session.replay import (
    MAX_REPLAY_OPS,
    MAX_REPLAY_STEPS,
    Config,
    Engine,
    Plan,
    Setup,
    cost,
)


def read(path: str | Path) -> tuple[SessionData, int]:
    """The checked data of a session file and the format it was written in (format 1
    is migrated: its commands come without digests)."""
    doc, source = read_document(path)
    version = version_of(doc, source)
    if version == FORMAT:
        return parse_document(doc, source), version
    return migrate_v1(doc, source), version


def _fail(data: SessionData, where: str, message: str) -> SessionError:
    return SessionError(f"{data.source}: {where}: {message}")


def engine_of(data: SessionData) -> Engine:
    """The replay engine of a session's machine: its layout (parsed by the model's own
    loader, errors naming ``layout.toml`` and the key), kernel, sanitizer and seed."""
    try:
        layout = parse_layout_text(data.layout_text, f"{data.source}: layout.toml",
                                   data.layout_name)
    except UserError as exc:
        raise SessionError(str(exc)) from None
    if layout.name != data.layout_name:
        raise _fail(data, "layout.name", f"{data.layout_name!r}, but layout.toml names "
                                         f"{layout.name!r}")
    if data.kernel not in KERNELS:
        raise _fail(data, "kernel", f"unknown kernel {data.kernel!r} "
                                    f"(expected {', '.join(KERNELS)})")
    if data.sanitizer not in SANITIZERS:
        raise _fail(data, "sanitizer", f"unknown sanitizer {data.sanitizer!r} "
                                       f"(expected {', '.join(SANITIZERS)})")
    return Engine(Setup(layout, data.seed, data.kernel, data.sanitizer))


def config_of(data: SessionData) -> Config:
    """The strategy and options the log starts from."""
    if data.strategy not in STRATEGIES:
        raise _fail(data, "strategy", f"unknown strategy {data.strategy!r} "
                                      f"(expected {', '.join(STRATEGIES)})")
    try:
        layout = parse_layout_text(data.layout_text, "layout", data.layout_name)
        return Config.of(layout, data.strategy, dict(data.options))
    except UserError as exc:
        raise _fail(data, "options", str(exc)) from None


def check_budget(engine: Engine, start: Plan, data: SessionData) -> None:
    """Fold the log (no simulation): every command must be able to run, and the whole
    replay must stay within MAX_REPLAY_STEPS boot steps and MAX_REPLAY_OPS workload
    operations, so that no file can keep the replay busy for hours."""
    plan = start
    steps = ops = 0
    for i, entry in enumerate(data.log):
        try:
            after = engine.plan_after(plan, entry.command)
        except UserError as exc:
            raise _fail(data, f"log[{i}]", f"{describe(entry.command)}: {exc}") from None
        more_steps, more_ops = cost(plan, after)
        steps, ops = steps + more_steps, ops + more_ops
        if steps > MAX_REPLAY_STEPS or ops > MAX_REPLAY_OPS:
            raise _fail(data, f"log[{i}]", f"the replay would run more than "
                                           f"{MAX_REPLAY_STEPS:,} boot steps or "
                                           f"{MAX_REPLAY_OPS:,} workload operations")
        plan = after
