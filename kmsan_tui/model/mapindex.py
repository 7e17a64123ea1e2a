"""The memory map's cells, computed from the model's extents with numpy.

The map needs each cell's dominant state, its free-block order and its owner, at a
cost that does not grow with the machine. ``MapIndex`` flattens each layer of the model
(memblock regions, zones, buddy blocks, the owner map, the KMSAN map) into sorted
numpy arrays once per frame; a cell query is then a handful of ``searchsorted`` calls
over at most ``SAMPLES`` points per cell, whatever the cell's size.

The pages' facts are resolved with ``pagestate.RULES``, the table ``Simulation.page()``
resolves one page with, so a one-page cell shows exactly the state the inspector shows
(tests/model/test_mapindex.py checks both against a per-page reference).

Free blocks stay in the runs the free lists keep them in (``count`` blocks of one order
at ``start + i*stride``): eager's hand-over of a 16 TiB machine leaves a million
order-10 blocks in a few dozen runs, and the layer costs what the runs cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from kmsan_tui.model.buddy import Zone
from kmsan_tui.model.constants import PAGE_SHIFT
from kmsan_tui.model.mapdiff import (
    Changes,
    Layer,
    block_changes,
    layer_changes,
    layer_diff,
)
from kmsan_tui.model.mapfree import LOW, FreeBlocks, ZoneFree, arr, every_run, sentinel, take_runs
from kmsan_tui.model.mapmix import Breaks, FreeCount, Pattern, look_keys
from kmsan_tui.model.metadata import Blind, FixedBacking, MetaBacking, MetaPattern, MetaRole
from kmsan_tui.model.owners import ALL_CATEGORIES, category_id
from kmsan_tui.model.pagestate import (
    BLIND_CODE,
    CODE_OF,
    NCODES,
    PageFacts,
    PageSource,
    PageState,
    map_codes,
)

# A cell of more pages than this is sampled at this many evenly spaced pages.
SAMPLES = 16
# Points classified per pass: a screen's 50,000 points in passes of this many keep the
# temporaries small (in cache, below malloc's mmap threshold): 25% faster.
CHUNK = 8192

HOLE = CODE_OF[PageState.HOLE]
MEMBLOCK_FREE = CODE_OF[PageState.MEMBLOCK_FREE]
FREE = CODE_OF[PageState.FREE]
RESERVED = CODE_OF[PageState.RESERVED]
ALLOCATED = CODE_OF[PageState.ALLOCATED]
HELD_BACK = CODE_OF[PageState.HELD_BACK]
SHADOW = CODE_OF[PageState.SHADOW]
ORIGIN = CODE_OF[PageState.ORIGIN]
BLIND = BLIND_CODE
OUTSIDE = -1  # a cell past the end of the map

# What an extent of the KMSAN map says of the pages it covers, as bits (a pattern's
# pages are shadow or origin by their slot in the pattern).
_K_NONE, _K_HELD, _K_SHADOW, _K_ORIGIN, _K_PATTERN, _K_BLIND = 0, 1, 2, 4, 8, 16
_META_CODES = np.array([HELD_BACK, SHADOW, ORIGIN], dtype=np.int8)

_I64 = np.int64
_OWNER_CODES = (RESERVED, ALLOCATED)  # states whose glyph is the owner's letter


@dataclass(frozen=True, slots=True)
class Cells:
    """One run of cells: the dominant state code of each, what the glyph needs, and
    whether the cell's pages are not all drawn alike."""

    codes: np.ndarray  # int8: a STATE_CODES index, BLIND, or OUTSIDE
    aux: np.ndarray  # int16: free order for FREE cells, owner category id otherwise (-1: none)
    mixed: np.ndarray  # bool: some page of the cell is in another state (or owner) than
    # the glyph says (exact, whatever the cell's size: see mapmix)

    def part(self, start: int, end: int) -> Cells:
        """Cells [start, end) of this run."""
        return Cells(self.codes[start:end], self.aux[start:end], self.mixed[start:end])


@dataclass(frozen=True, slots=True)
class Share:
    """What share of a cell's pages look one way (``MapIndex.composition``)."""

    code: int  # a STATE_CODES index, or BLIND
    aux: int  # the owner category id (reserved, allocated), the free order, or -1
    pages: int


# Owner letters by category id (owners.ALL_CATEGORIES), "X" last for id -1 (no owner).
LETTERS = np.array([*(c.letter for c in ALL_CATEGORIES), "X"], dtype="<U1")


