"""The boot: setup_arch() (setup_arch.py, firmware.py), start_kernel() (start_kernel.py),
mm_init()/mm_core_init() (mm_init.py), what follows (late.py, watermarks.py); each
kernel's order is its profile's (profiles.py), assembled in timeline.py."""

from __future__ import annotations

from kmsan_tui.model.boot.mm_init import chunk_runs
from kmsan_tui.model.boot.timeline import BootStep, steps_for, steps_of

__all__ = ["BootStep", "chunk_runs", "steps_for", "steps_of"]
