"""The command palette (ctrl+p): every explorer action, and places to go.

Besides the key-bound actions it offers a command per boot step (run to it), per
zone (go to its first page), per bookmark of the session (seek to it), per shipped
layout, per strategy, workload and map palette, and "Save session as…"; typing a
pfn or an address (``0x1234``, ``phys 0x40000000``, ``4G``) offers to go there.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

from textual.command import DiscoveryHit, Hit, Hits, Provider

from kmsan_tui.model.layout import STRATEGIES, shipped_layouts
from kmsan_tui.model.workloads import WORKLOADS
from kmsan_tui.tui.fmt import parse_location
from kmsan_tui.tui.keymap import EXPLORER_BINDINGS
from kmsan_tui.tui.palettes import PALETTES

if TYPE_CHECKING:
    from kmsan_tui.tui.screens.explorer import ExplorerScreen

Entry = tuple[str, Callable[[], object], str]  # (text, callback, help)


class ExplorerCommands(Provider):
    """Commands of the explorer screen (nothing on other screens)."""

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

    async def discover(self) -> Hits:
        for text, callback, help_text in self._actions():
            yield DiscoveryHit(text, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        screen = self._screen()
        if screen is None:
            return
        location = parse_location(query)
        if location is not None:
            kind, value = location
            pfn = value if kind == "pfn" else value >> 12
            yield Hit(1.0, f"Go to pfn {pfn:#x} (phys {pfn << 12:#x})",
                      partial(screen.go_to_pfn, pfn, True), help="move the map cursor")
        matcher = self.matcher(query)
        for text, callback, help_text in (*self._actions(), *self._places()):
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), callback, text=text, help=help_text)
