"""The command palette (ctrl+p): every explorer action, and places to go.

Besides the key-bound actions it offers a command per boot step (run to it), per
zone (go to its first page), per bookmark of the session (seek to it), per shipped
layout, per strategy, workload and map palette, "Save session as…", the settings
(kernel profile, sanitizer, strategy options), the heat view and the step
explanation full screen; typing a pfn or an address (``0x1234``, ``phys
0x40000000``, ``4G``) offers to go there, and says when it is past the end of memory.

On every screen (the comparison too): "Save screenshot" (into ``shots.screenshot_dir``),
"Definitions" and a "Define: …" command per metric, whose help line is its definition.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from kmsan_tui.model.layout import STRATEGIES, shipped_layouts
from kmsan_tui.model.layout_types import KERNELS, SANITIZERS
from kmsan_tui.model.metrics import METRICS
from kmsan_tui.model.strategies.registry import all_options
from kmsan_tui.model.workloads import WORKLOADS
from kmsan_tui.tui.goto import resolve_location
from kmsan_tui.tui.keymap import EXPLORER_BINDINGS
from kmsan_tui.tui.palettes import PALETTES
from kmsan_tui.tui.settings import Settings
from kmsan_tui.tui.shots import screenshot_dir, screenshot_to

if TYPE_CHECKING:
    from kmsan_tui.tui.screens.explorer import ExplorerScreen

Entry = tuple[str, Callable[[], object], str]  # (text, callback, help)


class ExplorerCommands(Provider):
    """Commands of the explorer screen, and a few for every screen."""

    def _screen(self) -> ExplorerScreen | None:
        from kmsan_tui.tui.screens.explorer import ExplorerScreen

        screen = self.screen
        return screen if isinstance(screen, ExplorerScreen) else None

    def _actions(self) -> Iterator[Entry]:
        screen = self._screen()
        if screen is None:
            return
        keymap: dict[str, str] = getattr(self.app, "keymap", {})
        for binding in EXPLORER_BINDINGS:
            if not binding.description or binding.action.startswith(("strategy(", "tab(")):
                continue
            key = keymap.get(binding.id or "", binding.key_display or binding.key)
            yield (binding.description, partial(screen.run_action, binding.action),
                   f"key {key}")

    def _places(self) -> Iterator[Entry]:
        screen = self._screen()
        if screen is None or screen.frame is None:
            return
        frame = screen.frame
        for i, step in enumerate(frame.steps):
            yield (f"Run to step {i + 1}: {step.name}", partial(screen.run_to, i), step.source)
        for zone in frame.free:
            yield (f"Go to zone: node {zone.nid} {zone.name}",
                   partial(screen.go_to_pfn, zone.start_pfn, True),
                   f"pfn {zone.start_pfn:#x}-{zone.end_pfn - 1:#x}")
        for strategy in STRATEGIES:
            yield (f"Switch strategy: {strategy}", partial(screen.switch_strategy, strategy),
                   "re-simulate to the same step")
        for name in shipped_layouts():
            yield f"Load layout: {name}", partial(screen.load_layout, name), "shipped layout"
        for name, spec in WORKLOADS.items():
            yield (f"Run workload: {name} (20000 operations)",
                   partial(screen.run_workload, name, 20000), spec.description)
        for position, note in frame.session.bookmarks:
            yield (f"Seek to bookmark: {note[:70]}", partial(screen.seek_text, str(position)),
                   f"entry {position} of the session")
        yield ("Save session as…", screen.action_save_session_as,
               "a new file (ctrl+s saves to the current one)")
        for palette in PALETTES:
            yield (f"Map colours: {palette}", partial(screen.set_palette, palette),
                   "colour-blind safe (default)" if palette == "okabe-ito" else "")
        for tab, label in (("free-lists", "Free lists"), ("regions", "Shadow regions"),
                           ("metrics", "Metrics"), ("chart", "Fragmentation chart"),
                           ("log", "Kernel log")):
            yield f"Show panel: {label}", partial(screen.action_tab, tab), ""
        yield from self._settings(screen)
        yield ("Heat view: page states over the steps", partial(self._heat, screen),
               "time down, address right; free memory by order per step")
        yield ("Read the step explanation full screen", partial(self._read_step, screen),
               "the highlighted step's source and what it does (key v in the timeline)")

    def _settings(self, screen: ExplorerScreen) -> Iterator[Entry]:
        from kmsan_tui.tui.screens.settings import apply_from, open_settings

        yield ("Settings: kernel profile, sanitizer, strategy and its options…",
               partial(open_settings, screen), "what the command line sets, re-simulated")
        current = Settings.of(screen.runner.session)
        for kernel in KERNELS:
            if kernel != current.kernel:
                yield (f"Kernel profile: {kernel}", partial(apply_from, screen, Settings(
                    kernel, current.sanitizer, current.strategy, current.options)),
                    "a new session of this layout that redoes this one")
        for sanitizer in SANITIZERS:
            if sanitizer != current.sanitizer:
                yield (f"Sanitizer: {sanitizer}", partial(apply_from, screen, Settings(
                    current.kernel, sanitizer, current.strategy, current.options)),
                    "a new session of this layout that redoes this one")
        values = dict(current.options)
        for opt in all_options():
            for choice in opt.choices:
                if choice != values.get(opt.key):
                    options = tuple(sorted({**values, opt.key: choice}.items()))
                    strategy = opt.key.partition("_")[0]  # lazy_activation: a lazy option
                    if strategy not in STRATEGIES:
                        strategy = current.strategy
                    yield (f"Strategy option: {opt.key} = {choice}", partial(
                        apply_from, screen, Settings(current.kernel, current.sanitizer,
                                                     strategy, options)), opt.help)

    @staticmethod
    def _heat(screen: ExplorerScreen) -> None:
        from kmsan_tui.tui.screens.heat import HeatScreen

        if screen.frame is not None:
            screen.app.push_screen(HeatScreen(screen.frame, screen.palette))

    @staticmethod
    def _read_step(screen: ExplorerScreen) -> None:
        from kmsan_tui.tui.widgets.boot_timeline import BootTimeline

        screen.query_one(BootTimeline).run_action("toggle_reading")

    def _anywhere(self) -> Iterator[Entry]:
        """Commands of every screen."""
        yield ("Save screenshot", self._screenshot,
               f"an SVG of the screen, into {screenshot_dir()}")
        yield ("Definitions: every metric, the map's glyphs, the free lists",
               self._definitions, "what each figure means")
        for d in METRICS:
            if d.group != "state":
                yield f"Define: {d.label}", partial(self._define, d.label, d.definition), \
                    d.definition

    def _screenshot(self) -> None:
        # once the palette has closed
        self.app.set_timer(0.1, partial(screenshot_to, self.app, self.app.notify))

    def _definitions(self) -> None:
        from kmsan_tui.tui.screens.definitions import DefinitionsScreen

        self.app.push_screen(DefinitionsScreen())

    def _define(self, label: str, text: str) -> None:
        self.app.notify(text, title=label, timeout=12)

    async def discover(self) -> Hits:
        for text, callback, help_text in (*self._actions(), *self._anywhere()):
            yield DiscoveryHit(text, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        screen = self._screen()
        matcher = self.matcher(query)
        if screen is None:
            for text, callback, help_text in self._anywhere():
                score = matcher.match(text)
                if score > 0:
                    yield Hit(score, matcher.highlight(text), callback, text=text,
                              help=help_text)
            return
        target = resolve_location(query, screen.frame.index.span) if screen.frame else None
        if target is not None and target.kind == "pfn":
            pfn = target.pfn
            yield Hit(1.0, f"Go to pfn {pfn:#x} (phys {pfn << 12:#x})",
                      partial(screen.go_to_pfn, pfn, True),
                      help=target.note or "move the map cursor")
        elif target is not None:
            yield Hit(1.0, f"{query.strip()}: past the end of memory",
                      partial(self.app.notify, target.note, severity="warning"),
                      help=target.note)
        for text, callback, help_text in (*self._actions(), *self._places(),
                                          *self._anywhere()):
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, text=text, help=help_text)
