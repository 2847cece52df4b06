"""From admin areas to cells of at least MIN points, never across a country border.

Steps (PIGEON's, written down in docs/GEOCELLS.md):

1. one cell per finest admin area that holds points;
2. every empty area joins the nearest cell of its admin-1 region (adjacent counts as
   distance 0; ties go to the lower cell number), else the nearest cell of its country;
   a country with no points at all gets no cell;
3. while a country has a cell below MIN points and more than one cell, the smallest such
   cell merges into a neighbour: an adjacent cell of the same admin-1 region, else the
   nearest cell of that region, else an adjacent cell of the country, else its nearest
   cell. Among adjacent candidates the one with the fewest points wins (cells stay even).

So a cell ends below MIN only when it is its country's only cell (the whole country has
fewer than MIN points).

Usage::

    cells, dropped = group_areas(areas, area_of_point, min_points=30)
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import shapely

from backend.geocells.areas import Area


@dataclass
class WorkCell:
    """A cell while it is being built: its admin areas and the points it holds."""

    areas: list[int]
    points: np.ndarray  # int64 indices into the input points
    country_key: str
    admin1: set[str] = field(default_factory=set)

    @property
    def n(self) -> int:
        return len(self.points)


class _Grouper:
    def __init__(self, areas: Sequence[Area]):
        self.areas = areas
        self.geoms = np.array([a.geometry for a in areas], dtype=object)
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)
        self.country = np.array([a.country_key for a in areas])
        self._adjacent: dict[int, np.ndarray] = {}

    def adjacent_areas(self, i: int) -> np.ndarray:
        """Areas of the same country whose polygons touch or overlap area ``i``."""
        if i not in self._adjacent:
            hits = self.tree.query(self.geoms[i], predicate="intersects")
            hits = hits[(hits != i) & (self.country[hits] == self.country[i])]
            self._adjacent[i] = np.sort(hits)
        return self._adjacent[i]

    def nearest_cell(self, area_ids: list[int], pool: set[int],
                     cell_of_area: np.ndarray) -> int:
        """The pool cell at the smallest polygon distance (ties: lowest cell number).

        Candidates come from growing ``dwithin`` searches on the area tree, so only the
        few nearby areas get an exact distance.
        """
        src = self.geoms[area_ids]
        for radius in (0.5, 2.0, 8.0, 32.0, 400.0):
            _, hits = self.tree.query(src, predicate="dwithin", distance=radius)
            hits = np.unique(hits)
            hits = hits[np.isin(cell_of_area[hits], list(pool))]
            if len(hits):
                d = shapely.distance(src[:, None], self.geoms[hits][None, :]).min(axis=0)
                cells = cell_of_area[hits]
                order = np.lexsort((cells, d))
                return int(cells[order[0]])
        raise AssertionError("no cell found in the pool")  # pools are never empty


def group_areas(areas: Sequence[Area], area_of_point: np.ndarray,
                min_points: int) -> tuple[list[WorkCell], list[str]]:
    """Turn admin areas and assigned points into cells of at least ``min_points`` points.

    Args:
        areas: the finest admin areas.
        area_of_point: int array, the area index of every point.
        min_points: MIN, the smallest cell allowed (except a country's only cell).

    Returns:
        ``(cells, dropped_area_ids)``: the cells (ordered by their first area) and the ids of
        areas left without a cell because their whole country has no points.
    """
    g = _Grouper(areas)
    order = np.argsort(area_of_point, kind="stable")
    bounds = np.searchsorted(area_of_point[order], np.arange(len(areas) + 1))
    pts_of_area = [order[bounds[i]:bounds[i + 1]] for i in range(len(areas))]

    cell_of_area = np.full(len(areas), -1, dtype=np.int64)
    cells: dict[int, WorkCell] = {}
    for i, a in enumerate(areas):
        if len(pts_of_area[i]):
            cell_of_area[i] = i
            cells[i] = WorkCell([i], pts_of_area[i], a.country_key, {a.admin1})

    # 2. empty areas join the nearest cell (same admin-1 first), in area order
    by_country: dict[str, set[int]] = {}
    by_admin1: dict[tuple[str, str], set[int]] = {}
    for c, wc in cells.items():
        by_country.setdefault(wc.country_key, set()).add(c)
        by_admin1.setdefault((wc.country_key, areas[c].admin1), set()).add(c)
    dropped: list[str] = []
    for i in np.flatnonzero(cell_of_area < 0):
        a = areas[i]
        if a.country_key not in by_country:
            dropped.append(a.id)
            continue
        pool = by_admin1.get((a.country_key, a.admin1)) or by_country[a.country_key]
        adj_cells = sorted({int(cell_of_area[j]) for j in g.adjacent_areas(int(i))
                            if cell_of_area[j] in pool})
        target = adj_cells[0] if adj_cells else g.nearest_cell([int(i)], pool, cell_of_area)
        cells[target].areas.append(int(i))
        cell_of_area[i] = target

    # 3. merge cells below MIN inside their country, smallest first
    heap = [(wc.n, c) for c, wc in cells.items() if wc.n < min_points]
    heapq.heapify(heap)
    while heap:
        n, c = heapq.heappop(heap)
        wc = cells.get(c)
        if wc is None or wc.n != n or len(by_country[wc.country_key]) <= 1:
            continue
        target = _merge_target(g, c, wc, cells, cell_of_area, by_country[wc.country_key])
        tc = cells[target]
        tc.areas.extend(wc.areas)
        tc.points = np.concatenate([tc.points, wc.points])
        tc.admin1 |= wc.admin1
        cell_of_area[wc.areas] = target
        del cells[c]
        by_country[wc.country_key].discard(c)
        if tc.n < min_points:
            heapq.heappush(heap, (tc.n, target))
    out = [cells[c] for c in sorted(cells)]
    for wc in out:
        wc.areas.sort()
        wc.points = np.sort(wc.points)
    return out, dropped


def _merge_target(g: _Grouper, c: int, wc: WorkCell, cells: dict[int, WorkCell],
                  cell_of_area: np.ndarray, country_cells: set[int]) -> int:
    adj = set()
    for i in wc.areas:
        adj.update(int(cell_of_area[j]) for j in g.adjacent_areas(i))
    same_country = country_cells - {c}
    same_admin1 = {k for k in same_country if cells[k].admin1 & wc.admin1}
    adj_admin1 = sorted(adj & same_admin1)
    if adj_admin1:
        return min(adj_admin1, key=lambda k: (cells[k].n, k))
    if same_admin1:
        return g.nearest_cell(wc.areas, same_admin1, cell_of_area)
    adj_country = sorted(adj & same_country)
    if adj_country:
        return min(adj_country, key=lambda k: (cells[k].n, k))
    return g.nearest_cell(wc.areas, same_country, cell_of_area)
