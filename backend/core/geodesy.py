"""Geodesy on a spherical Earth: input validation and vectorised haversine distances.

All distances are great-circle distances on a sphere of radius ``EARTH_RADIUS_KM``
(the IUGG mean Earth radius, 6371.0088 km). The public PIGEON code uses the equatorial
radius 6378.137 km, OSV-5M uses 6371 km; pass ``radius_km`` to reproduce either.
The spherical model differs from the WGS-84 ellipsoid by at most about 0.5 %.

Usage::

    >>> from backend.core.geodesy import haversine_km
    >>> round(float(haversine_km(48.8566, 2.3522, 51.5072, -0.1276)), 1)
    343.5
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

EARTH_RADIUS_KM = 6371.0088
"""IUGG mean Earth radius in km: the radius every distance in pigeon-bot uses by default."""

PIGEON_EARTH_RADIUS_KM = 6378.137
"""Equatorial radius used by the public PIGEON code (for reproducing their numbers)."""


class CoordinateError(ValueError):
    """A latitude/longitude that is not a finite number in range."""


def _as_float_array(values: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise CoordinateError(
            f"{name} must be numbers, got {values!r:.80}; pass decimal degrees such as 48.8566"
        ) from exc
    return arr


def validate_latlng(lat: Any, lng: Any, *, wrap_lng: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Check and normalise coordinates given in decimal degrees.

    Args:
        lat: latitude(s) in degrees, scalar or array-like; must lie in [-90, 90].
        lng: longitude(s) in degrees, same shape as ``lat``.
        wrap_lng: when True (the default) any finite longitude is wrapped into
            [-180, 180); when False a longitude outside [-180, 180] is rejected.

    Returns:
        ``(lat, lng)`` as float64 numpy arrays (0-d for scalars).

    Raises:
        CoordinateError: non-numbers, NaN or infinite values, latitude out of range,
            shape mismatch, or an empty batch; the message names the first bad value.
    """
    lat_a = _as_float_array(lat, "latitude")
    lng_a = _as_float_array(lng, "longitude")
    if lat_a.shape != lng_a.shape:
        raise CoordinateError(
            f"latitude and longitude must have the same shape, got {lat_a.shape} and {lng_a.shape}"
        )
    if lat_a.ndim > 0 and lat_a.size == 0:
        raise CoordinateError("empty batch of coordinates: give at least one (lat, lng) pair")
    for name, arr in (("latitude", lat_a), ("longitude", lng_a)):
        bad = ~np.isfinite(arr)
        if bad.any():
            idx = int(np.flatnonzero(bad.ravel())[0])
            raise CoordinateError(
                f"{name} #{idx} is {float(arr.ravel()[idx])!r}: coordinates must be finite numbers"
            )
    out_lat = np.abs(lat_a) > 90.0
    if out_lat.any():
        idx = int(np.flatnonzero(out_lat.ravel())[0])
        raise CoordinateError(
            f"latitude #{idx} is {float(lat_a.ravel()[idx])!r}: latitude must lie in [-90, 90] degrees "
            "(did you swap latitude and longitude?)"
        )
    if wrap_lng:
        lng_a = wrap_longitude(lng_a)
    else:
        out_lng = np.abs(lng_a) > 180.0
        if out_lng.any():
            idx = int(np.flatnonzero(out_lng.ravel())[0])
            raise CoordinateError(
                f"longitude #{idx} is {float(lng_a.ravel()[idx])!r}: longitude must lie in [-180, 180]"
            )
    return lat_a, lng_a


def wrap_longitude(lng: Any) -> np.ndarray:
    """Wrap longitudes into [-180, 180); 180 maps to -180 (the same meridian)."""
    arr = np.asarray(lng, dtype=np.float64)
    return (arr + 180.0) % 360.0 - 180.0


