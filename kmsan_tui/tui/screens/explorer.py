"""The explorer: timeline, memory map, inspector and the panels below them.

The screen owns the ``Runner`` (and through it the session). Keys and widget
messages become commands, queued and run one at a time in a thread worker; each
finished command posts a ``Frame`` that the screen binds into every widget. The
cursor, zoom and palette are view state: the screen keeps them and binds them too.
"""

from __future__ import annotations

from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import BindingType
from textual.containers import Horizontal, Vertical
from textual.lazy import Lazy
from textual.reactive import reactive
from textual.timer import Timer
from textual.widgets import TabbedContent, TabPane

from kmsan_tui.model.layout import STRATEGIES
from kmsan_tui.model.mapindex import MapIndex
from kmsan_tui.session import GoTo
from kmsan_tui.tui import palettes
from kmsan_tui.tui.fmt import parse_location
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.keymap import EXPLORER_BINDINGS
from kmsan_tui.tui.messages import (
    FollowRequested,
    PageSelected,
    RunToRequested,
    StepRequested,
    ZoomRequested,
)
from kmsan_tui.tui.runner import Runner
from kmsan_tui.tui.screens.command_screen import CommandScreen
from kmsan_tui.tui.screens.explorer_hand import HandActions
from kmsan_tui.tui.screens.explorer_machine import MachineActions
from kmsan_tui.tui.screens.explorer_session import SessionActions
from kmsan_tui.tui.screens.explorer_tutorial import TutorialActions
from kmsan_tui.tui.screens.pick import PickScreen
from kmsan_tui.tui.screens.prompt import PromptScreen
from kmsan_tui.tui.tutor import Tutor
from kmsan_tui.tui.widgets.boot_timeline import BootTimeline
from kmsan_tui.tui.widgets.frag_chart import FragChart
from kmsan_tui.tui.widgets.free_lists import FreeLists
from kmsan_tui.tui.widgets.kernel_log import KernelLog
from kmsan_tui.tui.widgets.keys_footer import KeysFooter
from kmsan_tui.tui.widgets.map_legend import MapLegend
from kmsan_tui.tui.widgets.memory_map import MemoryMap
from kmsan_tui.tui.widgets.metrics_panel import MetricsPanel
from kmsan_tui.tui.widgets.page_inspector import PageInspector
from kmsan_tui.tui.widgets.shadow_regions import ShadowRegions
from kmsan_tui.tui.widgets.status_bar import StatusBar
from kmsan_tui.tutorial import Activity, Lesson

SPEEDS = (0.5, 1.0, 2.0, 4.0, 8.0, 16.0)  # autoplay steps per second


