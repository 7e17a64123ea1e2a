"""Sessions to and from files: save, open (replaying every command), find a parent.

Opening a file replays its log into an empty session through ``Session.execute``,
the very path the explorer's commands take, and compares each state-changing
command's digest with the one the file saved: the first that differs is a
``DivergenceError`` when verifying (``replay --verify``: exit 1), else a note in
``session.divergence`` (the model changed since the save: the session shows today's
states, with today's digests). Format 1 is migrated on the way (``migrate.py``).
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import replace
from pathlib import Path

from kmsan_tui import __version__
from kmsan_tui.model.errors import UserError
from kmsan_tui.session import fileformat, loader, store
from kmsan_tui.session.commands import changes_state, describe
from kmsan_tui.session.errors import DivergenceError, SessionError
from kmsan_tui.session.fileformat import Entry, ParentRef, SessionData, View
from kmsan_tui.session.layoutdoc import layout_text, text_digest
from kmsan_tui.session.replay import Progress, finish
from kmsan_tui.session.session import Parent, Saved, Session, now


def data_of(session: Session, view: View | None = None) -> SessionData:
    """What a save of ``session`` writes (cheap: the layout's text is read once)."""
    session.layout_source = layout_text(session.layout, session.layout_source)
    setup = session.setup
    return SessionData(
        layout_text=session.layout_source, layout_name=session.layout.name,
        kernel=setup.kernel, sanitizer=setup.sanitizer, strategy=session.initial.strategy,
        options=session.initial.options, seed=setup.seed, log=tuple(session.log),
        view=replace(view or session.view, position=session.position),
        created=session.created, app_version=__version__,
        parent=session.parent.ref if session.parent else None, migrated=session.migrated)


def save(session: Session, path: str | Path, view: View | None = None) -> Path:
    """Write ``session`` atomically (safeio) and remember the file in it."""
    data = data_of(session, view)
    store.sweep_temporaries(path)  # what a killed save of this file left behind
    digest = fileformat.write(path, data)
    session.saved = Saved(Path(path), digest, len(session.log))
    session.view = data.view
    session.dirty = False
    return Path(path)


def opening(path: str | Path, *, verify: bool = False) -> Generator[Progress, None, Session]:
    """Read a session file (format 2, or 1 migrated) and replay it, yielding progress."""
    data, version = loader.read(path)
    session = yield from replaying(data, verify=verify)
    if version == fileformat.FORMAT:
        session.saved = Saved(Path(path), data.file_digest, len(session.log))
    return session


def load(path: str | Path, *, verify: bool = False) -> Session:
    """``opening`` run to its end."""
    return finish(opening(path, verify=verify))


def replaying(data: SessionData, *, verify: bool = False) -> Generator[Progress, None, Session]:
    """A session from checked data: the machine built, the log folded and bounded
    (before anything runs), then each command run and its digest compared."""
    source = data.source
    engine = loader.engine_of(data)
    session = Session.empty(engine, loader.config_of(data))
    loader.check_budget(engine, session.plans[0], data)
    total = len(data.log)
    for i, entry in enumerate(data.log):
        command = entry.command
        try:
            yield from session.execute(command)
        except UserError as exc:
            raise SessionError(f"{source}: log[{i}]: {describe(command)}: {exc}") from None
        digest = session.log[-1].digest
        if changes_state(command) and entry.digest not in (None, digest) and \
                session.divergence is None:
            message = (f"{source}: log[{i}] ({describe(command)}): the replay reached digest "
                       f"{digest}, the file says {entry.digest}")
            if verify:
                raise DivergenceError(message, i)
            session.divergence = message
        yield Progress(i + 1, total, "replaying", session.state)
    final = session.sim.digest()
    if data.migrated is not None:
        matched = data.migrated.final_digest == final
        session.migrated = replace(data.migrated, matched=matched)
        if verify and not matched:
            raise DivergenceError(
                f"{source}: digest: a format-{data.migrated.from_format} session: the replay "
                f"ends at {final}, the file says {data.migrated.final_digest} (saved by an "
                f"older model?)", total)
    if data.parent is not None:
        session.parent = Parent(data.parent, data.parent.branch_point)
    session.view = data.view
    session.created = data.created or now()
    session.layout_source = data.layout_text
    session.dirty = False
    if data.view.position is not None and data.view.position != len(session.log):
        yield from session.seek(data.view.position)
    return session


def parent_log(session: Session) -> tuple[Entry, ...]:
    """The log of the session ``session`` branched from: in memory, or read from the
    parent's file beside the branch's (and then kept in memory)."""
    parent = session.parent
    if parent is None:
        raise UserError("this session is not a branch: there is no parent to compare with")
    if parent.log is not None:
        return parent.log
    if parent.ref is None or session.saved is None:
        raise UserError("the parent of this branch was never saved")
    log = read_parent_log(session.saved.path.parent / parent.ref.file, parent.ref, session)
    session.parent = replace(parent, log=log)
    return log


def read_parent_log(path: Path, ref: ParentRef, branch: Session) -> tuple[Entry, ...]:
    """The log of the parent file at ``path``, checked: the digest the branch recorded,
    the same machine and start (reads ``branch``'s settings only)."""
    data, version = loader.read(path)
    if version != fileformat.FORMAT or data.file_digest != ref.digest:
        raise SessionError(f"{path}: not the parent this branch was made from (the file "
                           f"changed since)")
    setup = branch.setup
    same = (text_digest(data.layout_text) == text_digest(branch.layout_source or "")
            and (data.seed, data.kernel, data.sanitizer) == (setup.seed, setup.kernel,
                                                              setup.sanitizer)
            and (data.strategy, data.options) == (branch.initial.strategy,
                                                  branch.initial.options))
    if not same:
        raise SessionError(f"{path}: the parent simulates another machine or start")
    return data.log
