"""The App: builds nothing itself. It is given a ``Runner`` (the session it drives),
installs the keymap, the command palette provider and the explorer screen.
``run_app`` is what ``kmsan-tui`` with no command calls.

The app carries the safety net (``safety_net``): a bug in a handler is a notice and
a crash log, not the end of the session; quitting stops the running command and never
waits on it for more than a moment."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

from textual import events, on
from textual.app import App
from textual.await_complete import AwaitComplete
from textual.binding import BindingType
from textual.command import CommandListItem, CommandPalette, SimpleProvider
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.theme import ThemeProvider
from textual.widget import AwaitMount

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import STRATEGIES, Layout
from kmsan_tui.session import Session
from kmsan_tui.session.store import remove_autosave
from kmsan_tui.tui.gcpolicy import GcPolicy
from kmsan_tui.tui.keymap import APP_BINDINGS, default_path, known_ids, load_keymap
from kmsan_tui.tui.providers import ExplorerCommands
from kmsan_tui.tui.runner import Runner
from kmsan_tui.tui.safety_net import SafetyNet
from kmsan_tui.tui.screens.command_screen import CommandDone, CommandScreen
from kmsan_tui.tui.screens.confirm import ConfirmScreen
from kmsan_tui.tui.screens.dialog import SafeCommandPalette, patch_textual
from kmsan_tui.tui.screens.explorer import ExplorerScreen
from kmsan_tui.tui.screens.keys import KeysScreen
from kmsan_tui.tui.shots import screenshot_to
from kmsan_tui.tutorial import Lesson

patch_textual()  # textual 8.2.8: page keys of an unlaid option list, text of no width

QUIT_GRACE = 2.0
"""Seconds quitting waits for a stopped command to finish writing what it writes."""


class KmsanApp(SafetyNet, App[int]):
    """Watch physical memory during Linux boot under three KMSAN metadata strategies."""

    CSS_PATH = "kmsan.tcss"
    TITLE = "kmsan-tui"
    BINDINGS: ClassVar[list[BindingType]] = list(APP_BINDINGS)
    COMMANDS = App.COMMANDS | {ExplorerCommands}

    def __init__(self, runner: Runner, *, keymap: dict[str, str] | None = None,
                 flash_changes: bool = True, lesson: Lesson | None = None) -> None:
        super().__init__()
        self.init_safety_net()
        self.runner = runner
        self.lesson = lesson  # `kmsan-tui tutorial`: open beside the explorer at start
        self.keymap: dict[str, str] = dict(keymap or {})
        self.flash_changes = flash_changes
        self.gc_policy = GcPolicy()

    def on_mount(self) -> None:
        if self.keymap:
            self.set_keymap(self.keymap)
        self.push_screen(ExplorerScreen(self.runner, flash_changes=self.flash_changes,
                                        lesson=self.lesson))
        # The garbage collector runs between interactions (see gcpolicy).
        self.call_after_refresh(self.gc_policy.start)
        self.set_interval(0.5, self.gc_policy.tick)

    def on_unmount(self) -> None:
        self.gc_policy.stop()

    async def on_event(self, event: events.Event) -> None:
        if isinstance(event, (events.Key, events.MouseDown, events.MouseScrollDown,
                              events.MouseScrollUp)):
            self.gc_policy.activity()
        await super().on_event(event)

    @on(CommandDone)
    def _command_done(self) -> None:
        self.gc_policy.command_done()

    def action_command_palette(self) -> None:
        """ctrl+p: Textual's palette, answering once, its page keys safe (dialog.py)."""
        if self.use_command_palette and not CommandPalette.is_open(self):
            self.push_screen(SafeCommandPalette(id="--command-palette"))

    def search_themes(self) -> None:
        """The palette's "Theme" command, in a safe palette too."""
        self.push_screen(SafeCommandPalette(providers=[ThemeProvider],
                                            placeholder="Search for themes…"))

    def search_commands(self, commands: Sequence[CommandListItem],
                        placeholder: str = "Search for commands…") -> AwaitMount:
        return self.push_screen(SafeCommandPalette(
            providers=[SimpleProvider(self.screen, commands)], placeholder=placeholder))

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Textual's "Screenshot" command (and App.action_screenshot): written as F12
        writes, into the screenshots directory unless given a name (safeio)."""
        target = Path(path or ".") / filename if filename else None
        saved = screenshot_to(self, self.notify, target)
        return str(saved) if saved is not None else None

    def pop_screen(self) -> AwaitComplete:
        """Pop the screen on top, but never the explorer: a dialog dismissed twice (a key
        typed faster than it closes) would take it down, then the default screen, and
        leave no screen at all (ScreenStackError on every key). Dialogs answer once
        (dialog.DismissOnce); this guards any screen that does not."""
        if isinstance(self.screen, ExplorerScreen) and not any(
                isinstance(s, ExplorerScreen) for s in self.screen_stack[:-1]):
            return AwaitComplete.nothing()
        return super().pop_screen()

    async def replace_broken(self, screen: Screen[object]) -> None:
        """SafetyNet: a broken explorer is rebuilt on the same runner, a dialog closed."""
        if isinstance(screen, ExplorerScreen):
            await self.rebuild_explorer(screen)
        else:
            await super().replace_broken(screen)

    async def rebuild_explorer(self, old: ExplorerScreen) -> None:
        """A new explorer on the same runner, in place of one a bug broke (the session
        is the runner's: nothing of it is lost)."""
        old.stop_commands()
        deadline = time.monotonic() + 10
        while old.command_thread_running and time.monotonic() < deadline:
            await asyncio.sleep(0.05)  # the command stops at its next unit
        while self.screen is not old and len(self.screen_stack) > 2:
            await self.pop_screen()
        if self.screen is old:
            await self.switch_screen(ExplorerScreen(self.runner,
                                                    flash_changes=self.flash_changes))

    def action_keys(self) -> None:
        if not isinstance(self.screen, KeysScreen):
            self.push_screen(KeysScreen(self.keymap))

    def action_toggle_help(self) -> None:
        """F1: the focused panel's help beside it (again to close)."""
        # Imported here: HelpPanel brings a Markdown parser, ~40 ms of start-up.
        from textual.widgets import HelpPanel

        try:
            self.screen.query_one(HelpPanel).remove()
        except NoMatches:
            self.screen.mount(HelpPanel())

    async def action_quit(self) -> None:
        """ctrl+q: quit, after asking when the session has unsaved work."""
        explorer = next((s for s in self.screen_stack if isinstance(s, ExplorerScreen)), None)
        if explorer is None or isinstance(self.screen, ConfirmScreen):
            self._quit()
        else:
            explorer.confirm_leave("quitting", self._quit, "quit")

    def _quit(self) -> None:
        remove_autosave()  # a normal exit: nothing to recover
        running = [s for s in self.screen_stack if isinstance(s, CommandScreen)]
        for screen in running:
            screen.stop_commands()
        self.run_worker(self._exit_when_stopped(running), group="quit", exclusive=True)

    async def _exit_when_stopped(self, screens: list[CommandScreen]) -> None:
        """Exit once the stopped commands returned (a save finishes its file), or after
        QUIT_GRACE seconds: their threads are daemons, they end with the process."""
        deadline = time.monotonic() + QUIT_GRACE
        while any(s.command_thread_running for s in screens) and time.monotonic() < deadline:
            await asyncio.sleep(0.02)
        self.exit(0)


def make_app(layout: Layout, strategy: str | None = None, *, seed: int = 0,
             keymap: dict[str, str] | None = None, flash_changes: bool = True,
             session: Session | None = None, lesson: Lesson | None = None) -> KmsanApp:
    """The factory tests, benchmarks and the CLI share (``session``: one opened from a
    file, instead of a new one on ``layout``; ``lesson``: open beside it)."""
    if session is None:
        chosen = strategy or layout.kernel.strategy
        if chosen not in STRATEGIES:
            chosen = STRATEGIES[0]
        session = Session(layout, chosen, seed)
    return KmsanApp(Runner(session), keymap=keymap, flash_changes=flash_changes,
                    lesson=lesson)


def user_keymap(keymap: str | None) -> dict[str, str]:
    """The key bindings of a keymap file, or of the default one if it exists."""
    known = known_ids()
    if keymap is not None:
        return load_keymap(keymap, known)
    if default_path().is_file():
        return load_keymap(default_path(), known)
    return {}


def run_app(layout: Layout, strategy: str | None = None, keymap: str | None = None, *,
            session: Session | None = None, bindings: dict[str, str] | None = None) -> int:
    """Run the explorer in the terminal; returns the exit code (0 on ctrl+q).
    ``bindings``: a keymap already read (else ``keymap``, or the default file)."""
    if bindings is None:
        bindings = user_keymap(keymap)
    app = make_app(layout, strategy, keymap=bindings, session=session)
    result = app.run()
    if app.return_code not in (None, 0):
        return app.return_code
    return int(result or 0)


__all__ = ["KmsanApp", "make_app", "run_app", "UserError"]
