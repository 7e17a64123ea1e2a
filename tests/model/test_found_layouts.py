"""Valid layouts the layout fuzzer found on which the model's own ``check()`` once
failed after a full boot (issue 13): each now boots with every invariant holding
after every step. One layout per strategy bug, named after what made it fail.
"""

from __future__ import annotations

import pytest

from kmsan_tui.model.layout import parse_layout
from kmsan_tui.model.metadata import Blind
from kmsan_tui.model.simulation import Simulation

FOUND = {
    # eager, 64 MiB of RAM and the stock KMSAN image (26 MiB): the image's metadata
    # does not fit, then .data (recorded through the kernel-image mapping) gets its own.
    "eager-64m-stock-image": ('[machine]\ne820 = [{ start = 0x100000, size = "64M" }]\n'
                              "[kernel]\nimage_base = 0x800000\n"),
}


def boot(name: str) -> Simulation:
    return Simulation(parse_layout(FOUND[name], name, name))


@pytest.mark.parametrize("name", sorted(FOUND))
def test_a_found_layout_keeps_every_invariant_after_every_step(name: str) -> None:
    sim = boot(name)
    while not sim.done:
        step = sim.steps[sim.current]
        sim.step()
        assert sim.check() == [], step


def test_data_given_metadata_after_a_failed_image_range_is_no_longer_blind() -> None:
    # kmsan_init_alloc_meta_for_range() rewrites the pointers: the later range wins.
    sim = boot("eager-64m-stock-image")
    sim.run_to("kmsan_init_shadow")
    m = sim.machine
    data = m.boot_state.data_start >> 12
    assert sim.strategy.metadata_of(m, data) is not None
    assert any(isinstance(v, Blind) for _s, _e, v in m.kmsan.overlapping(data - 1, data))
    assert sim.metrics().blind_spot_pages == sum(
        e - s for s, e, v in m.kmsan if isinstance(v, Blind))
