"""The boot timeline: a kernel profile's init calls, in its order, with their source.

The order is the profile's (profiles.py: read from init/main.c and mm/mm_init.c of
each release); what each call does is catalog.py's. Sizes were calibrated against
the shared boot logs (tests/golden/test_bootlog_calibration.py and
test_profiles_calibration.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from kmsan_tui.model.boot.catalog import STEPS, StepFn
from kmsan_tui.model.layout_types import KernelConfig
from kmsan_tui.model.profiles import KernelProfile, profile_for

__all__ = ["BootStep", "StepFn", "steps_for", "steps_of"]


@dataclass(frozen=True, slots=True)
class BootStep:
    """One init call: its kernel name, where it lives, and what it does to memory."""

    name: str
    source: str  # "file: function()"
    explanation: str
    run: StepFn


def steps_of(profile: KernelProfile, sanitizer: str) -> list[BootStep]:
    """The boot steps of a kernel profile, in its order; kasan_init() is compiled only
    with CONFIG_KASAN."""
    steps = []
    for name in profile.steps:
        if name == "kasan_init" and sanitizer != "kasan":
            continue
        source, explanation, fn = STEPS[name]
        steps.append(BootStep(name, profile.source_of(name, source), explanation, fn))
    return steps


def steps_for(config: KernelConfig) -> list[BootStep]:
    """The boot steps for a kernel version and sanitizer, in the kernel's order."""
    return steps_of(profile_for(config.version), config.sanitizer)
