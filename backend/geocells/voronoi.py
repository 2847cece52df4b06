"""Draw the boundaries of a split cell: a Voronoi tessellation of its points, clipped to it.

Each point owns its Voronoi region (in lon/lat degrees); a part's polygon is the union of
its points' regions intersected with the parent cell's polygon, so the parts tile the parent
exactly, never overlap, and every training point lies in its own part's polygon (when it
lies in the parent at all). Points with identical coordinates share one region: it goes to
the part of the lowest-numbered such point.

Usage::

    polygons = voronoi_partition(parent_polygon, lat, lng, parts)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import shapely


def polygonal(geom: Any) -> Any:
    """The polygonal part of a geometry (drops the lines/points an intersection may add)."""
    geom = shapely.make_valid(geom)
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom
    polys = [g for g in shapely.get_parts(geom) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(polys) if polys else shapely.Polygon()


def voronoi_partition(parent: Any, lat: np.ndarray, lng: np.ndarray,
                      parts: Sequence[np.ndarray]) -> list[Any]:
    """One polygon per part: the union of its points' Voronoi regions within ``parent``.

    Args:
        parent: the cell's (Multi)Polygon in lon/lat degrees.
        lat, lng: the cell's points in degrees.
        parts: index arrays into ``lat`` that partition the points.

    Returns:
        One shapely geometry per part (possibly empty when all of a part's points sit on
        other parts' coordinates or outside the parent; the caller merges those).
    """
    label = np.empty(len(lat), dtype=np.int64)
    for k, p in enumerate(parts):
        label[p] = k
    if len(parts) == 1:
        return [parent]
    coords = np.stack([lng, lat], axis=1)
    uniq, first = np.unique(coords, axis=0, return_index=True)
    uniq_label = label[first]  # np.unique's first index is the lowest-numbered point
    if len(uniq) < 2:
        return [parent] + [shapely.Polygon()] * (len(parts) - 1)
    pad = 1.0
    minx, miny, maxx, maxy = shapely.bounds(parent)
    frame = shapely.box(min(minx, uniq[:, 0].min()) - pad, min(miny, uniq[:, 1].min()) - pad,
                        max(maxx, uniq[:, 0].max()) + pad, max(maxy, uniq[:, 1].max()) + pad)
    diagram = shapely.voronoi_polygons(shapely.MultiPoint(uniq), extend_to=frame, ordered=True)
    regions = np.array(shapely.get_parts(diagram), dtype=object)
    if len(regions) != len(uniq):  # collinear or degenerate input: match regions to points
        regions = _match_regions(regions, uniq)
    out = []
    for k in range(len(parts)):
        mine = regions[uniq_label == k]
        if len(mine) == 0:
            out.append(shapely.Polygon())
            continue
        try:
            region = shapely.coverage_union_all(mine)
        except shapely.errors.GEOSException:
            region = shapely.union_all(mine)
        out.append(polygonal(shapely.intersection(region, parent)))
    return out


def _match_regions(regions: np.ndarray, uniq: np.ndarray) -> np.ndarray:
    tree = shapely.STRtree(regions)
    pts = shapely.points(uniq)
    p_idx, r_idx = tree.query(pts, predicate="intersects")
    out = np.empty(len(uniq), dtype=object)
    out[:] = shapely.Polygon()
    seen = np.zeros(len(uniq), dtype=bool)
    for p, r in zip(p_idx, r_idx):
        if not seen[p]:
            out[p], seen[p] = regions[r], True
    return out
