"""The radius rule (backend.geocells.radius_split, ours): no cell keeps a point farther than
the limit from its centroid; outliers are split off, compact cells are left alone."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from backend.core.geodesy import haversine_km, spherical_mean
from backend.geocells.areas import Area
from backend.geocells.build import GeocellParams, build_geocells
from backend.geocells.invariants import check_geocells
from backend.geocells.radius_split import radius_parts, spread_km


def _spreads(lat, lng, parts):
    return [spread_km(lat[p], lng[p]) for p in parts]


def test_a_far_outlier_is_split_off_alone():
    rng = np.random.default_rng(0)
    lat = np.append(rng.uniform(-34, -32, 40), -27.1)   # mainland Chile and Easter Island
    lng = np.append(rng.uniform(-72, -70, 40), -109.4)
    parts = radius_parts(lat, lng, 1000.0)
    assert len(parts) == 2
    assert [40] in [p.tolist() for p in parts]            # the island alone
    assert max(_spreads(lat, lng, parts)) <= 1000.0


def test_a_wide_sparse_area_is_cut_until_every_part_fits():
    rng = np.random.default_rng(1)
    lat = rng.uniform(-35, -14, 49)                        # Western Australia's extent
    lng = rng.uniform(114, 129, 49)
    assert spread_km(lat, lng) > 1000
    parts = radius_parts(lat, lng, 1000.0)
    assert len(parts) >= 2 and max(_spreads(lat, lng, parts)) <= 1000.0
    assert sorted(np.concatenate(parts).tolist()) == list(range(49))
    again = radius_parts(lat, lng, 1000.0)
    assert [p.tolist() for p in again] == [p.tolist() for p in parts]  # deterministic


def test_compact_points_and_duplicates_stay_together():
    lat, lng = np.array([10.0, 10.5, 11.0]), np.array([20.0, 20.5, 21.0])
    assert [p.tolist() for p in radius_parts(lat, lng, 1000.0)] == [[0, 1, 2]]
    lat = np.array([0.0, 0.0, 0.0, 40.0, 40.0])
    lng = np.array([0.0, 0.0, 0.0, 40.0, 40.0])
    parts = [p.tolist() for p in radius_parts(lat, lng, 1000.0)]
    assert sorted(parts) == [[0, 1, 2], [3, 4]]
    with pytest.raises(ValueError, match="positive"):
        radius_parts(lat, lng, 0.0)


def _long_country():
    """Country AA: a 40-degree-wide strip (one admin area) and a small neighbour; BB apart."""
    return [Area("AA-long", "AA", "Aland", "long", "", shapely.box(0, 0, 40, 2)),
            Area("AA-small", "AA", "Aland", "small", "", shapely.box(40, 0, 42, 2)),
            Area("BB-0", "BB", "Beeland", "b", "", shapely.box(0, 10, 2, 12))]


def test_build_splits_a_cell_wider_than_the_radius_and_says_why():
    rng = np.random.default_rng(2)
    lat = np.concatenate([rng.uniform(0.2, 1.8, 25), rng.uniform(0.2, 1.8, 25),
                          rng.uniform(0.2, 1.8, 40), rng.uniform(10.2, 11.8, 35)])
    lng = np.concatenate([rng.uniform(0.5, 3, 25), rng.uniform(36, 39.5, 25),
                          rng.uniform(40.2, 41.8, 40), rng.uniform(0.2, 1.8, 35)])
    areas = _long_country()
    cells, labels = build_geocells(lat, lng, areas, GeocellParams(30, 60))
    for k in range(len(cells)):
        own = labels == k
        c_lat, c_lng = cells.centroids[k]
        assert float(haversine_km(lat[own], lng[own], c_lat, c_lng).max()) <= 1000.0
    reasons = [b["reason"] for b in cells.metadata["below_min"]]
    assert any(r.startswith("split off by the radius rule") for r in reasons)
    country = np.array(["AA"] * 90 + ["BB"] * 35)
    assert check_geocells(cells, labels, lat, lng, country, min_points=30, max_points=60) == []
    # PIGEON's rules alone keep the strip whole (its two ends 4,000 km apart in one cell)
    plain, plain_labels = build_geocells(lat, lng, areas, GeocellParams(30, 60,
                                                                        max_radius_km=None))
    strip = plain_labels[0]
    assert (plain_labels[:50] == strip).all()
    c = spherical_mean(lat[:50], lng[:50])
    assert float(haversine_km(lat[:50], lng[:50], *c).max()) > 1500
    assert plain.metadata["parameters"]["max_radius_km"] is None
