"""GeoGuessr scoring: points for a guess at a given distance from the truth.

GeoGuessr's world map gives ``5000 * exp(-d / 1492.7)`` points for a guess ``d`` km away
(the constant is fitted to the game's published behaviour; 5000 within about 25 m is
not modelled: the game's own 5000-radius is negligible at world scale). The game's general
rule is ``5000 * exp(-10 * d / size)`` with ``size`` the diagonal of the map's bounding box in
km, so a custom map's decay length is ``size / 10``. The world constant 1492.7 km (from the
PIGEON paper) corresponds to a size of 14,927 km; community measurements give 14,916.862 km
(decay 1491.7 km), a difference of under 0.1 % in points.

Usage::

    >>> from backend.core.scoring import geoguessr_score
    >>> round(float(geoguessr_score(1492.7)))
    1839
"""

from __future__ import annotations

from typing import Any

import numpy as np

MAX_SCORE = 5000.0
WORLD_SCALE_KM = 1492.7
"""Decay length of the world-map score, in km."""
SIZE_TO_SCALE = 10.0
"""A map of diagonal ``size`` km decays with length ``size / SIZE_TO_SCALE``."""


def score_scale_km(map_size_km: float | None = None) -> float:
    """Decay length for a map of the given diagonal size (None: the world map)."""
    if map_size_km is None:
        return WORLD_SCALE_KM
    if not np.isfinite(map_size_km) or map_size_km <= 0:
        raise ValueError(f"map size must be a positive number of km, got {map_size_km!r}")
    return float(map_size_km) / SIZE_TO_SCALE


def geoguessr_score(distance_km: Any, *, map_size_km: float | None = None) -> np.ndarray:
    """Points (0-5000, float) for guesses ``distance_km`` from the truth.

    Args:
        distance_km: distance(s) in km, non-negative.
        map_size_km: the map's diagonal in km; None for the world map.

    Raises:
        ValueError: a negative or NaN distance.
    """
    d = np.asarray(distance_km, dtype=np.float64)
    if np.isnan(d).any() or (d < 0).any():
        raise ValueError("distances must be non-negative numbers of km")
    return MAX_SCORE * np.exp(-d / score_scale_km(map_size_km))


def geoguessr_points(distance_km: Any, *, map_size_km: float | None = None) -> np.ndarray:
    """Whole points as the game shows them (rounded to the nearest integer)."""
    return np.rint(geoguessr_score(distance_km, map_size_km=map_size_km)).astype(np.int64)
