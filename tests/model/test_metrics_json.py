"""The JSON documents `run --json` and `compare --json` print: every key documented in
docs/metrics.md, plain numbers, one column per strategy (and per setting with
--variants)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from kmsan_tui.cli import main
from kmsan_tui.model.metrics import DEFINITIONS

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def cli_json(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    code = main(list(args))
    out = capsys.readouterr().out
    assert code == 0
    doc = json.loads(out)
    assert isinstance(doc, dict)
    return doc


def documented_keys() -> set[str]:
    return set(re.findall(r"`([a-z_0-9]+)`", DOC.read_text()))


def test_run_json_documents_every_key(capsys: pytest.CaptureFixture[str]) -> None:
    doc = cli_json(capsys, "run", "--layout", "tiny-64m", "--strategy", "lazy", "--json",
                   "--check")
    keys = documented_keys()
    assert set(doc) <= keys
    metrics = doc["metrics"]
    assert isinstance(metrics, dict) and set(metrics) == set(DEFINITIONS) <= keys
    zones = doc["zones"]
    assert isinstance(zones, list) and set(zones[0]) <= keys
    assert sum(metrics[k] for k in ("free_pages", "data_pages", "metadata_pages",
                                    "held_back_pages", "other_reserved_pages")) \
        == metrics["present_pages"]


def test_compare_json_has_a_column_per_strategy_and_setting(
        capsys: pytest.CaptureFixture[str]) -> None:
    doc = cli_json(capsys, "compare", "--layout", "tiny-64m", "--variants", "--json")
    assert {"eager", "lazy", "fixed", "lazy:page_ext_init", "lazy:page_ext"} <= set(doc)
    lazy_late = doc["lazy:page_ext_init"]
    assert isinstance(lazy_late, dict) and lazy_late["backfill_walked_pages"] > 0
    assert doc["lazy"]["backfill_walked_pages"] == 0  # type: ignore[index]


def test_compare_runs_the_same_workload_in_every_column(
        capsys: pytest.CaptureFixture[str]) -> None:
    doc = cli_json(capsys, "compare", "--layout", "tiny-64m", "--workload", "fragmenter",
                   "--ops", "3000", "--json")
    lazy, eager = doc["lazy"], doc["eager"]
    assert isinstance(lazy, dict) and isinstance(eager, dict)
    assert lazy["failed_metadata_allocs"] > 0 and eager["failed_metadata_allocs"] == 0
