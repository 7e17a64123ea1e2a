from __future__ import annotations

from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[2] / "shared"
DATA = SHARED / "data"


def shared_file(relative: str) -> Path:
    """A file of ../shared/data; tests that need it skip when shared/ is absent."""
    path = DATA / relative
    if not path.exists():
        pytest.skip(f"{path} not present")
    return path
