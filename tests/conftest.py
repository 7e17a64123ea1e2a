from __future__ import annotations

from pathlib import Path

import pytest

# Copies of ../shared/data (real 6.1 kernel output) kept with the tests, so the golden
# tests run in any checkout; the README beside them says where they come from.
DATA = Path(__file__).resolve().parent / "golden" / "data"


def shared_file(relative: str) -> Path:
    """A real-kernel output file of tests/golden/data (copied from ../shared/data)."""
    path = DATA / relative
    if not path.exists():
        pytest.fail(f"{path} is missing")
    return path
