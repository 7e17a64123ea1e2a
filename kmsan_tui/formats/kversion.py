"""Kernel releases: what a log's `Linux version` says, which kernel profile is closest,
and which output formats a profile's release prints.

The profiles are whatever ``KERNELS`` lists when the code runs (another module owns
them): ``vX.Y`` is release X.Y, ``mainline`` is newer than every numbered profile.
Format changes are listed once, in ``FORMAT_CHANGES``, with the commit that made them,
so a writer asks ``prints(profile, "memblock_debugfs_nid")`` instead of comparing
numbers itself.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

Release = tuple[int, int]

# Sorts after every real release: what `mainline` stands for.
MAINLINE: Release = (1 << 30, 0)

_RELEASE = re.compile(r"(\d{1,3})\.(\d{1,3})")
_PROFILE = re.compile(r"v(\d{1,3})\.(\d{1,3})")


@dataclass(frozen=True, slots=True)
class FormatChange:
    """A change in what the kernel prints, and the release that first printed it."""

    since: Release
    what: str


# Each entry: the release that first prints the newer form (from the commit named).
FORMAT_CHANGES: dict[str, FormatChange] = {
    # mm/memblock.c: "memblock: Add flags and nid info in memblock debugfs" (Yuwei Guan).
    "memblock_debugfs_nid": FormatChange((6, 4), "debugfs memblock/* print the node and flags"),
    # mm/memblock.c: "mm/memblock: Add MEMBLOCK_RSRV_NOINIT into flagname[] array".
    "memblock_flag_rsv_nit": FormatChange((6, 9), "RSV_NIT is named in debugfs memblock/*"),
    # mm/page_alloc.c: "mm/page_alloc: fix min_free_kbytes calculation regarding
    # ZONE_MOVABLE" (liuq, 2023): ZONE_MOVABLE's min watermark capped like highmem.
    "wmark_movable_capped": FormatChange((6, 6), "ZONE_MOVABLE min watermark clamped to 32..128"),
    # mm/vmstat.c: "mm: print the promo watermark in zoneinfo" (Kaiyang Zhao, 2024):
    # absent from the 6.1 sample in ../shared/data/procfs.
    "zoneinfo_promo": FormatChange((6, 10), "/proc/zoneinfo prints the promo watermark"),
    # include/linux/mmzone.h: 5e0a760b4441 "mm, treewide: rename MAX_ORDER to
    # MAX_PAGE_ORDER" (v6.8): crash and drgn print the same orders either way.
}


def parse_release(text: str) -> Release | None:
    """The (major, minor) of a release string such as "6.8.0-rc1-syzkaller"."""
    m = _RELEASE.search(text)
    return (int(m[1]), int(m[2])) if m else None


def profile_release(profile: str) -> Release:
    """The release a profile stands for: ``v6.1`` -> (6, 1); anything else (``mainline``)
    is newer than every numbered profile."""
    m = _PROFILE.fullmatch(profile)
    return (int(m[1]), int(m[2])) if m else MAINLINE


def prints(profile: str, change: str) -> bool:
    """Whether kernels of this profile print the newer form of ``change``."""
    return profile_release(profile) >= FORMAT_CHANGES[change].since


@dataclass(frozen=True, slots=True)
class ProfileChoice:
    """The profile chosen for a kernel release, and why (printed to the user)."""

    profile: str
    reason: str


def choose_profile(release: Release | None, profiles: Sequence[str]) -> ProfileChoice:
    """The profile closest to ``release`` among ``profiles`` (KERNELS at run time).

    The newest numbered profile not newer than the release: the kernel's mm init changed
    by accumulation, so a 6.8 boot behaves like the last profile before it, not like a
    later one. A release older than every numbered profile gets the oldest; ``mainline``
    is chosen for a release newer than every numbered profile only when no numbered
    profile exists at all, or for an unknown release.
    """
    if not profiles:
        raise ValueError("no kernel profile to choose from")
    numbered = sorted((profile_release(p), p) for p in profiles if profile_release(p) != MAINLINE)
    others = [p for p in profiles if profile_release(p) == MAINLINE]
    listed = ", ".join(profiles)
    if release is None:
        pick = others[0] if others else numbered[-1][1]
        return ProfileChoice(pick, f"the kernel release is unknown: assumed {pick} "
                                   f"(profiles: {listed}; use --kernel)")
    shown = f"{release[0]}.{release[1]}"
    if not numbered:
        return ProfileChoice(others[0], f"kernel {shown}: {others[0]} (the only profile)")
    older = [p for r, p in numbered if r <= release]
    if older:
        pick = older[-1]
        if profile_release(pick) == release:
            return ProfileChoice(pick, f"kernel {shown}: profile {pick}")
        return ProfileChoice(pick, f"kernel {shown}: profile {pick}, the newest not newer "
                                   f"than it (profiles: {listed}; use --kernel to change)")
    pick = numbered[0][1]
    return ProfileChoice(pick, f"kernel {shown} is older than every profile: {pick} "
                               f"(profiles: {listed})")
