"""Key bindings: every binding has an id, and a user TOML file can rebind any of them.

The keymap file maps binding ids to keys, one per line::

    # ~/.config/kmsan-tui/keymap.toml
    step = "space"
    autoplay = "p"
    "map.left" = "h,left"

Ids are listed by ``?`` in the app (and below). A file that cannot be used is a
user error: one line naming the file and the key, exit code 2: a key no terminal
sends (``"ctrl+"``, ``",,,"``, an emoji, a control character), or a key the file
gives two bindings that apply at the same time.
"""

from __future__ import annotations

import os
from pathlib import Path

from textual.binding import Binding
from textual.keys import Keys, _character_to_key

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.safeio import load_toml
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
    Binding("f12", "screenshot", "Screenshot", show=False, id="screenshot"),
]


def default_path() -> Path:
    """Where a keymap is read from when none is given: $XDG_CONFIG_HOME/kmsan-tui/keymap.toml."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "kmsan-tui" / "keymap.toml"


KEYMAP_LIMIT = 64 << 10
"""Bytes of a keymap file (a full one is about 2 KiB)."""
MODIFIERS = ("ctrl", "shift", "alt", "meta", "super", "hyper")
# Keys Textual binds besides ours: a binding on them would never run, or break them.
RESERVED = {"ctrl+p": "the command palette", "tab": "focusing the next panel",
            "shift+tab": "focusing the previous panel", "ctrl+c": "copying text"}
# Where two bindings with one key would clash: in one group, the app's own bindings
# with any, and the explorer's with the panels that can be focused inside it.
_EXPLORER_PANELS = ("memory map (focused)", "free lists (focused)",
                    "fragmentation chart (focused)", "kernel log (focused)")


def _key_names() -> frozenset[str]:
    """Every key name a terminal can send: Textual's named keys and the names of the
    printable ASCII characters (``comma``, ``question_mark``)."""
    names = {key.value.rpartition("+")[2] for key in Keys}
    names |= {_character_to_key(chr(c)) for c in range(0x20, 0x7F)}
    return frozenset(n for n in names if n)


KEY_NAMES = _key_names()


def normalize_key(text: str) -> str:
    """One key as Textual names it (``,`` -> ``comma``, ``Ctrl+S`` -> ``ctrl+S``), else
    a ValueError saying what is wrong with it."""
    key = text.strip()
    if not key:
        raise ValueError("an empty key (two commas, or one at an end?)")
    *mods, base = key.split("+") if key != "+" else ["+"]
    mods = [m.lower() for m in mods]
    for mod in mods:
        if mod not in MODIFIERS:
            raise ValueError(f"{key!r}: {mod!r} is not a modifier ({', '.join(MODIFIERS)})")
    if len(set(mods)) != len(mods):
        raise ValueError(f"{key!r}: a modifier given twice")
    if not base:
        raise ValueError(f"{key!r}: a modifier without a key")
    if len(base) == 1:
        if not (base.isascii() and base.isprintable()):
            raise ValueError(f"{key!r}: not a key a terminal sends (use a printable ASCII "
                             f"character or a key name such as f5, pageup)")
        base = _character_to_key(base)
    elif base not in KEY_NAMES:
        raise ValueError(f"{key[:40]!r} is not a key (a character, or a key name such as "
                         f"space, enter, f5, pageup, comma)")
    return "+".join([*mods, base])


def normalize_keys(text: str) -> list[str]:
    """A comma-separated list of keys, normalized, without repeats."""
    keys: list[str] = []
    # "," alone, or at the end of a list ("a,,"), is the comma key itself.
    parts = text.split(",") if text.strip() != "," else [","]
    for part in parts:
        key = normalize_key(part)
        if key not in keys:
            keys.append(key)
    return keys


def load_keymap(path: str | Path, known: set[str]) -> dict[str, str]:
    """Read a keymap file: binding id -> key string (comma-separated alternatives).

    Read through safeio (a regular file, a size cap, UTF-8, a nesting bound); every
    key must be one a terminal sends, and a key the file gives one binding must not be
    another's where both apply (one ``UserError`` line naming the file and the id)."""
    source = str(path)
    data = load_toml(path, "keymap", KEYMAP_LIMIT)
    if isinstance(data.get("keymap"), dict):  # a [keymap] table is accepted too
        data = data["keymap"]
    keymap: dict[str, str] = {}
    for binding_id, keys in data.items():
        if binding_id not in known:
            shown = binding_id[:60] if binding_id.isprintable() else repr(binding_id[:60])
            raise UserError(f"{source}: {shown}: unknown binding id "
                            f"(press ? in the app to list them)")
        if not isinstance(keys, str) or not keys.strip() or len(keys) > 200:
            raise UserError(f"{source}: {binding_id}: expected a key string such as \"n\"")
        try:
            keymap[binding_id] = ",".join(normalize_keys(keys))
        except ValueError as exc:
            raise UserError(f"{source}: {binding_id}: {exc}") from None
    clash = find_clash(keymap)
    if clash is not None:
        raise UserError(f"{source}: {clash}")
    return keymap


def find_clash(keymap: dict[str, str]) -> str | None:
    """The first key ``keymap`` gives a binding that another binding has where both
    apply (or that Textual keeps for itself), as a message; None when there is none.
    Clashes the defaults have among themselves are not the file's doing."""
    bound: dict[str, list[tuple[str, str]]] = {}  # group -> [(key, id)]
    for group, bindings in binding_groups():
        for binding in bindings:
            if not binding.id:
                continue
            text = keymap.get(binding.id)
            keys = text.split(",") if text is not None else normalize_keys(binding.key)
            bound.setdefault(group, []).extend((key, binding.id) for key in keys)
    for binding_id, text in keymap.items():
        for key in text.split(","):
            if key in RESERVED:
                return f"{binding_id}: {key} is kept for {RESERVED[key]}"
    for group, pairs in bound.items():
        scopes = [group, "everywhere"] + (list(_EXPLORER_PANELS) if group == "explorer"
                                           else ["explorer"] if group in _EXPLORER_PANELS
                                           else [])
        if group == "everywhere":
            scopes = list(bound)
        for key, binding_id in pairs:
            if binding_id not in keymap:
                continue  # a clash needs a binding the file moved: found from that one
            for scope in scopes:
                for other_key, other_id in bound.get(scope, []):
                    if other_key == key and other_id != binding_id:
                        where = "" if scope == group else f" ({scope})"
                        return (f"{binding_id}: {key} is also the key of {other_id}{where}: "
                                f"give one of them another key")
    return None


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
