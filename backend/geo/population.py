"""Population density estimate at points (people/km²), from GeoNames places.

Method (see docs/DATA.md): every GeoNames place (≥ 500 people) spreads its population, plus an
equal share of its country's people who live outside GeoNames places (country population minus
its places' populations), with a Gaussian kernel of sigma 10 km over a 0.1° grid; the sum per km²
is the density. Countries with no GeoNames place at all get their people spread uniformly over
their area (a per-country background). It is an estimate for a model's auxiliary target, not a
census: cities' administrative populations are smeared over ~30 km, rural people are put near
villages equally, and sea points get 0.

Usage::

    from backend.geo.population import PopulationDensity
    pd = PopulationDensity.load()
    pd.density([48.8566], [2.3522], iso2=["FR"])
"""

from __future__ import annotations

from typing import Any

import numpy as np

from backend.geo.raster import Raster


class PopulationDensity:
    """Kernel grid + background density for countries without GeoNames places."""

    def __init__(self, raster: Raster):
        self.raster = raster
        iso = np.asarray(raster.extra["background_iso2"], dtype=str)
        dens = np.asarray(raster.extra["background_density"], dtype=np.float64)
        self.background = dict(zip(iso.tolist(), dens.tolist()))

    @classmethod
    def load(cls) -> PopulationDensity:
        """Read ``geo/population.npz`` (raises AssetsMissing when not built)."""
        return cls(Raster.from_asset("population"))

    def kernel_density(self, lat: Any, lng: Any) -> np.ndarray:
        """The kernel part alone (people/km²): everything but the no-place background."""
        return self.raster.sample("kernel_density", lat, lng).astype(np.float64)

    def density(self, lat: Any, lng: Any, *, iso2: Any = None) -> np.ndarray:
        """Estimated people per km² at each point.

        Args:
            lat, lng: degrees.
            iso2: country code per point (``""`` at sea), for the background of countries
                without GeoNames places; looked up from the admin polygons when not given.
        """
        kernel = self.kernel_density(lat, lng)
        if iso2 is None:
            from backend.geo.admin import AdminAreas

            iso2 = AdminAreas.default().country_of(lat, lng)
        codes = np.asarray(iso2, dtype=str).reshape(kernel.shape)
        uniq, inv = np.unique(codes, return_inverse=True)
        bg = np.array([self.background.get(c, 0.0) for c in uniq])[inv].reshape(kernel.shape)
        return kernel + bg
