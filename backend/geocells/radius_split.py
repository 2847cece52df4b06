"""Split a cell whose points lie too far from its centroid (ours, on top of PIGEON's rules).

PIGEON's rules keep a sparse admin area whole however large it is (Western Australia with
49 points is one cell reaching 1,450 km from its centroid), and Natural Earth admin-1 units
sometimes hold far-apart islands (Valparaíso and Easter Island). A cell's centroid is its
guess and its label-smoothing anchor, and PIGEON's refinement moves a guess at most 1000 km:
a cell wider than that cannot be served well. So a cell with a point more than
``max_radius_km`` from its centroid is cut in two by a spherical 2-means (started from the
point farthest from the centroid and the point farthest from that one), and each part again
until every part fits. Parts may fall below MIN (the file's metadata says so); identical
coordinates always land in the same part. Deterministic.

Usage::

    parts = radius_parts(lat, lng, max_radius_km=1000.0)     # [index array, ...]
"""

from __future__ import annotations

import numpy as np

from backend.core.geodesy import haversine_km, spherical_mean, to_unit_vectors

MAX_ITERATIONS = 50


def spread_km(lat: np.ndarray, lng: np.ndarray) -> float:
    """The largest distance from a point to the points' spherical mean (km)."""
    c_lat, c_lng = spherical_mean(lat, lng)
    return float(haversine_km(lat, lng, c_lat, c_lng).max())


def _two_means(xyz: np.ndarray) -> np.ndarray:
    """Boolean side of each unit vector after a deterministic spherical 2-means."""
    mean = xyz.mean(axis=0)
    i = int(np.argmin(xyz @ mean))          # farthest from the centroid
    j = int(np.argmin(xyz @ xyz[i]))        # farthest from that point
    a, b = xyz[i], xyz[j]
    side = (xyz @ b) > (xyz @ a)
    for _ in range(MAX_ITERATIONS):
        if side.all() or not side.any():
            break
        a = xyz[~side].mean(axis=0)
        b = xyz[side].mean(axis=0)
        new = (xyz @ b) > (xyz @ a)
        if np.array_equal(new, side) or new.all() or not new.any():
            break
        side = new
    return side


def radius_parts(lat: np.ndarray, lng: np.ndarray, max_radius_km: float) -> list[np.ndarray]:
    """Partition points into parts whose points all lie within ``max_radius_km`` of their part's
    spherical mean (a part of one repeated coordinate always fits).

    Args:
        lat, lng: the cell's points in degrees.
        max_radius_km: the largest point-to-centroid distance allowed (> 0).

    Returns:
        Sorted index arrays partitioning ``range(len(lat))``, ordered by their first index.
    """
    if not max_radius_km > 0:
        raise ValueError(f"max_radius_km must be positive, got {max_radius_km}")
    xyz = to_unit_vectors(lat, lng).reshape(-1, 3)
    out: list[np.ndarray] = []
    stack = [np.arange(len(lat))]
    while stack:
        idx = stack.pop()
        if len(idx) < 2 or spread_km(lat[idx], lng[idx]) <= max_radius_km:
            out.append(idx)
            continue
        side = _two_means(xyz[idx])
        if side.all() or not side.any():  # cannot be cut (should not happen): keep it
            out.append(idx)
            continue
        stack.extend([idx[side], idx[~side]])
    return sorted((np.sort(p) for p in out), key=lambda p: int(p[0]))