class MapIndex:
    """Sorted arrays of every layer of one simulation state (built once per frame).

    It keeps no reference to the simulation: a frame's index stays valid, and cheap,
    after the model moved on (the previous frame's index is what change marks use).
    Each layer is kept behind a sentinel entry (``_sentinel``); ``_layers()`` gives
    views without it.
    """

    def __init__(self, sim: PageSource, base: MapIndex | None = None) -> None:
        self.handed_over = bool(sim.handed_over)
        self.has_zones = bool(sim.zones)
        zones = sorted(sim.zones, key=lambda z: z.start_pfn)
        self._zone = self._intervals([z.start_pfn for z in zones], [z.end_pfn for z in zones])
        # memblock: memblock_is_memory()/is_reserved() of the page's first byte.
        page = 1 << PAGE_SHIFT
        mem = sim.memblock.memory.regions
        self._mem = self._intervals([-(-r.base // page) for r in mem],
                                    [-(-(r.base + r.size) // page) for r in mem])
        res = sim.memblock.reserved.regions
        self._res = self._intervals([-(-r.base // page) for r in res],
                                    [-(-(r.base + r.size) // page) for r in res])
        self.has_memory = bool(mem) or self.has_zones
        self._owners(sim)
        self._buddy(zones, base)
        self._kmsan(sim)
        self.span = self._span(sim)
        self.changes: Changes[MapIndex] | None = (
            self._changes_from(base) if base is not None else None)
        """Where this state differs from ``base`` (None: no base, or everything)."""
        self._breaks: Breaks | None = None

    # ------------------------------------------------------------------ layers

    @staticmethod
    def _intervals(starts: Sequence[int], ends: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        return sentinel(arr(starts), LOW), sentinel(arr(ends), LOW)

    def _owners(self, sim: PageSource) -> None:
        starts, ends, ids = [], [], []
        for s, e, owner in sim.owners:
            starts.append(s)
            ends.append(e)
            ids.append(category_id(owner))
        self._present = set(ids)
        self._own = (*self._intervals(starts, ends), sentinel(np.array(ids, dtype=np.int16), -1))

    @property
    def owner_letters(self) -> tuple[str, ...]:
        """The letters of the owner categories present, in category order."""
        return tuple(str(LETTERS[i]) for i in sorted(self._present))

    def owner_id(self, name: str) -> int:
        """The category id of an owner name (for KMSAN metadata owners)."""
        cid = category_id(name)
        self._present.add(cid)
        return cid

    def _buddy(self, zones: Sequence[Zone], base: MapIndex | None) -> None:
        a_starts: list[int] = []
        a_ends: list[int] = []
        # Each zone's free runs: a zone whose runs are those of the base state takes
        # its arrays as they are (a step changes the free lists of one zone or a few),
        # and the change search skips it.
        reuse = {z.key: z for z in base._zone_free} if base is not None else {}
        self._zone_free: list[ZoneFree] = []
        for zone in zones:
            for head, order, _mt in zone.allocated_blocks():
                a_starts.append(head)
                a_ends.append(head + (1 << order))
            runs = tuple((run.start_pfn, run.count, run.stride, run.order)
                         for run in zone.free_runs_between(zone.start_pfn, zone.end_pfn))
            key = (zone.start_pfn, zone.end_pfn, runs)
            self._zone_free.append(reuse.get(key) or ZoneFree.of(key, runs))
        by_start = np.argsort(np.array(a_starts, dtype=_I64), kind="stable")
        self._alloc = (sentinel(arr(a_starts)[by_start], LOW),
                       sentinel(arr(a_ends)[by_start], LOW))
        self._free = FreeBlocks(self._zone_free)

    def _kmsan(self, sim: PageSource) -> None:
        starts, ends, kinds, bases, orders, owners = [], [], [], [], [], []
        for s, e, value in sim.kmsan:
            base = order = 0
            owner = -1
            if isinstance(value, MetaBacking):
                kind = _K_SHADOW if value.role is MetaRole.SHADOW else _K_ORIGIN
                if value.data_delta is None:
                    kind |= _K_HELD
                owner = self.owner_id(value.owner)
            elif isinstance(value, FixedBacking):
                kind = _K_SHADOW if value.role is MetaRole.SHADOW else _K_ORIGIN
                owner = self.owner_id(value.owner)
            elif isinstance(value, MetaPattern):
                kind, base, order = _K_PATTERN, value.base, value.order
                owner = self.owner_id(value.owner)
            elif isinstance(value, Blind):
                kind = _K_BLIND
            else:  # MetaLink: data pages with metadata elsewhere; nothing to draw
                continue
            starts.append(s)
            ends.append(e)
            kinds.append(kind)
            bases.append(base)
            orders.append(order)
            owners.append(owner)
        self._k = (*self._intervals(starts, ends),
                   sentinel(np.array(kinds, dtype=np.int8), _K_NONE),
                   sentinel(arr(bases), 0), sentinel(arr(orders), 0),
                   sentinel(np.array(owners, dtype=np.int16), -1))

    def _layers(self) -> tuple[Layer, ...]:
        """Every layer but the free blocks, as (starts, ends, values...) sorted by start."""
        return tuple(tuple(col[1:] for col in layer)
                     for layer in (self._zone, self._mem, self._res, self._own, self._alloc,
                                   self._k))

    def _changes_from(self, base: MapIndex) -> Changes[MapIndex] | None:
        """The pfn intervals where a page may classify differently in ``base``: the
        entries of each layer that the other state lacks (a few array passes, so a
        step that touches a handful of blocks redraws a handful of map rows)."""
        if (base.handed_over, base.has_zones, base.has_memory, base.span) != (
                self.handed_over, self.has_zones, self.has_memory, self.span):
            return None
        mine, theirs = self._layers(), base._layers()
        parts = [part for a, b in zip(mine, theirs, strict=True) for part in layer_changes(a, b)]
        zones, base_zones = self._zone_free, base._zone_free
        if [z.key[:2] for z in zones] == [z.key[:2] for z in base_zones]:
            # The same zones: only those whose runs changed are searched, and only the
            # runs that differ are compared block by block.
            for z, bz in zip(zones, base_zones, strict=True):
                if z is not bz:
                    only_a, only_b = layer_diff(z.layer, bz.layer)
                    parts.append(block_changes(take_runs(z.runs, only_a), take_runs(bz.runs, only_b)))
        else:
            parts.append(block_changes(every_run(zones), every_run(base_zones)))
        return Changes(base, np.concatenate([s for s, _e in parts]),
                       np.concatenate([e for _s, e in parts]))

    def _span(self, sim: PageSource) -> int:
        """The map covers [0, span): physical address 0 to the end of RAM."""
        if sim.memblock.memory.regions:
            last = sim.memblock.memory.regions[-1]
            end = -(-(last.base + last.size) >> PAGE_SHIFT)
        else:
            usable = [e for e in sim.layout.e820 if e.type == "usable"]
            end = (usable[-1].end + 1) >> PAGE_SHIFT if usable else 1
        if sim.zones:
            end = max(end, max(z.end_pfn for z in sim.zones))
        return max(1, end)

    # ------------------------------------------------------------------ queries

    def lookup(self, points: np.ndarray) -> tuple[PageFacts, np.ndarray, np.ndarray, np.ndarray]:
        """The facts of each pfn in ``points``, with what the glyphs need: the owner
        category id (-1: none), the KMSAN metadata's owner id and the free order."""
        points = np.asarray(points, dtype=_I64)

        def hit(layer: tuple[np.ndarray, ...]) -> np.ndarray:
            """Whether each point is in an interval of the layer."""
            return points < layer[1][np.searchsorted(layer[0], points, side="right") - 1]

        def find(layer: tuple[np.ndarray, ...]) -> tuple[np.ndarray, np.ndarray]:
            """``hit()``, and the index of each point's interval (0, the sentinel, if none)."""
            i = np.searchsorted(layer[0], points, side="right") - 1
            inside = points < layer[1][i]
            return inside, np.where(inside, i, 0)

        in_zone = hit(self._zone)
        # A hole: not memblock memory, or outside every zone once there are zones
        # (holes inside a zone's span are holes too, with a PG_reserved struct page).
        ram = hit(self._mem)
        if self.has_zones:
            ram &= in_zone
        owned, own = find(self._own)
        k = find(self._k)[1]
        kind = self._k[2][k]
        shadow, origin = (kind & _K_SHADOW) != 0, (kind & _K_ORIGIN) != 0
        pattern = kind == _K_PATTERN
        if pattern.any():
            kp = k[pattern]
            # mm/kmsan/init.c: held_back[] keeps shadow, then origin, then the data chunk.
            slot = ((points[pattern] - self._k[3][kp]) >> self._k[4][kp]) % 3
            shadow[pattern] = slot == 0
            origin[pattern] = slot == 1
        free, free_order = self._free.lookup(points)
        facts = PageFacts(
            ram=ram, free=free & in_zone, held_back=(kind & _K_HELD) != 0, shadow=shadow,
            origin=origin,
            allocated=in_zone & hit(self._alloc), reserved=hit(self._res),
            owned=owned, handed_over=np.array(self.handed_over), blind=kind == _K_BLIND)
        return facts, self._own[2][own], self._k[5][k], free_order

    def classify(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(state code, aux) of each pfn in ``points``: codes by ``pagestate.RULES``
        (blind spots as BLIND), aux the free order of a free page, the metadata's owner
        for a metadata page no one else owns, the owner category id otherwise."""
        points = np.asarray(points, dtype=_I64)
        if len(points) <= CHUNK:
            return self._classify(points)
        codes = np.empty(len(points), dtype=np.int8)
        aux = np.empty(len(points), dtype=np.int16)
        for i in range(0, len(points), CHUNK):
            codes[i:i + CHUNK], aux[i:i + CHUNK] = self._classify(points[i:i + CHUNK])
        return codes, aux

    def _classify(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        facts, owner, meta_owner, free_order = self.lookup(points)
        codes = map_codes(facts)
        aux = np.where(np.isin(codes, _META_CODES) & ~facts.owned, meta_owner, owner)
        aux = np.where(codes == FREE, free_order, aux)
        return codes, aux

    def cells(self, start: int, pages_per_cell: int, ncells: int) -> Cells:
        """The dominant state of ``ncells`` cells of ``pages_per_cell`` pages from ``start``.

        Cells of up to SAMPLES pages are exact; larger ones are sampled at SAMPLES
        evenly spaced pages. A cell shows its most common state; on a tie, the state
        of its first page (so eager's shadow, origin, data triples stay visible as a
        pattern at any zoom). A blind spot wins any cell where it holds an eighth of
        the pages: it is rare, and it is the bug KMSAN users look for.
        """
        return self.cells_at(start + np.arange(ncells, dtype=_I64) * pages_per_cell,
                             pages_per_cell)

    def cells_at(self, firsts: np.ndarray, pages_per_cell: int, exact: bool = True,
                 samples: int = SAMPLES) -> Cells:
        """``cells()`` of the cells that start at each pfn of ``firsts`` (any order).
        Without ``exact``, a cell is mixed when its sampled pages differ (cheaper: no
        break point is classified; for overviews of cells far larger than a block),
        and ``samples`` pages of each cell may be fewer."""
        ncells = len(firsts)
        k = min(pages_per_cell, samples if not exact else SAMPLES)
        offsets = (np.arange(k, dtype=_I64) * pages_per_cell) // k
        points = (firsts[:, None] + offsets[None, :]).ravel()
        codes, aux = self.classify(points)
        codes = codes.reshape(ncells, k)
        aux = aux.reshape(ncells, k)
        rows = np.arange(ncells)
        counts = np.bincount((rows[:, None] * NCODES + codes).ravel(),
                             minlength=ncells * NCODES).reshape(ncells, NCODES)
        best = counts.max(axis=1)
        # Ties: the first page's state if it is among the most common, else the later code.
        latest = (NCODES - 1 - np.argmax(counts[:, ::-1], axis=1)).astype(np.int8)
        first = codes[:, 0]
        dominant = np.where(counts[rows, first] == best, first, latest).astype(np.int8)
        blind = counts[:, BLIND]
        dominant = np.where((blind > 0) & (blind * 8 >= k), BLIND, dominant).astype(np.int8)
        is_dom = codes == dominant[:, None]
        dom_aux = aux[rows, np.argmax(is_dom, axis=1)]
        free_orders = np.where(codes == FREE, aux, -1).max(axis=1)
        dom_aux = np.where(dominant == FREE, free_orders, dom_aux).astype(np.int16)
        outside = firsts >= self.span
        dominant = np.where(outside, OUTSIDE, dominant).astype(np.int8)
        if exact:
            breaks = self.breaks
            mixed = breaks.mixed(firsts, firsts + pages_per_cell,
                                 breaks.keys(codes[:, 0], aux[:, 0])) & ~outside
        else:
            keys = look_keys(codes, aux, _OWNER_CODES)
            mixed = (keys != keys[:, :1]).any(axis=1) & ~outside
        return Cells(dominant, dom_aux, mixed)

    # ------------------------------------------------------------------ mixing

    @property
    def breaks(self) -> Breaks:
        """Every pfn where some layer's interval starts or ends, and the pattern and
        free-run arithmetic between them (built on first use: frames that are never
        drawn do not pay for it)."""
        if self._breaks is None:
            parts = [col for layer in self._layers() for col in layer[:2]]
            free = self._free.intervals
            parts += [free[0][1:], free[1][1:], np.array([0, self.span], dtype=_I64)]
            points = np.unique(np.concatenate(parts))
            k_starts, k_ends, kinds, bases, orders, _owners = (col[1:] for col in self._k)
            pattern = kinds == _K_PATTERN
            self._breaks = Breaks(
                points,
                Pattern(k_starts[pattern], k_ends[pattern], bases[pattern], orders[pattern]),
                FreeCount.of(free, self._free.groups), self.classify, _OWNER_CODES)
        return self._breaks

    def composition(self, start: int, pages: int) -> tuple[tuple[Share, ...], bool]:
        """The looks of the pages in [start, start + pages), most pages first, and
        whether the counts are exact (else scaled from evenly spaced samples)."""
        end = min(start + pages, self.span)
        if end <= start:
            return (), True
        codes, aux, totals, exact = self.breaks.composition(start, end)
        return tuple(Share(int(c), int(a), int(n)) for c, a, n in
                     zip(codes.tolist(), aux.tolist(), totals.tolist(), strict=True)
                     if n > 0), exact
