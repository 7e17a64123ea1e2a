"""setup_arch() arithmetic that must not cost a loop per GiB of RAM."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from kmsan_tui.model.boot.setup_arch import SZ_1G, partly_mapped_gigabytes


def per_gigabyte_reference(regions: list[tuple[int, int]]) -> int:
    """What init_mem_mapping() counts, slot by slot: GiB slots RAM covers only in part."""
    top = regions[-1][1] if regions else 0
    partial = 0
    for gib in range(-(-top // SZ_1G)):
        lo, hi = gib * SZ_1G, (gib + 1) * SZ_1G
        covered = sum(max(0, min(e, hi) - max(s, lo)) for s, e in regions)
        if 0 < covered < SZ_1G:
            partial += 1
    return partial


GAPS = st.one_of(st.just(0), st.integers(1, 4096).map(lambda n: n * 4096),
                 st.integers(1, 3 * SZ_1G))
SIZES = st.one_of(st.sampled_from([SZ_1G, 2 * SZ_1G]), st.integers(1, 1000).map(lambda n: n * 4096),
                  st.integers(1, 5 * SZ_1G))


@given(st.lists(st.tuples(GAPS, SIZES), min_size=1, max_size=8))
def test_partly_mapped_gigabytes_counts_like_the_per_gigabyte_walk(
        parts: list[tuple[int, int]]) -> None:
    regions, pos = [], 0
    for gap, size in parts:
        pos += gap
        regions.append((pos, pos + size))
        pos += size
    assert partly_mapped_gigabytes(regions) == per_gigabyte_reference(regions)


def test_touching_regions_of_two_nodes_cover_a_gigabyte_together() -> None:
    assert partly_mapped_gigabytes([(0, SZ_1G // 2), (SZ_1G // 2, SZ_1G)]) == 0
    assert partly_mapped_gigabytes([(0, SZ_1G // 2)]) == 1


def test_the_cost_does_not_grow_with_the_size_of_ram() -> None:
    # 4 PiB in two regions: a per-GiB walk would take 4 million iterations.
    assert partly_mapped_gigabytes([(4096, 1 << 51), ((1 << 51) + SZ_1G, 1 << 52)]) == 1
