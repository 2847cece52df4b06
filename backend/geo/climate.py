"""Climate normals at points from the ERA5 2000-2025 monthly climatology (0.25°, ≈ 28 km).

Returned per point: annual mean 2 m temperature (°C), its range (warmest minus coldest monthly
mean, °C), annual precipitation (mm/year) and its range (wettest minus driest month, mm/month);
``monthly()`` gives the twelve monthly means. Values are the nearest grid cell (no interpolation).

Usage::

    from backend.geo.climate import Climate
    c = Climate.load()
    c.normals(48.8566, 2.3522)  # {'temp_mean_c': 11.8, 'temp_range_c': 15.4, ...}
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.geo.raster import Raster

ANNUAL_KEYS = ("temp_mean", "temp_range", "precip_total", "precip_range")
OUTPUT_NAMES = {"temp_mean": "temp_mean_c", "temp_range": "temp_range_c",
                "precip_total": "precip_mm_year", "precip_range": "precip_range_mm_month"}


class Climate:
    """Annual climate grids (monthly grids are loaded on first use of :meth:`monthly`)."""

    def __init__(self, raster: Raster):
        self.raster = raster
        self._monthly: Raster | None = None

    @classmethod
    def load(cls) -> Climate:
        """Read the annual grids of ``geo/climate.npz`` (raises AssetsMissing when not built)."""
        return cls(Raster.from_asset("climate", *ANNUAL_KEYS))

    def normals(self, lat: Any, lng: Any) -> dict[str, np.ndarray]:
        """``temp_mean_c, temp_range_c, precip_mm_year, precip_range_mm_month`` (float64)."""
        rows, cols, shape = self.raster.cells(lat, lng)
        return {OUTPUT_NAMES[k]: self.raster.values[k][rows, cols].astype(np.float64)
                .reshape(shape) for k in ANNUAL_KEYS}

    def temperature(self, lat: Any, lng: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(annual mean °C, annual range °C)``."""
        n = self.normals(lat, lng)
        return n["temp_mean_c"], n["temp_range_c"]

    def precipitation(self, lat: Any, lng: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(mm per year, wettest-minus-driest month mm)``."""
        n = self.normals(lat, lng)
        return n["precip_mm_year"], n["precip_range_mm_month"]

    def monthly(self, lat: Any, lng: Any) -> tuple[np.ndarray, np.ndarray]:
        """``(temperature °C, precipitation mm/month)``, each of shape ``input + (12,)``."""
        if self._monthly is None:
            self._monthly = Raster.from_asset("climate", "temp_monthly", "precip_monthly")
        rows, cols, shape = self._monthly.cells(lat, lng)
        t = self._monthly.values["temp_monthly"][:, rows, cols].T.astype(np.float64)
        p = self._monthly.values["precip_monthly"][:, rows, cols].T.astype(np.float64)
        return t.reshape(shape + (12,)), p.reshape(shape + (12,))
