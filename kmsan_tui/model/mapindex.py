"""The memory map's cells, computed from the model's extents with numpy.

The map needs each cell's dominant state, its free-block order and its owner, at a
cost that does not grow with the machine. ``MapIndex`` flattens each layer of the model
(memblock regions, zones, buddy blocks, the owner map, the KMSAN map) into sorted
numpy arrays once per frame; a cell query is then a handful of ``searchsorted`` calls
over at most ``SAMPLES`` points per cell, whatever the cell's size.

The rules mirror ``Simulation.page()`` so a one-page cell shows exactly the state
the inspector shows for that page (tests/model/test_mapindex.py checks it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from kmsan_tui.model.constants import PAGE_SHIFT
from kmsan_tui.model.mapdiff import Changes, Layer, layer_changes, strictly_increasing
from kmsan_tui.model.mapview import BLIND_CODE, CODE_OF, NCODES, STATE_CODES
from kmsan_tui.model.metadata import Blind, FixedBacking, MetaBacking, MetaPattern, MetaRole
from kmsan_tui.model.owners import ALL_CATEGORIES, category_id
from kmsan_tui.model.pages import PageState

if TYPE_CHECKING:
    from kmsan_tui.model.simulation import Simulation

# A cell of more pages than this is sampled at this many evenly spaced pages.
SAMPLES = 16

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

# KMSAN layer kinds (what an extent of sim.kmsan does to the pages it covers).
_K_NONE, _K_HELD, _K_SHADOW, _K_ORIGIN, _K_PATTERN, _K_BLIND = range(6)
_KIND_CODE = np.array([-1, HELD_BACK, SHADOW, ORIGIN, -1, -1], dtype=np.int8)

_I64 = np.int64
_FREE = 5  # the free blocks' place in MapIndex._layers()
_C = {code: np.int8(code) for code in range(-1, NCODES)}  # codes as int8 scalars: np.where
# keeps int8 arrays instead of widening to int64


def _arr(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=_I64)


@dataclass(frozen=True, slots=True)
class Cells:
    """One run of cells: the dominant state code of each, and what the glyph needs."""

    codes: np.ndarray  # int8: a STATE_CODES index, BLIND, or OUTSIDE
    aux: np.ndarray  # int16: free order for FREE cells, owner category id otherwise (-1: none)


# Owner letters by category id (owners.ALL_CATEGORIES), "X" last for id -1 (no owner).
LETTERS = np.array([*(c.letter for c in ALL_CATEGORIES), "X"], dtype="<U1")


class MapIndex:
    """Sorted arrays of every layer of one simulation state (built once per frame).

    It keeps no reference to the simulation: a frame's index stays valid, and cheap,
    after the model moved on (the previous frame's index is what change marks use).
    """

    def __init__(self, sim: Simulation, base: MapIndex | None = None) -> None:
        self.handed_over = bool(sim.handed_over)
        self.has_zones = bool(sim.zones)
        zones = sorted(sim.zones, key=lambda z: z.start_pfn)
        self.zone_starts = _arr([z.start_pfn for z in zones])
        self.zone_ends = _arr([z.end_pfn for z in zones])
        # memblock: memblock_is_memory()/is_reserved() of the page's first byte.
        page = 1 << PAGE_SHIFT
        mem = sim.memblock.memory.regions
        self.mem_starts = _arr([-(-r.base // page) for r in mem])
        self.mem_ends = _arr([-(-(r.base + r.size) // page) for r in mem])
        res = sim.memblock.reserved.regions
        self.res_starts = _arr([-(-r.base // page) for r in res])
        self.res_ends = _arr([-(-(r.base + r.size) // page) for r in res])
        self.has_memory = bool(mem) or self.has_zones
        self._owners(sim)
        self._buddy(zones, base)
        self._kmsan(sim)
        self.span = self._span(sim)
        self.changes = self._changes_from(base) if base is not None else None
        """Where this state differs from ``base`` (None: no base, or everything)."""

    # ------------------------------------------------------------------ layers

    def _owners(self, sim: Simulation) -> None:
        starts, ends, ids = [], [], []
        for s, e, owner in sim.owners:
            starts.append(s)
            ends.append(e)
            ids.append(category_id(owner))
        self._present = set(ids)
        self.own_starts, self.own_ends = _arr(starts), _arr(ends)
        self.own_ids = np.array(ids, dtype=np.int16)

    @property
    def owner_letters(self) -> tuple[str, ...]:
        """The letters of the owner categories present, in category order."""
        return tuple(str(LETTERS[i]) for i in sorted(self._present))

    def owner_id(self, name: str) -> int:
        """The category id of an owner name (for KMSAN metadata owners)."""
        cid = category_id(name)
        self._present.add(cid)
        return cid

    def _buddy(self, zones: list, base: MapIndex | None) -> None:  # type: ignore[type-arg]
        a_starts: list[int] = []
        a_ends: list[int] = []
        # Each zone's free blocks, keyed by the runs they come from: a zone whose runs
        # are those of the base state takes its arrays as they are (a step changes the
        # free lists of one zone or a few), and the change search skips it.
        reuse = {entry[0]: entry for entry in base._zone_free} if base is not None else {}
        self._zone_free: list[tuple[tuple[object, ...], np.ndarray, np.ndarray, np.ndarray]] = []
        for zone in zones:
            for head, order, _mt in zone.allocated_blocks():
                a_starts.append(head)
                a_ends.append(head + (1 << order))
            key = (zone.start_pfn, zone.end_pfn, tuple(
                (run.start_pfn, run.count, run.stride, run.order)
                for run in zone.free_runs_between(zone.start_pfn, zone.end_pfn)))
            self._zone_free.append(reuse.get(key) or (key, *self._expand(key[2])))
        order = np.argsort(np.array(a_starts, dtype=_I64), kind="stable")
        self.alloc_starts = _arr(a_starts)[order]
        self.alloc_ends = _arr(a_ends)[order]
        if self._zone_free:
            s = np.concatenate([z[1] for z in self._zone_free])
            e = np.concatenate([z[2] for z in self._zone_free])
            o = np.concatenate([z[3] for z in self._zone_free])
            if not strictly_increasing(s):  # zones that overlap: sort them together
                idx = np.argsort(s, kind="stable")
                s, e, o = s[idx], e[idx], o[idx]
            self.free_starts, self.free_ends, self.free_orders = s, e, o
        else:
            self.free_starts = self.free_ends = _arr([])
            self.free_orders = np.array([], dtype=np.int16)

    @staticmethod
    def _expand(runs: tuple[tuple[int, int, int, int], ...]
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(starts, ends, orders) of a zone's free blocks, sorted, from its runs of
        (first pfn, count, stride, order)."""
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for start, count, stride, order in runs:
            size = 1 << order
            if stride == size or count == 1:
                # Contiguous blocks of one order: one interval.
                s = np.array([start], dtype=_I64)
                e = np.array([start + count * size], dtype=_I64)
            else:
                s = start + np.arange(count, dtype=_I64) * stride
                e = s + size
            parts.append((s, e, np.full(len(s), order, dtype=np.int16)))
        if not parts:
            return _arr([]), _arr([]), np.array([], dtype=np.int16)
        s = np.concatenate([p[0] for p in parts])
        e = np.concatenate([p[1] for p in parts])
        o = np.concatenate([p[2] for p in parts])
        idx = np.argsort(s, kind="stable")
        return s[idx], e[idx], o[idx]

    def _kmsan(self, sim: Simulation) -> None:
        starts, ends, kinds, bases, orders, owners = [], [], [], [], [], []
        for s, e, value in sim.kmsan:
            base = order = 0
            owner = -1
            if isinstance(value, MetaBacking):
                kind = _K_HELD if value.data_delta is None else (
                    _K_SHADOW if value.role is MetaRole.SHADOW else _K_ORIGIN)
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
        self.k_starts, self.k_ends = _arr(starts), _arr(ends)
        self.k_kinds = np.array(kinds, dtype=np.int8)
        self.k_bases, self.k_orders = _arr(bases), _arr(orders)
        self.k_owners = np.array(owners, dtype=np.int16)

    def _layers(self) -> tuple[Layer, ...]:  # the free blocks are layer _FREE
        """Every layer classify() reads, as (starts, ends, values...) sorted by start."""
        # memblock.reserved counts only until the handover (classify() ignores it after).
        reserved = self.res_starts, self.res_ends
        return (
            (self.zone_starts, self.zone_ends),
            (self.mem_starts, self.mem_ends),
            reserved if not self.handed_over else (_arr([]), _arr([])),
            (self.own_starts, self.own_ends, self.own_ids),
            (self.alloc_starts, self.alloc_ends),
            (self.free_starts, self.free_ends, self.free_orders),
            (self.k_starts, self.k_ends, self.k_kinds, self.k_bases, self.k_orders,
             self.k_owners),
        )

    def _changes_from(self, base: MapIndex) -> Changes | None:
        """The pfn intervals where a page may classify differently in ``base``: the
        entries of each layer that the other state lacks (a few array passes, so a
        step that touches a handful of blocks redraws a handful of map rows)."""
        if (base.handed_over, base.has_zones, base.has_memory, base.span) != (
                self.handed_over, self.has_zones, self.has_memory, self.span):
            return None
        mine, theirs = self._layers(), base._layers()
        parts = [part for i in range(len(mine)) if i != _FREE
                 for part in layer_changes(mine[i], theirs[i])]
        zones, base_zones = self._zone_free, base._zone_free
        if [z[0][:2] for z in zones] == [z[0][:2] for z in base_zones]:
            # The same zones: only those whose runs changed are searched.
            for z, bz in zip(zones, base_zones, strict=True):
                if z is not bz:
                    parts += layer_changes(z[1:], bz[1:])
        else:
            parts += layer_changes(mine[_FREE], theirs[_FREE])
        starts = [s for s, _e in parts]
        ends = [e for _s, e in parts]
        return Changes(base, np.concatenate(starts), np.concatenate(ends))

    @staticmethod
    def _span(sim: Simulation) -> int:
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

    def _sentinelled(self) -> dict[str, np.ndarray]:
        """Each layer's arrays behind one sentinel entry that contains no page, so a
        search lands on a real index for every point (no clipping, no masks) and a
        miss reads the sentinel's value: no owner, no KMSAN kind."""
        cached: dict[str, np.ndarray] | None = getattr(self, "_sentinel_cache", None)
        if cached is not None:
            return cached

        def put(values: np.ndarray, first: int) -> np.ndarray:
            return np.concatenate([np.array([first], dtype=values.dtype), values])
        low = np.iinfo(_I64).min
        out: dict[str, np.ndarray] = {}
        for name in ("zone", "mem", "res", "own", "alloc", "k", "free"):
            out[f"{name}_s"] = put(getattr(self, f"{name}_starts"), low)
            out[f"{name}_e"] = put(getattr(self, f"{name}_ends"), low)
        out["own_ids"] = put(self.own_ids, -1)
        out["k_kinds"] = put(self.k_kinds, _K_NONE)
        out["k_owners"] = put(self.k_owners, -1)
        out["k_bases"] = put(self.k_bases, 0)
        out["k_orders"] = put(self.k_orders, 0)
        out["free_orders"] = put(self.free_orders, -1)
        self._sentinel_cache = out
        return out

    def classify(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(state code, aux) of each pfn in ``points``, by Simulation.page()'s rules."""
        points = np.asarray(points, dtype=_I64)
        t = self._sentinelled()

        def search(name: str) -> tuple[np.ndarray, np.ndarray]:
            """Whether each point is in an interval of the layer, and the index of the
            last interval starting at or before it (0 is the sentinel)."""
            i = np.searchsorted(t[f"{name}_s"], points, side="right") - 1
            return points < t[f"{name}_e"][i], i

        def hit(name: str) -> np.ndarray:
            return search(name)[0]

        def find(name: str) -> tuple[np.ndarray, np.ndarray]:
            """``hit()``, and the index of each point's interval (0, the sentinel, if none)."""
            inside, i = search(name)
            return inside, np.where(inside, i, 0)

        in_zone = hit("zone")
        # A hole: not memblock memory, or outside every zone once there are zones
        # (holes inside a zone's span are holes too, with a PG_reserved struct page).
        ram = hit("mem")
        if self.has_zones:
            ram &= in_zone
        has_owner, owner = find("own")
        aux = t["own_ids"][owner]
        if self.handed_over:
            codes = np.where(ram, _C[RESERVED], _C[HOLE])
        else:
            codes = np.where(ram, np.where(hit("res") | has_owner, _C[RESERVED],
                                           _C[MEMBLOCK_FREE]), _C[HOLE])
        codes = np.where(in_zone & hit("alloc"), _C[ALLOCATED], codes)
        k = find("k")[1]
        kind = t["k_kinds"][k]
        meta = _KIND_CODE[kind]
        pattern = kind == _K_PATTERN
        if pattern.any():
            kp = k[pattern]
            slot = ((points[pattern] - t["k_bases"][kp]) >> t["k_orders"][kp]) % 3
            # mm/kmsan/init.c: held_back[] keeps shadow, then origin, then the data chunk.
            meta[pattern] = np.where(slot == 0, _C[SHADOW], np.where(slot == 1, _C[ORIGIN],
                                                                       np.int8(-1)))
        is_meta = ram & (meta >= 0)
        codes = np.where(is_meta, meta, codes)
        aux = np.where(is_meta & ~has_owner, t["k_owners"][k], aux)
        free, f = find("free")
        free &= in_zone
        codes = np.where(free, _C[FREE], codes)
        aux = np.where(free, t["free_orders"][f], aux)
        blind = (kind == _K_BLIND) & ((codes == ALLOCATED) | (codes == RESERVED))
        codes = np.where(blind, _C[BLIND], codes)
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

    def cells_at(self, firsts: np.ndarray, pages_per_cell: int) -> Cells:
        """``cells()`` of the cells that start at each pfn of ``firsts`` (any order)."""
        ncells = len(firsts)
        k = min(pages_per_cell, SAMPLES)
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
        dominant = np.where(firsts >= self.span, OUTSIDE, dominant).astype(np.int8)
        return Cells(dominant, dom_aux)

    def state_of(self, pfn: int) -> PageState | None:
        """The state code of one page, as a PageState (None for a blind spot)."""
        code = int(self.classify(np.array([pfn]))[0][0])
        return None if code == BLIND else STATE_CODES[code]
