"""Semantic geocells (PIGEON): build them from admin polygons and training points, save/load
them with their metadata, and map points to cells.

Usage::

    from backend.geocells import Geocells
    cells = Geocells.load("geocells.json")
    cells.assign(lat, lng)          # int64 cell index per point
    cells.centroids                 # (C, 2) lat/lng

    pigeon geocells build --points train.csv --out cells/
"""

from backend.geocells.cells import Geocells

__all__ = ["Geocells"]
