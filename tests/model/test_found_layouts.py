"""Valid layouts the layout fuzzer found on which the model's own ``check()`` once
failed after a full boot (issue 13): each now boots with every invariant holding
after every step. One layout per strategy bug, named after what made it fail.
"""

from __future__ import annotations

import pytest

from kmsan_tui.model.layout import parse_layout
from kmsan_tui.model.metadata import Blind, MetaBacking
from kmsan_tui.model.simulation import Simulation
from kmsan_tui.model.strategies.lazy_boot import PERCPU_OWNER

FOUND = {
    # eager, 64 MiB of RAM and the stock KMSAN image (26 MiB): the image's metadata
    # does not fit, then .data (recorded through the kernel-image mapping) gets its own.
    "eager-64m-stock-image": ('[machine]\ne820 = [{ start = 0x100000, size = "64M" }]\n'
                              "[kernel]\nimage_base = 0x800000\n"),
    # lazy, 64 CPUs on 255 MiB, the image near the top: the percpu units lie below the
    # image end, in the chunks kmsan_initialize_shadow_for_text() cannot get.
    "lazy-64-cpus": ('[machine]\ncpus = 64\ne820 = [{ start = 0x100000, size = "255M" }]\n'
                     '[kernel]\nstrategy = "lazy"\nimage_base = 0xc200000\n'),
    # lazy, page_ext storage activated at page_ext_init, all RAM above 4 GiB: the image
    # chunks run from pfn 0, past the percpu metadata memblock put below the image.
    "lazy-page-ext-high-ram": ('[machine]\ncpus = 64\ne820 = [{ start = 0x101001000, '
                               'size = "256M" }]\n[kernel]\nstrategy = "lazy"\n'
                               'lazy_activation = "page_ext_init"\nlazy_storage = "page_ext"\n'
                               "image_base = 0x109e00000\n"),
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


def test_a_failed_image_chunk_clears_the_percpu_pointers_and_keeps_percpu_metadata_pages() -> None:
    # google/kmsan kmsan_internal_alloc_meta_for_pages(): on failure set_no_shadow_page()
    # for every page of the chunk; the memblock shadow and origin stay allocated.
    sim = boot("lazy-64-cpus")
    sim.run()
    m = sim.machine
    units = [(s, e) for s, e, owner in m.owners if owner == "percpu first chunk"]
    assert units
    for s, e in units:
        assert all(isinstance(v, Blind) for _s, _e, v in m.kmsan.overlapping(s, e))
    backing = [v for _s, _e, v in m.kmsan if isinstance(v, MetaBacking) and v.owner == PERCPU_OWNER]
    assert backing and all(v.data_delta is None for v in backing)


def test_a_failed_image_chunk_leaves_kmsans_own_pages_metadata() -> None:
    # Shadow and origin pages are never data: a chunk over them marks them neither blind
    # nor linked (they were __GFP_NO_KMSAN_SHADOW / memblock metadata).
    sim = boot("lazy-page-ext-high-ram")
    sim.run()
    m = sim.machine
    meta = [(s, e) for s, e, owner in m.owners if owner.startswith("kmsan percpu")]
    assert meta
    for s, e in meta:
        assert all(isinstance(v, MetaBacking) for _s, _e, v in m.kmsan.overlapping(s, e))
        assert m.kmsan.covered(s, e) == e - s
