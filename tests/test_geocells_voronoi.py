"""Voronoi boundaries of split cells: they tile the parent, hold their points, survive
offshore and duplicate points."""

from __future__ import annotations

import numpy as np
import shapely

from backend.geocells.split_cell import snap_into, split_cell
from backend.geocells.voronoi import voronoi_partition

PARENT = shapely.Polygon([(0, 0), (4, 0), (4, 3), (2, 3.5), (0, 3)],
                         holes=[[(1.8, 1.4), (2.2, 1.4), (2.2, 1.6), (1.8, 1.6)]])


def _tiles(parent, polys):
    polys = [p for p in polys if not p.is_empty]
    assert all(p.is_valid for p in polys)
    union = shapely.union_all(polys)
    assert abs(union.area - parent.area) < 1e-9 * max(parent.area, 1)
    assert shapely.symmetric_difference(union, parent).area < 1e-9
    for i in range(len(polys)):
        for j in range(i + 1, len(polys)):
            assert shapely.intersection(polys[i], polys[j]).area < 1e-12


def test_voronoi_parts_tile_the_parent_and_hold_their_points():
    rng = np.random.default_rng(0)
    lng, lat = rng.uniform(0.1, 3.9, 300), rng.uniform(0.1, 2.9, 300)
    inside = shapely.contains_xy(PARENT, lng, lat)
    lng, lat = lng[inside], lat[inside]
    parts = [np.flatnonzero(lng < 1.3), np.flatnonzero((lng >= 1.3) & (lat < 1.5)),
             np.flatnonzero((lng >= 1.3) & (lat >= 1.5))]
    polys = voronoi_partition(PARENT, lat, lng, parts)
    _tiles(PARENT, polys)
    for k, p in enumerate(parts):
        assert shapely.covers(polys[k], shapely.points(lng[p], lat[p])).all()


def test_voronoi_on_a_multipolygon_parent():
    parent = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(3, 0, 4, 1)])
    lat = np.array([0.2, 0.8, 0.5, 0.4])
    lng = np.array([0.2, 0.7, 3.5, 3.2])
    polys = voronoi_partition(parent, lat, lng, [np.array([0, 1]), np.array([2, 3])])
    _tiles(parent, polys)
    assert polys[0].within(shapely.box(-0.1, -0.1, 2.1, 1.1))


def test_split_cell_with_offshore_and_duplicate_points():
    rng = np.random.default_rng(1)
    lng = np.concatenate([rng.uniform(0.1, 3.9, 200), rng.uniform(5, 6, 60),  # 60 offshore
                          np.full(25, 1.0)])  # 25 copies of one location
    lat = np.concatenate([rng.uniform(0.1, 2.9, 200), rng.uniform(0, 3, 60), np.full(25, 1.0)])
    parts = split_cell(PARENT, lat, lng, 30, 60, ((8, 0.05),))
    polys = [g for _, g in parts]
    assert all(not g.is_empty for g in polys)
    _tiles(PARENT, polys)
    idx = np.sort(np.concatenate([p for p, _ in parts]))
    np.testing.assert_array_equal(idx, np.arange(len(lat)))
    assert all(len(p) >= 30 for p, _ in parts)
    # the 25 identical points are never split between two cells
    owners = {k for k, (p, _) in enumerate(parts) if np.isin(np.arange(260, 285), p).any()}
    assert len(owners) == 1


def test_snap_moves_only_outside_points_just_inside():
    lat = np.array([1.0, 1.0, 1.0])
    lng = np.array([1.0, 5.0, 6.0])
    slat, slng = snap_into(PARENT, lat, lng)
    assert slng[0] == 1.0
    assert shapely.contains_xy(PARENT, slng[1:], slat[1:]).all()
    assert slng[1] != slng[2]  # offshore points sharing a coast point stay distinct
