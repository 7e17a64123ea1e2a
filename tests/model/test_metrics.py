"""The metrics: defined once, adding up, cheap, and documented as they are printed."""

from __future__ import annotations

import copy
import json
from dataclasses import fields
from pathlib import Path

import pytest

from kmsan_tui.model import Simulation
from kmsan_tui.model.blockmap import BlockMap
from kmsan_tui.model.metrics import CLASSES, DEFINITIONS, GROUPS, METRICS, Metrics
from kmsan_tui.model.strategies.registry import STRATEGIES
from kmsan_tui.report import definitions_table, summary_lines

DOC = Path(__file__).resolve().parents[2] / "docs" / "metrics.md"


def test_every_field_has_exactly_one_definition_in_field_order() -> None:
    assert [d.name for d in METRICS] == [f.name for f in fields(Metrics)]
    assert all(d.group in GROUPS and d.definition and d.label for d in METRICS)
    assert len({d.label for d in METRICS}) == len(METRICS)


def test_the_document_carries_the_definitions_table_as_generated() -> None:
    text = DOC.read_text()
    start = text.index("<!-- metrics table")
    body = text[text.index("\n", start) + 1:text.index("<!-- end of metrics table -->")]
    assert body.strip() == definitions_table()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_the_page_classes_sum_to_present_pages_after_every_boot_step(strategy: str) -> None:
    sim = Simulation("qemu-2g", strategy)
    while not sim.done:
        sim.step()
        m = sim.metrics()
        classes = m.classes()
        assert all(v >= 0 for v in classes.values()), (sim.step_name, classes)
        assert sum(classes.values()) == m.present_pages, sim.step_name
        assert m.usable_pages == m.free_pages + m.data_pages
    assert sim.check() == []


def test_lazy_metadata_is_counted_once_after_a_workload() -> None:
    # Before: usable 1,530,659 < free 1,354,030 + allocated 529,887 (metadata twice).
    sim = Simulation("qemu-8g", "lazy")
    sim.run()
    boot = sim.metrics()
    sim.run_workload("fragmenter", 5000)
    m = sim.metrics()
    assert m.usable_pages == m.free_pages + m.data_pages
    held_in_buddy = sim.strategy.ledger.buddy_held
    assert m.managed_pages == (m.free_pages + m.data_pages + m.buddy_metadata_pages
                               + held_in_buddy)
    assert sum(m.classes().values()) == m.present_pages
    # Each workload allocation took two more blocks of its order, nothing else did.
    assert m.failed_metadata_allocs == 0
    workload = m.data_pages - boot.data_pages
    assert m.buddy_metadata_pages - boot.buddy_metadata_pages == 2 * workload
    assert sim.check() == []


def test_the_json_carries_plain_numbers_in_the_units_the_text_prints() -> None:
    sim = Simulation("qemu-8g", "eager")
    sim.run()
    m = sim.metrics()
    doc = json.loads(json.dumps(m.as_dict()))
    assert set(doc) == set(DEFINITIONS)
    assert doc["fragmentation_index"][0] == m.fragmentation_index[0] / 1000 == -1.0
    text = "\n".join(summary_lines(m))
    printed = " ".join(f"{v:5.3f}" for v in doc["unusable_free_index"])
    assert printed in text
    assert f"{doc['free_pages']:,}" in text
    for d in METRICS:
        value = doc[d.name]
        if d.unit in ("pages", "bytes", "count"):
            assert value is None or (isinstance(value, int) and not isinstance(value, bool))
        elif d.unit == "flag":
            assert value is None or isinstance(value, bool)


def test_the_metrics_do_not_walk_the_kmsan_map(monkeypatch: pytest.MonkeyPatch) -> None:
    sim = Simulation("tiny-64m", "lazy")
    sim.run()
    sim.run_workload("fragmenter", 2000)

    def forbidden(self: BlockMap[object]) -> None:
        raise AssertionError("metrics walked a BlockMap")

    monkeypatch.setattr(BlockMap, "__iter__", forbidden)
    sim.metrics()


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_a_checkpoint_keeps_its_own_totals(strategy: str) -> None:
    sim = Simulation("tiny-64m", strategy)
    sim.run()
    saved = copy.deepcopy(sim)
    sim.run_workload("fragmenter", 1000)
    assert saved.metrics().classes() != sim.metrics().classes()
    assert saved.check() == [] and sim.check() == []


def test_the_classes_are_the_five_of_the_document() -> None:
    assert CLASSES == ("free_pages", "data_pages", "metadata_pages", "held_back_pages",
                       "other_reserved_pages")
    text = DOC.read_text()
    assert all(f"`{name}`" in text for name in CLASSES)
