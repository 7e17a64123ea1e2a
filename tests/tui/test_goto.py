"""What ``g`` and the palette make of what a user types: never a silent clamp."""

from __future__ import annotations

import pytest

from kmsan_tui.model import load_layout
from kmsan_tui.session import Session
from kmsan_tui.tui.frame import Frame
from kmsan_tui.tui.goto import Target, parse_target, resolve_location
from kmsan_tui.tui.runner import Runner

SPAN = 0x240000  # qemu-8g: pfns 0..0x23ffff, addresses up to 0x23fffffff


@pytest.fixture(scope="module")
def frame() -> Frame:
    runner = Runner(Session(load_layout("qemu-8g"), "eager"))
    runner.run_to(runner.session.sim.index_of("mem_init"))
    assert runner.frame is not None and runner.frame.index.span == SPAN
    return runner.frame


@pytest.mark.parametrize(("typed", "pfn"), [
    ("0x1234", 0x1234), ("pfn 4660", 4660), ("pfn 0x23ffff", 0x23FFFF),
    ("phys 0x40000000", 0x40000), ("@0x1000", 1), ("4G", 0x100000), ("0", 0),
])
def test_pfns_and_addresses_inside_memory_go_there_without_a_word(typed: str, pfn: int) -> None:
    assert resolve_location(typed, SPAN) == Target("pfn", pfn)


def test_a_bare_number_past_the_last_pfn_is_an_address_and_the_user_is_told() -> None:
    target = resolve_location("0x23a000000", SPAN)
    assert target is not None and target.kind == "pfn" and target.pfn == 0x23A000
    assert "taken as a physical address" in target.note and "0x23ffff" in target.note


@pytest.mark.parametrize("typed", ["pfn 0x23a000000", "0x240000000", "phys 0x240000000",
                                   "16G", "pfn 0x240000"])
def test_places_past_the_end_of_memory_are_refused_with_the_limits(typed: str) -> None:
    target = resolve_location(typed, SPAN)
    assert target is not None and target.kind == "error"
    assert "0x23ffff" in target.note and "0x23fffffff" in target.note


def test_steps_and_zones_are_found_by_name(frame: Frame) -> None:
    assert parse_target("kmsan_init_shadow", frame) == Target(
        "step", step=frame.step_names.index("kmsan_init_shadow"))
    dma32 = next(z for z in frame.free if z.name == "DMA32")
    assert parse_target("node 0 DMA32", frame) == Target("pfn", dma32.start_pfn)
    assert parse_target("dma32", frame) == Target("pfn", dma32.start_pfn)


def test_anything_else_is_an_error_that_says_what_is_accepted() -> None:
    fresh = Runner(Session(load_layout("qemu-8g"), "eager")).start()
    target = parse_target("the kernel image", fresh)
    assert target.kind == "error" and "not a pfn, an address, a boot step or a zone" in target.note
    assert parse_target("  ", fresh).kind == "error"


def test_in_a_recorded_session_other_text_is_looked_up_in_the_log(frame: Frame) -> None:
    assert frame.session.log_len and parse_target("before the hand-over", frame) == Target("seek")
