"""Check a built set of geocells against the rules it promises (docs/GEOCELLS.md).

Used by the tests, the benchmark and ``pigeon geocells check``. Each check returns a list
of human-readable problems; an empty list means the rule holds.

Usage::

    problems = check_geocells(cells, labels, lat, lng, point_country, min_points=30,
                              max_points=60)
    assert not problems, problems
"""

from __future__ import annotations

import collections
from typing import Any

import numpy as np
import shapely

OVERLAP_TOL_DEG2 = 1e-7
"""Largest overlap (square degrees, about 1000 m²) tolerated between two cells: Natural Earth's
own admin-1 polygons overlap by up to ~1e-10 deg² in a few places."""


def check_labels(cells: Any, labels: np.ndarray) -> list[str]:
    """Every point in exactly one cell, and the stored point counts match the labels."""
    problems = []
    if labels.min() < 0 or labels.max() >= len(cells):
        problems.append(f"{int((labels < 0).sum())} points have no cell")
    counts = np.bincount(labels[labels >= 0], minlength=len(cells))
    if not np.array_equal(counts, cells.n_points):
        bad = np.flatnonzero(counts != cells.n_points)
        problems.append(f"stored n_points differ from the labels in cells {bad[:10].tolist()}")
    return problems


def _touching_same_country(cells: Any, i: int) -> bool:
    """Whether another cell of cell ``i``'s country touches it (polygons within TOUCH_DEG)."""
    from backend.geocells.merge import TOUCH_DEG

    polys = cells.polygons
    hits = shapely.STRtree(polys).query(polys[i], predicate="dwithin", distance=TOUCH_DEG)
    return any(int(j) != i and cells.iso2[int(j)] == cells.iso2[i] for j in hits)


def check_sizes(cells: Any, min_points: int, max_points: int) -> list[str]:
    """MIN <= n <= MAX, with the documented exceptions: below MIN only for a country's only
    cell, a cell that no touching cell of its country could take (checked: no such cell
    touches it, unless the radius limit refused the merge), or a part the radius rule split
    off (``metadata.below_min`` gives each reason); above MAX only when MAX < 2*MIN - 1 makes
    an exact split impossible."""
    problems = []
    per_country = collections.Counter(cells.iso2)
    listed = {b["cell"]: b["reason"]
              for b in (getattr(cells, "metadata", None) or {}).get("below_min", [])}
    for i, n in enumerate(cells.n_points):
        if n < min_points and per_country[cells.iso2[i]] != 1:
            why = listed.get(i, "")
            if not why:
                problems.append(f"cell {i} ({cells.iso2[i]}) has {n} < MIN points but is not "
                                "its country's only cell, and the file gives no reason")
            elif why == "no touching cell of its country" and _touching_same_country(cells, i):
                problems.append(f"cell {i} ({cells.iso2[i]}) has {n} < MIN points although a "
                                "cell of its country touches it")
        if n > max_points >= 2 * min_points - 1:
            problems.append(f"cell {i} ({cells.iso2[i]}) has {n} > MAX points")
    return problems


def check_countries(cells: Any, labels: np.ndarray, point_country: np.ndarray) -> list[str]:
    """No cell holds points of two countries (by the admin area each point was given)."""
    problems = []
    for i in range(len(cells)):
        got = set(np.unique(point_country[labels == i]).tolist())
        if got and got != {cells.iso2[i]}:
            problems.append(f"cell {i} ({cells.iso2[i]}) holds points of {sorted(got)}")
    return problems


def check_polygons(cells: Any) -> list[str]:
    """Polygons are valid, non-empty (Multi)Polygons and do not overlap each other."""
    problems = []
    polys = cells.polygons
    bad = np.flatnonzero(~shapely.is_valid(polys) | shapely.is_empty(polys))
    if len(bad):
        problems.append(f"invalid or empty polygons: cells {bad[:10].tolist()}")
    kinds = {g.geom_type for g in polys}
    if not kinds <= {"Polygon", "MultiPolygon"}:
        problems.append(f"non-polygon cell geometries: {sorted(kinds)}")
    tree = shapely.STRtree(polys)
    i, j = tree.query(polys, predicate="intersects")
    keep = i < j
    i, j = i[keep], j[keep]
    if len(i):
        areas = shapely.area(shapely.intersection(polys[i], polys[j]))
        for a, b, ar in zip(i[areas > OVERLAP_TOL_DEG2], j[areas > OVERLAP_TOL_DEG2],
                            areas[areas > OVERLAP_TOL_DEG2]):
            problems.append(f"cells {a} and {b} overlap by {ar:.3g} square degrees")
    return problems


def check_lookup(cells: Any, labels: np.ndarray, lat: np.ndarray, lng: np.ndarray) -> list[str]:
    """A training point strictly inside its own cell's polygon is assigned back to that cell."""
    pts = shapely.points(lng, lat)
    inside = shapely.contains_properly(cells.polygons[labels], pts)
    got = cells.assign(lat[inside], lng[inside])
    wrong = np.flatnonzero(got != labels[inside])
    return [f"{len(wrong)} points inside their cell are assigned elsewhere"] if len(wrong) else []


def check_geocells(cells: Any, labels: np.ndarray, lat: np.ndarray, lng: np.ndarray,
                   point_country: np.ndarray, *, min_points: int,
                   max_points: int) -> list[str]:
    """All the checks above; returns every problem found (empty when all rules hold)."""
    return (check_labels(cells, labels) + check_sizes(cells, min_points, max_points)
            + check_countries(cells, labels, point_country) + check_polygons(cells)
            + check_lookup(cells, labels, lat, lng))
