"""Key bindings: every binding has an id, and a user TOML file can rebind any of them.

The keymap file maps binding ids to keys, one per line::

    # ~/.config/kmsan-tui/keymap.toml
    step = "space"
    autoplay = "p"
    "map.left" = "h,left"

Ids are listed by ``?`` in the app (and below). A file that cannot be used is a
user error: one line naming the file and the key, exit code 2.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

from textual.binding import Binding

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.strategies.registry import STRATEGIES

# The explorer screen's bindings: the boot, the machine, navigation, panels.
EXPLORER_BINDINGS: list[Binding] = [
    Binding("n", "step", "Step", id="step"),
    Binding("u,backspace", "undo", "Back", id="undo"),
    Binding("right_square_bracket", "next_initcall", "Next init call", key_display="]",
            id="next_initcall"),
    Binding("e", "run_all", "Run to end", id="run_all"),
    Binding("r", "run_to", "Run to…", show=False, id="run_to"),
    Binding("space", "autoplay", "Play/Pause", id="autoplay"),
    Binding("greater_than_sign", "speed(2.0)", "Faster", show=False, key_display=">",
            id="faster"),
    Binding("less_than_sign", "speed(0.5)", "Slower", show=False, key_display="<",
            id="slower"),
    Binding("escape", "stop", "Stop", show=False, id="stop"),
    Binding("S", "cycle_strategy", "Strategy", id="strategy"),
    # 1, 2, 3...: the strategies in registry order.
    *(Binding(str(i + 1), f"strategy('{name}')", name.capitalize(), show=False,
              id=f"strategy_{name}") for i, name in enumerate(STRATEGIES)),
    Binding("w", "workload", "Workload", id="workload"),
    Binding("a", "alloc_page", "Allocate pages", show=False, id="alloc_page"),
    Binding("X", "free_page", "Free the block", show=False, id="free_page"),
    Binding("c", "compare", "Compare", id="compare"),
    Binding("g", "goto", "Go to", id="goto"),
    Binding("l", "load_layout", "Layout", show=False, id="load_layout"),
    Binding("ctrl+s", "save_session", "Save session", show=False, id="save_session"),
    Binding("ctrl+o", "open_session", "Open session", show=False, id="open_session"),
    Binding("right_curly_bracket", "seek_by(1)", "Next in the recording", show=False,
            key_display="}", id="seek_next"),
    Binding("left_curly_bracket", "seek_by(-1)", "Previous in the recording", show=False,
            key_display="{", id="seek_prev"),
    Binding("j", "seek", "Seek…", show=False, id="seek"),
    Binding("B", "bookmark", "Bookmark", show=False, id="bookmark"),
    Binding("P", "compare_parent", "Compare with the parent", show=False,
            id="compare_parent"),
    Binding("s", "follow('shadow')", "→shadow", show=False, id="follow_shadow"),
    Binding("o", "follow('origin')", "→origin", show=False, id="follow_origin"),
    Binding("d", "follow('data')", "→data", show=False, id="follow_data"),
    Binding("b", "follow('back')", "Back to previous page", show=False, id="follow_back"),
    Binding("plus,equals_sign", "zoom(-1)", "Zoom in", show=False, key_display="+",
            id="zoom_in"),
    Binding("minus", "zoom(1)", "Zoom out", show=False, key_display="-", id="zoom_out"),
    Binding("0", "zoom_fit", "Whole machine", show=False, id="zoom_fit"),
    Binding("t", "focus_panel('timeline')", "Timeline", show=False, id="focus_timeline"),
    Binding("m", "focus_panel('map')", "Map", show=False, id="focus_map"),
    Binding("i", "focus_panel('inspector')", "Inspector", show=False, id="focus_inspector"),
    Binding("f", "tab('free-lists')", "Free lists", show=False, id="tab_free_lists"),
    Binding("x", "tab('regions')", "Shadow regions", show=False, id="tab_regions"),
    Binding("M", "tab('metrics')", "Metrics", show=False, id="tab_metrics"),
    Binding("F", "tab('chart')", "Fragmentation chart", show=False, id="tab_chart"),
    Binding("K", "tab('log')", "Kernel log", show=False, id="tab_log"),
    Binding("f12", "screenshot", "Screenshot", show=False, id="screenshot"),
    Binding("T", "tutorial", "Tutorial", show=False, id="tutorial"),
    Binding("full_stop", "tutorial_move(1)", "Next lesson", key_display=".",
            id="tutorial_next"),
    Binding("comma", "tutorial_move(-1)", "Previous lesson", key_display=",",
            id="tutorial_prev"),
]

# The app's bindings (active on every screen).
APP_BINDINGS: list[Binding] = [
    Binding("ctrl+q", "quit", "Quit", priority=True, id="quit"),
    Binding("question_mark", "keys", "Keys", key_display="?", id="keys"),
    Binding("f1", "toggle_help", "Help", id="help"),
]


def default_path() -> Path:
    """Where a keymap is read from when none is given: $XDG_CONFIG_HOME/kmsan-tui/keymap.toml."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kmsan-tui" / "keymap.toml"


def load_keymap(path: str | Path, known: set[str]) -> dict[str, str]:
    """Read a keymap file: binding id -> key string (comma-separated alternatives)."""
    source = str(path)
    try:
        data = tomllib.loads(Path(path).read_text())
    except OSError as exc:
        raise UserError(f"{source}: cannot read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{source}: {exc}") from None
    if isinstance(data.get("keymap"), dict):  # a [keymap] table is accepted too
        data = data["keymap"]
    keymap: dict[str, str] = {}
    for binding_id, keys in data.items():
        if binding_id not in known:
            raise UserError(f"{source}: {binding_id}: unknown binding id "
                            f"(press ? in the app to list them)")
        if not isinstance(keys, str) or not keys.strip():
            raise UserError(f"{source}: {binding_id}: expected a key string such as \"n\"")
        keymap[binding_id] = keys.strip()
    return keymap


def binding_groups() -> list[tuple[str, list[Binding]]]:
    """Every binding of the app, by where it applies (for ``?`` and keymap checks)."""
    from kmsan_tui.tui.screens.compare import CompareScreen
    from kmsan_tui.tui.screens.confirm import ConfirmScreen
    from kmsan_tui.tui.widgets.frag_chart import FragChart
    from kmsan_tui.tui.widgets.free_lists import FreeLists
    from kmsan_tui.tui.widgets.kernel_log import KernelLog
    from kmsan_tui.tui.widgets.memory_map import MemoryMap

    def own(cls: type) -> list[Binding]:
        return [b for b in cls.BINDINGS if isinstance(b, Binding)]

    return [
        ("everywhere", APP_BINDINGS),
        ("explorer", EXPLORER_BINDINGS),
        ("memory map (focused)", own(MemoryMap)),
        ("free lists (focused)", own(FreeLists)),
        ("fragmentation chart (focused)", own(FragChart)),
        ("kernel log (focused)", own(KernelLog)),
        ("comparison", own(CompareScreen)),
        ("unsaved-changes dialog", own(ConfirmScreen)),
    ]


def known_ids() -> set[str]:
    return {b.id for _, group in binding_groups() for b in group if b.id}
