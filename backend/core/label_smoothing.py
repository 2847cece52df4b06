"""Haversine label smoothing (numpy reference; the torch version is ``backend.model.label_smoothing``).

PIGEON trains the geocell classifier against soft targets: for a sample at ``x`` and cell
centroids ``g_i``::

    y_i = exp(-(hav(g_i, x) - min_j hav(g_j, x)) / tau)        then   y <- y / sum(y)

with ``tau`` = 75 km for street view (65 km for PIGEOTTO). The public PIGEON code skips the
normalisation, so its "targets" sum to more than 1 and the cross-entropy no longer has its
minimum at ``softmax(logits) == y``; here they always sum to 1.

This builds an ``(N, C)`` matrix: meant for small batches and as the reference the torch
version is tested against, not for a whole dataset at once.

Usage::

    >>> import numpy as np
    >>> from backend.core.label_smoothing import haversine_smoothed_labels
    >>> y = haversine_smoothed_labels([48.85], [2.35], np.array([[48.0, 2.0], [40.0, -3.0]]))
    >>> y.shape, round(float(y.sum()), 6), int(y.argmax())
    ((1, 2), 1.0, 0)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.core.geodesy import EARTH_RADIUS_KM, haversine_matrix_km, validate_latlng

DEFAULT_TAU_KM = 75.0
"""PIGEON's smoothing temperature for street view, in km."""

PIGEOTTO_TAU_KM = 65.0
"""PIGEOTTO's smoothing temperature (Flickr images), in km."""


def check_centroids(centroids: Any) -> np.ndarray:
    """Validate an ``(C, 2)`` array of cell centroids given as (lat, lng) degrees.

    Args:
        centroids: array-like of shape ``(C, 2)`` with C >= 1.

    Returns:
        The centroids as a float64 array (longitudes wrapped into [-180, 180)).

    Raises:
        ValueError: wrong shape or no centroid; CoordinateError (a ValueError) for bad values.
    """
    arr = np.asarray(centroids, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2 or arr.shape[0] == 0:
        raise ValueError(f"centroids must have shape (C, 2) with C >= 1 as (lat, lng), "
                         f"got shape {arr.shape}")
    lat, lng = validate_latlng(arr[:, 0], arr[:, 1])
    return np.stack([lat, lng], axis=1)


def haversine_smoothed_labels(lat: Any, lng: Any, centroids: Any, tau_km: float = DEFAULT_TAU_KM,
                              *, radius_km: float = EARTH_RADIUS_KM) -> np.ndarray:
    """Soft geocell targets for a batch of true locations.

    Args:
        lat, lng: true locations in degrees, shape ``(N,)`` (scalars count as N = 1).
        centroids: ``(C, 2)`` cell centroids as (lat, lng) degrees.
        tau_km: temperature in km (> 0); smaller is sharper. Default 75 km (PIGEON).
        radius_km: sphere radius for the haversine distance.

    Returns:
        float64 array ``(N, C)``; each row is non-negative, sums to 1 and peaks at the
        centroid nearest to the true location.

    Raises:
        ValueError: ``tau_km`` not a positive finite number, bad centroid shape, or bad
            coordinates (``CoordinateError``).
    """
    tau = float(tau_km)
    if not np.isfinite(tau) or tau <= 0:
        raise ValueError(f"tau_km must be a positive number of km, got {tau_km!r}")
    la, lo = validate_latlng(np.atleast_1d(lat), np.atleast_1d(lng))
    cents = check_centroids(centroids)
    dist = haversine_matrix_km(la.ravel(), lo.ravel(), cents[:, 0], cents[:, 1],
                               radius_km=radius_km)
    y = np.exp(-(dist - dist.min(axis=1, keepdims=True)) / tau)
    return y / y.sum(axis=1, keepdims=True)
