"""Land or sea at points (NOAA GLOBE mask via global-land-mask, 30 arc-seconds ≈ 1 km).

The mask is kept bit-packed in memory (21600 x 5400 bytes = 117 MB instead of 933 MB as bools)
and read with bit arithmetic. Lakes count as land.

Usage::

    from backend.geo.landmask import LandMask
    LandMask.load().is_land([48.8566, 0.0], [2.3522, 0.0])    # array([ True, False])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.geo.raster import Raster


class LandMask:
    """The packed land mask (bit 1 = land, ``np.packbits`` order along columns)."""

    def __init__(self, raster: Raster):
        self.raster = raster
        self.bits = raster.extra["land_bits"]
        grid = raster.grid
        if self.bits.shape != (grid.rows, (grid.cols + 7) // 8):
            raise ValueError(f"land mask bits {self.bits.shape} do not match the grid")

    @classmethod
    def load(cls) -> LandMask:
        """Read ``geo/landmask.npz`` (raises AssetsMissing when not built)."""
        return cls(Raster.from_asset("landmask"))

    def is_land(self, lat: Any, lng: Any) -> np.ndarray:
        """True where the point is on land (bool array of the input's shape)."""
        rows, cols, shape = self.raster.cells(lat, lng)
        byte = self.bits[rows, cols >> 3]
        return ((byte >> (7 - (cols & 7))) & 1).astype(bool).reshape(shape)
