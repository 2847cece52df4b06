"""Population density: the kernel grid keeps the head count; the real estimate is plausible."""

from __future__ import annotations

import numpy as np
import pytest

from backend.core.geodesy import EARTH_RADIUS_KM
from backend.geo.assets import AssetsMissing, data_dir
from backend.geo.raster_sources import population_kernel_grid


def cell_areas(grid) -> np.ndarray:
    km_per_deg = np.pi * EARTH_RADIUS_KM / 180.0
    lat_c, _ = grid.centres()
    return (km_per_deg * grid.dlat) * (km_per_deg * grid.dlng) * np.cos(np.radians(lat_c))


@pytest.mark.parametrize("lat", [0.25, 60.25])  # cell centres of the 0.5 deg grid
def test_kernel_grid_conserves_people_and_is_round(lat):
    dens, grid = population_kernel_grid(np.array([lat, -20.0]), np.array([10.25, 179.95]),
                                        np.array([1e6, 5e5]), cell_deg=0.5, sigma_km=50.0)
    people = dens * cell_areas(grid)[:, None]
    assert abs(people.sum() - 1.5e6) / 1.5e6 < 1e-3
    # the peak is near pop / (2 pi sigma^2) (a 0.5 deg cell blurs it somewhat)
    r, c = grid.indices(np.array([lat]), np.array([10.25]))
    peak = dens[r[0], c[0]]
    assert 0.5 * 1e6 / (2 * np.pi * 50.0**2) < peak < 1.2 * 1e6 / (2 * np.pi * 50.0**2)
    # round on the ground: 1 deg (111 km) north and 111 km east have about the same density
    north = dens[grid.indices(np.array([lat + 1.0]), np.array([10.25]))][0]
    east_cells = round(1.0 / np.cos(np.radians(lat)) / 0.5)
    east = dens[r[0], c[0] + east_cells]
    assert 0.6 < float(north) / float(east) < 1.6
    # the place at 179.95 spreads across the antimeridian
    w = dens[grid.indices(np.array([-20.0]), np.array([-179.8]))]
    assert float(w[0]) > 0


def test_real_estimate_orders_places_sensibly():
    try:
        data_dir()
    except AssetsMissing as exc:
        pytest.skip(f"geographic assets not built: {exc}")
    from backend.geo.lookup import GeoLookup

    pts = {"Manhattan": (40.78, -73.97), "Paris": (48.8566, 2.3522),
           "rural France": (46.5, 2.5), "Sahara": (25.0, 3.0), "sea": (30.0, -40.0)}
    lat = np.array([p[0] for p in pts.values()])
    lng = np.array([p[1] for p in pts.values()])
    d = dict(zip(pts, GeoLookup.default().population_density(lat, lng)))
    assert d["Manhattan"] > 5000 and d["Paris"] > 5000
    assert 10 < d["rural France"] < 500
    assert d["Sahara"] < 1 and d["sea"] == 0