def haversine_km(lat1: Any, lng1: Any, lat2: Any, lng2: Any, *,
                 radius_km: float = EARTH_RADIUS_KM) -> np.ndarray:
    """Great-circle distance in km between points, broadcasting like numpy.

    Args:
        lat1, lng1: first point(s) in degrees.
        lat2, lng2: second point(s) in degrees.
        radius_km: sphere radius; default the mean Earth radius.

    Returns:
        float64 array of distances in km (0-d for scalars).
    """
    p1 = np.radians(np.asarray(lat1, dtype=np.float64))
    p2 = np.radians(np.asarray(lat2, dtype=np.float64))
    dphi = p2 - p1
    dlmb = np.radians(np.asarray(lng2, dtype=np.float64) - np.asarray(lng1, dtype=np.float64))
    a = np.sin(dphi / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlmb / 2) ** 2
    return 2.0 * radius_km * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def haversine_matrix_km(lat_a: Any, lng_a: Any, lat_b: Any, lng_b: Any, *,
                        radius_km: float = EARTH_RADIUS_KM) -> np.ndarray:
    """All-pairs distances: an ``(len(a), len(b))`` matrix in km."""
    la = np.asarray(lat_a, dtype=np.float64).reshape(-1, 1)
    ga = np.asarray(lng_a, dtype=np.float64).reshape(-1, 1)
    lb = np.asarray(lat_b, dtype=np.float64).reshape(1, -1)
    gb = np.asarray(lng_b, dtype=np.float64).reshape(1, -1)
    return haversine_km(la, ga, lb, gb, radius_km=radius_km)


def to_unit_vectors(lat: Any, lng: Any) -> np.ndarray:
    """Degrees → unit vectors on the sphere, shape ``(..., 3)`` (x, y, z)."""
    phi = np.radians(np.asarray(lat, dtype=np.float64))
    lmb = np.radians(np.asarray(lng, dtype=np.float64))
    return np.stack([np.cos(phi) * np.cos(lmb), np.cos(phi) * np.sin(lmb), np.sin(phi)], axis=-1)


def from_unit_vectors(xyz: Any) -> tuple[np.ndarray, np.ndarray]:
    """Unit (or any non-zero) vectors → ``(lat, lng)`` in degrees, longitude in [-180, 180)
    (``arctan2`` alone gives 180 on the antimeridian; :func:`wrap_longitude` writes -180)."""
    v = np.asarray(xyz, dtype=np.float64)
    norm = np.linalg.norm(v, axis=-1)
    lat = np.degrees(np.arcsin(np.clip(v[..., 2] / np.maximum(norm, 1e-300), -1.0, 1.0)))
    lng = wrap_longitude(np.degrees(np.arctan2(v[..., 1], v[..., 0])))
    return lat, lng


def spherical_mean(lat: Any, lng: Any, weights: Any = None) -> tuple[float, float]:
    """Weighted mean position on the sphere (via the mean unit vector).

    Correct across the antimeridian, unlike averaging degrees. Falls back to the
    first point when the vectors cancel (antipodal inputs).
    """
    xyz = to_unit_vectors(lat, lng).reshape(-1, 3)
    w = np.ones(len(xyz)) if weights is None else np.asarray(weights, dtype=np.float64).ravel()
    m = (xyz * w[:, None]).sum(axis=0)
    if np.linalg.norm(m) < 1e-12:
        m = xyz[0]
    la, lo = from_unit_vectors(m)
    return float(la), float(lo)


def destination_point(lat: float, lng: float, bearing_deg: float, distance_km: float, *,
                      radius_km: float = EARTH_RADIUS_KM) -> tuple[float, float]:
    """The point ``distance_km`` from (lat, lng) along the initial bearing (degrees from north)."""
    d = distance_km / radius_km
    phi1, lmb1, th = math.radians(lat), math.radians(lng), math.radians(bearing_deg)
    phi2 = math.asin(math.sin(phi1) * math.cos(d) + math.cos(phi1) * math.sin(d) * math.cos(th))
    lmb2 = lmb1 + math.atan2(math.sin(th) * math.sin(d) * math.cos(phi1),
                             math.cos(d) - math.sin(phi1) * math.sin(phi2))
    return math.degrees(phi2), float(wrap_longitude(math.degrees(lmb2)))
