"""Compatibility: the state codes moved to ``kmsan_tui.model.pagestate``.

Kept only for ``kmsan_tui.tui.palettes`` until it imports them from ``pagestate``;
then this module can go.
"""

from __future__ import annotations

from kmsan_tui.model.pagestate import BLIND_CODE, CODE_OF, NCODES, STATE_CODES

__all__ = ["STATE_CODES", "CODE_OF", "BLIND_CODE", "NCODES"]
