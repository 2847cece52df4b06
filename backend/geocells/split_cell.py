"""Split one oversized cell into parts with polygons: snapping, OPTICS, Voronoi, repairs.

A point outside its cell's polygon (at sea, off a coast: it joined the nearest admin area)
is first snapped to the nearest point of the polygon and then pushed a little further
inland along the same line (by 1e-4 of its offshore distance, so that offshore points that
share a nearest coast point stay distinct), for clustering and for the Voronoi tessellation;
otherwise a part made only of offshore points would get an empty polygon.
Identical (snapped) coordinates can own only one Voronoi region, so they always end in the
same part (the part of their lowest-numbered point). A part that this leaves below MIN
points joins the part nearest to it. A part that duplicates and such a merge push above MAX
is cut again by a balanced bisection that only cuts between distinct coordinates, so a part
ends above MAX only when identical coordinates leave no such cut (recorded in the file's
metadata as ``above_max``).

Usage::

    parts = split_cell(parent_polygon, lat, lng, params)     # [(indices, polygon), ...]
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import shapely

from backend.geocells.optics_split import local_xy, split_points
from backend.geocells.voronoi import voronoi_partition

INLAND = 1e-4
"""How far past the nearest coast point an offshore point goes, relative to its distance."""


def snap_into(parent: Any, lat: np.ndarray, lng: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Coordinates with every point outside ``parent`` moved just inside its nearest point."""
    shapely.prepare(parent)
    outside = ~shapely.intersects_xy(parent, lng, lat)
    if not outside.any():
        return lat, lng
    lat, lng = lat.copy(), lng.copy()
    lines = shapely.shortest_line(parent, shapely.points(lng[outside], lat[outside]))
    start = shapely.get_coordinates(shapely.get_point(lines, 0))
    lng[outside] = start[:, 0] + INLAND * (start[:, 0] - lng[outside])
    lat[outside] = start[:, 1] + INLAND * (start[:, 1] - lat[outside])
    return lat, lng


def _unify_duplicates(lat: np.ndarray, lng: np.ndarray, parts: list[np.ndarray]) -> np.ndarray:
    label = np.empty(len(lat), dtype=np.int64)
    for k, p in enumerate(parts):
        label[p] = k
    _, first, inverse = np.unique(np.stack([lng, lat], 1), axis=0, return_index=True,
                                  return_inverse=True)
    return label[first][inverse.ravel()]


def split_cell(parent: Any, lat: np.ndarray, lng: np.ndarray, min_points: int,
               max_points: int, optics: Any) -> list[tuple[np.ndarray, Any]]:
    """Split a cell's points into parts and draw each part's polygon inside ``parent``.

    Args:
        parent: the cell's polygon (lon/lat).
        lat, lng: the cell's points.
        min_points, max_points, optics: MIN, MAX and the OPTICS settings.

    Returns:
        ``[(point indices into lat, polygon), ...]``; the polygons tile ``parent``.
    """
    slat, slng = snap_into(parent, lat, lng)
    parts = split_points(slat, slng, min_points, max_points, optics)
    if len(parts) == 1:
        return [(parts[0], parent)]
    label = _unify_duplicates(slat, slng, parts)
    while True:
        counts = np.bincount(label, minlength=len(parts))
        alive = np.flatnonzero(counts > 0)
        small = [k for k in alive if counts[k] < min_points]
        if not small or len(alive) == 1:
            break
        # the smallest part joins the part holding the point nearest to it
        k = min(small, key=lambda s: (counts[s], s))
        mine, others = np.flatnonzero(label == k), np.flatnonzero(label != k)
        d = ((slat[mine, None] - slat[None, others]) ** 2
             + (slng[mine, None] - slng[None, others]) ** 2)
        label[mine] = label[others[np.unravel_index(np.argmin(d), d.shape)[1]]]
    alive = np.flatnonzero(np.bincount(label, minlength=len(parts)) > 0)
    final = [np.flatnonzero(label == k) for k in alive]
    if max_points >= 2 * min_points - 1:
        final = [q for p in final for q in
                 (cut_between_distinct(p, slat, slng, min_points, max_points)
                  if len(p) > max_points else [p])]
    polys = voronoi_partition(parent, slat, slng, final)
    return list(zip(final, polys))


def cut_between_distinct(idx: np.ndarray, lat: np.ndarray, lng: np.ndarray, min_points: int,
                         max_points: int) -> list[np.ndarray]:
    """Balanced recursive bisection of the points ``idx`` into ``ceil(n / MAX)`` parts that
    never separates identical coordinates (a cut moves to the nearest coordinate change).

    Returns:
        Sorted index arrays (subsets of ``idx``) partitioning it.
    """
    n = len(idx)
    k = max(1, math.ceil(n / max_points))
    if k * min_points > n:
        k = max(1, n // min_points)
    xy = local_xy(lat[idx], lng[idx])
    out: list[np.ndarray] = []

    def rec(rows: np.ndarray, parts: int) -> None:
        pts = xy[rows]
        axis = int(np.argmax(pts.max(axis=0) - pts.min(axis=0))) if len(rows) else 0
        order = rows[np.lexsort((idx[rows], lng[idx[rows]], lat[idx[rows]], pts[:, axis]))]
        same = ((lat[idx[order]][1:] == lat[idx[order]][:-1])
                & (lng[idx[order]][1:] == lng[idx[order]][:-1]))
        cuts = np.flatnonzero(~same) + 1  # positions where a new coordinate starts
        if parts <= 1 or not len(cuts):
            out.append(np.sort(idx[order]))
            return
        left = parts // 2
        want = round(len(order) * left / parts)
        cut = int(cuts[np.argmin(np.abs(cuts - want))])
        rec(order[:cut], left)
        rec(order[cut:], parts - left)

    rec(np.arange(n), k)
    return out
