"""The explorer's handlers for the session as a file and a recording: save, open,
autosave, asking before unsaved work goes, seeking, bookmarks.

A mixin of ``ExplorerScreen`` (the screen holds the handlers; this module keeps it
short). Everything that touches the session runs as a queued command, like the rest;
the autosave builds its data on the UI thread while no command runs, and writes it in
a thread worker.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from textual import on, work
from textual.timer import Timer
from textual.widgets import TabbedContent

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.safeio import check_target
from kmsan_tui.session import Back, Bookmark, RunAll, RunTo, Session, Step, View, fileformat
from kmsan_tui.session.files import data_of
from kmsan_tui.session.store import (
    autosave_dir,
    autosave_path,
    default_save_dir,
    remove_autosave,
    save_target,
)
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.screens.command_screen import CommandDone, CommandScreen
from kmsan_tui.tui.screens.confirm import ConfirmScreen
from kmsan_tui.tui.screens.open_session import OTHER_FILE, open_session_screen
from kmsan_tui.tui.screens.pick import PickScreen
from kmsan_tui.tui.screens.prompt import PromptScreen

if TYPE_CHECKING:
    from kmsan_tui.tui.runner import Runner

AUTOSAVE_DELAY = 2.0
"""Seconds after the last change before the autosave is written."""


def unsaved_work(session: Session) -> bool:
    """Whether leaving would lose something worth asking about: any change to a session
    that came from a file (or is a branch), or a session with more in it than boot steps
    (a workload, a strategy switch, a bookmark, a go-to). Stepping the boot of a new
    session alone is one key (``r``) to redo, and quits without a question."""
    if not session.dirty:
        return False
    if session.saved is not None or session.parent is not None or session.migrated:
        return True
    return any(not isinstance(e.command, (Step, RunTo, RunAll, Back)) for e in session.log)


class SessionActions(CommandScreen):
    """Save, open, autosave, confirm, seek and bookmark (mixed into the explorer)."""

    runner: Runner
    cursor: int
    zoom: int
    _autosave_timer: Timer | None = None
    _autosave_broken = False

    # ------------------------------------------------------------------ view state

    def view_state(self) -> View:
        """What a save keeps of the view: cursor, zoom, the open tab."""
        try:
            tab = self.query_one(TabbedContent).active
        except Exception:  # not mounted (headless saves)
            tab = ""
        return View(cursor=self.cursor, zoom=self.zoom, tab=tab)

    def restore_view(self, view: View) -> None:
        """Put back a saved view (after opening a file)."""
        frame = self.frame
        if frame is None:
            return
        if view.cursor is not None:
            self.cursor = min(view.cursor, frame.index.span - 1)
        self.zoom = view.zoom
        if view.tab:
            with contextlib.suppress(Exception):
                self.query_one(TabbedContent).active = view.tab

    # ------------------------------------------------------------------ saving

    def action_save_session(self) -> None:
        """ctrl+s: save to the session's file; the first time, ask for a name."""
        saved = self.runner.session.saved
        if saved is not None:
            self.save_to(saved.path)
        else:
            self.action_save_session_as()

    def action_save_session_as(self) -> None:
        directory = default_save_dir()
        suggestion = f"{self.frame.layout_name}-{self.frame.strategy}" if self.frame else ""

        def chosen(name: str | None) -> None:
            if name:
                self.save_to_name(name)

        self.app.push_screen(PromptScreen(f"Save session as (a name goes into {directory}/)",
                                          "name or path.json", suggestion), chosen)

    def save_to_name(self, name: str, then: Callable[[], None] | None = None) -> None:
        """Save under a name typed in the dialog (a bare name goes into the saves
        directory); a name that is no path is a notice."""
        try:
            path = save_target(name)
        except (OSError, RuntimeError, ValueError) as exc:  # "~nobody/x": no such home
            self.notify(f"{name[:80]!r}: not a file name for the session: {exc}",
                        severity="error", timeout=6)
            return
        self.save_to(path, then)

    def save_to(self, path: Path, then: Callable[[], None] | None = None) -> None:
        try:
            check_target(path, "session")  # before anything: one clear line
        except UserError as exc:
            self.notify(str(exc), severity="error", timeout=6)
            return
        view = self.view_state()

        def job() -> Frame:
            frame = self.runner.save(path, view)
            self.app.call_from_thread(self._saved, path, then)
            return frame

        self.submit("saving", job)

    def _saved(self, path: Path, then: Callable[[], None] | None) -> None:
        self.notify(f"saved {path}", timeout=3)
        remove_autosave()
        if then is not None:
            then()

    # ------------------------------------------------------------------ leaving

    def confirm_leave(self, what: str, then: Callable[[], None], verb: str = "go on") -> None:
        """Run ``then`` now, or after asking when there is unsaved work (``what``: "before
        quitting"; ``verb``: the discard button's "Discard and quit")."""
        if not unsaved_work(self.runner.session):
            then()
            return

        def chosen(choice: str | None) -> None:
            if choice == "discard":
                then()
            elif choice == "save":
                saved = self.runner.session.saved
                if saved is not None:
                    self.save_to(saved.path, then)
                else:
                    self._save_then(then)

        self.app.push_screen(ConfirmScreen(
            "Unsaved session", f"This session has changes that are not saved. Save them "
                               f"before {what}?", discard=f"Discard and {verb}"),
            chosen)

    def _save_then(self, then: Callable[[], None]) -> None:
        def chosen(name: str | None) -> None:
            if name:
                self.save_to_name(name, then)

        self.app.push_screen(PromptScreen(f"Save session as (into {default_save_dir()}/)",
                                          "name or path.json"), chosen)

    # ------------------------------------------------------------------ opening

    def action_open_session(self) -> None:
        """ctrl+o: pick a saved session (after asking about unsaved work)."""
        def pick() -> None:
            def chosen(value: str | None) -> None:
                if value == OTHER_FILE:
                    self.app.push_screen(PromptScreen("Open session file", "path/to/session.json"),
                                         lambda path: self.open_session(path) if path else None)
                elif value:
                    self.open_session(value)

            self.app.push_screen(open_session_screen(), chosen)

        self.confirm_leave("opening another session", pick, "open")

    def open_session(self, path: str | Path) -> None:
        self.submit(f"opening {Path(path).name}", lambda: self.runner.open(
            path, progress=self.on_progress, cancel=self.cancelled))

    def session_opened(self, frame: Frame) -> None:
        """After a file's frame is bound: its view, and what the user should know."""
        session = self.runner.session
        self.restore_view(session.view)
        if session.divergence:
            self.notify(f"this session diverges from its file (the model changed since it "
                        f"was saved): {session.divergence}", severity="warning", timeout=10)
        if session.migrated is not None:
            self.notify("a format-1 session: its commands were replayed under today's model "
                        "(ctrl+s saves it in format 2)", timeout=6)

    # ------------------------------------------------------------------ autosave

    @on(CommandDone)
    def _autosave_soon(self) -> None:
        if self._autosave_timer is not None:
            self._autosave_timer.stop()
        if self.runner.session.dirty and not self._autosave_broken:
            self._autosave_timer = self.set_timer(AUTOSAVE_DELAY, self._autosave)

    def _autosave(self) -> None:
        self._autosave_timer = None
        if not self.idle:
            self._autosave_soon()
            return
        session = self.runner.session
        if not session.dirty:
            return
        try:
            data = data_of(session, self.view_state())
        except UserError as exc:
            self._autosave_broken = True
            self.notify(f"autosave is off: {exc}", severity="warning", timeout=6)
            return
        self._write_autosave(data)

    @work(thread=True, group="autosave", exclusive=True, exit_on_error=False)
    def _write_autosave(self, data: fileformat.SessionData) -> None:
        try:
            fileformat.write(autosave_path(), data)
        except UserError as exc:
            self.app.call_from_thread(self.notify, f"autosave failed: {exc}",
                                      severity="warning", timeout=6)

    def notify_orphan_autosaves(self) -> None:
        """At start: autosaves that no running explorer owns (a terminal that died)."""
        orphans = []
        with contextlib.suppress(OSError):
            for entry in os.scandir(autosave_dir()):
                pid = entry.name.removeprefix("session-").removesuffix(".json")
                if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
                    orphans.append(entry.name)
        if orphans:
            self.notify(f"{len(orphans)} autosaved session(s) from an explorer that did not "
                        f"quit: ctrl+o lists them", timeout=8)

    # ------------------------------------------------------------------ the recording

    def action_seek_by(self, delta: int) -> None:
        self.submit("seek", lambda: self.runner.seek_by(delta), short=True)

    def action_seek(self) -> None:
        """j: a place in the recording: an entry, a boot step, a bookmark."""
        session = self.runner.session
        targets = session.seek_targets()
        options = [(f"{t.position}:{t.detour}:{i}", ("📌 " if t.kind == "bookmark" else "") + t.label)
                   for i, t in enumerate(targets)]
        here = next((value for (value, _), t in zip(options, targets, strict=True)
                     if (t.position, t.detour) == (session.position, session.detour)), None)

        def chosen(value: str | None) -> None:
            if value:
                position, detour, _ = value.split(":")
                self.submit("seeking", lambda: self.runner.seek(
                    int(position), int(detour), cancel=self.cancelled, progress=self.on_progress))

        self.app.push_screen(PickScreen("Seek to (the log, the boot steps, the bookmarks)",
                                        options, highlight=here), chosen)

    def seek_text(self, text: str) -> None:
        self.submit("seeking", lambda: self.runner.seek_text(text))

    def action_bookmark(self) -> None:
        """B: a note at this point of the session (a stop of a guided tour)."""
        def chosen(note: str | None) -> None:
            if note:
                self.submit("bookmark", lambda: self.runner.note(Bookmark(note),
                                                                 f"bookmark: {note}"))

        self.app.push_screen(PromptScreen("Bookmark here (a note for whoever replays it)",
                                          "what to look at"), chosen)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
