"""The boot: setup_arch() (setup_arch.py), mm_core_init() (mm_init.py), their order (timeline.py)."""

from __future__ import annotations

from kmsan_tui.model.boot.mm_init import chunk_runs
from kmsan_tui.model.boot.timeline import BootStep, steps_for

__all__ = ["BootStep", "chunk_runs", "steps_for"]
