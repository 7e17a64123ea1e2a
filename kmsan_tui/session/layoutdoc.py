"""A layout as a saved session carries it: the machine itself, not its name.

A session must replay on a machine whose shipped layouts have changed, or that never
had the user's layout file, so a save holds the layout's full TOML text (one line per
string: diffable) and its digest, and reads it back with the model's own layout
loader, so the checks that guard a layout file guard a session too.

The text is the layout's source: the shipped file, or the user's file as it was read
(``read_layout`` keeps it). Before it goes into a save it is parsed again and must
give the very layout the session simulates.
"""

from __future__ import annotations

import hashlib
from dataclasses import replace
from importlib import resources
from pathlib import Path

from kmsan_tui.model.errors import UserError
from kmsan_tui.model.layout import Layout, load_layout, parse_layout
from kmsan_tui.model.safeio import MiB, read_text

MAX_LAYOUT = 4 * MiB
SHIPPED_PREFIX = "layouts/"


def read_layout(name_or_path: str | Path) -> tuple[Layout, str]:
    """A layout by shipped name or path, with the text it was read from."""
    layout = load_layout(name_or_path)
    text = source_text(layout)
    if text is None:
        raise UserError(f"{name_or_path}: cannot read the layout's text again")
    return layout, text


def source_text(layout: Layout) -> str | None:
    """The text ``layout`` was loaded from, if it can still be read."""
    source = layout.source
    if source.startswith(SHIPPED_PREFIX) and source.endswith(".toml"):
        name = source.removeprefix(SHIPPED_PREFIX)
        shipped = resources.files("kmsan_tui") / "layouts" / name
        return shipped.read_text() if "/" not in name and shipped.is_file() else None
    try:
        return read_text(source, "layout", MAX_LAYOUT)
    except UserError:
        return None


def parse_layout_text(text: str, source: str, name: str = "layout") -> Layout:
    """A layout from TOML text; errors name ``source`` and the key (LayoutError).
    ``name`` is the layout's name when its text gives none (the file name it had)."""
    return parse_layout(text, source, name)


def layout_text(layout: Layout, text: str | None = None) -> str:
    """The text to save for ``layout``: ``text`` (what it was read from) or its source
    read again, checked to give back exactly this layout."""
    for candidate in (text, source_text(layout) if text is None else None):
        if candidate is None:
            continue
        back = parse_layout_text(candidate, "layout", layout.name)
        if replace(back, source=layout.source) == layout:
            return candidate
    raise UserError(f"{layout.source}: the layout file changed since it was loaded: "
                    f"load it again (l) to save this session")


def text_lines(text: str) -> list[str]:
    """A text as the lines a save lists (any line ending; the last newline implied)."""
    return text.replace("\r\n", "\n").removesuffix("\n").split("\n")


def lines_text(lines: list[str]) -> str:
    """The text of saved lines (``text_lines`` back)."""
    return "\n".join(lines) + "\n"


def text_digest(text: str) -> str:
    """sha256 of a text, as saved files name their parts' digests."""
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
