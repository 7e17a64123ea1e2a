"""The explorer's handlers for the machine: strategy, workload, layout, comparison,
screenshot (a mixin of ``ExplorerScreen``, which holds the handlers; this module keeps
it short)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual import work

from kmsan_tui.crashlog import crash_line, write_crash_log
from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import STRATEGIES, Layout, shipped_layouts
from kmsan_tui.model.workloads import WORKLOADS
from kmsan_tui.session.layoutdoc import read_layout
from kmsan_tui.tui.screens.command_screen import CommandScreen
from kmsan_tui.tui.screens.pick import PickScreen
from kmsan_tui.tui.screens.prompt import PromptScreen
from kmsan_tui.tui.screens.workload import WorkloadScreen

if TYPE_CHECKING:
    from collections.abc import Callable


class MachineActions(CommandScreen):
    """Switch strategy, run a workload, load a layout, compare, take a screenshot."""

    cursor: int
    palette: str
    _trail: list[int]

    if TYPE_CHECKING:  # provided by the explorer and SessionActions
        def _did(self, what: str) -> None: ...

        def confirm_leave(self, what: str, then: Callable[[], None],
                          verb: str = "go on") -> None: ...

    def switch_strategy(self, strategy: str) -> None:
        if self.frame is not None and strategy == self.frame.strategy:
            self.notify(f"already {strategy}", timeout=1.5)
            return
        self.submit(f"switching to {strategy}", lambda: self.runner.switch(
            strategy, cancel=self.cancelled, progress=self.on_progress))

    def action_strategy(self, strategy: str) -> None:
        self.switch_strategy(strategy)

    def action_cycle_strategy(self) -> None:
        if self.frame is not None:
            i = STRATEGIES.index(self.frame.strategy) if self.frame.strategy in STRATEGIES else 0
            self.switch_strategy(STRATEGIES[(i + 1) % len(STRATEGIES)])

    def action_workload(self) -> None:
        if self.frame is None:
            return

        def chosen(choice: tuple[str, int, int] | None) -> None:
            if choice:
                self.run_workload(*choice)

        self.app.push_screen(WorkloadScreen(sorted(WORKLOADS), self.frame.seed), chosen)

    def run_workload(self, name: str, ops: int, seed: int | None = None) -> None:
        self.submit(f"workload {name}", lambda: self.runner.workload(
            name, ops, seed, cancel=self.cancelled, progress=self.on_progress))

    def action_load_layout(self) -> None:
        options = [(name, name) for name in shipped_layouts()]
        options.append(("", "a TOML file…"))

        def chosen(name: str | None) -> None:
            if name == "":
                self.app.push_screen(PromptScreen("Layout file", "path/to/layout.toml"),
                                     lambda path: self.load_layout(path) if path else None)
            elif name:
                self.load_layout(name)

        self.app.push_screen(PickScreen("Load layout", options), chosen)

    def load_layout(self, name: str) -> None:
        """Load a layout (a shipped name, or a file read off the UI thread: a user's
        file may be large or slow), then ask before the session goes; whatever is wrong
        with the file is a notice."""
        if name in shipped_layouts():
            layout, text = read_layout(name)  # the package's own: small, and valid
            self._layout_read(layout, text)
        else:
            self._read_layout(name)

    @work(thread=True, group="layout", exclusive=True, exit_on_error=False)
    def _read_layout(self, name: str) -> None:
        try:
            layout, text = read_layout(name)
        except UserError as exc:
            self.app.call_from_thread(self.notify, str(exc), severity="error", timeout=8)
            return
        except Exception as exc:  # a bug in the loader: a crash log, the explorer goes on
            path = write_crash_log(exc, f"explorer: loading the layout {name!r}")
            self.app.call_from_thread(self.notify, crash_line(exc, path), severity="error",
                                      timeout=12)
            return
        self.app.call_from_thread(self._layout_read, layout, text)

    def _layout_read(self, layout: Layout, text: str) -> None:
        def load() -> None:
            self._trail.clear()
            self.submit(f"loading {layout.name}", lambda: self.runner.load_layout(layout, text))

        self.confirm_leave(f"loading {layout.name}", load, "load")

    def action_compare(self) -> None:
        from kmsan_tui.tui.screens.compare import CompareScreen

        if self.frame is not None:
            self._did("compare")
            self.app.push_screen(CompareScreen(self.runner.session, self.frame, self.cursor,
                                               self.palette))

    def action_compare_parent(self) -> None:
        """The comparison of a branch with its parent at the same boot step."""
        from kmsan_tui.tui.screens.compare import CompareScreen

        if self.frame is not None:
            if not self.frame.session.has_parent:
                self.notify("this session is not a branch: seek back and give another command "
                            "to make one", severity="warning")
                return
            self.app.push_screen(CompareScreen(self.runner.session, self.frame, self.cursor,
                                               self.palette, other="parent"))

