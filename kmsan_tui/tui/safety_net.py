"""The explorer's safety net: a bug in a handler costs a notice, not the session.

Textual ends the app at the first exception a handler raises. The session the user
built (boot steps, workloads, bookmarks, unsaved) would go with it. Instead:

- the app and our screens are ``Guarded``: an exception raised while one of them
  handles a message (a key's action, a worker's frame) is reported and the message
  dropped; the pump goes on with the next one;
- an exception in any other pump (a Textual widget: its message loop has stopped) is
  reported too, and what it broke is replaced: a dialog is closed, the explorer is
  rebuilt on the same runner (the session is the runner's, not the screen's); one in
  a worker, a timer or an idle callback is reported, nothing stopped;
- each report writes the traceback to a crash log (``kmsan_tui.crashlog``) and shows
  one line naming it. Past ``BURST`` reports in ``WINDOW`` seconds (a bug that fires
  on every frame), with no screen left, or while the app starts or ends, the app
  exits with that one line (exit status 1) instead of a traceback.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from textual import events
from textual._context import active_message_pump
from textual.message import Message
from textual.message_pump import MessagePump
from textual.screen import Screen
from textual.widget import Widget
from textual.worker import WorkerFailed

from kmsan_tui.crashlog import crash_line, write_crash_log

BURST = 10
WINDOW = 10.0

# Messages whose failure leaves the pump half built: those are never swallowed.
_LIFECYCLE = (events.Compose, events.Mount)


class Guarded:
    """Mixin of a MessagePump (the app, our screens): an exception while handling a
    message goes to the app's safety net, and the pump goes on."""

    async def _dispatch_message(self, message: Message) -> None:
        try:
            await super()._dispatch_message(message)  # type: ignore[misc]
        except Exception as error:
            if isinstance(message, _LIFECYCLE):
                raise
            app = getattr(self, "app", None)
            report = getattr(app, "report_crash", None)
            if report is None or not report(error, self):
                raise


class SafetyNet(Guarded):
    """Mixin of the App: see the module docstring. ``crashes`` lists what it caught
    (error, crash log) so tests can tell a caught bug from none."""

    crashes: list[tuple[BaseException, Path | None]]
    _crash_times: list[float]
    _gave_up: bool

    def init_safety_net(self) -> None:
        self.crashes = []
        self._crash_times = []
        self._gave_up = False

    def _over_budget(self) -> bool:
        now = time.monotonic()
        self._crash_times = [t for t in self._crash_times if now - t < WINDOW] + [now]
        return len(self._crash_times) > BURST

    def report_crash(self, error: BaseException, pump: Any) -> bool:
        """Log ``error``, tell the user in one line; False when the app must end."""
        app: Any = self
        if self._gave_up:
            return True  # the app is ending on the line already given: one line only
        where = type(pump).__name__ if pump is not None else "?"
        path = write_crash_log(error, f"explorer: an exception in {where}")
        self.crashes.append((error, path))
        if self._over_budget() or not app.screen_stack:  # no screen left: nothing to keep
            self._give_up(error, path)
            return True
        app.notify(f"{crash_line(error, path)}; the session is kept", severity="error",
                   timeout=12)
        return True

    def _give_up(self, error: BaseException, path: Path | None) -> None:
        app: Any = self
        if self._gave_up:
            return
        self._gave_up = True
        app._return_code = 1
        app.panic(f"kmsan-tui: {crash_line(error, path)}")

    def _handle_exception(self, error: Exception) -> None:
        """Textual's end of the road for an exception no Guarded pump caught."""
        app: Any = self
        pump = active_message_pump.get(None)
        if self._gave_up:
            return
        if not app.screen_stack or app._closing or app._exit_renderables:
            # Before the first screen (the app's compose), or while the app ends.
            path = write_crash_log(error, "explorer: an exception while the app starts or ends")
            if app._exception is None:  # Pilot tests re-raise it
                app._exception = error
                app._exception_event.set()
            self._give_up(error, path)
            return
        if isinstance(error, WorkerFailed) or pump is None or pump is self:
            # A worker's task, a timer or an idle callback of the app: no loop stopped
            # (the app's own messages are Guarded and never come here).
            self.report_crash(error, pump)
            return
        screen = _screen_of(pump)  # now: once its loop has stopped, a widget is dropped
        self.report_crash(error, pump)
        if screen is not None and not app._closing:
            app.call_later(self._replace_broken, screen)

    async def _replace_broken(self, screen: Screen[Any]) -> None:
        app: Any = self
        if any(s is screen for s in app.screen_stack):
            await self.replace_broken(screen)

    async def replace_broken(self, screen: Screen[Any]) -> None:
        """The screen of a pump whose loop stopped, still on the stack: close it if it is
        a dialog. The app overrides this to rebuild its main screen (this module knows
        no screen of the app's: no import circle)."""
        app: Any = self
        if screen is app.screen and len(app.screen_stack) > 1:
            await app.pop_screen()


def _screen_of(pump: MessagePump) -> Screen[Any] | None:
    if isinstance(pump, Screen):
        return pump
    if isinstance(pump, Widget):
        try:
            return pump.screen
        except Exception:
            return None
    return None
