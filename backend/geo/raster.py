"""A gridded asset loaded into memory: values at points by nearest cell, with coastal fill.

Shared by the Köppen, elevation, climate and population lookups (one idea: "a raster you can
index with coordinates"). Coordinates are validated with ``backend.core.geodesy``.

Usage::

    r = Raster.from_asset("elevation", "raw")
    rows, cols = r.cells(lat, lng)
    raw = r.values["raw"][rows, cols]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from backend.core.geodesy import validate_latlng
from backend.geo.assets import load_npz
from backend.geo.grid import GridSpec, fill_from_neighbours


class Raster:
    """Named 2-D (or (bands, rows, cols)) arrays sharing one :class:`GridSpec`."""

    def __init__(self, values: dict[str, np.ndarray], grid: GridSpec,
                 meta: dict[str, Any] | None = None):
        for arr in values.values():
            grid.check(arr.shape)
        self.values = values
        self.grid = grid
        self.meta = meta or {}
        self.extra: dict[str, np.ndarray] = {}  # the asset's non-raster arrays (names, tables)

    @classmethod
    def from_asset(cls, asset: str, *keys: str) -> Raster:
        """Load ``keys`` of a built gridded asset (all arrays when none are named)."""
        arrays, meta = load_npz(asset, list(keys) or None)
        grid = GridSpec.from_dict(meta["grid"])
        rasters = {k: v for k, v in arrays.items() if v.ndim >= 2 and v.shape[-2:] ==
                   (grid.rows, grid.cols)}
        raster = cls(rasters, grid, meta)
        raster.extra = {k: v for k, v in arrays.items() if k not in rasters}
        return raster

    def cells(self, lat: Any, lng: Any) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
        """Validated flat ``(rows, cols)`` of the cells holding the points, and the input shape.

        Raises:
            CoordinateError: bad coordinates (non-numbers, NaN, out of range, empty batch).
        """
        lat_a, lng_a = validate_latlng(lat, lng)
        rows, cols = self.grid.indices(lat_a.ravel(), lng_a.ravel())
        return rows, cols, lat_a.shape

    def sample(self, key: str, lat: Any, lng: Any, *,
               missing: Callable[[np.ndarray], np.ndarray] | None = None,
               fill_radius: int = 0) -> np.ndarray:
        """Values of ``key`` at the points (input's shape).

        Args:
            key: which array.
            lat, lng: degrees.
            missing: function(values) → bool: values that count as "no data".
            fill_radius: when > 0 and ``missing`` is given, a no-data cell takes the nearest
                valid cell within this many cells (coastal points).
        """
        arr = self.values[key]
        rows, cols, shape = self.cells(lat, lng)
        if missing is not None and fill_radius > 0:
            miss = missing(arr[rows, cols])
            if miss.any():
                rows, cols = fill_from_neighbours(arr, self.grid, rows, cols, miss,
                                                  radius=fill_radius, is_missing=missing)
        return arr[rows, cols].reshape(shape)
