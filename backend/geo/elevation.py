"""Elevation above sea level at points (pvlib's 5 arc-minute grid, ≈ 9 km, 28 m steps).

The grid stores ``raw * 28 - 450`` metres with 255 = no data. Over the sea the value is the grid's
(often 0 or -450 m floor); where the grid has no data and no land cell is within 2 cells the
answer is NaN. The grid is coarse: mountains are smoothed, errors of 100+ m are normal.

Usage::

    from backend.geo.elevation import Elevation
    Elevation.load().elevation_m([48.8566, 27.9881], [2.3522, 86.925])   # ~[40, 5000+]
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.geo.raster import Raster

COAST_FILL_CELLS = 2


class Elevation:
    """The elevation raster with its decoding (scale, offset, no-data code)."""

    def __init__(self, raster: Raster):
        self.raster = raster
        self.scale = float(raster.meta.get("scale", 28))
        self.offset = float(raster.meta.get("offset", -450))
        self.nodata = int(raster.meta.get("nodata", 255))

    @classmethod
    def load(cls) -> Elevation:
        """Read ``geo/elevation.npz`` (raises AssetsMissing when not built)."""
        return cls(Raster.from_asset("elevation"))

    def elevation_m(self, lat: Any, lng: Any) -> np.ndarray:
        """Elevation in metres (float64; NaN where the grid has no data nearby)."""
        raw = self.raster.sample("raw", lat, lng, missing=lambda v: v == self.nodata,
                                 fill_radius=COAST_FILL_CELLS)
        out = raw.astype(np.float64) * self.scale + self.offset
        return np.where(raw == self.nodata, np.nan, out)
