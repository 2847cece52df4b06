"""From admin areas to cells of at least MIN points, never across a country border or a sea.

Steps (PIGEON's, written down in docs/GEOCELLS.md):

1. one cell per finest admin area that holds points;
2. every empty area joins the nearest cell of its admin-1 region (touching counts as
   distance 0; ties go to the lower cell number), else the nearest cell of its country;
   a country with no points at all gets no cell (empty areas shape polygons only, never
   centroids);
3. while a country has a cell below MIN points, the smallest such cell merges into a cell
   that TOUCHES it (polygons within ``TOUCH_DEG``): one of the same admin-1 region first,
   else one of the country; among them the one with the fewest points (cells stay even).
   A cell with no touching neighbour stays as it is, below MIN (PIGEON: an island is never
   fused with its mainland across the sea). With ``max_radius_km`` set (ours, default
   1000 km: PIGEON's refinement radius), a merge that would put one of the merged cell's
   points farther than that from its centroid is not made either.

So a cell ends below MIN only when it is its country's only cell, or when no touching cell
of its country can take it (``WorkCell.why_small`` says which).

Usage::

    cells, dropped = group_areas(areas, area_of_point, min_points=30, lat=lat, lng=lng)
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely

from backend.core.geodesy import haversine_km, spherical_mean
from backend.geocells.areas import Area

TOUCH_DEG = 0.05
"""Polygons this close (degrees, about 5 km) touch: Natural Earth borders leave slivers, and a
strait this narrow does not make an island (PIGEON grows each polygon by 1 % and tests
intersection)."""


@dataclass
class WorkCell:
    """A cell while it is being built: its admin areas and the points it holds."""

    areas: list[int]
    points: np.ndarray  # int64 indices into the input points
    country_key: str
    admin1: set[str] = field(default_factory=set)
    why_small: str = ""  # why the cell stayed below MIN ("" when it did not)

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
        """Areas of the same country whose polygons touch area ``i`` (within TOUCH_DEG)."""
        if i not in self._adjacent:
            hits = self.tree.query(self.geoms[i], predicate="dwithin", distance=TOUCH_DEG)
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


def group_areas(areas: Sequence[Area], area_of_point: np.ndarray, min_points: int, *,
                lat: np.ndarray | None = None, lng: np.ndarray | None = None,
                max_radius_km: float | None = None) -> tuple[list[WorkCell], list[str]]:
    """Turn admin areas and assigned points into cells of at least ``min_points`` points.

    Args:
        areas: the finest admin areas.
        area_of_point: int array, the area index of every point.
        min_points: MIN, the smallest cell allowed (except where no touching cell can
            take a cell: see the module docstring).
        lat, lng: the points (degrees); needed with ``max_radius_km``.
        max_radius_km: refuse merges that would put a point farther than this from the
            merged cell's centroid (None: PIGEON's rule alone).

    Returns:
        ``(cells, dropped_area_ids)``: the cells (ordered by their first area) and the ids of
        areas left without a cell because their whole country has no points.
    """
    if max_radius_km is not None and (lat is None or lng is None):
        raise ValueError("max_radius_km needs the points' lat and lng")
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

    # 3. merge cells below MIN into a touching cell of their country, smallest first
    def fits(points: np.ndarray) -> bool:
        if max_radius_km is None:
            return True
        c_lat, c_lng = spherical_mean(lat[points], lng[points])
        return float(haversine_km(lat[points], lng[points], c_lat, c_lng).max()) \
            <= max_radius_km

    heap = [(wc.n, c) for c, wc in cells.items() if wc.n < min_points]
    heapq.heapify(heap)
    while heap:
        n, c = heapq.heappop(heap)
        wc = cells.get(c)
        if wc is None or wc.n != n:
            continue
        if len(by_country[wc.country_key]) <= 1:
            wc.why_small = "the only cell of its country (the country has fewer than MIN points)"
            continue
        target, touching = _merge_target(g, c, wc, cells, cell_of_area, fits)
        if target is None:
            wc.why_small = ("the radius limit refused every touching cell of its country"
                            if touching else "no touching cell of its country")
            continue
        tc = cells[target]
        tc.areas.extend(wc.areas)
        tc.points = np.concatenate([tc.points, wc.points])
        tc.admin1 |= wc.admin1
        tc.why_small = ""
        cell_of_area[wc.areas] = target
        del cells[c]
        by_country[wc.country_key].discard(c)
        if tc.n < min_points:
            heapq.heappush(heap, (tc.n, target))
    out = [cells[c] for c in sorted(cells)]
    for wc in out:
        wc.areas.sort()
        wc.points = np.sort(wc.points)
        if wc.n >= min_points:
            wc.why_small = ""
    return out, dropped


def _merge_target(g: _Grouper, c: int, wc: WorkCell, cells: dict[int, WorkCell],
                  cell_of_area: np.ndarray, fits: Any) -> tuple[int | None, bool]:
    """The touching cell to merge ``c`` into (same admin-1 first, fewest points; None when
    none fits) and whether any cell touches it at all."""
    adj = set()
    for i in wc.areas:
        adj.update(int(cell_of_area[j]) for j in g.adjacent_areas(i))
    adj.discard(c)
    same_admin1 = sorted(k for k in adj if cells[k].admin1 & wc.admin1)
    others = sorted(adj - set(same_admin1))
    for group in (same_admin1, others):
        for k in sorted(group, key=lambda k: (cells[k].n, k)):
            if fits(np.concatenate([cells[k].points, wc.points])):
                return k, True
    return None, bool(adj)
