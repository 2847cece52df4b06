"""Split a cell with more than MAX points into parts of MIN..MAX points.

PIGEON runs OPTICS on the points' coordinates with several ``(min_samples, xi)`` settings in
turn; clusters of at least MIN points become new cells, the rest (noise and small clusters)
stays together as one more cell. Here:

* OPTICS runs on 3-D unit vectors scaled to km (chord distance, monotone in the great-circle
  distance and correct across the antimeridian), one setting after the other: a setting that
  yields at least two parts is applied, and every part still above MAX goes through the same
  procedure again, starting from that setting;
* a remainder smaller than MIN is not left as a cell: each of its points joins the cluster of
  its nearest clustered point;
* a cell above :data:`OPTICS_MAX_POINTS` (10,000) is first cut into compact parts of at most
  that many points by the bisection below (OPTICS is quadratic; ours, for millions of points);
* when no setting splits a cell that is still above MAX, a balanced recursive bisection along
  the cell's longer axis cuts it into ``k = ceil(n / MAX)`` parts of ``floor/ceil(n / k)``
  points, so every part is within [MIN, MAX] whenever ``MAX >= 2 * MIN - 1`` (with a tighter
  MAX the parts keep at least MIN points and may exceed MAX).

Usage::

    parts = split_points(lat, lng, min_points=30, max_points=60,
                         settings=[(8, 0.05), (10, 0.025), (15, 0.015)])
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from backend.core.geodesy import EARTH_RADIUS_KM, spherical_mean, to_unit_vectors, wrap_longitude
from backend.geocells.optics_graph import optics_xi_labels

PIGEON_OPTICS = ((8, 0.05), (10, 0.025), (15, 0.015))
PIGEOTTO_OPTICS = ((300, 0.05), (400, 0.005), (1000, 1e-4))
OPTICS_MAX_POINTS = 10_000
"""Largest point set one OPTICS run gets. OPTICS with an unbounded radius is quadratic in its
points; with admin-1 areas only (no global admin-2 data), an area holds tens of thousands of
points at OSV-5M's size (60,000 at 5 M), so a bigger cell is first cut by the balanced
bisection below into compact parts of at most this many points, and OPTICS runs inside each:
the build then grows about linearly with the points (docs/GEOCELLS.md, docs/TRAINING.md)."""


def optics_parts(xyz_km: np.ndarray, min_points: int, min_samples: int,
                 xi: float) -> list[np.ndarray]:
    """One OPTICS pass: clusters of >= MIN points plus the remainder (or [] if no split).

    Returns:
        A list of index arrays (into ``xyz_km``) partitioning it, or ``[]`` when this setting
        does not give at least two parts.
    """
    from scipy.spatial import cKDTree

    n = len(xyz_km)
    if n <= min_samples or n < 2 * min_points:
        return []
    labels = optics_xi_labels(xyz_km, min_samples, xi)
    sizes = np.bincount(labels[labels >= 0]) if (labels >= 0).any() else np.zeros(0, int)
    big = np.flatnonzero(sizes >= min_points)
    if len(big) == 0:
        return []
    keep = np.isin(labels, big)
    rest = np.flatnonzero(~keep)
    parts = [np.flatnonzero(labels == b) for b in big]
    if len(rest) >= min_points:
        parts.append(rest)
    elif len(rest):
        clustered = np.flatnonzero(keep)
        _, nn = cKDTree(xyz_km[clustered]).query(xyz_km[rest])
        owner = labels[clustered[nn]]
        parts = [np.sort(np.concatenate([p, rest[owner == b]])) for p, b in zip(parts, big)]
    return parts if len(parts) >= 2 else []


def local_xy(lat: np.ndarray, lng: np.ndarray) -> np.ndarray:
    """Equirectangular km around the points' spherical mean (antimeridian-safe)."""
    lat0, lng0 = spherical_mean(lat, lng)
    dlng = wrap_longitude(lng - lng0)
    k = math.pi / 180.0 * EARTH_RADIUS_KM
    return np.stack([dlng * k * math.cos(math.radians(lat0)), (lat - lat0) * k], axis=1)


def balanced_split(lat: np.ndarray, lng: np.ndarray, min_points: int,
                   max_points: int) -> list[np.ndarray]:
    """Cut points into ``k = ceil(n / MAX)`` spatially compact parts of near-equal size.

    Recursive bisection: sort along the longer axis of the local x/y extent (ties by index,
    so it is deterministic) and cut so both halves get a whole number of the k parts.

    Returns:
        A list of index arrays partitioning ``range(n)``.
    """
    n = len(lat)
    k = max(1, math.ceil(n / max_points))
    if k * min_points > n:  # only when MAX < 2*MIN - 1: keep MIN, allow above MAX
        k = max(1, n // min_points)
    xy = local_xy(lat, lng)
    out: list[np.ndarray] = []

    def rec(idx: np.ndarray, parts: int) -> None:
        if parts <= 1:
            out.append(np.sort(idx))
            return
        pts = xy[idx]
        axis = int(np.argmax(pts.max(axis=0) - pts.min(axis=0)))
        order = idx[np.lexsort((idx, pts[:, axis]))]
        left = parts // 2
        cut = round(len(idx) * left / parts)
        rec(order[:cut], left)
        rec(order[cut:], parts - left)

    rec(np.arange(n), k)
    return out


def split_points(lat: np.ndarray, lng: np.ndarray, min_points: int, max_points: int,
                 settings: Sequence[tuple[int, float]] = PIGEON_OPTICS) -> list[np.ndarray]:
    """Partition one cell's points into parts of at most ``max_points`` (see module doc).

    Args:
        lat, lng: the cell's points in degrees.
        min_points, max_points: MIN and MAX.
        settings: OPTICS ``(min_samples, xi)`` pairs, tried in order.

    Returns:
        Index arrays into ``lat`` that partition it; each part has at least ``min_points``
        points when the cell has, and at most ``max_points`` when ``MAX >= 2*MIN - 1``.
    """
    xyz = to_unit_vectors(lat, lng) * EARTH_RADIUS_KM
    final: list[np.ndarray] = []
    stack: list[tuple[np.ndarray, int]] = [(np.arange(len(lat)), 0)]
    while stack:
        idx, first = stack.pop()
        if len(idx) <= max_points:
            final.append(idx)
            continue
        if len(idx) > OPTICS_MAX_POINTS:  # scale guard: OPTICS is quadratic
            stack.extend((idx[p], first) for p in reversed(
                balanced_split(lat[idx], lng[idx], min_points, OPTICS_MAX_POINTS)))
            continue
        for s in range(first, len(settings)):
            ms, xi = settings[s]
            parts = optics_parts(xyz[idx], min_points, int(ms), float(xi))
            if parts:
                stack.extend((idx[p], s) for p in reversed(parts))
                break
        else:
            final.extend(idx[p] for p in balanced_split(lat[idx], lng[idx], min_points,
                                                        max_points))
    return sorted((np.sort(p) for p in final), key=lambda p: int(p[0]))
