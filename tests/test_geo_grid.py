"""Grid indexing, coastal fill and the admin acceleration grid (pure numpy / shapely, no assets)."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from backend.geo.admin import AdminAreas
from backend.geo.admin_source import build_fast_grid
from backend.geo.grid import GridSpec, fill_from_neighbours, ring_offsets


def world(cell: float) -> GridSpec:
    return GridSpec(90.0, -180.0, cell, cell, int(180 / cell), int(360 / cell))


def test_indices_floor_clamp_and_wrap():
    g = world(1.0)
    r, c = g.indices(np.array([90.0, 89.5, 0.0, -90.0, 10.0]),
                     np.array([-180.0, 179.5, 0.0, 0.0, 180.0]))
    assert r.tolist() == [0, 0, 90, 179, 80]
    assert c.tolist() == [0, 359, 180, 180, 0]  # 180 wraps to the -180 column


def test_centred_grid_like_era5():
    # 0.25 deg samples at 90, 89.75, ... and lng 0..359.75 (cell centres)
    g = GridSpec(90.125, -0.125, 0.25, 0.25, 721, 1440)
    r, c = g.indices(np.array([90.0, 48.8566, -90.0]), np.array([-0.1, 2.3522, 359.9]))
    assert r.tolist() == [0, round((90 - 48.8566) / 0.25), 720]
    assert c.tolist() == [0, round(2.3522 / 0.25), 0]


def test_gridspec_roundtrip_and_check():
    g = world(0.5)
    assert GridSpec.from_dict(g.to_dict()) == g
    g.check((360, 720))
    with pytest.raises(ValueError, match="does not match"):
        g.check((10, 10))


def test_ring_offsets_nearest_first():
    offs = ring_offsets(2)
    assert len(offs) == 24 and offs[0] in [(-1, 0), (0, -1), (0, 1), (1, 0)]
    d = [dr * dr + dc * dc for dr, dc in offs]
    assert d == sorted(d)


def test_fill_from_neighbours_takes_nearest_valid_cell():
    g = world(10.0)
    raster = np.zeros((g.rows, g.cols), dtype=np.uint8)  # 0 = missing
    raster[5, 5] = 7
    raster[5, 9] = 9
    rows, cols = np.array([5, 5, 0]), np.array([6, 8, 30])
    miss = raster[rows, cols] == 0
    r2, c2 = fill_from_neighbours(raster, g, rows, cols, miss, radius=1,
                                  is_missing=lambda v: v == 0)
    assert raster[r2, c2].tolist() == [7, 9, 0]  # far-away cell stays missing


def test_fast_grid_matches_exact_test():
    geoms = np.array([shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 5),
                      shapely.Polygon([(-20, -20), (-5, -20), (-12, -5)]),
                      shapely.box(170, 60, 180, 70), shapely.box(-180, 60, -170, 70)],
                     dtype=object)
    grid, meta = build_fast_grid(geoms, cell_deg=1.0)
    assert grid.shape == (180, 360) and 0 < meta["ambiguous_share"] < 0.2
    areas = AdminAreas(geoms, ["AA", "BB", "CC", "DD", "DD"], ["a", "b", "c", "d", "d"],
                       ["x"] * 5, meta={"fast_grid": meta}, fast_grid=grid)
    rng = np.random.default_rng(0)
    lat = rng.uniform(-30, 80, 20000)
    lng = rng.uniform(-180, 180, 20000)
    fast = areas.index_of(lat, lng)
    exact = areas.index_of(lat, lng, exact=True)
    assert np.array_equal(fast, exact)
    assert set(np.unique(fast)) == {-1, 0, 1, 2, 3, 4}
    # an interior cell is answered by the grid alone
    r, c = areas.fast_spec.indices(np.array([5.0]), np.array([5.0]))
    assert grid[r[0], c[0]] == 0


def test_fast_grid_bad_rows_rejected():
    geoms = np.array([shapely.box(0, 0, 10, 10)], dtype=object)
    grid, meta = build_fast_grid(geoms, cell_deg=5.0)
    grid[0, 0] = 3
    with pytest.raises(ValueError, match="polygons"):
        AdminAreas(geoms, ["AA"], ["a"], ["x"], meta={"fast_grid": meta}, fast_grid=grid)