class ExplorerScreen(TutorialActions, HandActions, MachineActions, SessionActions, CommandScreen):
    """Boot a machine step by step and watch its memory."""

    BINDINGS: ClassVar[list[BindingType]] = list(EXPLORER_BINDINGS)
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = [
        (0, "-narrow"), (110, "-normal"), (170, "-wide")]

    cursor: reactive[int] = reactive(0, repaint=False)
    """The pfn under the map cursor (the inspected page)."""
    zoom: reactive[int] = reactive(0, repaint=False)
    """Pages per map cell; 0 fits the whole machine."""
    palette: reactive[str] = reactive(palettes.DEFAULT_PALETTE, repaint=False)
    """The colours of page states."""
    reference: reactive[MapIndex | None] = reactive(None, repaint=False)
    """The state before the last command, for the map's change marks."""
    autoplay_speed: reactive[float] = reactive(0.0, repaint=False)
    """Autoplay steps per second; 0 when paused."""

    def __init__(self, runner: Runner, *, flash_changes: bool = True,
                 lesson: Lesson | None = None) -> None:
        super().__init__(runner)
        self.flash_changes = flash_changes
        self._opening_lesson = lesson  # `kmsan-tui tutorial`: begun once mounted
        self._trail: list[int] = []  # pfns to go back to after following pointers
        self._speed = 2.0
        self._autoplay_timer: Timer | None = None
        frame = self.frame
        assert frame is not None
        view = runner.session.view
        cursor = view.cursor if view.cursor is not None else self._initial_cursor(frame)
        self.set_reactive(ExplorerScreen.cursor, min(cursor, frame.index.span - 1))
        self.set_reactive(ExplorerScreen.zoom, view.zoom)
        self.set_reactive(ExplorerScreen.reference,
                          frame.before.index if frame.before is not None else None)

    @staticmethod
    def _initial_cursor(frame: Frame) -> int:
        return min(0x1000, frame.index.span - 1)  # 16 MiB: the start of ZONE_DMA32

    def compose(self) -> ComposeResult:
        frame = ExplorerScreen.frame
        yield StatusBar(id="status-bar").data_bind(
            frame, ExplorerScreen.progress, activity=ExplorerScreen.activity)
        with Horizontal(id="body"):
            with Vertical(id="main"):
                with Horizontal(id="top"):
                    yield BootTimeline(id="timeline").data_bind(frame)
                    with Vertical(id="map-panel"):
                        memory_map = MemoryMap(id="map").data_bind(
                            frame, ExplorerScreen.cursor, ExplorerScreen.zoom,
                            ExplorerScreen.palette, ExplorerScreen.reference)
                        memory_map.animate_changes = self.flash_changes
                        yield memory_map
                        yield MapLegend(id="legend").data_bind(frame, ExplorerScreen.palette)
                with Horizontal(id="bottom"):
                    yield PageInspector(id="inspector").data_bind(frame, ExplorerScreen.cursor)
                    with TabbedContent(id="tabs"):
                        with TabPane("Free lists", id="free-lists"):
                            yield FreeLists(id="free-lists-panel").data_bind(frame)
                        # The hidden panels mount after the first frame is drawn (Lazy).
                        with TabPane("Shadow regions", id="regions"):
                            yield Lazy(ShadowRegions(id="regions-panel").data_bind(frame))
                        with TabPane("Metrics", id="metrics"):
                            yield Lazy(MetricsPanel(id="metrics-panel").data_bind(frame))
                        with TabPane("Fragmentation", id="chart"):
                            yield Lazy(FragChart(id="chart-panel").data_bind(frame))
                        with TabPane("Kernel log", id="log"):
                            yield Lazy(KernelLog(id="log-panel").data_bind(frame))
            # A lesson's panel is mounted where it opens (explorer_tutorial.py).
        yield KeysFooter(compact=True)

    def on_mount(self) -> None:
        self.query_one(MemoryMap).focus()
        if self.runner.session.view.tab:
            self.call_after_refresh(self.restore_view, self.runner.session.view)
        self.notify_orphan_autosaves()
        self.query_one("#inspector").border_title = "struct page"
        self.query_one("#timeline").border_title = "Boot timeline"
        if self._opening_lesson is not None:
            self.begin_lesson(Tutor.here(self.runner, self._opening_lesson))
            self._opening_lesson = None

    # ------------------------------------------------------------------ frames

    def watch_frame(self, frame: Frame | None) -> None:
        if frame is None:
            return
        self.reference = frame.before.index if frame.before is not None else None
        span = frame.index.span
        if self.cursor >= span:
            self.cursor = span - 1
        info = frame.session
        if frame.note.startswith("seek"):
            if info.goto is not None:
                self.cursor = min(info.goto, span - 1)
            if info.landmark:
                self.notify(info.landmark, title="bookmark", timeout=8)
        elif frame.note.startswith("branched"):
            self.notify(f"{frame.note.partition(':')[0]}: a new branch of this session; the "
                        f"comparison (c, then p) shows its parent; ctrl+s saves it", timeout=6)
        elif frame.note.startswith("opened"):
            self.session_opened(frame)
        if frame.note != "running":
            self.lesson_frame(frame)

    activity: reactive[str] = reactive("", repaint=False)
    """The status line's right side: the running command, or autoplay."""

    def watch_running(self) -> None:
        self._update_activity()

    def _update_activity(self) -> None:
        if self.running:
            self.activity = f"⏳ {self.running}…  (esc stops)"
        elif self.autoplay_speed:
            self.activity = f"▶ autoplay {self.autoplay_speed:g} steps/s  (space pauses)"
        else:
            self.activity = ""

    def command_failed(self) -> None:
        self._stop_autoplay()

    # ------------------------------------------------------------------ boot actions

    def action_step(self) -> None:
        self.submit("step", self.runner.step, short=True)

    @on(StepRequested)
    def _step_requested(self) -> None:
        self.action_step()

    def action_undo(self) -> None:
        self.submit("step back", self.runner.undo, short=True)

    def action_next_initcall(self) -> None:
        self.submit("next init call",
                    lambda: self.runner.next_change(cancel=self.cancelled))

    def action_run_all(self) -> None:
        if self.frame is not None:
            self.run_to(self.frame.nsteps - 1)

    def run_to(self, index: int) -> None:
        self.submit("running", lambda: self.runner.run_to(
            index, cancel=self.cancelled, on_frame=self.on_frame,
            progress=self.on_progress))

    @on(RunToRequested)
    def _run_to_requested(self, message: RunToRequested) -> None:
        self.run_to(message.index)

    def action_run_to(self) -> None:
        if self.frame is None:
            return
        steps = self.frame.step_names
        options = [(name, f"{i + 1:2d} {name}") for i, name in enumerate(steps)]

        def chosen(name: str | None) -> None:
            if name:
                self.run_to(steps.index(name))

        self.app.push_screen(PickScreen("Run to step", options,
                                        highlight=steps[self.frame.step_index - 1]
                                        if self.frame.step_index else None), chosen)

    def action_autoplay(self) -> None:
        if self.autoplay_speed:
            self._stop_autoplay()
        else:
            self.autoplay_speed = self._speed
            self._autoplay_timer = self.set_interval(1 / self._speed, self._autoplay_tick)
        self._update_activity()

    def action_speed(self, factor: float) -> None:
        self._speed = min(SPEEDS[-1], max(SPEEDS[0], self._speed * factor))
        if self.autoplay_speed:
            self._stop_autoplay()
            self.action_autoplay()
        else:
            self.notify(f"autoplay speed {self._speed:g} steps/s", timeout=1.5)

    def _autoplay_tick(self) -> None:
        if self.frame is None or not self.idle:
            return
        if self.frame.session.replaying:
            self.action_seek_by(1)  # play the recording
            return
        if self.frame.done:
            self._stop_autoplay()
            self.notify("the boot has finished")
            return
        self.action_step()

    def _stop_autoplay(self) -> None:
        if self._autoplay_timer is not None:
            self._autoplay_timer.stop()
            self._autoplay_timer = None
        self.autoplay_speed = 0.0
        self._update_activity()

    def action_stop(self) -> None:
        if self.query_one(FreeLists).collapse():
            return
        self.stop_commands()
        self._stop_autoplay()

    # ------------------------------------------------------------------ navigation

    @on(PageSelected)
    def _page_selected(self, message: PageSelected) -> None:
        self.go_to_pfn(message.pfn, remember=message.follow)

    def go_to_pfn(self, pfn: int, remember: bool = False) -> None:
        if self.frame is None:
            return
        pfn = min(max(pfn, 0), self.frame.index.span - 1)
        if remember and pfn != self.cursor:
            self._trail.append(self.cursor)
        self.cursor = pfn

    @on(ZoomRequested)
    def _zoom_requested(self, message: ZoomRequested) -> None:
        self.zoom = message.pages_per_cell

    def action_zoom(self, direction: int) -> None:
        self.zoom = self.query_one(MemoryMap).zoom_step(direction)

    def action_zoom_fit(self) -> None:
        self.zoom = 0

    @on(FollowRequested)
    def _follow_requested(self, message: FollowRequested) -> None:
        self.action_follow(message.kind)

    def action_follow(self, kind: str) -> None:
        """Follow the inspected page's shadow/origin pointer, its data page, or go back."""
        if self.frame is None:
            return
        if kind == "back":
            if self._trail:
                self.cursor = self._trail.pop()
            else:
                self.notify("nothing to go back to", timeout=2)
            return
        view = self.frame.lookup.page(self.cursor)
        target = {"shadow": view.kmsan_shadow, "origin": view.kmsan_origin,
                  "data": view.meta_for}[kind]
        if target is None:
            what = {"shadow": "no shadow pointer", "origin": "no origin pointer",
                    "data": "not a shadow or origin page"}[kind]
            self.notify(f"pfn {self.cursor:#x}: {what}", timeout=2.5)
            return
        self.go_to_pfn(target, remember=True)
        self.report(Activity.of("follow", pointer=kind,
                                state=self.frame.lookup.page(target).state.value))

    def action_goto(self) -> None:
        self.app.push_screen(
            PromptScreen("Go to", "pfn 0x1234 · phys 0x40000000 · 4G · a step · a zone"),
            self.go_to)

    def go_to(self, text: str | None) -> None:
        """Go to a pfn, a physical address, a zone (map cursor) or a boot step (run to it)."""
        if not text or self.frame is None:
            return
        location = parse_location(text)
        if location is not None:
            kind, value = location
            self.go_to_pfn(value if kind == "pfn" else value >> 12, remember=True)
            self._record_goto()
            return
        wanted = text.strip().lower()
        steps = self.frame.step_names
        if wanted in steps:
            self.run_to(steps.index(wanted))
            return
        for zone in self.frame.free:
            names = {zone.name.lower(), f"node {zone.nid} {zone.name}".lower(),
                     f"n{zone.nid} {zone.name}".lower()}
            if wanted in names:
                self.go_to_pfn(zone.start_pfn, remember=True)
                self._record_goto()
                return
        if self.frame.session.log_len:
            self.seek_text(text)  # a bookmark's note, or a position of the log
            return
        self.notify(f"{text!r}: not a pfn, an address, a step or a zone", severity="warning")

    def _record_goto(self) -> None:
        """A go-to is a place worth showing whoever replays the session: it goes into the
        log (at the end of it only: browsing a recording does not change it)."""
        if self.frame is not None and not self.frame.session.replaying:
            pfn = self.cursor
            self.submit("go to", lambda: self.runner.note(GoTo(pfn), f"go to {pfn:#x}"),
                        short=True)

    def action_focus_panel(self, panel: str) -> None:
        target = {"timeline": "#steps", "map": "#map", "inspector": "#inspector"}[panel]
        self.query_one(target).focus()

    def action_tab(self, tab: str) -> None:
        tabs = self.query_one(TabbedContent)
        if tabs.active == tab:
            self.report_tab(tab)  # no TabActivated: the key was pressed all the same
        tabs.active = tab
        pane = tabs.get_pane(tab)
        for widget in pane.query("*"):
            if widget.focusable:
                widget.focus()
                break

    # ------------------------------------------------------------------ tutorial

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "tutorial_move":
            return self.has_class("-tutorial")  # "." and "," are free otherwise
        return True

    def watch_cursor(self) -> None:
        if self.lesson_run is not None and self.frame is not None and self.is_mounted:
            view = self.frame.lookup.page(self.cursor)
            self.report(Activity.of("inspect", state=view.state.value, owner=view.owner or "",
                                    blind=view.blind))

    @on(TabbedContent.TabActivated)
    def _tab_activated(self, event: TabbedContent.TabActivated) -> None:
        if event.pane.id:
            self.report_tab(event.pane.id)

    def _did(self, what: str) -> None:
        """Something the learner did that a lesson may wait for (the comparison)."""
        if what == "compare" and self.frame is not None:
            i = STRATEGIES.index(self.frame.strategy) if self.frame.strategy in STRATEGIES else -1
            self.report(Activity.of("compare", left=self.frame.strategy,
                                    right=STRATEGIES[(i + 1) % len(STRATEGIES)]))

    def set_palette(self, palette: str) -> None:
        self.palette = palette
