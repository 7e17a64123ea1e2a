from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# CI replays the same examples every run (a failure there is reproducible); local runs
# explore new ones.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

# Copies of ../shared/data (real 6.1 kernel output) kept with the tests, so the golden
# tests run in any checkout; the README beside them says where they come from.
DATA = Path(__file__).resolve().parent / "golden" / "data"


def shared_file(relative: str) -> Path:
    """A real-kernel output file of tests/golden/data (copied from ../shared/data)."""
    path = DATA / relative
    if not path.exists():
        pytest.fail(f"{path} is missing")
    return path
