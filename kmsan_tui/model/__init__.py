"""The simulation core: stdlib and numpy only, never textual or rich (DESIGN.md)."""

from __future__ import annotations

from kmsan_tui.model.errors import LayoutError, UserError
from kmsan_tui.model.layout import Layout, load_layout, shipped_layouts
from kmsan_tui.model.metrics import Metrics
from kmsan_tui.model.pages import PageFlags, PageState, PageView
from kmsan_tui.model.simulation import Simulation

__all__ = ["Simulation", "load_layout", "shipped_layouts", "Layout", "Metrics", "PageView",
           "PageFlags", "PageState", "UserError", "LayoutError"]
