"""A screen that drives a ``Runner``: commands queue, run one at a time, and each
finished command binds its ``Frame`` into the screen.

Long commands (running to a step, workloads, strategy switches) run in a thread of
their own, report progress and stop at the next step when ``cancel()`` is called; the
UI thread never touches the session meanwhile, it only reads frames: frozen snapshots
of plain data, built in the thread. The thread is a daemon: quitting never waits for a
command that cannot stop (one boot step of a huge machine), and a command that raises
is one line and a crash log (a model bug), never the end of the explorer. One boot
step or one step back runs on the UI thread when the last frame was cheap to make
(``quick``): a few milliseconds, less than handing it to a thread and taking the GIL
back from it. On the largest machines (monster-16t's eager steps take up to ~0.3 s) it
goes to a thread like the rest.
"""

from __future__ import annotations

import contextvars
import threading
from collections import deque
from collections.abc import Callable

from textual import on
from textual.message import Message
from textual.reactive import reactive
from textual.screen import Screen

from kmsan_tui.crashlog import crash_line, write_crash_log
from kmsan_tui.model.errors import UserError
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.runner import Runner
from kmsan_tui.tui.safety_net import Guarded

Job = Callable[[], Frame]

INLINE_SECONDS = 0.025
"""A step runs on the UI thread when the last one and its frame took less than this."""


class FrameReady(Message):
    """A command (or part of one) finished: here is the state to show."""

    def __init__(self, frame: Frame, final: bool) -> None:
        self.frame = frame
        self.final = final
        super().__init__()


class CommandDone(Message):
    """A command finished (its frame is bound, or it failed); bubbles to the app."""


class CommandFailed(Message):
    """A command stopped with an error; the session is unchanged by it."""

    def __init__(self, text: str, severity: str) -> None:
        self.text = text
        self.severity = severity
        super().__init__()


class Progressed(Message):
    """A long command reports how far it is."""

    def __init__(self, done: int, total: int, what: str) -> None:
        self.done, self.total, self.what = done, total, what
        super().__init__()


class CommandScreen(Guarded, Screen[None]):
    """The command queue of a screen that shows a runner's frames."""

    frame: reactive[Frame | None] = reactive(None, repaint=False)
    """The state every widget draws."""
    busy: reactive[bool] = reactive(False, repaint=False)
    """A command is running."""
    running: reactive[str] = reactive("", repaint=False)
    """What the running command is doing (empty when idle)."""
    progress: reactive[tuple[int, int] | None] = reactive(None, repaint=False)
    """(done, total) of the running command, when it reports progress."""

    def __init__(self, runner: Runner) -> None:
        super().__init__()
        self.runner = runner
        self._queue: deque[tuple[str, Job, bool]] = deque()
        self._cancel = threading.Event()
        self._thread: threading.Thread | None = None
        frame = runner.frame if runner.frame is not None else runner.start()
        self.set_reactive(CommandScreen.frame, frame)

    @property
    def idle(self) -> bool:
        """No command running or queued (tests and benchmarks wait for this)."""
        return not self.busy and not self._queue

    @property
    def quick(self) -> bool:
        """Whether the last step and the last frame were cheap enough to run the next
        single step on the UI thread."""
        frame = self.frame
        return frame is not None and \
            self.runner.last_step_seconds + frame.build_seconds < INLINE_SECONDS

    def cancelled(self) -> bool:
        """Whether the user stopped the running command (polled by the worker)."""
        return self._cancel.is_set()

    def submit(self, label: str, job: Job, *, short: bool = False) -> None:
        """Queue a command; it runs after the ones before it, off the UI thread unless
        it is ``short`` (one step: no progress to show) and the machine is ``quick``."""
        self._queue.append((label, job, short))
        self._pump()

    def stop_commands(self) -> None:
        """Drop the queued commands and stop the running one at its next step."""
        self._queue.clear()
        self._cancel.set()

    def _pump(self) -> None:
        if self.busy or not self._queue:
            return
        label, job, short = self._queue.popleft()
        self.busy = True
        self._cancel.clear()
        if short and self.quick:
            self.post_message(self._outcome(label, job))
        else:
            self.running = label
            context = contextvars.copy_context()  # the active app, for call_from_thread
            self._thread = threading.Thread(target=context.run, args=(self._run_job, label, job),
                                            name=f"kmsan-tui: {label}", daemon=True)
            self._thread.start()

    def _run_job(self, label: str, job: Job) -> None:
        self.post_message(self._outcome(label, job))

    @property
    def command_thread_running(self) -> bool:
        """Whether a command's thread has not returned yet."""
        return self._thread is not None and self._thread.is_alive()

    @staticmethod
    def _outcome(label: str, job: Job) -> FrameReady | CommandFailed:
        """Run a command: its frame, or its error as one line (never a traceback)."""
        try:
            return FrameReady(job(), final=True)
        except UserError as exc:  # bad input, or Cancelled
            return CommandFailed(str(exc), "warning")
        except Exception as exc:  # a model bug: a crash log, the explorer goes on
            path = write_crash_log(exc, f"explorer: command {label!r}")
            return CommandFailed(crash_line(exc, path), "error")

    def on_frame(self, frame: Frame) -> None:
        """Intermediate frames of a long command (called in the worker thread)."""
        self.post_message(FrameReady(frame, final=False))

    def on_progress(self, done: int, total: int, what: str) -> None:
        """Progress of a long command (called in the worker thread)."""
        self.post_message(Progressed(done, total, what))

    @on(FrameReady)
    def _frame_ready(self, message: FrameReady) -> None:
        self.frame = message.frame
        if message.final:
            self._finish()

    @on(CommandFailed)
    def _command_failed(self, message: CommandFailed) -> None:
        self.notify(message.text, severity=message.severity,  # type: ignore[arg-type]
                    timeout=12 if message.severity == "error" else 3)
        self._queue.clear()
        self.command_failed()
        self._finish()

    def command_failed(self) -> None:
        """Hook: a command failed (the explorer stops autoplay)."""

    @on(Progressed)
    def _progressed(self, message: Progressed) -> None:
        self.progress = (message.done, message.total)
        self.running = f"{message.what} {message.done:,}/{message.total:,}"

    def _finish(self) -> None:
        self.busy = False
        self.running = ""
        self.progress = None
        self.post_message(CommandDone())
        self._pump()
